package token

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/idbridge/idbridge"
)

const (
	forgetTID   = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	forgetIss   = "https://login.microsoftonline.com/" + forgetTID + "/v2.0"
	leoOID      = "7b2c1e8a-4f3d-4a9e-9c61-0e5d2f1a3b44"
	amitOID     = "0c8f4a2e-61d7-4b1a-8f3e-5a9d2c7b1e60"
	okta        = "https://bank.okta.com/oauth2/default"
	apiClientID = "6e9c3a52-1f4b-4d8e-9a7c-2b5d8e1f4a63"
)

// forgetTokens are incoming tokens shaped as Entra v2 access tokens (aud
// the API's client ID, scp, tid+oid, uti, sid) and one from another
// provider (RFC 9068: iss+sub, jti, scope, client_id), plus an opaque one.
func forgetTokens(iat time.Time) map[string]string {
	entra := func(oid, uti, sid string) string {
		return fakeJWT(map[string]any{
			"aud": apiClientID, "iss": forgetIss, "iat": iat.Unix(), "nbf": iat.Unix(), "exp": iat.Add(time.Hour).Unix(),
			"azp": "b1f3c7d2-5e8a-4c6b-9d2f-1a7e3b5c8d90", "scp": "Loans.Read", "sub": "pairwise-" + oid[:8],
			"tid": forgetTID, "oid": oid, "uti": uti, "sid": sid, "ver": "2.0",
		})
	}
	return map[string]string{
		"leo-1": entra(leoOID, "uti-leo-1", "sid-leo-a"),
		"leo-2": entra(leoOID, "uti-leo-2", "sid-leo-b"),
		"amit":  entra(amitOID, "uti-amit", "sid-amit"),
		"priya@okta": fakeJWT(map[string]any{
			"iss": okta, "sub": "00u1priya", "aud": "api://lending", "jti": "jti-priya", "sid": "sid-priya",
			"scope": "loans.read", "client_id": "0oa1lending", "iat": iat.Unix(), "exp": iat.Add(time.Hour).Unix(),
		}),
		"opaque": "EwBwA8l6BAAURSN/FHJhW8n4Lb4kG0qT",
	}
}

// TestExchangeForget drops, for each kind of revocation, exactly the
// entries of the matching subject tokens (each under two scope sets), and
// keeps the others: the next call for a dropped one goes to the IdP, for a
// kept one it does not.
func TestExchangeForget(t *testing.T) {
	iat := time.Unix(newFakeClock().Now().Unix(), 0).Add(-10 * time.Minute)
	subject := func(tid, oid string, at time.Time) func(*idbridge.Claims) bool {
		return func(c *idbridge.Claims) bool {
			return c.TenantID == tid && c.ObjectID == oid && !c.IssuedAt.After(at)
		}
	}
	for _, tt := range []struct {
		name    string
		match   func(*idbridge.Claims) bool
		dropped []string
	}{
		{"entra subject", subject(forgetTID, leoOID, iat), []string{"leo-1", "leo-2"}},
		{"entra subject re-hired", subject(forgetTID, leoOID, iat.Add(-time.Hour)), nil},
		{"entra subject other tenant", subject("f8cdef31-a31e-4b4a-93e4-5f571e91255a", leoOID, iat), nil},
		{"issuer subject", func(c *idbridge.Claims) bool { return c.Issuer == okta && c.Subject == "00u1priya" }, []string{"priya@okta"}},
		{"token by uti", func(c *idbridge.Claims) bool { return c.UTI == "uti-leo-2" }, []string{"leo-2"}},
		{"token by jti", func(c *idbridge.Claims) bool { return c.ID == "jti-priya" }, []string{"priya@okta"}},
		{"session", func(c *idbridge.Claims) bool { return c.SessionID == "sid-leo-a" }, []string{"leo-1"}},
		{"nobody", func(*idbridge.Claims) bool { return false }, nil},
		{"everybody", func(*idbridge.Claims) bool { return true }, []string{"leo-1", "leo-2", "amit", "priya@okta"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			x, idp := newTestExchange(t, true, newFakeClock())
			ctx := context.Background()
			toks := forgetTokens(iat)
			scopeSets := [][]string{{"api://core/Accounts.Read"}, {"api://core/Loans.Read", "api://core/Accounts.Read"}}
			got := map[string]*Token{}
			for name, tok := range toks {
				for i, s := range scopeSets {
					at, err := x.Token(ctx, tok, s)
					if err != nil {
						t.Fatal(err)
					}
					got[fmt.Sprint(name, i)] = at
				}
			}
			if n := x.Forget(tt.match); n != 2*len(tt.dropped) {
				t.Errorf("Forget dropped %d entries, want %d", n, 2*len(tt.dropped))
			}
			before := idp.count()
			for name, tok := range toks {
				drop := false
				for _, d := range tt.dropped {
					drop = drop || d == name
				}
				for i, s := range scopeSets {
					n := idp.count()
					at, err := x.Token(ctx, tok, s)
					if err != nil {
						t.Fatal(err)
					}
					if fetched := idp.count() > n; fetched != drop || (at == got[fmt.Sprint(name, i)]) == drop {
						t.Errorf("%s %v: fetched again %v, want %v", name, s, fetched, drop)
					}
				}
			}
			if want := before + 2*len(tt.dropped); idp.count() != want {
				t.Errorf("%d requests after Forget, want %d", idp.count()-before, 2*len(tt.dropped))
			}
			x.mu.Lock()
			defer x.mu.Unlock()
			if len(x.order) != len(x.entries) || len(x.who) != len(x.entries)-len(scopeSets) { // opaque: no identity
				t.Errorf("index out of step: %d keys in order, %d entries, %d identities", len(x.order), len(x.entries), len(x.who))
			}
		})
	}
}

// TestExchangeForgetIdentity checks that an entry's identity holds
// only the identifiers Forget matches on, never scopes, audience or the
// token.
func TestExchangeForgetIdentity(t *testing.T) {
	iat := time.Unix(1_700_000_000, 0)
	c := subjectOf(forgetTokens(iat)["leo-1"])
	want := idbridge.Claims{Issuer: forgetIss, Subject: "pairwise-" + leoOID[:8], TenantID: forgetTID, ObjectID: leoOID,
		UTI: "uti-leo-1", SessionID: "sid-leo-a", IssuedAt: iat}
	if c == nil || c.Issuer != want.Issuer || c.Subject != want.Subject || c.TenantID != want.TenantID ||
		c.ObjectID != want.ObjectID || c.UTI != want.UTI || c.SessionID != want.SessionID || !c.IssuedAt.Equal(iat) {
		t.Fatalf("identity = %+v", c)
	}
	if c.Audience != nil || c.Scopes != nil || c.AuthorizedParty != "" {
		t.Errorf("identity keeps more than identifiers: %+v", c)
	}
	if _, ok := c.Get("scp"); ok {
		t.Error("identity keeps the payload")
	}
	for _, tok := range []string{"opaque", "a.b.c", "", "eyJhbGciOiJub25lIn0.e30"} {
		if subjectOf(tok) != nil {
			t.Errorf("identity of %q", tok)
		}
	}
}

// TestExchangeForgetConcurrent runs Forget while requests for several
// users fill and read the cache, for the race detector; afterwards the
// index is in step with the cache.
func TestExchangeForgetConcurrent(t *testing.T) {
	x, _ := newTestExchange(t, true, newFakeClock(), func(o *ExchangeOptions) { o.MaxEntries = 6 })
	iat := time.Unix(newFakeClock().Now().Unix(), 0).Add(-time.Minute)
	toks := forgetTokens(iat)
	ctx := context.Background()
	var wg sync.WaitGroup
	for name, tok := range toks {
		for i := range 4 {
			wg.Go(func() {
				for range 25 {
					if _, err := x.Token(ctx, tok, []string{fmt.Sprint("api://core/", i)}); err != nil {
						t.Errorf("%s: %v", name, err)
						return
					}
				}
			})
		}
	}
	wg.Go(func() {
		for i := range 50 {
			x.Forget(func(c *idbridge.Claims) bool { return c.ObjectID == leoOID || i%10 == 0 })
		}
	})
	wg.Wait()
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.order) != len(x.entries) || len(x.who) > len(x.entries) {
		t.Fatalf("index out of step: %d keys in order, %d entries, %d identities", len(x.order), len(x.entries), len(x.who))
	}
	for k := range x.who {
		if _, ok := x.entries[k]; !ok {
			t.Fatal("an identity outlived its entry")
		}
	}
}
