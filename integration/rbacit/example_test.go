package rbacit

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/idbridge/idbridge/integration/ldaptest"
	"github.com/idbridge/idbridge/rbac"
	"github.com/idbridge/idbridge/rbac/ldap"
)

// An on-prem application without tokens: check the directory password,
// then decide with the same policy as every other environment.
func Example_onPremLogin() {
	dir, _ := os.MkdirTemp("", "rbacit-example-")
	defer os.RemoveAll(dir)
	srv, err := ldaptest.NewServer(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Stop()

	directory, err := ldap.NewDirectory(srv.LDAPSURL, func(o *ldap.Options) {
		o.BindDN, o.BindPassword, o.BaseDN = srv.BindDN, srv.BindPassword, srv.BaseDN
		o.TLSConfig = srv.TLSConfig()
		o.Issuer = "ldap://corp.bank.example" // as declared in the policy
	})
	if err != nil {
		log.Fatal(err)
	}
	defer directory.Close()
	policy, err := rbac.NewPolicy("../../examples/policies/bank.yaml")
	if err != nil {
		log.Fatal(err)
	}

	claims, err := directory.Authenticate(context.Background(), "amit.r", ldaptest.PasswordAmit)
	if err != nil {
		log.Fatal(err)
	}
	d := policy.Decide(claims)
	fmt.Println(d.Roles(), d.Allowed("cbs:account:read"), d.Allowed("cbs:loan:approve"))

	// The leaver's account is locked: the directory refuses his bind, and
	// the answer does not tell a password guesser that the account exists.
	_, err = directory.Authenticate(context.Background(), "leo.v", ldaptest.PasswordLeo)
	fmt.Println(err)
	// Output:
	// [CBS_Viewer BranchPortalUser] true false
	// ldap: invalid credentials
}
