package ldap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
)

func base(o *Options) {
	o.BindDN = "cn=reader,dc=bank,dc=example"
	o.BindPassword = "reader-secret-pw"
	o.BaseDN = "dc=bank,dc=example"
	o.InsecurePlaintext = true
}

func TestNewDirectoryValidates(t *testing.T) {
	tests := []struct {
		name string
		url  string
		fn   func(*Options)
		want string
	}{
		{"scheme", "http://x", base, "URL must be"},
		{"no host", "ldap://", base, "URL must be"},
		{"plaintext", "ldap://x", func(o *Options) { base(o); o.InsecurePlaintext = false }, "clear text"},
		{"starttls on ldaps", "ldaps://x", func(o *Options) { base(o); o.StartTLS = true }, "already TLS"},
		{"no bind", "ldaps://x", func(o *Options) { base(o); o.BindPassword = "" }, "service account"},
		{"no base", "ldaps://x", func(o *Options) { base(o); o.BaseDN = "" }, "BaseDN"},
		{"bad dn", "ldaps://x", func(o *Options) { base(o); o.GroupBaseDN = "not a dn" }, "invalid DN"},
		{"user filter", "ldaps://x", func(o *Options) { base(o); o.UserFilter = "(uid=fixed)" }, "{username}"},
		{"group filter", "ldaps://x", func(o *Options) { base(o); o.GroupFilter = "(member={dn}" }, "invalid filter"},
		{"in-chain without member term", "ldaps://x", func(o *Options) {
			base(o)
			o.InChain, o.GroupFilter = true, "(&(objectClass=group)(uniqueMember={dn}))"
		}, "InChain needs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewDirectory(tt.url, tt.fn)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, idbridge.ErrInvalidOptions) {
				t.Fatalf("err %v, want %q (invalid options)", err, tt.want)
			}
			if strings.Contains(err.Error(), "reader-secret-pw") {
				t.Fatal("error carries the service password")
			}
		})
	}
	d, err := NewDirectory("ldaps://dc1.bank.example:636", base)
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprintf("%v %+v %#v %s", d, d, d, d); strings.Contains(s, "reader-secret-pw") {
		t.Fatalf("formatting leaks the password: %s", s)
	}
	if d.opts.Issuer != "ldaps://dc1.bank.example:636" || d.tls.ServerName != "dc1.bank.example" {
		t.Errorf("defaults: issuer %q, server name %q", d.opts.Issuer, d.tls.ServerName)
	}
}

func TestDefaultDisabled(t *testing.T) {
	tests := []struct {
		attrs map[string][]string
		want  bool
	}{
		{nil, false},
		{map[string][]string{"useraccountcontrol": {"512"}}, false},
		{map[string][]string{"useraccountcontrol": {"514"}}, true},
		{map[string][]string{"useraccountcontrol": {"junk"}}, false},
		{map[string][]string{"pwdaccountlockedtime": {"000001010000Z"}}, true},
		{map[string][]string{"nsaccountlock": {"TRUE"}}, true},
		{map[string][]string{"nsaccountlock": {"false"}}, false},
	}
	for _, tt := range tests {
		if got := DefaultDisabled(tt.attrs); got != tt.want {
			t.Errorf("DefaultDisabled(%v) = %v", tt.attrs, got)
		}
	}
}

// A server that is gone fails fast with ErrUnavailable.
func TestServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	d, err := NewDirectory("ldap://"+addr, base, func(o *Options) { o.DialTimeout = time.Second })
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"check":        func() error { return d.Check(ctx) },
		"authenticate": func() error { _, err := d.Authenticate(ctx, "amit.r", "pw"); return err },
		"lookup":       func() error { _, err := d.Lookup(ctx, "amit.r"); return err },
		"groups":       func() error { _, err := d.Groups(ctx, &idbridge.Claims{PreferredUsername: "amit.r"}); return err },
	} {
		err := call()
		if !errors.Is(err, ErrUnavailable) || reason.Of(err) != reason.IdPUnavailable {
			t.Errorf("%s: %v, want ErrUnavailable", name, err)
		}
	}
}

// A server that accepts but never answers fails within the timeout.
func TestServerHangs(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan net.Conn, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			select {
			case conns <- c: // held open, never answered
			default:
				c.Close()
			}
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		close(conns)
		for c := range conns {
			c.Close()
		}
	})
	d, err := NewDirectory("ldap://"+l.Addr().String(), base, func(o *Options) { o.Timeout = 200 * time.Millisecond })
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	start := time.Now()
	_, err = d.Authenticate(context.Background(), "amit.r", "pw")
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err %v", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("took %v with a 200ms timeout", el)
	}

	// The caller's context ends the wait even with a long timeout.
	d2, _ := NewDirectory("ldap://"+l.Addr().String(), base, func(o *Options) { o.Timeout = time.Hour })
	defer d2.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	if _, err := d2.Lookup(ctx, "amit.r"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err %v", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("context ignored: %v", el)
	}
}

func TestRejectedWithoutNetwork(t *testing.T) {
	d, err := NewDirectory("ldap://127.0.0.1:1", base)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct{ user, pw string }{{"amit.r", ""}, {"", "pw"}, {"a\x00b", "pw"}, {strings.Repeat("a", 300), "pw"}} {
		if _, err := d.Authenticate(ctx, tc.user, tc.pw); !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("Authenticate(%q, %q): %v", tc.user, tc.pw, err)
		}
	}
	if _, err := d.Groups(ctx, nil); !errors.Is(err, ErrNoUser) {
		t.Errorf("Groups(nil): %v", err)
	}
	if _, err := d.Groups(ctx, &idbridge.Claims{}); !errors.Is(err, ErrNoUser) {
		t.Errorf("Groups(no user): %v", err)
	}
	if _, err := d.Groups(ctx, &idbridge.Claims{Issuer: "ldap://127.0.0.1:1", Subject: "not a dn"}); !errors.Is(err, ErrNoUser) {
		t.Errorf("Groups(bad DN): %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if err := d.Check(ctx); !errors.Is(err, idbridge.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func TestOptionsRedactPassword(t *testing.T) {
	var o Options
	base(&o)
	var buf strings.Builder
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "ldap", o)
	for _, s := range []string{fmt.Sprint(o), fmt.Sprintf("%v %+v %#v %s", o, o, o, o), fmt.Sprintf("%v", &o), buf.String()} {
		if strings.Contains(s, "reader-secret-pw") || !strings.Contains(s, "[redacted]") {
			t.Errorf("not redacted: %s", s)
		}
	}
}

// User binds are bounded like pooled connections: a caller beyond
// MaxConns waits on its context and never dials.
func TestUserBindsAreBounded(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	d, err := NewDirectory("ldap://"+l.Addr().String(), base, func(o *Options) { o.MaxConns = 1 })
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.binds <- struct{}{} // one bind in progress
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := d.bindAs(ctx, "uid=x,dc=bank,dc=example", "pw"); !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("bind beyond MaxConns: %v", err)
	}
	<-d.binds
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.bindAs(context.Background(), "uid=x,dc=bank,dc=example", "pw"); !errors.Is(err, idbridge.ErrClosed) {
		t.Fatalf("bind after Close: %v", err)
	}
}

func TestGroupsCacheKeyAndExpiry(t *testing.T) {
	now := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	d, err := NewDirectory("ldaps://dc1.bank.example", base, func(o *Options) {
		o.Issuer = "ldap://corp.bank.example"
		o.GroupsTTL = time.Minute
		o.Now = func() time.Time { return now }
	})
	if err != nil {
		t.Fatal(err)
	}
	a := &idbridge.Claims{Issuer: "ldap://corp.bank.example", Subject: "UID=amit.r, OU=people,DC=bank,DC=example"}
	b := &idbridge.Claims{Issuer: "ldap://corp.bank.example", Subject: "uid=amit.r,ou=people,dc=bank,dc=example"}
	ka, _, _, _ := d.cacheKey(a)
	kb, _, _, _ := d.cacheKey(b)
	if ka != kb {
		t.Errorf("one DN, two keys: %q %q", ka, kb)
	}
	other := &idbridge.Claims{Issuer: "https://login.example", PreferredUsername: "uid=amit.r,ou=people,dc=bank,dc=example"}
	if ko, _, _, _ := d.cacheKey(other); ko == ka {
		t.Error("a user name that looks like a DN shares the DN's cache entry")
	}
	d.storeGroups(ka, []string{"cn=x"}, a)
	if g, ok := d.cachedGroups(kb, b); !ok || len(g) != 1 {
		t.Fatal("cached groups not found")
	}
	now = now.Add(time.Minute)
	if _, ok := d.cachedGroups(ka, a); ok {
		t.Error("an entry outlived GroupsTTL")
	}
	now = now.Add(-time.Second)
	d.Forget(b)
	if _, ok := d.cachedGroups(ka, a); ok {
		t.Error("Forget kept the entry")
	}
	for i := 0; i < maxCached+10; i++ {
		d.storeGroups(fmt.Sprint("user:", i), nil, nil)
	}
	if n := len(d.cache); n > maxCached {
		t.Errorf("cache holds %d entries", n)
	}
}
