package rbac

import "testing"

// The differential test against go-ldap's ParseDN, over a table of tricky
// DNs and fuzzed ones, is in rbac/ldap (which may import go-ldap).

func TestCanonicalDN(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"CN=Lending_RM, OU=Groups , DC=bank,DC=example", "cn=lending_rm,ou=groups,dc=bank,dc=example"},
		{"cn=a;dc=b", "cn=a,dc=b"},
		{"sn=B+cn=a,dc=c", "cn=a+sn=b,dc=c"},
		{"cn=Smith\\, John", "cn=smith\\, john"},
		{"cn=\\4C\\c3\\a9a", "cn=l\\c3\\a9a"},
		{"cn=Lé", "cn=l\\c3\\a9"},
		{"cn=\\ x \\ ", "cn=\\ x \\ "},
		{"cn= #x", "cn=\\#x"},
		{"cn=#04024869", "cn=hi"},
		{"cn=a=b", "cn=a=b"},
		{"c\\=n=a", "c\\=n=a"},
		{"cn=", "cn="},
		{"", ""}, {"  ", ""}, {"cn", ""}, {"cn=a,", ""}, {"cn=a\"", ""}, {"cn=\\zz", ""},
		{"cn=#0c02ff69", ""}, {"cn=#3003040161", ""}, {"cn=#04024869ff", ""},
	} {
		got, ok := canonicalDN(tt.in)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("canonicalDN(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}

func FuzzCanonicalDN(f *testing.F) {
	for _, s := range []string{"cn=a,dc=b", "CN=x+SN=y;O=z", "cn=\\4c\\,\\ ", "cn=#04024869", "=a=b", "cn=\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := canonicalDN(s)
		if !ok {
			if got != "" {
				t.Fatalf("canonicalDN(%q) = %q, false", s, got)
			}
			return
		}
		for i := 0; i < len(got); i++ {
			if c := got[i]; c < ' ' || c > '~' || ('A' <= c && c <= 'Z') {
				t.Fatalf("canonicalDN(%q) = %q: byte %#x", s, got, c)
			}
		}
		// The canonical form is itself a DN (not necessarily its own
		// canonical form: attributes are sorted before lower-casing).
		if _, ok := canonicalDN(got); !ok {
			t.Fatalf("canonicalDN(%q) = %q, which does not parse", s, got)
		}
	})
}
