package ldaptest_test

import (
	"fmt"
	"log"
	"os"
	"slices"

	"github.com/go-ldap/ldap/v3"

	"github.com/idbridge/idbridge/integration/ldaptest"
)

// Example shows what idbridge's LDAP code does against the seeded
// directory: search as the service account over LDAPS, read memberOf, and
// see the disabled leaver refused. Inside a test, use ldaptest.Start(t)
// instead of NewServer: it owns the directory and the cleanup.
func Example() {
	dir, err := os.MkdirTemp("", "ldaptest-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	srv, err := ldaptest.NewServer(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Stop()

	conn, err := ldap.DialURL(srv.LDAPSURL, ldap.DialWithTLSConfig(srv.TLSConfig()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Bind(srv.BindDN, srv.BindPassword); err != nil {
		log.Fatal(err)
	}
	res, err := conn.Search(ldap.NewSearchRequest(srv.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		0, 0, false, "(uid="+ldap.EscapeFilter(ldaptest.UserAmit)+")", []string{"cn", "title", "memberOf"}, nil))
	if err != nil {
		log.Fatal(err)
	}
	amit := res.Entries[0]
	fmt.Println(amit.GetAttributeValue("cn"), "-", amit.GetAttributeValue("title"))
	groups := amit.GetAttributeValues("memberOf")
	slices.Sort(groups)
	for _, g := range groups {
		fmt.Println("memberOf:", g)
	}

	err = conn.Bind(srv.UserDN(ldaptest.UserLeo), ldaptest.PasswordLeo)
	fmt.Println("leo.v refused:", ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials))
	// Output:
	// Amit R - Relationship Manager
	// memberOf: cn=CBS_ViewOnly,ou=groups,dc=bank,dc=example
	// memberOf: cn=Lending_RM,ou=groups,dc=bank,dc=example
	// leo.v refused: true
}
