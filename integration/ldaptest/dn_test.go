package ldaptest_test

import (
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/idbridge/idbridge/integration/ldaptest"
)

func TestUserAndGroupDN(t *testing.T) {
	t.Parallel()
	var s ldaptest.Server // DN helpers need no running server
	tests := []struct {
		got, want string
	}{
		{s.UserDN(ldaptest.UserAmit), "uid=amit.r,ou=people,dc=bank,dc=example"},
		{s.GroupDN(ldaptest.GroupBranchStaff), "cn=Branch_Staff,ou=groups,dc=bank,dc=example"},
		{s.UserDN("a,b"), `uid=a\,b,ou=people,dc=bank,dc=example`},
		{s.UserDN(" x "), `uid=\ x\ ,ou=people,dc=bank,dc=example`},
		{s.UserDN("#x=y+z"), `uid=\#x\=y\+z,ou=people,dc=bank,dc=example`},
		{s.GroupDN("nul\x00"), `cn=nul\00,ou=groups,dc=bank,dc=example`},
		{s.GroupDN("é"), "cn=é,ou=groups,dc=bank,dc=example"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

// FuzzUserDN checks that any uid, however hostile, yields a DN that parses
// back to exactly that uid under ou=people: no injection of extra RDNs.
func FuzzUserDN(f *testing.F) {
	for _, seed := range []string{
		ldaptest.UserAmit, "a,b", " lead", "trail ", "#x", "a+b=c", `back\slash`, `"q"`,
		"<>;", "\x00", "\xff\xfe", "é", "uid=evil,ou=people", "x,dc=evil",
	} {
		f.Add(seed)
	}
	var s ldaptest.Server
	people, err := ldap.ParseDN(ldaptest.PeopleDN)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, uid string) {
		if uid == "" {
			return // an empty RDN value is legal in DNs but never a uid
		}
		dn := s.UserDN(uid)
		parsed, err := ldap.ParseDN(dn)
		if err != nil {
			t.Fatalf("ParseDN(%q): %v", dn, err)
		}
		if len(parsed.RDNs) != len(people.RDNs)+1 {
			t.Fatalf("%q has %d RDNs, want %d", dn, len(parsed.RDNs), len(people.RDNs)+1)
		}
		first := parsed.RDNs[0].Attributes
		if len(first) != 1 || first[0].Type != "uid" || first[0].Value != uid {
			t.Fatalf("%q: first RDN %+v, want uid=%q", dn, first, uid)
		}
		if !(&ldap.DN{RDNs: parsed.RDNs[1:]}).Equal(people) {
			t.Fatalf("%q is not under %s", dn, ldaptest.PeopleDN)
		}
	})
}
