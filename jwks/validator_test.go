package jwks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
)

func newValidator(t *testing.T, idp *jwkstest.Server, fns ...func(*jwks.Options)) *jwks.Validator {
	t.Helper()
	v, err := jwks.NewValidator(append([]func(*jwks.Options){func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: idp.Issuer(), JWKSURL: idp.JWKSURL()}}
		o.Audiences = []string{"api://orders"}
		o.Algorithms = []string{"RS256", "ES256", "EdDSA"}
		o.HTTPClient = idp.Client()
	}}, fns...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// clock is a settable clock for validators, key sets and the fake IdP.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock    { c := &clock{}; c.ns.Store(t.UnixNano()); return c }
func (c *clock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) Add(d time.Duration) { c.ns.Add(int64(d)) }

func TestNewValidatorRefuses(t *testing.T) {
	ks := jwks.NewStaticKeySet()
	good := func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: "https://idp.example", Keys: ks}}
		o.Audiences = []string{"api://orders"}
		o.Algorithms = []string{"RS256"}
	}
	tests := []struct {
		name string
		fn   func(*jwks.Options)
	}{
		{"no issuers", func(o *jwks.Options) { o.Issuers = nil }},
		{"no audiences", func(o *jwks.Options) { o.Audiences = nil }},
		{"empty audience", func(o *jwks.Options) { o.Audiences = []string{""} }},
		{"no algorithms", func(o *jwks.Options) { o.Algorithms = nil }},
		{"alg none", func(o *jwks.Options) { o.Algorithms = []string{"none"} }},
		{"alg HS256", func(o *jwks.Options) { o.Algorithms = []string{"RS256", "HS256"} }},
		{"alg unknown", func(o *jwks.Options) { o.Algorithms = []string{"RS1"} }},
		{"issuer not a URL", func(o *jwks.Options) { o.Issuers[0].Issuer = "idp.example" }},
		{"issuer empty", func(o *jwks.Options) { o.Issuers[0].Issuer = "" }},
		{"template without tenants", func(o *jwks.Options) { o.Issuers[0].Issuer = "https://idp.example/{tenantid}/v2.0" }},
		{"template twice", func(o *jwks.Options) {
			o.Issuers[0].Issuer = "https://idp.example/{tenantid}/{tenantid}"
			o.Tenants = []string{"t"}
		}},
		{"template without JWKS URL", func(o *jwks.Options) {
			o.Issuers[0] = jwks.Issuer{Issuer: "https://idp.example/{tenantid}/v2.0"}
			o.SkipTenantCheck = true
		}},
		{"keys and JWKS URL", func(o *jwks.Options) { o.Issuers[0].JWKSURL = "https://idp.example/keys" }},
		{"bad JWKS URL", func(o *jwks.Options) { o.Issuers[0] = jwks.Issuer{Issuer: "https://idp.example", JWKSURL: "keys"} }},
		{"issuer twice", func(o *jwks.Options) { o.Issuers = append(o.Issuers, o.Issuers[0]) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := jwks.NewValidator(good, tt.fn)
			if !errors.Is(err, idbridge.ErrInvalidOptions) {
				t.Fatalf("NewValidator = %v, %v; want ErrInvalidOptions", v, err)
			}
		})
	}
	v, err := jwks.NewValidator(good, func(o *jwks.Options) {
		o.Issuers[0].Issuer = "https://idp.example/{tenantid}/v2.0"
		o.SkipTenantCheck = true
	})
	if err != nil {
		t.Fatalf("template with SkipTenantCheck: %v", err)
	}
	v.Close()
	v.Close() // idempotent
}

func TestNewValidatorCopiesOptions(t *testing.T) {
	idp := jwkstest.Start(t)
	auds := []string{"api://orders"}
	v := newValidator(t, idp, func(o *jwks.Options) { o.Audiences = auds })
	auds[0] = "api://changed"
	if _, err := v.Validate(context.Background(), idp.Mint(map[string]any{"aud": "api://orders"})); err != nil {
		t.Fatalf("caller's slice change leaked into the validator: %v", err)
	}
}

func TestValidateAlgorithms(t *testing.T) {
	for _, alg := range []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			idp := jwkstest.Start(t, func(o *jwkstest.Options) { o.Algorithm = alg })
			v := newValidator(t, idp, func(o *jwks.Options) { o.Algorithms = []string{alg} })
			c, err := v.Validate(context.Background(), idp.Mint(map[string]any{"aud": "api://orders", "sub": "u1"}))
			if err != nil {
				t.Fatal(err)
			}
			if c.Header.Algorithm != alg || c.Header.KeyID != idp.KeyID() || c.Header.Type != "JWT" || c.Subject != "u1" {
				t.Fatalf("alg %q kid %q typ %q sub %q", c.Header.Algorithm, c.Header.KeyID, c.Header.Type, c.Subject)
			}
		})
	}
}

func TestClaimsDecoding(t *testing.T) {
	clk := newClock(testNow)
	idp := jwkstest.Start(t, func(o *jwkstest.Options) { o.Now = clk.Now })
	v := newValidator(t, idp, func(o *jwks.Options) { o.Now = clk.Now })
	tok := idp.Mint(map[string]any{
		"aud": []string{"api://other", "api://orders"}, "sub": "s", "jti": "j", "uti": "u",
		"nbf": float64(testNow.Unix()) - 0.5, "oid": "o", "tid": "t", "azp": "client", "appid": "client", "client_id": "client",
		"azpacr": "1", "appidacr": "2", "scp": "  Loans.Read   Customers.Read ", "roles": []string{"A", "B"},
		"groups": []string{"g1"}, "wids": []string{"w1"}, "idtyp": "user", "acr": "1", "acrs": []string{"c1"},
		"amr": []string{"pwd", "mfa"}, "xms_cc": []string{"cp1"}, "preferred_username": "amit@contoso.com",
		"name": "Amit \u00e9\\\"R\"", "email": "a@contoso.com", "ver": "2.0", "sid": "sess",
		"_claim_names":   map[string]string{"groups": "src1"},
		"_claim_sources": map[string]any{"src1": map[string]any{"endpoint": "https://graph.microsoft.com/v1.0/users/o/getMemberObjects", "access_token": "secret"}},
		"custom":         map[string]any{"nested": []int{1, 2}},
	})
	c, err := v.Validate(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"aud", slices.Equal(c.Audience, []string{"api://other", "api://orders"})},
		{"iss", c.Issuer == idp.Issuer()},
		{"exp", c.ExpiresAt.Equal(testNow.Add(time.Hour))},
		{"iat", c.IssuedAt.Equal(testNow)},
		{"nbf fraction", c.NotBefore.Equal(testNow.Add(-500 * time.Millisecond))},
		{"ids", c.Subject == "s" && c.ID == "j" && c.UTI == "u" && c.ObjectID == "o" && c.TenantID == "t"},
		{"clients", c.AuthorizedParty == "client" && c.AppID == "client" && c.ClientID == "client" && c.AuthorizedPartyACR == "1" && c.AppIDACR == "2" && c.Client() == "client"},
		{"scp", slices.Equal(c.Scopes, []string{"Loans.Read", "Customers.Read"}) && c.HasScope("Loans.Read") && !c.HasScope("Loans")},
		{"roles", c.HasRole("B") && !c.HasRole("b")},
		{"groups", c.InGroup("g1") && slices.Equal(c.WIDs, []string{"w1"})},
		{"auth", c.IDType == "user" && c.ACR == "1" && slices.Equal(c.ACRS, []string{"c1"}) && slices.Equal(c.AMR, []string{"pwd", "mfa"})},
		{"xms_cc", slices.Equal(c.ClientCapabilities, []string{"cp1"})},
		{"names", c.PreferredUsername == "amit@contoso.com" && c.Name == "Amit é\\\"R\"" && c.Email == "a@contoso.com"},
		{"misc", c.Version == "2.0" && c.SessionID == "sess"},
		{"overage", c.GroupsOverage() && c.ClaimNames["groups"] == "src1"},
		{"sources", c.ClaimSources["src1"].Endpoint == "https://graph.microsoft.com/v1.0/users/o/getMemberObjects"},
	}
	for _, ch := range checks {
		if !ch.ok {
			t.Errorf("claim check %s failed: %+v", ch.name, c)
		}
	}
	raw, ok := c.Get("custom")
	if !ok || string(raw) != `{"nested":[1,2]}` {
		t.Errorf("Get(custom) = %s, %v", raw, ok)
	}
	if _, ok := c.Get("missing"); ok {
		t.Error("Get(missing) found")
	}
	if raw, _ := c.Get("exp"); string(raw) != "1800003600" {
		t.Errorf("Get(exp) = %s", raw)
	}
	b, err := json.Marshal(c)
	if err != nil || !json.Valid(b) || !bytes.Contains(b, []byte(`"custom"`)) {
		t.Errorf("MarshalJSON = %s, %v", b, err)
	}
	if bytes.Contains(b, []byte(strings.Split(tok, ".")[2])) {
		t.Error("MarshalJSON contains the signature")
	}

	// aud as a single string, scp as an array, v1 client.
	c, err = v.Validate(context.Background(), idp.Mint(map[string]any{"aud": "api://orders", "scp": []string{"a", "b"}, "appid": "v1app"}))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Audience, []string{"api://orders"}) || !slices.Equal(c.Scopes, []string{"a", "b"}) || c.Client() != "v1app" || c.GroupsOverage() {
		t.Fatalf("claims %+v", c)
	}
}

func TestTimeChecks(t *testing.T) {
	clk := newClock(testNow)
	idp := jwkstest.Start(t, func(o *jwkstest.Options) { o.Now = clk.Now })
	exp := testNow.Add(time.Hour)
	tok := idp.Mint(map[string]any{"aud": "api://orders", "exp": exp.Unix()})
	tests := []struct {
		name   string
		leeway time.Duration
		at     time.Time
		want   error
	}{
		{"fresh", 0, testNow, nil},
		{"inside default leeway", 0, exp.Add(59 * time.Second), nil},
		{"at default leeway", 0, exp.Add(60 * time.Second), jwks.ErrExpired},
		{"no leeway, at exp", -1, exp, jwks.ErrExpired},
		{"no leeway, before exp", -1, exp.Add(-time.Second), nil},
		{"leeway clamped to 5m", time.Hour, exp.Add(5*time.Minute - time.Second), nil},
		{"beyond clamped leeway", time.Hour, exp.Add(5 * time.Minute), jwks.ErrExpired},
		{"iat inside leeway", 0, testNow.Add(-59 * time.Second), nil},
		{"iat beyond leeway", 0, testNow.Add(-61 * time.Second), jwks.ErrIssuedInFuture},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := tt.at
			v := newValidator(t, idp, func(o *jwks.Options) {
				o.Leeway = tt.leeway
				o.Now = func() time.Time { return at }
				o.KeySet.Now = clk.Now
			})
			_, err := v.Validate(context.Background(), tok)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Validate = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestTypes(t *testing.T) {
	idp := jwkstest.Start(t)
	v := newValidator(t, idp, func(o *jwks.Options) { o.Types = []string{"application/at+jwt"} })
	for typ, ok := range map[string]bool{"at+jwt": true, "application/at+jwt": true, "AT+JWT": true, "JWT": false, "at+jwt2": false} {
		_, err := v.Validate(context.Background(), idp.MintWithHeader(map[string]any{"typ": typ}, map[string]any{"aud": "api://orders"}))
		if ok && err != nil || !ok && !errors.Is(err, jwks.ErrType) {
			t.Errorf("typ %q: %v", typ, err)
		}
	}
}

func TestValidateIDToken(t *testing.T) {
	idp := jwkstest.Start(t)
	v := newValidator(t, idp, func(o *jwks.Options) { o.Audiences = []string{"client-1", "client-2"} })
	ctx := context.Background()
	tests := []struct {
		name   string
		header map[string]any
		claims map[string]any
		nonce  string
		want   error
	}{
		{"ok", nil, map[string]any{"aud": "client-1", "nonce": "n-1"}, "n-1", nil},
		{"nonce mismatch", nil, map[string]any{"aud": "client-1", "nonce": "n-2"}, "n-1", jwks.ErrMissingClaim},
		{"nonce missing", nil, map[string]any{"aud": "client-1", "scp": nil}, "n-1", jwks.ErrMissingClaim},
		{"nonce not requested", nil, map[string]any{"aud": "client-1", "scp": nil}, "", nil},
		{"ID token with app roles", nil, map[string]any{"aud": "client-1", "nonce": "n", "roles": []string{"LoanViewer"}}, "n", nil},
		{"several aud with azp", nil, map[string]any{"aud": []string{"client-1", "other"}, "azp": "client-1", "nonce": "n"}, "n", nil},
		{"several aud without azp", nil, map[string]any{"aud": []string{"client-1", "other"}, "nonce": "n"}, "n", jwks.ErrAudience},
		{"several aud, foreign azp", nil, map[string]any{"aud": []string{"client-1", "other"}, "azp": "other", "nonce": "n"}, "n", jwks.ErrAudience},
		{"access token is not an ID token", map[string]any{"typ": "at+jwt"}, map[string]any{"aud": "client-1", "nonce": "n"}, "n", jwks.ErrType},
		{"Entra access token (scp)", nil, map[string]any{"aud": "client-1", "scp": "Loans.Read"}, "", jwks.ErrType},
		{"RFC 9068 access token typed JWT (scope)", nil, map[string]any{"aud": "client-1", "scope": "profile", "client_id": "client-1"}, "", jwks.ErrType},
		{"Entra app-only token", nil, map[string]any{"aud": "client-1", "idtyp": "app"}, "", jwks.ErrType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.ValidateIDToken(ctx, idp.MintWithHeader(tt.header, tt.claims), tt.nonce)
			if tt.want == nil && (err != nil || c == nil) || tt.want != nil && (!errors.Is(err, tt.want) || c != nil) {
				t.Fatalf("ValidateIDToken = %v, %v; want %v", c, err, tt.want)
			}
		})
	}
}

func TestSeveralIssuers(t *testing.T) {
	a := jwkstest.Start(t)
	b := jwkstest.Start(t, func(o *jwkstest.Options) { o.Algorithm = "ES256" })
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{
			{Issuer: a.Issuer(), JWKSURL: a.JWKSURL()},
			{Issuer: b.Issuer(), JWKSURL: b.JWKSURL()},
		}
		o.Audiences = []string{"api://orders"}
		o.Algorithms = []string{"RS256", "ES256"}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ctx := context.Background()
	for _, idp := range []*jwkstest.Server{a, b} {
		if _, err := v.Validate(ctx, idp.Mint(map[string]any{"aud": "api://orders"})); err != nil {
			t.Fatal(err)
		}
	}
	// a's token claiming b's issuer: b's key set has no such kid.
	_, err = v.Validate(ctx, a.Mint(map[string]any{"aud": "api://orders", "iss": b.Issuer()}))
	if !errors.Is(err, jwks.ErrUnknownKey) && !errors.Is(err, jwks.ErrAlgorithm) {
		t.Fatalf("cross-issuer token: %v", err)
	}
	// An unknown issuer never causes a fetch.
	na, nb := a.Requests("jwks"), b.Requests("jwks")
	for i := 0; i < 20; i++ {
		_, err = v.Validate(ctx, a.Mint(map[string]any{"aud": "api://orders", "iss": "https://unknown.example", "kid": i}))
		if !errors.Is(err, jwks.ErrIssuer) {
			t.Fatalf("unknown issuer: %v", err)
		}
	}
	if a.Requests("jwks") != na || b.Requests("jwks") != nb {
		t.Fatal("an unknown issuer caused a JWKS fetch")
	}
}

func TestDiscoveryIssuer(t *testing.T) {
	idp := jwkstest.Start(t)
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: idp.Issuer()}} // discovered
		o.Audiences = []string{"api://orders"}
		o.Algorithms = []string{"RS256"}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := v.Validate(context.Background(), idp.Mint(map[string]any{"aud": "api://orders"})); err != nil {
		t.Fatal(err)
	}
	if idp.Requests("discovery") != 1 {
		t.Fatalf("discovery requests = %d", idp.Requests("discovery"))
	}
}

func TestStaticKeySet(t *testing.T) {
	idp := jwkstest.Start(t)
	k, err := jwks.NewKey(idp.KeyID(), "RS256", idp.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: idp.Issuer(), Keys: jwks.NewStaticKeySet(k)}}
		o.Audiences = []string{"api://orders"}
		o.Algorithms = []string{"RS256"}
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := v.Validate(ctx, idp.Mint(map[string]any{"aud": "api://orders"})); err != nil {
		t.Fatal(err)
	}
	// A single key also verifies tokens without kid.
	if _, err := v.Validate(ctx, idp.MintWithHeader(map[string]any{"kid": nil}, map[string]any{"aud": "api://orders"})); err != nil {
		t.Fatalf("no kid, one key: %v", err)
	}
	if idp.Requests("jwks") != 0 {
		t.Fatal("static key set fetched")
	}
}

func TestAudit(t *testing.T) {
	// Synchronized: the key set's first fetch publishes its keys before it
	// records jwks.refreshed, so validation may run while it writes.
	buf := &syncWriter{w: &bytes.Buffer{}}
	h := slog.NewJSONHandler(buf, nil)
	idp := jwkstest.Start(t)
	v := newValidator(t, idp, func(o *jwks.Options) { o.Audit = h })
	ctx := context.Background()
	good := idp.Mint(map[string]any{"aud": "api://orders", "sub": "u1", "oid": "o1", "tid": "t1", "azp": "c1", "uti": "uti-1", "roles": []string{"R"}})
	bad := idp.Mint(map[string]any{"aud": "api://other", "sub": "attacker-controlled"})
	if _, err := v.Validate(ctx, good); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(ctx, bad); err == nil {
		t.Fatal("bad token accepted")
	}
	var events []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace([]byte(buf.String())), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		events = append(events, m)
	}
	byName := map[string]map[string]any{}
	for _, e := range events {
		byName[e["event"].(string)] = e
	}
	ok := byName["token.validated"]
	if ok == nil || ok["outcome"] != "success" || ok["sub"] != "u1" || ok["oid"] != "o1" || ok["tid"] != "t1" ||
		ok["azp"] != "c1" || ok["kid"] != idp.KeyID() || ok["alg"] != "RS256" || ok["token_id"] == "" || ok["iss"] != idp.Issuer() {
		t.Errorf("token.validated = %v", ok)
	}
	rej := byName["token.rejected"]
	if rej == nil || rej["outcome"] != "failure" || rej["reason"] != "audience" || rej["sub"] != nil {
		t.Errorf("token.rejected = %v", rej)
	}
	if byName["jwks.refreshed"] == nil {
		t.Errorf("no jwks.refreshed event in %v", events)
	}
	for _, tok := range []string{good, bad} {
		for _, part := range strings.Split(tok, ".") {
			if strings.Contains(buf.String(), part) {
				t.Fatal("audit output contains a token segment")
			}
		}
	}
}

// TestAuditBoundsUnverifiedFields: a rejected token's iss, kid and alg are
// attacker-controlled; the audit event carries them cut short, so a 16 KiB
// token cannot turn into a 16 KiB log line.
func TestAuditBoundsUnverifiedFields(t *testing.T) {
	var buf bytes.Buffer
	idp := jwkstest.Start(t)
	v := newValidator(t, idp, func(o *jwks.Options) {
		o.Audit = slog.NewJSONHandler(&buf, nil)
		o.KeySet.Audit = slog.DiscardHandler // background refreshes must not write to buf
	})
	long := strings.Repeat("é", 3000)
	for _, tok := range []string{
		idp.Mint(map[string]any{"aud": "api://orders", "iss": "https://" + long}),
		idp.MintWithHeader(map[string]any{"kid": long}, map[string]any{"aud": "api://orders"}),
		idp.MintWithHeader(map[string]any{"alg": long}, map[string]any{"aud": "api://orders"}),
	} {
		buf.Reset()
		if _, err := v.Validate(context.Background(), tok); err == nil {
			t.Fatal("accepted")
		}
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			if strings.Contains(l, `"token.rejected"`) {
				lines = append(lines, l)
			}
		}
		if len(lines) != 1 || len(lines[0]) > 1500 || !json.Valid([]byte(lines[0])) {
			t.Fatalf("token.rejected event of %d bytes: %.300s", len(lines[0]), lines[0])
		}
	}
}
