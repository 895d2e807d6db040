package jwt

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/strictjson"
)

// jsonFacts walks s with encoding/json's tokenizer and reports whether it
// is one valid JSON value without duplicate member names at any depth, and
// its nesting depth (a top-level object counts 1).
func jsonFacts(s string) (valid, dupFree bool, depth int) {
	if !json.Valid([]byte(s)) {
		return false, false, 0
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	type frame struct {
		obj   bool
		key   bool // the next string token in an object is a name
		names map[string]bool
	}
	var stack []*frame
	dupFree = true
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return true, dupFree, depth
		}
		if err != nil {
			return false, false, 0
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if top != nil && top.obj {
					top.key = true
				}
				stack = append(stack, &frame{obj: d == '{', key: true, names: map[string]bool{}})
				depth = max(depth, len(stack))
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if top != nil && top.obj {
			if top.key {
				name := tok.(string)
				if top.names[name] {
					dupFree = false
				}
				top.names[name] = true
			}
			top.key = !top.key
		}
	}
}

// refClaims is what a standards-compliant parser (encoding/json, with
// UseNumber) reads for the typed claims. typeErr names the first claim
// whose JSON type does not fit its field, or that appears again in another
// letter case.
type refClaims struct {
	strs    map[string]string
	lists   map[string][]string
	dates   map[string]time.Time
	names   map[string]string
	sources map[string]string
	typeErr string
}

var (
	refStringClaims = []string{"iss", "sub", "jti", "uti", "oid", "tid", "azp", "appid", "azpacr", "appidacr",
		"idtyp", "acr", "preferred_username", "name", "email", "ver", "sid", "nonce"}
	refListClaims = []string{"aud", "scp", "roles", "groups", "wids", "acrs", "amr", "xms_cc"}
	refDateClaims = []string{"exp", "nbf", "iat"}
)

func refDecode(m map[string]any) refClaims {
	r := refClaims{strs: map[string]string{}, lists: map[string][]string{}, dates: map[string]time.Time{}}
	bad := func(name string) {
		if r.typeErr == "" {
			r.typeErr = name
		}
	}
	strList := func(v any) ([]string, bool) {
		arr, ok := v.([]any)
		if !ok {
			return nil, false
		}
		out := make([]string, 0, len(arr))
		for _, e := range arr {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	for _, name := range refStringClaims {
		switch v := m[name].(type) {
		case nil:
		case string:
			r.strs[name] = v
		default:
			bad(name)
		}
	}
	for _, name := range refListClaims {
		v, present := m[name]
		if !present || v == nil {
			continue
		}
		if s, ok := v.(string); ok && (name == "aud" || name == "scp") {
			if name == "aud" {
				r.lists[name] = []string{s}
			} else {
				r.lists[name] = strings.Fields(s)
			}
			continue
		}
		l, ok := strList(v)
		if !ok {
			bad(name)
			continue
		}
		r.lists[name] = l
	}
	for _, name := range refDateClaims {
		switch v := m[name].(type) {
		case nil:
		case json.Number:
			f, err := strconv.ParseFloat(string(v), 64)
			if err != nil || math.Abs(f) > 1<<53 {
				bad(name)
				continue
			}
			sec := math.Floor(f)
			r.dates[name] = time.Unix(int64(sec), int64((f-sec)*1e9))
		default:
			bad(name)
		}
	}
	// A typed claim must not appear again in another letter case:
	// encoding/json's struct decoding would match that one too.
	all := slices.Concat(refStringClaims, refListClaims, refDateClaims, []string{"_claim_names", "_claim_sources"})
	for k := range m {
		for _, name := range all {
			if _, exact := m[name]; exact && k != name && strings.EqualFold(k, name) {
				bad(name)
			}
		}
	}
	switch v := m["_claim_names"].(type) {
	case nil:
	case map[string]any:
		r.names = map[string]string{}
		for k, e := range v {
			s, ok := e.(string)
			if !ok {
				bad("_claim_names")
			}
			r.names[k] = s
		}
	default:
		bad("_claim_names")
	}
	switch v := m["_claim_sources"].(type) {
	case nil:
	case map[string]any:
		r.sources = map[string]string{}
		for k, e := range v {
			src, ok := e.(map[string]any)
			if !ok {
				bad("_claim_sources")
				continue
			}
			ep, present := src["endpoint"]
			if s, ok := ep.(string); present && !ok {
				bad("_claim_sources")
			} else {
				r.sources[k] = s
			}
		}
	default:
		bad("_claim_sources")
	}
	return r
}

func ourLists(c *idbridge.Claims) map[string][]string {
	return map[string][]string{"aud": c.Audience, "scp": c.Scopes, "roles": c.Roles, "groups": c.Groups,
		"wids": c.WIDs, "acrs": c.ACRS, "amr": c.AMR, "xms_cc": c.ClientCapabilities}
}

func ourStrings(c *idbridge.Claims) map[string]string {
	return map[string]string{"iss": c.Issuer, "sub": c.Subject, "jti": c.ID, "uti": c.UTI, "oid": c.ObjectID,
		"tid": c.TenantID, "azp": c.AuthorizedParty, "appid": c.AppID, "azpacr": c.AuthorizedPartyACR,
		"appidacr": c.AppIDACR, "idtyp": c.IDType, "acr": c.ACR, "preferred_username": c.PreferredUsername,
		"name": c.Name, "email": c.Email, "ver": c.Version, "sid": c.SessionID, "nonce": c.Nonce}
}

// FuzzDecodeDifferential holds the hand-written claims and header readers
// to encoding/json: whatever they accept must be valid, duplicate-free JSON
// that encoding/json reads to the same values, and whatever valid,
// duplicate-free, shallow JSON object they reject must have a member of the
// wrong type (or, in a header, crit, b64 or a registered name in
// another letter case).
func FuzzDecodeDifferential(f *testing.F) {
	seeds := []string{
		`{"iss":"https://idp","sub":"s","aud":["a","b"],"exp":1800000000,"nbf":1.5,"iat":-3e2}`,
		`{"aud":"a","scp":"  x   y ","roles":["r"],"groups":[],"wids":null,"xms_cc":["cp1"]}`,
		`{"\u0069ss":"\ud83d\ude00","name":"caf\u00e9\ud800","x":{"y":[1,{"z":null}]}}`,
		`{"_claim_names":{"groups":"src1"},"_claim_sources":{"src1":{"endpoint":"https://g","a":[1]}}}`,
		`{"x":{"a":1,"a":2}}`,
		`{"exp":1e400}`,
		`{"exp":9007199254740993}`,
		`{"aud":[null]}`,
		`{"_claim_sources":{"s":{"endpoint":"a","endpoint":"b"}}}`,
		`{"alg":"RS256","kid":"k","typ":"at+jwt","x5c":["a"]}`,
		`{"alg":"RS256","crit":[]}`,
		` { "a" : [ ] , "b" : { } } `,
		`{"a":"\u0000"}`,
		"{\"a\":\"\xff\"}",
		`[]`,
		`{"a":1}x`,
		`{"roles":[],"Roles":["admin"]}`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		valid, dupFree, depth := jsonFacts(s)
		valid = valid && utf8.ValidString(s)
		isObject := strings.HasPrefix(strings.TrimLeft(s, " \t\r\n"), "{")
		shallow := depth <= strictjson.MaxDepth

		c := new(idbridge.Claims)
		detail := ""
		if parsed, err := idbridge.ParseClaims(s); err != nil {
			var pe *idbridge.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseClaims error %T", err)
			}
			detail = pe.Detail
		} else {
			c = parsed
		}
		var m map[string]any
		if valid && dupFree && isObject {
			dec := json.NewDecoder(strings.NewReader(s))
			dec.UseNumber()
			if err := dec.Decode(&m); err != nil {
				t.Fatalf("encoding/json: %v", err)
			}
		}
		if detail == "" {
			if !valid || !dupFree || !isObject {
				t.Fatalf("accepted %q: valid %v, duplicate-free %v, object %v", s, valid, dupFree, isObject)
			}
			ref := refDecode(m)
			if ref.typeErr != "" {
				t.Fatalf("accepted %q although claim %s has the wrong type", s, ref.typeErr)
			}
			for name, want := range ourStrings(c) {
				if want != ref.strs[name] {
					t.Fatalf("%s: we read %q, encoding/json %q", name, want, ref.strs[name])
				}
			}
			for name, got := range ourLists(c) {
				if !slices.Equal(got, ref.lists[name]) {
					t.Fatalf("%s: we read %q, encoding/json %q", name, got, ref.lists[name])
				}
			}
			for name, got := range map[string]time.Time{"exp": c.ExpiresAt, "nbf": c.NotBefore, "iat": c.IssuedAt} {
				if !got.Equal(ref.dates[name]) {
					t.Fatalf("%s: we read %v, encoding/json %v", name, got, ref.dates[name])
				}
			}
			if !maps.Equal(c.ClaimNames, ref.names) {
				t.Fatalf("_claim_names: we read %v, encoding/json %v", c.ClaimNames, ref.names)
			}
			got := map[string]string{}
			for k, v := range c.ClaimSources {
				got[k] = v.Endpoint
			}
			if (c.ClaimSources == nil) != (ref.sources == nil) || !maps.Equal(got, ref.sources) {
				t.Fatalf("_claim_sources: we read %v, encoding/json %v", c.ClaimSources, ref.sources)
			}
			// Claims.Get returns exactly the raw value encoding/json sees.
			var raw map[string]json.RawMessage
			if err := json.Unmarshal([]byte(s), &raw); err != nil {
				t.Fatal(err)
			}
			for name, want := range raw {
				if got, ok := c.Get(name); !ok || !bytes.Equal(got, want) {
					t.Fatalf("Get(%q) = %s, %v; encoding/json %s", name, got, ok, want)
				}
			}
			if b, err := json.Marshal(c); err != nil || !json.Valid(b) {
				t.Fatalf("MarshalJSON: %s, %v", b, err)
			}
		} else if valid && dupFree && isObject && shallow {
			if ref := refDecode(m); ref.typeErr == "" {
				t.Fatalf("rejected %q (%s), but encoding/json reads every claim with its type", s, detail)
			}
		}

		var h idbridge.Header
		hasAlg, hdetail := DecodeHeader(s, &h)
		if hdetail == "" {
			if !valid || !dupFree || !isObject {
				t.Fatalf("header %q accepted: valid %v, duplicate-free %v, object %v", s, valid, dupFree, isObject)
			}
			for name, got := range map[string]string{"alg": h.Algorithm, "kid": h.KeyID, "typ": h.Type} {
				want, present := m[name]
				if present && want != got || !present && got != "" {
					t.Fatalf("header %s: we read %q, encoding/json %v", name, got, want)
				}
			}
			if _, ok := m["crit"]; ok {
				t.Fatal("header with crit accepted")
			}
			if _, ok := m["alg"]; ok != hasAlg {
				t.Fatal("hasAlg differs")
			}
		} else if valid && dupFree && isObject && shallow {
			_, crit := m["crit"]
			_, b64 := m["b64"]
			strs := true
			for _, name := range []string{"alg", "kid", "typ"} {
				if v, ok := m[name]; ok {
					_, isStr := v.(string)
					strs = strs && isStr
				}
			}
			// A registered name in another letter case ("Alg") is refused
			// on purpose: encoding/json would read it as the name.
			folded := false
			for k := range m {
				for _, r := range []string{"alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit", "b64"} {
					folded = folded || k != r && strings.EqualFold(k, r)
				}
			}
			if !crit && !b64 && strs && !folded {
				t.Fatalf("header %q rejected (%s), but encoding/json reads it", s, hdetail)
			}
		}
	})
}
