package ldap

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/jwks/revocation"
)

const (
	dirIssuer = "ldap://corp.bank.example"
	entraTID  = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	entraIss  = "https://login.microsoftonline.com/" + entraTID + "/v2.0"
	leoOID    = "7b2c1e8a-4f3d-4a9e-9c61-0e5d2f1a3b44"
	amitOID   = "0c8f4a2e-61d7-4b1a-8f3e-5a9d2c7b1e60"
	amitDN    = "uid=amit.r,ou=people,dc=bank,dc=example"
)

func forgetDirectory(t *testing.T) *Directory {
	t.Helper()
	d, err := NewDirectory("ldaps://dc1.bank.example", base, func(o *Options) {
		o.Issuer = dirIssuer
		o.GroupsTTL = time.Minute
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// entraUser is the identifying part of an Entra v2 access token whose
// preferred_username names the directory account.
func entraUser(oid, upn string, iat time.Time) *idbridge.Claims {
	return &idbridge.Claims{Issuer: entraIss, Subject: "pairwise-" + oid[:8], TenantID: entraTID, ObjectID: oid,
		PreferredUsername: upn, IssuedAt: iat, UTI: "uti-" + oid[:8], SessionID: "sid-" + oid[:8], Scopes: []string{"Loans.Read"}}
}

// TestForgetMatching caches groups for Leo's account (looked up for his
// Entra token) and Amit's (for his Entra token and, under its DN key, for
// claims the directory built), then applies each kind of revocation as
// Options.OnRevoke would: exactly the accounts of the revoked subject go.
func TestForgetMatching(t *testing.T) {
	now := time.Now()
	leo := entraUser(leoOID, "leo.k", now.Add(-time.Hour))
	amit := entraUser(amitOID, "amit.r", now.Add(-time.Hour))
	amitDir := &idbridge.Claims{Issuer: dirIssuer, Subject: amitDN, PreferredUsername: "amit.r"}
	for _, tt := range []struct {
		name  string
		entry revocation.Entry
		gone  []*idbridge.Claims // accounts dropped, by the claims that found them
	}{
		{"entra user", revocation.EntraUser(entraTID, leoOID), []*idbridge.Claims{leo}},
		{"entra user in upper case", revocation.EntraUser(entraTID, "7B2C1E8A-4F3D-4A9E-9C61-0E5D2F1A3B44"), []*idbridge.Claims{leo}},
		{"entra iss+sub", revocation.IssuerSubject(entraIss, amit.Subject), []*idbridge.Claims{amit}},
		{"directory subject", revocation.IssuerSubject(dirIssuer, amitDN), []*idbridge.Claims{amitDir}},
		{"other tenant", revocation.EntraUser("f8cdef31-a31e-4b4a-93e4-5f571e91255a", leoOID), nil},
		{"token", revocation.TokenID(leo.UTI), nil}, // groups belong to the user, not to one token
		{"session", revocation.SessionID(leo.SessionID), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := forgetDirectory(t)
			all := []*idbridge.Claims{leo, amit, amitDir}
			for _, c := range all {
				key, _, _, _ := d.cacheKey(c)
				d.storeGroups(key, []string{"cn=lending-users,ou=groups,dc=bank,dc=example"}, c)
			}
			var stored revocation.Entry
			list, err := revocation.New(func(o *revocation.Options) { o.OnRevoke = func(e revocation.Entry) { stored = e } })
			if err != nil {
				t.Fatal(err)
			}
			if err := list.Revoke(context.Background(), tt.entry); err != nil {
				t.Fatal(err)
			}
			if n := d.ForgetMatching(stored.Matches); n != len(tt.gone) {
				t.Errorf("ForgetMatching dropped %d accounts, want %d", n, len(tt.gone))
			}
			for _, c := range all {
				key, _, _, _ := d.cacheKey(c)
				_, kept := d.cachedGroups(key, c)
				gone := false
				for _, g := range tt.gone {
					gone = gone || g == c
				}
				if kept == gone {
					t.Errorf("%s/%s: cached %v, want %v", c.Issuer, c.Subject, kept, !gone)
				}
			}
		})
	}
}

// A subject that reaches an already cached account (another issuer's
// token for the same user name) is remembered on the cache hit, so its
// revocation drops the account too; the subjects remembered are bounded.
func TestForgetMatchingRemembersHits(t *testing.T) {
	d := forgetDirectory(t)
	first := entraUser(leoOID, "leo.k", time.Now())
	key, _, _, _ := d.cacheKey(first)
	d.storeGroups(key, nil, first)
	okta := &idbridge.Claims{Issuer: "https://bank.okta.com/oauth2/default", Subject: "00u1leo", PreferredUsername: "leo.k"}
	if k, _, _, _ := d.cacheKey(okta); k != key {
		t.Fatalf("keys differ: %q %q", k, key)
	}
	if _, ok := d.cachedGroups(key, okta); !ok {
		t.Fatal("not cached")
	}
	if n := d.ForgetMatching(revocation.IssuerSubject(okta.Issuer, okta.Subject).Matches); n != 1 {
		t.Fatalf("dropped %d", n)
	}

	d.storeGroups(key, nil, first)
	for i := range 2 * maxSubjects {
		d.cachedGroups(key, &idbridge.Claims{Issuer: "https://idp.example", Subject: fmt.Sprint("s", i), PreferredUsername: "leo.k"})
	}
	if n := len(d.cache[key].who); n != maxSubjects {
		t.Errorf("%d subjects remembered, max %d", n, maxSubjects)
	}
}

// Lookups, hits and ForgetMatching at once, for the race detector.
func TestForgetMatchingConcurrent(t *testing.T) {
	d := forgetDirectory(t)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 200 {
				c := entraUser(fmt.Sprintf("%08d-0000-4000-8000-%012d", j%10, i), fmt.Sprint("user", j%10), time.Now())
				key, _, _, _ := d.cacheKey(c)
				if _, ok := d.cachedGroups(key, c); !ok {
					d.storeGroups(key, nil, c)
				}
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			d.ForgetMatching(func(c *idbridge.Claims) bool { return c.ObjectID[:8] == "00000003" })
		}
	})
	wg.Wait()
}
