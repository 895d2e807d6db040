package rbacit

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/integration/ldaptest"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/rbac"
	"github.com/idbridge/idbridge/rbac/ldap"
)

// bankIssuer is the directory issuer declared in the scenario policy.
const bankIssuer = "ldap://corp.bank.example"

const bankPolicy = "../../examples/policies/bank.yaml"

func groupDN(cn string) string {
	id, _ := rbac.NormalizeGroupID("dn", "cn="+cn+",ou=groups,dc=bank,dc=example")
	return id
}

func directory(t *testing.T, srv *ldaptest.Server, url string, optFns ...func(*ldap.Options)) *ldap.Directory {
	t.Helper()
	fns := append([]func(*ldap.Options){func(o *ldap.Options) {
		o.BindDN, o.BindPassword, o.BaseDN = srv.BindDN, srv.BindPassword, srv.BaseDN
		o.TLSConfig = srv.TLSConfig()
		o.Issuer = bankIssuer
		o.Timeout = 2 * time.Second
		o.DialTimeout = 2 * time.Second
		o.GroupsTTL = -1 // every decision reads the directory, unless a test caches
	}}, optFns...)
	d, err := ldap.NewDirectory(url, fns...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func bank(t *testing.T, optFns ...func(*rbac.Options)) *rbac.Policy {
	t.Helper()
	p, err := rbac.NewPolicy(bankPolicy, optFns...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAuthenticateAndDecide(t *testing.T) {
	srv := ldaptest.Start(t)
	p := bank(t)
	transports := map[string]*ldap.Directory{
		"ldaps":     directory(t, srv, srv.LDAPSURL),
		"starttls":  directory(t, srv, srv.URL, func(o *ldap.Options) { o.StartTLS = true }),
		"plaintext": directory(t, srv, srv.URL, func(o *ldap.Options) { o.InsecurePlaintext = true }),
	}
	tests := []struct {
		user, password string
		groups         []string
		roles          []string
		can, cannot    string
	}{
		{ldaptest.UserAmit, ldaptest.PasswordAmit,
			[]string{groupDN("CBS_ViewOnly"), groupDN("Lending_RM"), groupDN("Branch_Staff")}, // Branch_Staff only through Lending_RM
			[]string{"CBS_Viewer", "BranchPortalUser"}, "cbs:account:read", "cbs:loan:approve"},
		{ldaptest.UserPriya, ldaptest.PasswordPriya,
			[]string{groupDN("Loan_Approver")},
			[]string{"CBS_LoanApprover"}, "cbs:loan:approve", "branch:portal"},
	}
	for name, dir := range transports {
		for _, tt := range tests {
			t.Run(name+"/"+tt.user, func(t *testing.T) {
				c, err := dir.Authenticate(context.Background(), tt.user, tt.password)
				if err != nil {
					t.Fatal(err)
				}
				if c.Issuer != bankIssuer || c.Subject != srv.UserDN(tt.user) || c.PreferredUsername != tt.user || !slices.Equal(c.AMR, []string{"pwd"}) {
					t.Errorf("claims %+v", c)
				}
				got := slices.Sorted(slices.Values(c.Groups))
				want := slices.Sorted(slices.Values(tt.groups))
				if !slices.Equal(got, want) {
					t.Errorf("groups %v, want %v", got, want)
				}
				d := p.Decide(c)
				if !d.OK() || !slices.Equal(slices.Sorted(slices.Values(d.Roles())), slices.Sorted(slices.Values(tt.roles))) {
					t.Fatalf("decision %v roles %v, want %v", d.Err(), d.Roles(), tt.roles)
				}
				if !d.Allowed(tt.can) || d.Allowed(tt.cannot) {
					t.Errorf("can %s: %v, cannot %s: %v", tt.can, d.Allowed(tt.can), tt.cannot, d.Allowed(tt.cannot))
				}
			})
		}
	}
}

func TestBadCredentials(t *testing.T) {
	srv := ldaptest.Start(t)
	dir := directory(t, srv, srv.LDAPSURL)
	tests := []struct {
		name, user, password string
		want                 error
		class                idbridge.Reason
	}{
		{"wrong password", ldaptest.UserAmit, "amit-Secret-2", ldap.ErrInvalidCredentials, reason.Forbidden},
		{"unknown user", "nobody", "x", ldap.ErrInvalidCredentials, reason.Forbidden},
		{"empty password", ldaptest.UserAmit, "", ldap.ErrInvalidCredentials, reason.Forbidden},
		{"filter injection", "*", "x", ldap.ErrInvalidCredentials, reason.Forbidden},
		{"filter injection 2", "amit.r)(uid=*", "x", ldap.ErrInvalidCredentials, reason.Forbidden},
		// slapd's ppolicy refuses every bind of the locked leaver, so the
		// right password cannot be told from a wrong one; neither answer
		// may reveal that the account exists and is locked.
		{"locked leaver, right password", ldaptest.UserLeo, ldaptest.PasswordLeo, ldap.ErrInvalidCredentials, reason.Forbidden},
		{"locked leaver, wrong password", ldaptest.UserLeo, "guess", ldap.ErrInvalidCredentials, reason.Forbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := dir.Authenticate(context.Background(), tt.user, tt.password)
			if c != nil || !errors.Is(err, tt.want) || reason.Of(err) != tt.class {
				t.Fatalf("claims %v, err %v (%s), want %v (%s)", c, err, reason.Of(err), tt.want, tt.class)
			}
			if tt.password != "" && strings.Contains(err.Error(), tt.password) {
				t.Fatal("error carries the password")
			}
			if tt.want == ldap.ErrInvalidCredentials && (errors.Is(err, ldap.ErrDisabled) || err.Error() != ldap.ErrInvalidCredentials.Error()) {
				t.Fatalf("err %q tells more than invalid credentials", err)
			}
		})
	}
	if _, err := dir.Lookup(context.Background(), ldaptest.UserLeo); !errors.Is(err, ldap.ErrDisabled) {
		t.Errorf("Lookup(leaver): %v", err)
	}
	if _, err := dir.Lookup(context.Background(), "nobody"); !errors.Is(err, ldap.ErrNoUser) {
		t.Errorf("Lookup(nobody): %v", err)
	}
}

func TestWrongServiceAccountOrCA(t *testing.T) {
	srv := ldaptest.Start(t)
	bad := directory(t, srv, srv.LDAPSURL, func(o *ldap.Options) { o.BindPassword = "wrong-service-pw" })
	err := bad.Check(context.Background())
	if !errors.Is(err, ldap.ErrUnavailable) || strings.Contains(err.Error(), "wrong-service-pw") {
		t.Errorf("wrong service password: %v", err)
	}
	untrusted := directory(t, srv, srv.LDAPSURL, func(o *ldap.Options) { o.TLSConfig = nil })
	if err := untrusted.Check(context.Background()); !errors.Is(err, ldap.ErrUnavailable) {
		t.Errorf("server certificate from an unknown CA was accepted: %v", err)
	}
	if err := directory(t, srv, srv.LDAPSURL).Check(context.Background()); err != nil {
		t.Errorf("good configuration: %v", err)
	}
}

func TestServerStoppedAndRestarted(t *testing.T) {
	srv := ldaptest.Start(t)
	const timeout = 2 * time.Second
	dir := directory(t, srv, srv.LDAPSURL, func(o *ldap.Options) { o.Timeout, o.DialTimeout = timeout, timeout })
	ctx := context.Background()
	if _, err := dir.Lookup(ctx, ldaptest.UserAmit); err != nil { // fills the pool
		t.Fatal(err)
	}
	srv.Stop()
	for name, call := range map[string]func() error{
		"authenticate": func() error { _, err := dir.Authenticate(ctx, ldaptest.UserAmit, ldaptest.PasswordAmit); return err },
		"lookup":       func() error { _, err := dir.Lookup(ctx, ldaptest.UserAmit); return err },
		"groups": func() error {
			_, err := dir.Groups(ctx, &idbridge.Claims{PreferredUsername: ldaptest.UserAmit})
			return err
		},
	} {
		start := time.Now()
		err := call()
		if !errors.Is(err, ldap.ErrUnavailable) || reason.Of(err) != reason.IdPUnavailable {
			t.Errorf("%s with the server stopped: %v", name, err)
		}
		if el := time.Since(start); el > 2*timeout+time.Second {
			t.Errorf("%s took %v, past the %v timeout", name, el, timeout)
		}
	}
	// A decision that needs the directory fails closed.
	p := bank(t, func(o *rbac.Options) { o.GroupSources = map[string]rbac.GroupSource{"corp-ad": dir} })
	d := p.Decide(&idbridge.Claims{Issuer: bankIssuer, Subject: srv.UserDN(ldaptest.UserAmit)})
	if d.OK() || d.Reason() != reason.IdPUnavailable {
		t.Errorf("decision with the directory down: %v (%s)", d.Err(), d.Reason())
	}

	srv.Restart(t)
	if _, err := dir.Authenticate(ctx, ldaptest.UserAmit, ldaptest.PasswordAmit); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}

// For claims that carry no groups (Kerberos SSO, a reverse proxy), the
// directory is the group source; the leaver is denied as revoked.
func TestDirectoryAsGroupSource(t *testing.T) {
	srv := ldaptest.Start(t)
	dir := directory(t, srv, srv.LDAPSURL)
	p := bank(t, func(o *rbac.Options) { o.GroupSources = map[string]rbac.GroupSource{"corp-ad": dir} })
	tests := []struct {
		user   string
		ok     bool
		reason idbridge.Reason
	}{
		{ldaptest.UserAmit, true, ""},
		{ldaptest.UserPriya, true, ""},
		{ldaptest.UserLeo, false, reason.Revoked},
	}
	for _, tt := range tests {
		c := &idbridge.Claims{Issuer: bankIssuer, Subject: srv.UserDN(tt.user), Groups: []string{groupDN("CBS_ViewOnly")}}
		d := p.DecideContext(context.Background(), c)
		if d.OK() != tt.ok || d.Reason() != tt.reason {
			t.Errorf("%s: ok %v reason %q (%v)", tt.user, d.OK(), d.Reason(), d.Err())
		}
		if tt.user == ldaptest.UserLeo && !errors.Is(d.Err(), ldap.ErrDisabled) {
			t.Errorf("leaver: %v", d.Err())
		}
	}
	// A token from elsewhere names the user by preferred_username.
	g, err := dir.Groups(context.Background(), &idbridge.Claims{Issuer: "https://login.example", PreferredUsername: ldaptest.UserPriya})
	if err != nil || !slices.Equal(g, []string{groupDN("Loan_Approver")}) {
		t.Errorf("groups by username: %v %v", g, err)
	}
}

// A mover changes groups in the directory; the next login reflects it.
func TestMoverAndLeaver(t *testing.T) {
	srv := ldaptest.Start(t)
	dir := directory(t, srv, srv.LDAPSURL)
	p := bank(t)
	ctx := context.Background()
	admin := func(change func(*goldap.Conn) error) {
		t.Helper()
		conn, err := goldap.DialURL(srv.LDAPSURL, goldap.DialWithTLSConfig(srv.TLSConfig()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if err := conn.Bind(srv.RootDN, srv.RootPassword); err != nil {
			t.Fatal(err)
		}
		if err := change(conn); err != nil {
			t.Fatal(err)
		}
	}
	admin(func(c *goldap.Conn) error {
		m := goldap.NewModifyRequest(srv.GroupDN(ldaptest.GroupLoanApprover), nil)
		m.Add("member", []string{srv.UserDN(ldaptest.UserAmit)})
		return c.Modify(m)
	})
	c, err := dir.Authenticate(ctx, ldaptest.UserAmit, ldaptest.PasswordAmit)
	if err != nil {
		t.Fatal(err)
	}
	if d := p.Decide(c); !d.HasRole("CBS_LoanApprover") || !d.HasRole("CBS_Viewer") {
		t.Errorf("mover: roles %v (%v)", d.Roles(), d.Err())
	}

	admin(func(c *goldap.Conn) error {
		m := goldap.NewModifyRequest(srv.UserDN(ldaptest.UserAmit), nil)
		m.Add("pwdAccountLockedTime", []string{"000001010000Z"})
		return c.Modify(m)
	})
	// The directory now refuses his binds: a login fails like a wrong
	// password, and once he is identified otherwise the directory says why.
	if _, err := dir.Authenticate(ctx, ldaptest.UserAmit, ldaptest.PasswordAmit); !errors.Is(err, ldap.ErrInvalidCredentials) || errors.Is(err, ldap.ErrDisabled) {
		t.Errorf("leaver login: %v", err)
	}
	if _, err := dir.Lookup(ctx, ldaptest.UserAmit); !errors.Is(err, ldap.ErrDisabled) {
		t.Errorf("leaver lookup: %v", err)
	}
}

// An account the directory still lets bind, but that Options.Disabled
// marks as disabled (an HR flag, nsAccountLock without enforcement): only
// the right password learns that it is disabled.
func TestDisabledOnlyWithTheRightPassword(t *testing.T) {
	srv := ldaptest.Start(t)
	dir := directory(t, srv, srv.LDAPSURL, func(o *ldap.Options) {
		o.Disabled = func(map[string][]string) bool { return true }
	})
	ctx := context.Background()
	_, err := dir.Authenticate(ctx, ldaptest.UserAmit, ldaptest.PasswordAmit)
	if !errors.Is(err, ldap.ErrDisabled) || reason.Of(err) != reason.Revoked {
		t.Errorf("right password: %v (%s), want ErrDisabled (revoked)", err, reason.Of(err))
	}
	_, err = dir.Authenticate(ctx, ldaptest.UserAmit, "not-"+ldaptest.PasswordAmit)
	if !errors.Is(err, ldap.ErrInvalidCredentials) || errors.Is(err, ldap.ErrDisabled) {
		t.Errorf("wrong password: %v, want ErrInvalidCredentials only", err)
	}
}

// Close releases every connection: no goroutine of the pool outlives it.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	srv := ldaptest.Start(t)
	before := runtime.NumGoroutine()
	dir, err := ldap.NewDirectory(srv.LDAPSURL, func(o *ldap.Options) {
		o.BindDN, o.BindPassword, o.BaseDN = srv.BindDN, srv.BindPassword, srv.BaseDN
		o.TLSConfig = srv.TLSConfig()
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := dir.Authenticate(context.Background(), ldaptest.UserAmit, ldaptest.PasswordAmit); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if runtime.NumGoroutine() <= before {
		t.Log("pool holds no goroutines while open (unexpected, but not an error)")
	}
	if err := dir.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

func TestConcurrentLogins(t *testing.T) {
	srv := ldaptest.Start(t)
	dir := directory(t, srv, srv.LDAPSURL, func(o *ldap.Options) { o.MaxConns = 2 })
	var wg sync.WaitGroup
	errs := make(chan error, 24)
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			user, pw := ldaptest.UserAmit, ldaptest.PasswordAmit
			if i%2 == 1 {
				user, pw = ldaptest.UserPriya, ldaptest.PasswordPriya
			}
			c, err := dir.Authenticate(context.Background(), user, pw)
			if err == nil && c.PreferredUsername != user {
				err = fmt.Errorf("claims for %s, want %s", c.PreferredUsername, user)
			}
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// With GroupsTTL, decisions for a user reuse their groups: the directory
// can even be down. Past the TTL, or after Forget, it is asked again.
func TestGroupsCache(t *testing.T) {
	srv := ldaptest.Start(t)
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	dir := directory(t, srv, srv.LDAPSURL, func(o *ldap.Options) { o.GroupsTTL = time.Minute; o.Now = clock })
	p := bank(t, func(o *rbac.Options) { o.GroupSources = map[string]rbac.GroupSource{"corp-ad": dir} })
	amit := &idbridge.Claims{Issuer: bankIssuer, Subject: srv.UserDN(ldaptest.UserAmit)}
	if d := p.DecideContext(context.Background(), amit); !d.OK() {
		t.Fatal(d.Err())
	}
	srv.Stop()
	if d := p.DecideContext(context.Background(), amit); !d.OK() || !d.HasRole("CBS_Viewer") {
		t.Fatalf("cached groups not used: %v", d.Err())
	}
	dir.Forget(amit)
	if d := p.DecideContext(context.Background(), amit); d.OK() || d.Reason() != reason.IdPUnavailable {
		t.Fatalf("after Forget, with the directory down: %v", d.Err())
	}
	srv.Restart(t)
	if d := p.DecideContext(context.Background(), amit); !d.OK() {
		t.Fatal(d.Err())
	}
	srv.Stop()
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	if d := p.DecideContext(context.Background(), amit); d.OK() {
		t.Fatal("an entry outlived GroupsTTL")
	}
}

// The directory's spelling of a name comes back whatever the user typed,
// so a deny rule written for amit.r holds for AMIT.R too.
func TestDirectoryNames(t *testing.T) {
	srv := ldaptest.Start(t)
	dir := directory(t, srv, srv.LDAPSURL)
	ctx := context.Background()
	blocked, err := rbac.ParsePolicy([]byte(`version: 1
issuers:
  - {name: corp-ad, issuer: "` + bankIssuer + `", group_ids: dn}
groups:
  - {id: "cn=CBS_ViewOnly,ou=groups,dc=bank,dc=example", name: CBS_ViewOnly, issuer: corp-ad}
roles:
  - {name: CBS_Viewer, permissions: ["cbs:account:read"]}
mappings:
  - {id: view, when: {group: CBS_ViewOnly}, grant: {roles: [CBS_Viewer]}}
deny:
  - {id: amit-suspended, reason: forbidden, when: {claim: {name: preferred_username, equals: amit.r}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, typed := range []string{"amit.r", "AMIT.R", "Amit.R"} {
		c, err := dir.Authenticate(ctx, typed, ldaptest.PasswordAmit)
		if err != nil {
			t.Fatalf("Authenticate(%q): %v", typed, err)
		}
		if c.PreferredUsername != ldaptest.UserAmit {
			t.Errorf("Authenticate(%q).PreferredUsername = %q, want the directory's %q", typed, c.PreferredUsername, ldaptest.UserAmit)
		}
		if d := blocked.Decide(c); d.OK() || d.Reason() != reason.Forbidden {
			t.Errorf("deny rule on preferred_username amit.r, typed %q: ok %v (%v)", typed, d.OK(), d.Err())
		}
		l, err := dir.Lookup(ctx, typed)
		if err != nil || l.PreferredUsername != ldaptest.UserAmit {
			t.Errorf("Lookup(%q) = %v, %v", typed, l, err)
		}
	}
	// A directory that names users by another attribute (as AD does with
	// sAMAccountName): that attribute's value, not the typed one, is the
	// name.
	byCN := directory(t, srv, srv.LDAPSURL, func(o *ldap.Options) {
		o.UserFilter = "(&(objectClass=inetOrgPerson)(cn={username}))"
	})
	c, err := byCN.Lookup(ctx, "AMIT R")
	if err != nil || c.PreferredUsername != "Amit R" {
		t.Errorf("Lookup by cn: %+v, %v", c, err)
	}
}

// Names that can name no account are refused before the directory is
// asked, with the right password too; LDAP filter metacharacters are
// escaped, so they match nobody.
func TestHostileUsernames(t *testing.T) {
	srv := ldaptest.Start(t)
	dir := directory(t, srv, srv.LDAPSURL)
	ctx := context.Background()
	tests := []struct {
		name, user, wantErr string // wantErr "" means: escaped, matches nobody
	}{
		{"leading space", " amit.r", "ldap: invalid username: has leading or trailing spaces"},
		{"trailing space", "amit.r ", "ldap: invalid username: has leading or trailing spaces"},
		{"NUL", "amit.r\x00", "ldap: invalid username: contains a control character"},
		{"newline", "amit.r\n", "ldap: invalid username: contains a control character"},
		{"CR LF injection", "amit.r\r\nuid: admin", "ldap: invalid username: contains a control character"},
		{"zero-width", "amit\u200b.r", "ldap: invalid username: contains an invisible formatting character"},
		{"bidi override", "\u202er.tima", "ldap: invalid username: contains an invisible formatting character"},
		{"not UTF-8", "amit.r\xc0", "ldap: invalid username: not valid UTF-8"},
		{"over-long", strings.Repeat("amit.r", 50), "ldap: invalid username: longer than 256 bytes"},
		{"empty", "", "ldap: invalid username: empty"},
		{"wildcard", "*", ""},
		{"prefix wildcard", "amit*", ""},
		{"filter break-out", "amit.r)(uid=*", ""},
		{"filter or", "*)(|(objectClass=*)", ""},
		{"escaped star", `\2a`, ""},
		{"trailing backslash", `amit.r\`, ""},
		{"parenthesis", "(amit.r)", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := dir.Authenticate(ctx, tt.user, ldaptest.PasswordAmit)
			if c != nil || !errors.Is(err, ldap.ErrInvalidCredentials) {
				t.Fatalf("Authenticate: claims %v, err %v", c, err)
			}
			l, lerr := dir.Lookup(ctx, tt.user)
			if l != nil || !errors.Is(lerr, ldap.ErrNoUser) {
				t.Fatalf("Lookup: claims %v, err %v", l, lerr)
			}
			if tt.wantErr == "" {
				if errors.Is(err, ldap.ErrInvalidUsername) || err.Error() != ldap.ErrInvalidCredentials.Error() || reason.Of(err) != reason.Forbidden {
					t.Fatalf("Authenticate: %v (%s), want plain invalid credentials", err, reason.Of(err))
				}
				return
			}
			for _, e := range []error{err, lerr} {
				if !errors.Is(e, ldap.ErrInvalidUsername) || reason.Of(e) != reason.Malformed || !strings.HasPrefix(e.Error(), tt.wantErr+" (") {
					t.Errorf("err %q (%s), want %q (malformed)", e, reason.Of(e), tt.wantErr)
				}
				if tt.user != "" && strings.Contains(e.Error(), tt.user) {
					t.Errorf("error repeats the username: %q", e)
				}
			}
		})
	}
	// A token whose username claim is hostile gets no groups either.
	if _, err := dir.Groups(ctx, &idbridge.Claims{Issuer: "https://login.example", PreferredUsername: " " + ldaptest.UserPriya}); !errors.Is(err, ldap.ErrNoUser) {
		t.Errorf("Groups for a padded username: %v", err)
	}
}
