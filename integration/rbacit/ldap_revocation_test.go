package rbacit

import (
	"context"
	"testing"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/integration/ldaptest"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/jwks/revocation"
	"github.com/idbridge/idbridge/rbac"
	"github.com/idbridge/idbridge/rbac/ldap"
)

// A revocation list's OnRevoke drops the cached directory groups of the
// revoked subject, though an entry carries no claims: with the directory
// down, Amit's next decision has to ask it (and fails), while Priya's
// cached groups still answer.
func TestGroupsForgottenOnRevocation(t *testing.T) {
	srv := ldaptest.Start(t)
	dir := directory(t, srv, srv.LDAPSURL, func(o *ldap.Options) { o.GroupsTTL = time.Minute })
	list, err := revocation.New(func(o *revocation.Options) {
		o.OnRevoke = func(e revocation.Entry) { dir.ForgetMatching(e.Matches) }
	})
	if err != nil {
		t.Fatal(err)
	}
	p := bank(t, func(o *rbac.Options) { o.GroupSources = map[string]rbac.GroupSource{"corp-ad": dir} })
	ctx := context.Background()
	amit := &idbridge.Claims{Issuer: bankIssuer, Subject: srv.UserDN(ldaptest.UserAmit)}
	priya := &idbridge.Claims{Issuer: bankIssuer, Subject: srv.UserDN(ldaptest.UserPriya)}
	if d := p.DecideContext(ctx, amit); !d.OK() {
		t.Fatal(d.Err())
	}
	before := p.DecideContext(ctx, priya)
	if before.Reason() == reason.IdPUnavailable {
		t.Fatal(before.Err())
	}
	srv.Stop()
	if err := list.Revoke(ctx, revocation.IssuerSubject(bankIssuer, amit.Subject)); err != nil {
		t.Fatal(err)
	}
	if d := p.DecideContext(ctx, amit); d.OK() || d.Reason() != reason.IdPUnavailable {
		t.Fatalf("revoked user's groups still cached: %v", d.Err())
	}
	if d := p.DecideContext(ctx, priya); d.OK() != before.OK() || d.Reason() != before.Reason() {
		t.Fatalf("another user's cached groups were dropped: %v", d.Err())
	}
}
