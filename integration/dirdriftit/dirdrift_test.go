// Package dirdriftit checks rbac/dirdrift and rbac/ldap's Exists and
// Members against a seeded slapd (integration/ldaptest).
package dirdriftit

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/idbridge/idbridge/integration/ldaptest"
	"github.com/idbridge/idbridge/rbac"
	"github.com/idbridge/idbridge/rbac/dirdrift"
	"github.com/idbridge/idbridge/rbac/ldap"
)

func directory(t *testing.T, srv *ldaptest.Server) *ldap.Directory {
	t.Helper()
	d, err := ldap.NewDirectory(srv.LDAPSURL, func(o *ldap.Options) {
		o.BindDN, o.BindPassword, o.BaseDN = srv.BindDN, srv.BindPassword, srv.BaseDN
		o.TLSConfig = srv.TLSConfig()
		o.Issuer = "ldap://corp.bank.example"
		o.Timeout, o.DialTimeout = 2*time.Second, 2*time.Second
		o.GroupsTTL = -1 // each check reads the directory as it is now
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestExistsAndMembers(t *testing.T) {
	srv := ldaptest.Start(t)
	d := directory(t, srv)
	ctx := context.Background()
	for dn, want := range map[string]bool{srv.GroupDN("Lending_RM"): true, "cn=Nope,ou=groups,dc=bank,dc=example": false, "cn=x,dc=elsewhere": false} {
		if got, err := d.Exists(ctx, dn); err != nil || got != want {
			t.Errorf("Exists(%s) = %v, %v", dn, got, err)
		}
	}
	// Branch_Staff holds Lending_RM, which holds Amit.
	m, err := d.Members(ctx, srv.GroupDN("Branch_Staff"))
	if err != nil || len(m) != 1 || m[0] != strings.ToLower(srv.UserDN("amit.r")) {
		t.Fatalf("Members(Branch_Staff) = %v, %v", m, err)
	}
	if _, err := d.Members(ctx, srv.UserDN("amit.r")); !errors.Is(err, ldap.ErrNoGroup) {
		t.Errorf("a user as group: %v", err)
	}
	if _, err := d.Members(ctx, "cn=Nope,ou=groups,dc=bank,dc=example"); !errors.Is(err, ldap.ErrNoGroup) {
		t.Errorf("no such group: %v", err)
	}
}

// TestBankDrift: on the seeded directory, Priya is in Loan_Approver
// (AD_Loan_Approver) without being in Credit_Officers, the only group the
// policy grants it to; Amit's CBS_ViewOnly is granted through Lending_RM.
// A declared group missing from the directory is reported.
func TestBankDrift(t *testing.T) {
	srv := ldaptest.Start(t)
	d := directory(t, srv)
	data, err := os.ReadFile("../../examples/policies/bank.yaml")
	if err != nil {
		t.Fatal(err)
	}
	policy := strings.Replace(string(data), "cn=Branch_Staff,ou=groups", "cn=Branch_Staf,ou=groups", 1)
	p, err := rbac.ParsePolicy([]byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := dirdrift.Check(context.Background(), d, p.Inventory(), "corp-ad")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range rep.Findings {
		got = append(got, f.String())
	}
	want := []string{
		"missing_group AD_Branch_Staff (cn=branch_staf,ou=groups,dc=bank,dc=example): no such entry in the directory",
		"ungranted_member AD_Loan_Approver: uid=priya.s,ou=people,dc=bank,dc=example (the policy grants it only to members of Credit_Officers)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || rep.GroupsChecked != 3 || rep.UsersChecked != 2 {
		t.Fatalf("report %+v:\n%s", rep, strings.Join(got, "\n"))
	}
	if _, err := dirdrift.Check(context.Background(), d, p.Inventory(), "entra"); err == nil {
		t.Error("an Entra issuer is not a directory")
	}

	// A directory that stops answering fails the check; no partial report.
	srv.Stop()
	if rep, err := dirdrift.Check(context.Background(), d, p.Inventory(), "corp-ad"); !errors.Is(err, ldap.ErrUnavailable) || rep != nil {
		t.Fatalf("%v %v", rep, err)
	}
}
