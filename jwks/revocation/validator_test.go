package revocation_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
	"github.com/idbridge/idbridge/jwks/revocation"
)

// A real validator wrapped with the list: valid tokens pass, a revoked
// user's token is refused with class revoked, invalid tokens keep their
// own error.
func TestValidator(t *testing.T) {
	idp := jwkstest.Start(t)
	jv, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: idp.Issuer(), JWKSURL: idp.JWKSURL()}}
		o.Audiences = []string{"api://lending"}
		o.Algorithms = []string{"RS256"}
		o.HTTPClient = idp.Client()
		o.Cache = &jwks.CacheOptions{}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer jv.Close()
	list, _ := revocation.New()
	v := revocation.NewValidator(jv, list)
	ctx := context.Background()
	leo := idp.Mint(map[string]any{"aud": "api://lending", "tid": tid, "oid": leoOID, "scp": "Loans.Read"})
	amit := idp.Mint(map[string]any{"aud": "api://lending", "tid": tid, "oid": amitOID, "scp": "Loans.Read"})
	if _, err := v.Validate(ctx, leo); err != nil {
		t.Fatal(err)
	}
	must(t, list.Revoke(ctx, revocation.EntraUser(tid, leoOID)))
	_, err = v.Validate(ctx, leo) // also a verified-token cache hit
	if !errors.Is(err, revocation.ErrRevoked) || idbridge.Reason(err) != "revoked" {
		t.Fatalf("revoked: %v", err)
	}
	if _, err := v.Validate(ctx, amit); err != nil {
		t.Fatalf("other user: %v", err)
	}
	if _, err := v.Validate(ctx, "not.a.token"); !errors.Is(err, jwks.ErrMalformed) {
		t.Fatalf("malformed: %v", err)
	}
	if v.Audits() {
		t.Fatal("Audits true for a validator without audit")
	}
}

func TestOnRevoke(t *testing.T) {
	c := newClock()
	var got []revocation.Entry
	l := newList(t, c, func(o *revocation.Options) { o.OnRevoke = func(e revocation.Entry) { got = append(got, e) } })
	ctx := context.Background()
	must(t, l.Revoke(ctx, revocation.EntraUser(tid, leoOID)))
	must(t, l.Revoke(ctx, revocation.Entry{Kind: revocation.Subject, TenantID: tid, ObjectID: leoOID, At: c.ago(time.Hour)})) // older: no news
	if _, err := l.Merge(revocation.SessionID("s1")); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ObjectID != leoOID || got[1].ID != "s1" {
		t.Fatalf("OnRevoke saw %+v", got)
	}
}
