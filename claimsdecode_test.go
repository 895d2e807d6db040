package idbridge

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/idbridge/idbridge/internal/strictjson"
)

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

func TestMember(t *testing.T) {
	p := `{"a":1, "b" : {"c":[1,2]} ,"d":"x\"y"}`
	for name, want := range map[string]string{"a": "1", "b": `{"c":[1,2]}`, "d": `"x\"y"`} {
		if got, ok := strictjson.Member(p, name); !ok || got != want {
			t.Errorf("strictjson.Member(%s) = %q, %v", name, got, ok)
		}
	}
	if _, ok := strictjson.Member(p, "c"); ok {
		t.Error("nested member found at top level")
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

// TestDecodeClaimsNumericDates is jwks's test of the NumericDate rules,
// kept when the claims reader moved here.
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
