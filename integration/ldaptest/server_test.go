package ldaptest_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/idbridge/idbridge/integration/ldaptest"
	"github.com/idbridge/idbridge/integration/testenv"
)

const opTimeout = 5 * time.Second

// dial connects to url and closes the connection at test end.
func dial(t testing.TB, url string, opts ...ldap.DialOpt) *ldap.Conn {
	t.Helper()
	opts = append(opts, ldap.DialWithDialer(&net.Dialer{Timeout: opTimeout}))
	conn, err := ldap.DialURL(url, opts...)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	conn.SetTimeout(opTimeout)
	t.Cleanup(func() { conn.Close() })
	return conn
}

// asRoot returns a connection bound as the rootdn, for changing data.
func asRoot(t testing.TB, s *ldaptest.Server) *ldap.Conn {
	t.Helper()
	conn := dial(t, s.URL)
	if err := conn.Bind(s.RootDN, s.RootPassword); err != nil {
		t.Fatalf("root bind: %v", err)
	}
	return conn
}

// asReader returns a connection bound as the read-only service account.
func asReader(t testing.TB, s *ldaptest.Server) *ldap.Conn {
	t.Helper()
	conn := dial(t, s.URL)
	if err := conn.Bind(s.BindDN, s.BindPassword); err != nil {
		t.Fatalf("reader bind: %v", err)
	}
	return conn
}

// attr reads one attribute of one entry, sorted.
func attr(t testing.TB, conn *ldap.Conn, dn, name string) []string {
	t.Helper()
	res, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		0, 0, false, "(objectClass=*)", []string{name}, nil))
	if err != nil {
		t.Fatalf("read %s of %s: %v", name, dn, err)
	}
	if len(res.Entries) != 1 {
		t.Fatalf("read %s of %s: %d entries", name, dn, len(res.Entries))
	}
	v := res.Entries[0].GetAttributeValues(name)
	slices.Sort(v)
	return v
}

func TestBind(t *testing.T) {
	t.Parallel()
	s := ldaptest.Start(t)
	tests := []struct {
		name     string
		dn, pw   string
		wantCode uint16 // 0 = success
	}{
		{"amit correct password", s.UserDN(ldaptest.UserAmit), ldaptest.PasswordAmit, 0},
		{"priya correct password", s.UserDN(ldaptest.UserPriya), ldaptest.PasswordPriya, 0},
		{"service account", s.BindDN, s.BindPassword, 0},
		{"rootdn", s.RootDN, s.RootPassword, 0},
		{"amit wrong password", s.UserDN(ldaptest.UserAmit), "wrong", ldap.LDAPResultInvalidCredentials},
		{"amit other user's password", s.UserDN(ldaptest.UserAmit), ldaptest.PasswordPriya, ldap.LDAPResultInvalidCredentials},
		{"leo disabled, correct password", s.UserDN(ldaptest.UserLeo), ldaptest.PasswordLeo, ldap.LDAPResultInvalidCredentials},
		{"unknown user", s.UserDN("nobody"), "x", ldap.LDAPResultInvalidCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := dial(t, s.URL)
			err := conn.Bind(tt.dn, tt.pw)
			if tt.wantCode == 0 {
				if err != nil {
					t.Fatalf("bind: %v", err)
				}
				return
			}
			if !ldap.IsErrorWithCode(err, tt.wantCode) {
				t.Fatalf("bind error = %v, want LDAP result %d", err, tt.wantCode)
			}
		})
	}
}

func TestMemberOf(t *testing.T) {
	t.Parallel()
	s := ldaptest.Start(t)
	conn := asReader(t, s)
	tests := []struct {
		name string
		dn   string
		want []string
	}{
		{"amit", s.UserDN(ldaptest.UserAmit), []string{s.GroupDN(ldaptest.GroupCBSViewOnly), s.GroupDN(ldaptest.GroupLendingRM)}},
		{"priya", s.UserDN(ldaptest.UserPriya), []string{s.GroupDN(ldaptest.GroupLoanApprover)}},
		{"leo", s.UserDN(ldaptest.UserLeo), []string{s.GroupDN(ldaptest.GroupFinance)}},
		{"nested group Lending_RM", s.GroupDN(ldaptest.GroupLendingRM), []string{s.GroupDN(ldaptest.GroupBranchStaff)}},
		{"top group Branch_Staff", s.GroupDN(ldaptest.GroupBranchStaff), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := attr(t, conn, tt.dn, "memberOf")
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Fatalf("memberOf = %q, want %q", got, want)
			}
		})
	}
}

// TestTransitiveMembership follows memberOf upwards the way a client must
// (OpenLDAP has no in-chain matching rule) and finds Branch_Staff for amit.
func TestTransitiveMembership(t *testing.T) {
	t.Parallel()
	s := ldaptest.Start(t)
	conn := asReader(t, s)
	seen := map[string]bool{}
	queue := []string{s.UserDN(ldaptest.UserAmit)}
	for len(queue) > 0 {
		dn := queue[0]
		queue = queue[1:]
		for _, g := range attr(t, conn, dn, "memberOf") {
			if !seen[g] {
				seen[g] = true
				queue = append(queue, g)
			}
		}
	}
	for _, cn := range []string{ldaptest.GroupCBSViewOnly, ldaptest.GroupLendingRM, ldaptest.GroupBranchStaff} {
		if !seen[s.GroupDN(cn)] {
			t.Errorf("amit.r not transitively in %s; got %v", cn, seen)
		}
	}
	if len(seen) != 3 {
		t.Errorf("amit.r transitively in %d groups, want 3: %v", len(seen), seen)
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	s := ldaptest.Start(t)
	poolOnly := &tls.Config{RootCAs: s.CertPool(), MinVersion: tls.VersionTLS12}
	pemPool := x509.NewCertPool()
	if !pemPool.AppendCertsFromPEM(s.CACertPEM) {
		t.Fatal("CACertPEM holds no certificate")
	}
	tests := []struct {
		name    string
		connect func(t *testing.T) (*ldap.Conn, error)
		wantErr bool
	}{
		{"ldaps with TLSConfig", func(t *testing.T) (*ldap.Conn, error) {
			return ldap.DialURL(s.LDAPSURL, ldap.DialWithTLSConfig(s.TLSConfig()))
		}, false},
		{"ldaps with CertPool, ServerName from URL", func(t *testing.T) (*ldap.Conn, error) {
			return ldap.DialURL(s.LDAPSURL, ldap.DialWithTLSConfig(poolOnly))
		}, false},
		{"ldaps with pool from CACertPEM", func(t *testing.T) (*ldap.Conn, error) {
			return ldap.DialURL(s.LDAPSURL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: pemPool, MinVersion: tls.VersionTLS12}))
		}, false},
		{"starttls with TLSConfig", func(t *testing.T) (*ldap.Conn, error) {
			conn, err := ldap.DialURL(s.URL)
			if err != nil {
				return nil, err
			}
			if err := conn.StartTLS(s.TLSConfig()); err != nil {
				conn.Close()
				return nil, err
			}
			return conn, nil
		}, false},
		{"ldaps with system roots fails", func(t *testing.T) (*ldap.Conn, error) {
			return ldap.DialURL(s.LDAPSURL, ldap.DialWithTLSConfig(&tls.Config{ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}))
		}, true},
		{"ldaps with another server's CA fails", func(t *testing.T) (*ldap.Conn, error) {
			other := ldaptest.Start(t)
			return ldap.DialURL(s.LDAPSURL, ldap.DialWithTLSConfig(other.TLSConfig()))
		}, true},
		{"starttls with wrong name fails", func(t *testing.T) (*ldap.Conn, error) {
			conn, err := ldap.DialURL(s.URL)
			if err != nil {
				return nil, err
			}
			cfg := s.TLSConfig()
			cfg.ServerName = "ldap.bank.example"
			if err := conn.StartTLS(cfg); err != nil {
				conn.Close()
				return nil, err
			}
			return conn, nil
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := tt.connect(t)
			if tt.wantErr {
				if err == nil {
					conn.Close()
					t.Fatal("connected, want a certificate error")
				}
				// go-ldap's StartTLS flattens the handshake error with %v, so
				// errors.As works for LDAPS only; the text covers both.
				var certErr *tls.CertificateVerificationError
				if !errors.As(err, &certErr) && !strings.Contains(err.Error(), "failed to verify certificate") {
					t.Fatalf("error = %v, want a certificate verification error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("connect: %v", err)
			}
			defer conn.Close()
			conn.SetTimeout(opTimeout)
			if state, ok := conn.TLSConnectionState(); !ok || !state.HandshakeComplete {
				t.Fatal("connection is not TLS")
			}
			if err := conn.Bind(s.UserDN(ldaptest.UserAmit), ldaptest.PasswordAmit); err != nil {
				t.Fatalf("bind over TLS: %v", err)
			}
			who, err := conn.WhoAmI(nil)
			if err != nil {
				t.Fatalf("whoami: %v", err)
			}
			if want := "dn:" + s.UserDN(ldaptest.UserAmit); who.AuthzID != want {
				t.Fatalf("whoami = %q, want %q", who.AuthzID, want)
			}
		})
	}
}

func TestStopRestart(t *testing.T) {
	t.Parallel()
	s := ldaptest.Start(t)
	url, ldapsURL := s.URL, s.LDAPSURL
	amit := s.UserDN(ldaptest.UserAmit)

	mod := ldap.NewModifyRequest(amit, nil)
	mod.Replace("description", []string{"survives restart"})
	if err := asRoot(t, s).Modify(mod); err != nil {
		t.Fatalf("modify: %v", err)
	}

	s.Stop()
	s.Stop() // idempotent
	for _, u := range []string{url, ldapsURL} {
		start := time.Now()
		conn, err := ldap.DialURL(u, ldap.DialWithDialer(&net.Dialer{Timeout: opTimeout}),
			ldap.DialWithTLSConfig(s.TLSConfig()))
		if err == nil {
			conn.Close()
			t.Fatalf("dial %s after Stop succeeded", u)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("dial %s after Stop took %v, want a fast refusal", u, d)
		}
	}

	s.Restart(t)
	if s.URL != url || s.LDAPSURL != ldapsURL {
		t.Fatalf("URLs changed across restart: %s %s -> %s %s", url, ldapsURL, s.URL, s.LDAPSURL)
	}
	conn := dial(t, s.URL)
	if err := conn.Bind(amit, ldaptest.PasswordAmit); err != nil {
		t.Fatalf("bind after restart: %v", err)
	}
	if got := attr(t, conn, amit, "description"); !slices.Equal(got, []string{"survives restart"}) {
		t.Fatalf("description after restart = %q", got)
	}
	if got := attr(t, conn, amit, "memberOf"); len(got) != 2 {
		t.Fatalf("memberOf after restart = %q, want 2 groups", got)
	}
	tlsConn := dial(t, s.LDAPSURL, ldap.DialWithTLSConfig(s.TLSConfig()))
	if err := tlsConn.Bind(s.BindDN, s.BindPassword); err != nil {
		t.Fatalf("ldaps bind after restart: %v", err)
	}

	s.Restart(t) // restarting a running server also works
	if err := dial(t, s.URL).Bind(s.BindDN, s.BindPassword); err != nil {
		t.Fatalf("bind after second restart: %v", err)
	}
}

func TestTwoServersAtOnce(t *testing.T) {
	t.Parallel()
	a, b := ldaptest.Start(t), ldaptest.Start(t)
	if a.URL == b.URL || a.LDAPSURL == b.LDAPSURL || a.URL == b.LDAPSURL {
		t.Fatalf("servers share a port: %v %v", a, b)
	}
	if a.RootPassword == b.RootPassword {
		t.Fatal("servers share a root password")
	}
	a.Stop()
	if err := dial(t, b.URL).Bind(b.BindDN, b.BindPassword); err != nil {
		t.Fatalf("second server after first stopped: %v", err)
	}
}

func TestAccessControl(t *testing.T) {
	t.Parallel()
	s := ldaptest.Start(t)
	amit := s.UserDN(ldaptest.UserAmit)

	t.Run("reader cannot write", func(t *testing.T) {
		mod := ldap.NewModifyRequest(amit, nil)
		mod.Replace("title", []string{"CEO"})
		if err := asReader(t, s).Modify(mod); !ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights) {
			t.Fatalf("modify as reader: %v, want insufficient access", err)
		}
	})
	t.Run("reader cannot read passwords", func(t *testing.T) {
		if got := attr(t, asReader(t, s), amit, "userPassword"); len(got) != 0 {
			t.Fatal("reader sees userPassword")
		}
	})
	t.Run("reader searches people and groups", func(t *testing.T) {
		conn := asReader(t, s)
		for base, want := range map[string]int{ldaptest.PeopleDN: 3, ldaptest.GroupsDN: 5} {
			res, err := conn.Search(ldap.NewSearchRequest(base, ldap.ScopeSingleLevel, ldap.NeverDerefAliases,
				0, 0, false, "(objectClass=*)", []string{"dn"}, nil))
			if err != nil {
				t.Fatalf("search %s: %v", base, err)
			}
			if len(res.Entries) != want {
				t.Fatalf("search %s: %d entries, want %d", base, len(res.Entries), want)
			}
		}
	})
	t.Run("anonymous sees no people", func(t *testing.T) {
		res, err := dial(t, s.URL).Search(ldap.NewSearchRequest(ldaptest.PeopleDN, ldap.ScopeWholeSubtree,
			ldap.NeverDerefAliases, 0, 0, false, "(uid=*)", nil, nil))
		if err == nil && len(res.Entries) > 0 {
			t.Fatalf("anonymous search returned %d entries", len(res.Entries))
		}
	})
	t.Run("user reads own memberOf", func(t *testing.T) {
		conn := dial(t, s.URL)
		if err := conn.Bind(amit, ldaptest.PasswordAmit); err != nil {
			t.Fatal(err)
		}
		if got := attr(t, conn, amit, "memberOf"); len(got) != 2 {
			t.Fatalf("own memberOf = %q", got)
		}
	})
}

// TestOverlaysMaintainMembership proves memberof and refint act on later
// changes, not just on the seed.
func TestOverlaysMaintainMembership(t *testing.T) {
	t.Parallel()
	s := ldaptest.Start(t)
	root := asRoot(t, s)
	priya, leo := s.UserDN(ldaptest.UserPriya), s.UserDN(ldaptest.UserLeo)

	add := ldap.NewModifyRequest(s.GroupDN(ldaptest.GroupCBSViewOnly), nil)
	add.Add("member", []string{priya})
	if err := root.Modify(add); err != nil {
		t.Fatalf("add member: %v", err)
	}
	want := []string{s.GroupDN(ldaptest.GroupCBSViewOnly), s.GroupDN(ldaptest.GroupLoanApprover)}
	if got := attr(t, root, priya, "memberOf"); !slices.Equal(got, want) {
		t.Fatalf("priya memberOf after add = %q, want %q", got, want)
	}

	if err := root.Del(ldap.NewDelRequest(leo, nil)); err != nil {
		t.Fatalf("delete leo: %v", err)
	}
	// refint rewrites referring entries from a background task, so the
	// change is eventually visible: poll with a deadline.
	finance := s.GroupDN(ldaptest.GroupFinance)
	deadline := time.Now().Add(opTimeout)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		got := attr(t, root, finance, "member")
		if !slices.Contains(got, leo) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Finance still lists deleted leo.v after %v: %q", opTimeout, got)
		}
		<-time.After(wait)
	}
}

func TestUnlockingLeoLetsHimBind(t *testing.T) {
	t.Parallel()
	s := ldaptest.Start(t)
	leo := s.UserDN(ldaptest.UserLeo)
	mod := ldap.NewModifyRequest(leo, nil)
	mod.Delete("pwdAccountLockedTime", nil)
	if err := asRoot(t, s).Modify(mod); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	if err := dial(t, s.URL).Bind(leo, ldaptest.PasswordLeo); err != nil {
		t.Fatalf("bind after unlock: %v (the lock, not the password, must be what failed)", err)
	}
}

func TestServerFormatHidesPasswords(t *testing.T) {
	t.Parallel()
	s := ldaptest.Start(t)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		for _, v := range []any{s, *s} {
			out := fmt.Sprintf(verb, v)
			for _, secret := range []string{s.RootPassword, s.BindPassword} {
				if strings.Contains(out, secret) {
					t.Errorf("%s of %T leaks a password: %s", verb, v, out)
				}
			}
			if !strings.Contains(out, s.URL) {
				t.Errorf("%s of %T lacks the URL: %s", verb, v, out)
			}
		}
	}
}

func TestNewServerErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		dir  func(t *testing.T) string
		opt  func(*ldaptest.Options)
		want error
	}{
		{"slapd path missing", func(t *testing.T) string { return t.TempDir() },
			func(o *ldaptest.Options) { o.SlapdPath = filepath.Join(os.TempDir(), "no-such-slapd") }, ldaptest.ErrNotInstalled},
		{"schema dir empty", func(t *testing.T) string { return t.TempDir() },
			func(o *ldaptest.Options) { o.SchemaDir = t.TempDir() }, ldaptest.ErrNotInstalled},
		{"quote in dir", func(t *testing.T) string {
			d := filepath.Join(t.TempDir(), `a"b`)
			if err := os.Mkdir(d, 0o700); err != nil {
				t.Fatal(err)
			}
			return d
		}, nil, ldaptest.ErrConfig},
		{"empty dir name", func(t *testing.T) string { return "" }, nil, ldaptest.ErrConfig},
		{"module dir without modules", func(t *testing.T) string { return t.TempDir() },
			func(o *ldaptest.Options) { o.ModuleDir = t.TempDir() }, ldaptest.ErrStart},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []func(*ldaptest.Options)
			if tt.opt != nil {
				opts = append(opts, tt.opt)
			}
			s, err := ldaptest.NewServer(tt.dir(t), opts...)
			if err == nil {
				s.Stop()
				t.Fatal("NewServer succeeded")
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestStartupTime(t *testing.T) {
	t.Parallel()
	start := time.Now()
	s := ldaptest.Start(t)
	startup := time.Since(start)
	start = time.Now()
	s.Restart(t)
	t.Logf("start (slapadd + slapd + group seed) %v, restart %v", startup, time.Since(start))
}

// TestCopiedBinaryRuns backs the AppArmor fallback: a copy of slapd outside
// /usr/sbin must start and serve just like the original.
func TestCopiedBinaryRuns(t *testing.T) {
	t.Parallel()
	orig := "/usr/sbin/slapd"
	data, err := os.ReadFile(orig)
	if err != nil {
		t.Skipf("no %s to copy: %v", orig, err)
	}
	copied := filepath.Join(t.TempDir(), "slapd")
	if err := os.WriteFile(copied, data, 0o700); err != nil {
		t.Fatal(err)
	}
	s := ldaptest.Start(t, func(o *ldaptest.Options) { o.SlapdPath = copied })
	if err := dial(t, s.URL).Bind(s.UserDN(ldaptest.UserAmit), ldaptest.PasswordAmit); err != nil {
		t.Fatalf("bind on copied slapd: %v", err)
	}
}

func TestStartWithoutSlapdSkips(t *testing.T) {
	if testenv.Required() {
		t.Skip("under " + testenv.RequireEnv + "=1 a missing slapd fails the test by design")
	}
	t.Parallel()
	var skipped bool
	t.Run("inner", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		ldaptest.Start(t, func(o *ldaptest.Options) { o.SlapdPath = filepath.Join(t.TempDir(), "no-slapd") })
		t.Error("Start returned without slapd")
	})
	if !skipped {
		t.Fatal("Start without slapd did not skip")
	}
}
