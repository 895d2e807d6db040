package idbridge_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idbridge/idbridge"
)

const entraShaped = `{"aud":"6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b","iss":"https://login.microsoftonline.com/7d1c2b6e-4f0a-4c8e-9b3d-2a5f6e8c1d90/v2.0",` +
	`"iat":1700000000,"nbf":1700000000,"exp":1700003600,"azp":"lending-web","azpacr":"1",` +
	`"groups":["3f2a9c1e-0b7d-4e5a-8c6f-1d2e3f4a5b60"],"name":"Amit","oid":"a1b2c3d4-0001-4a5b-8c6d-000000000001",` +
	`"preferred_username":"amit@example.com","roles":["LoanViewer"],"scp":"Loans.Read Loans.Write","sid":"s-1",` +
	`"sub":"amit-sub","tid":"7d1c2b6e-4f0a-4c8e-9b3d-2a5f6e8c1d90","uti":"uti-1","ver":"2.0","xms_cc":["cp1"],` +
	`"department":"lending","xms_pdl":"EUR","ext":{"a":[1,2,{"b":null}]}}`

func TestParseClaims(t *testing.T) {
	huge := `{"active":true,"pad":"` + strings.Repeat("x", 4<<20) + `"}`
	hugeBad := `{"pad":"` + strings.Repeat("y", 4<<20) + `","pad":1}`
	for _, tc := range []struct {
		name    string
		payload string
		check   func(t *testing.T, c *idbridge.Claims)
		bad     string // expected fragment of the error detail; "" when valid
	}{
		{name: "Entra-shaped", payload: entraShaped, check: func(t *testing.T, c *idbridge.Claims) {
			if c.Subject != "amit-sub" || c.ObjectID == "" || c.TenantID == "" || c.Client() != "lending-web" || c.Version != "2.0" {
				t.Errorf("typed claims: %+v", c)
			}
			if !slices.Equal(c.Scopes, []string{"Loans.Read", "Loans.Write"}) || !c.HasRole("LoanViewer") || len(c.Groups) != 1 {
				t.Errorf("lists: scp %q roles %q groups %q", c.Scopes, c.Roles, c.Groups)
			}
			if !c.ExpiresAt.Equal(time.Unix(1700003600, 0)) {
				t.Errorf("exp = %v", c.ExpiresAt)
			}
			for name, want := range map[string]string{"department": `"lending"`, "xms_pdl": `"EUR"`, "ext": `{"a":[1,2,{"b":null}]}`, "sub": `"amit-sub"`} {
				if got, ok := c.Get(name); !ok || string(got) != want {
					t.Errorf("Get(%q) = %s, %v; want %s", name, got, ok, want)
				}
			}
			if _, ok := c.Get("missing"); ok {
				t.Error("Get of an absent claim reported true")
			}
			if c.Header.KeyID != "" || c.Header.Algorithm != "" || c.Header.Type != "" {
				t.Errorf("header accessors: %q %q %q", c.Header.KeyID, c.Header.Algorithm, c.Header.Type)
			}
			if b, _ := json.Marshal(c); string(b) != entraShaped {
				t.Errorf("MarshalJSON does not return the payload")
			}
		}},
		{name: "aud string", payload: `{"aud":"a"}`, check: func(t *testing.T, c *idbridge.Claims) {
			if !slices.Equal(c.Audience, []string{"a"}) {
				t.Errorf("aud = %q", c.Audience)
			}
		}},
		{name: "aud array", payload: `{"aud":["a","b"]}`, check: func(t *testing.T, c *idbridge.Claims) {
			if !slices.Equal(c.Audience, []string{"a", "b"}) {
				t.Errorf("aud = %q", c.Audience)
			}
		}},
		{name: "null is absent", payload: `{"sub":null,"exp":null}`, check: func(t *testing.T, c *idbridge.Claims) {
			if c.Subject != "" || !c.ExpiresAt.IsZero() {
				t.Errorf("null read as a value: %+v", c)
			}
		}},
		{name: "empty object", payload: `{}`},
		{name: "huge valid", payload: huge, check: func(t *testing.T, c *idbridge.Claims) {
			if v, ok := c.Get("active"); !ok || string(v) != "true" {
				t.Errorf("Get(active) = %s, %v", v, ok)
			}
		}},
		{name: "duplicate typed claim", payload: `{"exp":1,"exp":2}`, bad: "duplicate claim exp"},
		{name: "duplicate extension", payload: `{"department":"a","department":"b"}`, bad: "duplicate claim"},
		{name: "duplicate in another case", payload: `{"iss":"a","ISS":"b"}`, bad: "another letter case"},
		{name: "duplicate nested", payload: `{"x":{"a":1,"a":2}}`, bad: "not valid JSON"},
		{name: "escaped duplicate", payload: `{"sub":"a","\u0073ub":"b"}`, bad: "duplicate claim sub"},
		{name: "wrong type string", payload: `{"iss":1}`, bad: "iss has the wrong type"},
		{name: "wrong type date", payload: `{"exp":"1700000000"}`, bad: "exp has the wrong type"},
		{name: "wrong type list", payload: `{"roles":"admin"}`, bad: "roles has the wrong type"},
		{name: "wrong type aud", payload: `{"aud":7}`, bad: "aud has the wrong type"},
		{name: "null in a list", payload: `{"groups":["g",null]}`, bad: "groups has the wrong type"},
		{name: "array", payload: `[{"sub":"x"}]`, bad: "not a JSON object"},
		{name: "string", payload: `"sub"`, bad: "not a JSON object"},
		{name: "empty", payload: ``, bad: "not a JSON object"},
		{name: "trailing data", payload: `{} {}`, bad: "not a JSON object"},
		{name: "truncated", payload: `{"sub":"x"`, bad: "not a JSON object"},
		{name: "invalid UTF-8", payload: "{\"sub\":\"\xff\"}", bad: "sub has the wrong type"},
		{name: "huge invalid", payload: hugeBad, bad: "duplicate claim"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := idbridge.ParseClaims([]byte(tc.payload))
			if tc.bad == "" {
				if err != nil {
					t.Fatalf("ParseClaims: %v", err)
				}
				if tc.check != nil {
					tc.check(t, c)
				}
				return
			}
			var ve *idbridge.ParseError
			if c != nil || !errors.As(err, &ve) || !errors.Is(err, idbridge.ErrMalformed) || idbridge.ReasonOf(err) != "malformed" {
				t.Fatalf("ParseClaims = %v, %v; want a *ParseError wrapping ErrMalformed", c != nil, err)
			}
			if !strings.Contains(ve.Detail, tc.bad) {
				t.Errorf("detail %q, want it to contain %q", ve.Detail, tc.bad)
			}
			if len(err.Error()) > 200 || (len(tc.payload) > 16 && strings.Contains(err.Error(), tc.payload)) {
				t.Errorf("the error quotes the payload: %.200s", err)
			}
		})
	}
}

func TestParseClaimsCopiesPayload(t *testing.T) {
	b := []byte(`{"sub":"abc","department":"lending"}`)
	c, err := idbridge.ParseClaims(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = ' '
	}
	if v, _ := c.Get("department"); c.Subject != "abc" || string(v) != `"lending"` {
		t.Fatalf("claims changed with the caller's buffer: sub %q, department %s", c.Subject, v)
	}
}

// FuzzParseClaims: every input yields claims or a malformed error, never a
// panic; accepted input is valid JSON whose members Get returns.
func FuzzParseClaims(f *testing.F) {
	f.Add([]byte(entraShaped))
	f.Add([]byte(`{"active":true,"scope":"a b","client_id":"c","username":"u","exp":1419356238,"aud":["x"]}`))
	f.Add([]byte(`{"exp":1,"exp":2}`))
	f.Add([]byte(`{"iss":"a","ISS":"b"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := idbridge.ParseClaims(payload)
		if err != nil {
			if c != nil || !errors.Is(err, idbridge.ErrMalformed) {
				t.Fatalf("ParseClaims = %v, %v", c != nil, err)
			}
			if len(payload) > 80 && strings.Contains(err.Error(), string(payload)) {
				t.Fatalf("error quotes the payload: %v", err)
			}
			return
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(payload, &m) != nil {
			t.Fatalf("accepted invalid JSON %q", payload)
		}
		for name := range m {
			if _, ok := c.Get(name); !ok {
				t.Fatalf("Get(%q) reported nothing", name)
			}
		}
	})
}
