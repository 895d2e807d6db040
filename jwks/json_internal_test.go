package jwks

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestJSONReaderStrings(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{`"plain"`, "plain", true},
		{`"caf\u00e9"`, "café", true},
		{`"\ud83d\ude00"`, "😀", true},
		{`"\ud83d"`, "\uFFFD", true}, // lone surrogate, as encoding/json does
		{`"a\"b\\c\/d\b\f\n\r\t"`, "a\"b\\c/d\b\f\n\r\t", true},
		{`"é"`, "é", true},
		{"\"\xff\"", "", false},
		{"\"a\x01\"", "", false},
		{`"\x"`, "", false},
		{`"\u12"`, "", false},
		{`"\u12g4"`, "", false},
		{`"open`, "", false},
		{`open"`, "", false},
	}
	for _, tt := range tests {
		d := jsonReader{s: tt.in}
		got, ok := d.str()
		if ok != tt.ok || got != tt.want {
			t.Errorf("str(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestJSONReaderSkip(t *testing.T) {
	valid := []string{`0`, `-1.5e+10`, `true`, `false`, `null`, `[]`, `{}`, `[1,"a",{"b":[null]}]`, ` { "a" : 1 } `}
	invalid := []string{``, `01`, `1.`, `.5`, `1e`, `-`, `tru`, `[1,]`, `{"a":1,}`, `{"a"}`, `{1:2}`, `[`, `nul`, `+1`}
	for _, s := range valid {
		d := jsonReader{s: s}
		if !d.skip() {
			t.Errorf("skip(%q) failed", s)
		}
	}
	for _, s := range invalid {
		d := jsonReader{s: s}
		if d.skip() && d.i == len(s) {
			t.Errorf("skip(%q) accepted", s)
		}
	}
	d := jsonReader{s: stringsRepeat("[", maxJSONDepth+1) + stringsRepeat("]", maxJSONDepth+1)}
	if d.skip() {
		t.Error("nesting beyond the limit accepted")
	}
}

func TestNameSet(t *testing.T) {
	var s nameSet
	for i := 0; i < 100; i++ {
		if !s.add(fmt.Sprint("n", i)) {
			t.Fatalf("fresh name n%d reported as duplicate", i)
		}
	}
	for _, i := range []int{0, 15, 16, 17, 99} {
		if s.add(fmt.Sprint("n", i)) {
			t.Fatalf("duplicate n%d not detected", i)
		}
	}
}

func TestDecodeDuplicatesAtEveryDepth(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{`{"x":{"a":1,"b":{"a":2}}}`, true},
		{`{"x":{"a":1,"a":2}}`, false},
		{`{"x":[{"a":1},{"a":1}]}`, true},
		{`{"x":[{"a":1,"\u0061":1}]}`, false},
		{`{"_claim_sources":{"s":{"endpoint":"e","endpoint":"f"}}}`, false},
		{`{"_claim_sources":{"s":{"x":1,"x":2}}}`, false},
		{`{"_claim_names":{"groups":"a","groups":"b"}}`, false},
		{`{"Roles":["admin"]}`, true}, // another case alone is just another claim
		{`{"roles":[],"Roles":["admin"]}`, false},
		{`{"ROLES":["admin"],"roles":[]}`, false},
		{`{"\u017fub":"x","sub":"y"}`, false},
		{`{"EmployeeID":"1","Name":"n"}`, true},
	}
	for _, tt := range tests {
		var c Claims
		if detail := decodeClaims(tt.in, &c); (detail == "") != tt.ok {
			t.Errorf("decodeClaims(%s) = %q, want ok %v", tt.in, detail, tt.ok)
		}
	}
	var h header
	if detail := decodeHeader(`{"alg":"RS256","x5u":"a","x5u":"b"}`, &h); detail == "" {
		t.Error("duplicate header parameter accepted")
	}
}

// BenchmarkDecodeManyMembers decodes a 12 KB payload of 2,000 one-digit
// claims: duplicate detection must stay linear (it took 2.2 ms, quadratic,
// before nameSet), or unsigned tokens become a cheap way to burn CPU.
func BenchmarkDecodeManyMembers(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"exp":1800000000`)
	for i := 0; sb.Len() < 12000; i++ {
		fmt.Fprintf(&sb, `,"%d":0`, i)
	}
	sb.WriteString("}")
	s := sb.String()
	b.ReportAllocs()
	for b.Loop() {
		var c Claims
		if d := decodeClaims(s, &c); d != "" {
			b.Fatal(d)
		}
	}
}

func stringsRepeat(s string, n int) string {
	out := ""
	for i := 0; i < n; i++ {
		out += s
	}
	return out
}

func TestDecodeClaimsNumericDates(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{`{"exp":1800000000}`, time.Unix(1800000000, 0), true},
		{`{"exp":1800000000.25}`, time.Unix(1800000000, 250000000), true},
		{`{"exp":1.8e9}`, time.Unix(1800000000, 0), true},
		{`{"exp":-1}`, time.Unix(-1, 0), true},
		{`{"exp":1e300}`, time.Time{}, false},
		{`{"exp":"1800000000"}`, time.Time{}, false},
		{`{"exp":true}`, time.Time{}, false},
		{`{"exp":null}`, time.Time{}, true},
	}
	for _, tt := range tests {
		var c Claims
		detail := decodeClaims(tt.in, &c)
		if (detail == "") != tt.ok || !c.ExpiresAt.Equal(tt.want) {
			t.Errorf("decodeClaims(%s) = %v, %q; want %v ok=%v", tt.in, c.ExpiresAt, detail, tt.want, tt.ok)
		}
	}
}

func TestRawClaim(t *testing.T) {
	p := `{"a":1, "b" : {"c":[1,2]} ,"d":"x\"y"}`
	for name, want := range map[string]string{"a": "1", "b": `{"c":[1,2]}`, "d": `"x\"y"`} {
		if got, ok := rawClaim(p, name); !ok || got != want {
			t.Errorf("rawClaim(%s) = %q, %v", name, got, ok)
		}
	}
	if _, ok := rawClaim(p, "c"); ok {
		t.Error("nested member found at top level")
	}
}

func TestIssuerMatches(t *testing.T) {
	tests := []struct {
		pattern, iss string
		want         bool
	}{
		{"https://login.microsoftonline.com/{tenantid}/v2.0", "https://login.microsoftonline.com/t1/v2.0", true},
		{"https://login.microsoftonline.com/{tenantid}/v2.0", "https://login.microsoftonline.com/t1/x/v2.0", false},
		{"https://login.microsoftonline.com/{tenantid}/v2.0", "https://login.microsoftonline.com//v2.0", false},
		{"https://login.microsoftonline.com/{tenantid}/v2.0", "https://sts.windows.net/t1/", true},
		{"https://login.microsoftonline.com/t1/v2.0", "https://sts.windows.net/t1/", true},
		{"https://login.microsoftonline.com/t1/v2.0", "https://sts.windows.net/t2/", false},
		{"https://login.microsoftonline.com/t1/v2.0", "https://login.microsoftonline.com/t2/v2.0", false},
		{"https://idp.example", "https://idp.example", true},
		{"https://idp.example", "https://idp.example/", false},
		{"https://sts.windows.net/t1/", "https://login.microsoftonline.com/t1/v2.0", true},
		{"https://sts.windows.net/{tenantid}/", "https://login.microsoftonline.com/t1/v2.0", true},
		// Whole URLs: the same tenant segment on another host is another issuer.
		{"https://login.microsoftonline.com/t1/v2.0", "https://evil.example/t1/", false},
		{"https://login.microsoftonline.com/{tenantid}/v2.0", "https://evil.example/t1/", false},
		{"https://evil.example/t1/v2.0", "https://sts.windows.net/t1/", false},
		{"https://evil.example/t1/v2.0", "https://evil.example/t1/", false},
		{"https://login.microsoftonline.com/t1/v2.0", "https://sts.windows.net/t1/x/", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := issuerMatches(tt.pattern, tt.iss); got != tt.want {
			t.Errorf("issuerMatches(%q, %q) = %v", tt.pattern, tt.iss, got)
		}
	}
}

func TestCacheTTL(t *testing.T) {
	o := KeySetOptions{MinRefreshInterval: time.Minute, MaxRefreshInterval: time.Hour, RefreshInterval: 30 * time.Minute}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		h    http.Header
		want time.Duration
	}{
		{http.Header{}, 30 * time.Minute},
		{http.Header{"Cache-Control": {"max-age=600, private"}}, 10 * time.Minute},
		{http.Header{"Cache-Control": {"public, MAX-AGE=86400"}}, time.Hour},
		{http.Header{"Cache-Control": {"max-age=1"}}, time.Minute},
		{http.Header{"Cache-Control": {"no-cache, max-age=600"}}, time.Minute},
		{http.Header{"Cache-Control": {"max-age=junk"}}, 30 * time.Minute},
		{http.Header{"Expires": {now.Add(20 * time.Minute).Format(http.TimeFormat)}, "Date": {now.Format(http.TimeFormat)}}, 20 * time.Minute},
		{http.Header{"Expires": {"0"}}, 30 * time.Minute},
		{http.Header{"Expires": {now.Add(-time.Hour).Format(http.TimeFormat)}, "Date": {now.Format(http.TimeFormat)}}, time.Minute},
		{http.Header{"Cache-Control": {"max-age=120"}, "Expires": {now.Add(50 * time.Minute).Format(http.TimeFormat)}}, 2 * time.Minute},
	}
	for _, tt := range tests {
		if got := cacheTTL(tt.h, now, o); got != tt.want {
			t.Errorf("cacheTTL(%v) = %v, want %v", tt.h, got, tt.want)
		}
	}
}

func TestKeySetOptionsClamp(t *testing.T) {
	o := KeySetOptions{UnknownKIDInterval: time.Millisecond, MinRefreshInterval: time.Hour, MaxRefreshInterval: time.Minute}
	o.setDefaults()
	if o.UnknownKIDInterval != time.Second || o.MaxRefreshInterval != time.Hour || o.RefreshInterval != time.Hour ||
		o.FetchTimeout != DefaultFetchTimeout || o.MaxBodySize != DefaultMaxBodySize {
		t.Fatalf("clamped options %+v", o)
	}
}

// TestDecodeAllocations keeps the payload decoder lean: strings without
// escapes are substrings, lists are sized once.
func TestDecodeAllocations(t *testing.T) {
	p := `{"iss":"https://idp","sub":"s","aud":["a","b"],"exp":1800000000,"roles":["r1","r2"],"scp":"a b","oid":"o","x":{"y":[1]}}`
	c := new(Claims) // on the heap anyway in Validate: the claim table's accessors take it
	n := testing.AllocsPerRun(100, func() {
		*c = Claims{}
		if d := decodeClaims(p, c); d != "" {
			t.Fatal(d)
		}
	})
	if n > 3 {
		t.Fatalf("decodeClaims allocates %v times, want <= 3 (aud, roles, scp)", n)
	}
}
