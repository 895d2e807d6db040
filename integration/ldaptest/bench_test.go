package ldaptest_test

import (
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/idbridge/idbridge/integration/ldaptest"
)

// BenchmarkStart measures a full start: certificates, slapadd, slapd up,
// groups seeded. It is the per-test cost of ldaptest.Start.
func BenchmarkStart(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		s, err := ldaptest.NewServer(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		s.Stop()
	}
}

// BenchmarkRestart measures Stop plus Restart, the cost of a "server down"
// scenario.
func BenchmarkRestart(b *testing.B) {
	b.ReportAllocs()
	s := ldaptest.Start(b)
	for b.Loop() {
		s.Restart(b)
	}
}

// BenchmarkUserBind measures one simple bind of amit.r on an open
// connection, the hot path of an LDAP password login.
func BenchmarkUserBind(b *testing.B) {
	b.ReportAllocs()
	s := ldaptest.Start(b)
	conn, err := ldap.DialURL(s.URL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	dn := s.UserDN(ldaptest.UserAmit)
	for b.Loop() {
		if err := conn.Bind(dn, ldaptest.PasswordAmit); err != nil {
			b.Fatal(err)
		}
	}
}
