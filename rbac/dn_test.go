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

// TestCanonicalDNCaseAndOrder: LDAP compares DNs case-insensitively and
// the attributes of a multi-valued RDN in any order, so every spelling of
// one DN must have one canonical form, and the canonical form must be its
// own (a group source may hand rbac IDs it normalized already).
func TestCanonicalDNCaseAndOrder(t *testing.T) {
	for _, same := range [][]string{
		{"cn=B+cn=a,dc=x", "cn=b+cn=a,dc=x", "cn=a+cn=b,dc=x", "CN=A+CN=B,DC=X"},
		{"ou=Ops+cn=Z+cn=y", "cn=z+ou=ops+cn=Y", "cn=y+cn=z+ou=ops"},
	} {
		want, ok := canonicalDN(same[0])
		if !ok {
			t.Fatalf("canonicalDN(%q) refused", same[0])
		}
		for _, dn := range same[1:] {
			if got, _ := canonicalDN(dn); got != want {
				t.Errorf("canonicalDN(%q) = %q, canonicalDN(%q) = %q: one DN, two forms", same[0], want, dn, got)
			}
		}
		if again, _ := canonicalDN(want); again != want {
			t.Errorf("canonicalDN(%q) = %q: the canonical form is not its own", want, again)
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
		// The canonical form is a DN, and its own canonical form.
		if again, ok := canonicalDN(got); !ok || again != got {
			t.Fatalf("canonicalDN(%q) = %q, whose canonical form is %q, %v", s, got, again, ok)
		}
	})
}
