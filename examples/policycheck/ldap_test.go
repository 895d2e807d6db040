package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/idbridge/idbridge/integration/ldaptest"
)

// TestCheckLDAP: on the seeded slapd, Priya holds Loan_Approver
// (AD_Loan_Approver) though the policy grants it only to Credit_Officers.
func TestCheckLDAP(t *testing.T) {
	srv := ldaptest.Start(t)
	ca := write(t, "ca.pem", string(srv.CACertPEM))
	t.Setenv("LDAP_BIND_PASSWORD", srv.BindPassword)
	var stdout, stderr bytes.Buffer
	code := run([]string{"check-ldap", "-policy", bank, "-url", srv.LDAPSURL, "-bind-dn", srv.BindDN, "-base-dn", srv.BaseDN, "-ca-file", ca}, nil, &stdout, &stderr)
	want := "ungranted_member AD_Loan_Approver: uid=priya.s,ou=people,dc=bank,dc=example (the policy grants it only to members of Credit_Officers)\n" +
		"3 groups and 2 members checked, 1 findings\n"
	if code != 1 || stdout.String() != want {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	// A wrong service password: exit 2, no report.
	t.Setenv("LDAP_BIND_PASSWORD", "wrong")
	stdout.Reset()
	stderr.Reset()
	code = run([]string{"check-ldap", "-policy", bank, "-url", srv.LDAPSURL, "-bind-dn", srv.BindDN, "-base-dn", srv.BaseDN, "-ca-file", ca}, nil, &stdout, &stderr)
	if code != 2 || stdout.Len() > 0 || strings.Contains(stderr.String(), "wrong") {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
}
