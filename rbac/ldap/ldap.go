package ldap

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/idbridge/idbridge/internal/audit"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/rbac"
)

// The sentinels; every error of this package wraps one of them.
var (
	// ErrInvalidCredentials: wrong password, unknown user or empty
	// password (which LDAP would otherwise accept as an anonymous bind).
	// The three are deliberately indistinguishable to callers.
	ErrInvalidCredentials = reason.New(reason.Forbidden, "ldap: invalid credentials")
	// ErrDisabled: the account is disabled or locked (AD
	// userAccountControl, OpenLDAP ppolicy pwdAccountLockedTime,
	// nsAccountLock). Stale group memberships must not rescue a leaver.
	// Authenticate reports it only to a caller who gave the right
	// password; see [Directory.Authenticate].
	ErrDisabled = reason.New(reason.Revoked, "ldap: account disabled")
	// ErrNoUser: no user matches the claims or name given to Lookup or
	// Groups.
	ErrNoUser = reason.New(reason.MissingClaim, "ldap: no such user")
	// ErrUnavailable: the directory could not be reached or did not answer
	// within the timeout, or the service account could not bind.
	ErrUnavailable = reason.New(reason.IdPUnavailable, "ldap: directory unavailable")
	// ErrClosed: the Directory was closed.
	ErrClosed = errors.New("ldap: directory closed")
)

// Defaults of [Options].
const (
	DefaultUserFilter  = "(&(objectClass=inetOrgPerson)(uid={username}))"
	DefaultGroupFilter = "(&(objectClass=groupOfNames)(member={dn}))"
	DefaultDialTimeout = 5 * time.Second
	DefaultTimeout     = 10 * time.Second
	DefaultMaxConns    = 4
	DefaultMaxDepth    = 10
	maxGroups          = 10000
)

// Options configure a [Directory]. They are copied at construction.
type Options struct {
	// BindDN and BindPassword are the read-only service account that
	// searches users and groups. Required.
	BindDN       string
	BindPassword string
	// BaseDN is where users and groups are searched. Required.
	BaseDN string
	// UserBaseDN and GroupBaseDN narrow the searches; "" means BaseDN.
	UserBaseDN  string
	GroupBaseDN string
	// UserFilter finds a user by name; {username} is replaced by the
	// escaped name. Default [DefaultUserFilter]; for AD use
	// "(&(objectClass=user)(sAMAccountName={username}))" or
	// userPrincipalName.
	UserFilter string
	// UsernameAttribute names the attribute whose value Authenticate and
	// Lookup return as PreferredUsername: the name as the directory holds
	// it, not as the user typed it ("AMIT.R" signs in as amit.r), so deny
	// rules and AWS source identities see one spelling. "" means the
	// attribute UserFilter compares with {username} (uid by default,
	// sAMAccountName or userPrincipalName for AD); set it when the filter
	// compares {username} with several attributes.
	UsernameAttribute string
	// GroupFilter finds the groups a DN is a direct member of; {dn} is
	// replaced by the escaped DN. Default [DefaultGroupFilter]; for AD
	// "(&(objectClass=group)(member={dn}))".
	GroupFilter string
	// GroupIDAttribute names the attribute that identifies a group to the
	// policy; "" means the group's DN, normalized (rbac.NormalizeGroupID),
	// which matches an issuer with group_ids: dn.
	GroupIDAttribute string
	// InChain expands nesting with AD's LDAP_MATCHING_RULE_IN_CHAIN
	// (1.2.840.113556.1.4.1941) in one search; only Active Directory has it.
	InChain bool
	// MaxDepth bounds nesting levels followed; 0 means [DefaultMaxDepth].
	MaxDepth int
	// UserClaim names the claim that carries the directory user name when
	// Groups is asked about a token from another issuer; "" means
	// preferred_username.
	UserClaim string
	// Issuer is the iss of the claims Authenticate and Lookup build; it
	// must equal the policy issuer declared for the directory. "" means
	// the directory URL.
	Issuer string
	// StartTLS upgrades ldap:// connections with the StartTLS extended
	// operation before any bind.
	StartTLS bool
	// TLSConfig verifies the server for ldaps:// and StartTLS; nil means
	// system roots and the URL's host name. It is cloned.
	TLSConfig *tls.Config
	// InsecurePlaintext allows ldap:// without StartTLS. Every bind then
	// sends a password in clear text to anyone on the network path; use it
	// only on loopback in tests.
	InsecurePlaintext bool
	// DialTimeout bounds connecting (and the TLS handshake); 0 means
	// [DefaultDialTimeout].
	DialTimeout time.Duration
	// Timeout bounds each LDAP operation; 0 means [DefaultTimeout].
	Timeout time.Duration
	// MaxConns bounds the pooled service connections, and separately the
	// connections open at once for user binds (Authenticate); 0 means
	// [DefaultMaxConns]. Callers beyond it wait (on their context), so a
	// burst of logins cannot open unbounded connections to the directory.
	MaxConns int
	// Disabled reports whether an account is disabled from its attributes
	// (names in lower case); nil means [DefaultDisabled].
	Disabled func(attrs map[string][]string) bool
	// GroupsTTL is how long [Directory.Groups] (the rbac.GroupSource)
	// keeps a user's groups, so that a decision does not cost directory
	// searches on every request; 0 means no caching. A mover's new groups,
	// and a leaver disabled in the directory, take effect after at most
	// GroupsTTL; [Directory.Forget] drops one user at once. Clamped to at
	// most 1h. Authenticate and Lookup never use the cache.
	GroupsTTL time.Duration
	// Now stamps the claims built and times the cache; nil means time.Now.
	Now func() time.Time
	// Audit receives directory.login for each Authenticate (success or
	// failure; never the password) and groups.resolved for each directory
	// read of a user's groups (Lookup, and Groups when not answered from
	// the GroupsTTL cache); nil means no audit.
	Audit slog.Handler
}

// disabledAttrs are read with every user so Disabled can see them.
var disabledAttrs = []string{"userAccountControl", "pwdAccountLockedTime", "nsAccountLock"}

// DefaultDisabled recognises disabled accounts of the common directories:
// Active Directory (userAccountControl bit ACCOUNTDISABLE, 0x2), OpenLDAP
// ppolicy (pwdAccountLockedTime set) and 389/Red Hat DS (nsAccountLock).
func DefaultDisabled(attrs map[string][]string) bool {
	for _, v := range attrs["useraccountcontrol"] {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n&2 != 0 {
			return true
		}
	}
	if len(attrs["pwdaccountlockedtime"]) > 0 {
		return true
	}
	for _, v := range attrs["nsaccountlock"] {
		if strings.EqualFold(v, "true") {
			return true
		}
	}
	return false
}

// Directory is a connection to one LDAP/AD directory. It is safe for
// concurrent use by multiple goroutines. Call Close to release its pooled
// connections.
type Directory struct {
	url      string
	opts     Options
	tls      *tls.Config
	absentDN string // bound for unknown users, so they cost what known ones do

	sem   chan struct{} // one token per pooled connection in use
	binds chan struct{} // one token per user bind in progress

	mu     sync.Mutex
	idle   []*goldap.Conn // guarded by mu
	closed bool           // guarded by mu
	done   chan struct{}

	cacheMu sync.Mutex
	cache   map[string]cached // guarded by cacheMu; at most maxCached entries

	audit *audit.Logger
}

// cached is one user's groups in the GroupsTTL cache.
type cached struct {
	groups  []string
	expires time.Time
	who     []*jwks.Claims // subjects it was looked up for (see ForgetMatching)
}

// maxCached bounds the GroupsTTL cache; past it, expired entries go first,
// then arbitrary ones (a re-fetch, never a wrong answer).
const maxCached = 10000

// NewDirectory returns a Directory for url (ldap:// or ldaps://). It does
// not connect; call [Directory.Check] to verify the configuration at start.
func NewDirectory(rawURL string, optFns ...func(*Options)) (*Directory, error) {
	var o Options
	for _, fn := range optFns {
		if fn != nil {
			fn(&o)
		}
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" {
		return nil, errors.New("ldap: URL must be ldap://host[:port] or ldaps://host[:port]")
	}
	if u.Scheme == "ldaps" && o.StartTLS {
		return nil, errors.New("ldap: StartTLS is for ldap:// URLs; ldaps:// is already TLS")
	}
	if u.Scheme == "ldap" && !o.StartTLS && !o.InsecurePlaintext {
		return nil, errors.New("ldap: ldap:// without StartTLS would send passwords in clear text; set StartTLS, use ldaps://, or set InsecurePlaintext for tests")
	}
	if o.BindDN == "" || o.BindPassword == "" {
		return nil, errors.New("ldap: BindDN and BindPassword (the service account) are required")
	}
	if o.BaseDN == "" {
		return nil, errors.New("ldap: BaseDN is required")
	}
	for _, dn := range []string{o.BindDN, o.BaseDN, o.UserBaseDN, o.GroupBaseDN} {
		if dn != "" {
			if _, err := goldap.ParseDN(dn); err != nil {
				return nil, fmt.Errorf("ldap: invalid DN %q", dn)
			}
		}
	}
	if o.UserBaseDN == "" {
		o.UserBaseDN = o.BaseDN
	}
	if o.GroupBaseDN == "" {
		o.GroupBaseDN = o.BaseDN
	}
	if o.UserFilter == "" {
		o.UserFilter = DefaultUserFilter
	}
	if o.GroupFilter == "" {
		o.GroupFilter = DefaultGroupFilter
	}
	if !strings.Contains(o.UserFilter, "{username}") {
		return nil, errors.New("ldap: UserFilter must contain {username}")
	}
	if o.UsernameAttribute, err = usernameAttribute(o.UsernameAttribute, o.UserFilter); err != nil {
		return nil, err
	}
	if !strings.Contains(o.GroupFilter, "{dn}") {
		return nil, errors.New("ldap: GroupFilter must contain {dn}")
	}
	if o.InChain && !strings.Contains(o.GroupFilter, inChainTerm) {
		// Without the (member={dn}) term there is nothing to rewrite into
		// the in-chain rule, and nesting would silently be ignored.
		return nil, fmt.Errorf("ldap: InChain needs a GroupFilter with the term %s", inChainTerm)
	}
	for _, f := range []string{strings.ReplaceAll(o.UserFilter, "{username}", "x"), strings.ReplaceAll(o.GroupFilter, "{dn}", "x")} {
		if _, err := goldap.CompileFilter(f); err != nil {
			return nil, fmt.Errorf("ldap: invalid filter %q: %w", f, err)
		}
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	if o.UserClaim == "" {
		o.UserClaim = "preferred_username"
	}
	if o.Issuer == "" {
		o.Issuer = u.Scheme + "://" + u.Host
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.Disabled == nil {
		o.Disabled = DefaultDisabled
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.GroupsTTL < 0 {
		o.GroupsTTL = 0
	} else if o.GroupsTTL > time.Hour {
		o.GroupsTTL = time.Hour
	}
	var tc *tls.Config
	if o.TLSConfig != nil {
		tc = o.TLSConfig.Clone()
	} else {
		tc = &tls.Config{}
	}
	if tc.ServerName == "" {
		tc.ServerName = u.Hostname()
	}
	if tc.MinVersion == 0 {
		tc.MinVersion = tls.VersionTLS12
	}
	o.TLSConfig = nil
	return &Directory{
		url: u.Scheme + "://" + u.Host, opts: o, tls: tc, absentDN: "cn=idbridge-no-such-user," + o.UserBaseDN,
		sem: make(chan struct{}, o.MaxConns), binds: make(chan struct{}, o.MaxConns), done: make(chan struct{}),
		audit: audit.New(o.Audit),
	}, nil
}

// String describes the directory without its service password.
func (d *Directory) String() string { return "ldap.Directory(" + d.url + ")" }

// GoString is String, so %#v prints no password either.
func (d *Directory) GoString() string { return d.String() }

// Close closes the pooled connections; operations in progress finish or
// fail, later ones return [ErrClosed]. Close is idempotent.
func (d *Directory) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	close(d.done)
	for _, c := range d.idle {
		c.Close()
	}
	d.idle = nil
	return nil
}

// Check binds the service account once, so a wrong URL, certificate or
// password shows at start rather than on the first user.
func (d *Directory) Check(ctx context.Context) error {
	return d.withConn(ctx, func(*goldap.Conn) error { return nil })
}

// dial opens a connection, upgrades it to TLS when configured, and sets
// the per-operation timeout.
func (d *Directory) dial(ctx context.Context) (*goldap.Conn, error) {
	dialer := &net.Dialer{Timeout: d.opts.DialTimeout}
	if dl, ok := ctx.Deadline(); ok {
		dialer.Deadline = dl
	}
	conn, err := goldap.DialURL(d.url, goldap.DialWithDialer(dialer), goldap.DialWithTLSConfig(d.tls))
	if err != nil {
		return nil, fmt.Errorf("%w: dial %s: %w", ErrUnavailable, d.url, err)
	}
	conn.SetTimeout(d.opts.Timeout)
	if d.opts.StartTLS {
		if err := d.guard(ctx, conn, func() error { return conn.StartTLS(d.tls) }); err != nil {
			conn.Close()
			return nil, fmt.Errorf("%w: StartTLS: %w", ErrUnavailable, err)
		}
	}
	return conn, nil
}

// guard runs op and closes conn if ctx ends first, which makes the
// operation fail at once instead of waiting out the timeout.
func (d *Directory) guard(ctx context.Context, conn *goldap.Conn, op func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	err := op()
	if !stop() {
		return errors.Join(ctx.Err(), err)
	}
	return err
}

// withConn runs fn on a pooled connection bound as the service account.
func (d *Directory) withConn(ctx context.Context, fn func(*goldap.Conn) error) error {
	select {
	case d.sem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%w: waiting for a connection: %w", ErrUnavailable, ctx.Err())
	case <-d.done:
		return ErrClosed
	}
	defer func() { <-d.sem }()

	for attempt := 0; ; attempt++ {
		conn, fresh, err := d.get(ctx)
		if err != nil {
			return err
		}
		err = d.guard(ctx, conn, func() error { return fn(conn) })
		if err == nil || !isConnError(err) {
			d.put(conn)
			return err
		}
		conn.Close()
		// A pooled connection may have died while idle (server restart):
		// retry once on a fresh one.
		if fresh || attempt > 0 || ctx.Err() != nil {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
}

func (d *Directory) get(ctx context.Context) (*goldap.Conn, bool, error) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil, false, ErrClosed
	}
	for len(d.idle) > 0 {
		c := d.idle[len(d.idle)-1]
		d.idle = d.idle[:len(d.idle)-1]
		if !c.IsClosing() {
			d.mu.Unlock()
			return c, false, nil
		}
		c.Close()
	}
	d.mu.Unlock()
	conn, err := d.dial(ctx)
	if err != nil {
		return nil, true, err
	}
	if err := d.guard(ctx, conn, func() error { return conn.Bind(d.opts.BindDN, d.opts.BindPassword) }); err != nil {
		conn.Close()
		if goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) {
			return nil, true, fmt.Errorf("%w: service account bind refused (check BindDN and BindPassword)", ErrUnavailable)
		}
		return nil, true, fmt.Errorf("%w: service account bind: %w", ErrUnavailable, err)
	}
	return conn, true, nil
}

func (d *Directory) put(c *goldap.Conn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || c.IsClosing() {
		c.Close()
		return
	}
	d.idle = append(d.idle, c)
}

// errTooManyGroups stops a membership expansion that would not fit a
// decision; the decision then fails closed.
var errTooManyGroups = fmt.Errorf("more than %d groups", maxGroups)

// inChainTerm is the GroupFilter term InChain rewrites.
const inChainTerm = "(member={dn})"

// isConnError reports errors that mean the connection is unusable, as
// opposed to an LDAP result such as "no such object".
func isConnError(err error) bool {
	if errors.Is(err, errTooManyGroups) {
		return false
	}
	var le *goldap.Error
	if errors.As(err, &le) {
		return le.ResultCode == goldap.ErrorNetwork || le.ResultCode == goldap.LDAPResultServerDown ||
			le.ResultCode == goldap.LDAPResultUnavailable || le.ResultCode == goldap.LDAPResultBusy
	}
	return true
}

// user is a found directory user.
type user struct {
	dn       string
	username string // the UsernameAttribute value, as the directory holds it
	name     string
	email    string
	disabled bool
}

// findUser searches one user by name; more than one match is treated as
// none, so an ambiguous filter can never pick a random account, and so is
// an entry without a UsernameAttribute value, which could not be named.
func (d *Directory) findUser(conn *goldap.Conn, username string) (*user, error) {
	filter := strings.ReplaceAll(d.opts.UserFilter, "{username}", goldap.EscapeFilter(username))
	u, err := d.searchUser(conn, d.opts.UserBaseDN, goldap.ScopeWholeSubtree, filter)
	if u != nil && u.username == "" {
		return nil, err
	}
	return u, err
}

func (d *Directory) readUser(conn *goldap.Conn, dn string) (*user, error) {
	return d.searchUser(conn, dn, goldap.ScopeBaseObject, "(objectClass=*)")
}

func (d *Directory) searchUser(conn *goldap.Conn, base string, scope int, filter string) (*user, error) {
	attrs := append([]string{"cn", "displayName", "mail", d.opts.UsernameAttribute}, disabledAttrs...)
	req := goldap.NewSearchRequest(base, scope, goldap.NeverDerefAliases, 2, int(d.opts.Timeout/time.Second), false, filter, attrs, nil)
	res, err := conn.Search(req)
	if err != nil {
		if goldap.IsErrorAnyOf(err, goldap.LDAPResultNoSuchObject) {
			return nil, nil
		}
		if goldap.IsErrorAnyOf(err, goldap.LDAPResultSizeLimitExceeded) {
			return nil, nil
		}
		return nil, err
	}
	if len(res.Entries) != 1 {
		return nil, nil
	}
	e := res.Entries[0]
	m := map[string][]string{}
	for _, a := range e.Attributes {
		m[strings.ToLower(a.Name)] = a.Values
	}
	u := &user{dn: e.DN, username: directoryName(e, d.opts.UsernameAttribute), email: e.GetAttributeValue("mail"), disabled: d.opts.Disabled(m)}
	u.name = e.GetAttributeValue("displayName")
	if u.name == "" {
		u.name = e.GetAttributeValue("cn")
	}
	return u, nil
}

// groupsOf returns the IDs of every group dn belongs to, transitively.
func (d *Directory) groupsOf(conn *goldap.Conn, dn string) ([]string, error) {
	attrs := []string{"1.1"} // no attributes: the DN is enough
	if d.opts.GroupIDAttribute != "" {
		attrs = []string{d.opts.GroupIDAttribute}
	}
	var out []string
	seen := map[string]bool{}
	norm := func(s string) string {
		n, ok := rbac.NormalizeGroupID(rbac.GroupIDDN, s)
		if !ok {
			return strings.ToLower(s)
		}
		return n
	}
	seen[norm(dn)] = true
	add := func(e *goldap.Entry) (string, bool) {
		key := norm(e.DN)
		if seen[key] {
			return "", false
		}
		seen[key] = true
		id := key
		if d.opts.GroupIDAttribute != "" {
			id = e.GetAttributeValue(d.opts.GroupIDAttribute)
		}
		if id != "" {
			out = append(out, id)
		}
		return e.DN, true
	}
	search := func(filter string) ([]*goldap.Entry, error) {
		req := goldap.NewSearchRequest(d.opts.GroupBaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, int(d.opts.Timeout/time.Second), false, filter, attrs, nil)
		res, err := conn.SearchWithPaging(req, 500)
		if err != nil {
			return nil, err
		}
		return res.Entries, nil
	}
	if d.opts.InChain {
		f := strings.ReplaceAll(d.opts.GroupFilter, inChainTerm, "(member:1.2.840.113556.1.4.1941:={dn})")
		entries, err := search(strings.ReplaceAll(f, "{dn}", goldap.EscapeFilter(dn)))
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			add(e)
		}
		if len(out) > maxGroups {
			return nil, errTooManyGroups
		}
		return out, nil
	}
	frontier := []string{dn}
	for depth := 0; depth < d.opts.MaxDepth && len(frontier) > 0; depth++ {
		var next []string
		for i := 0; i < len(frontier); i += 50 {
			batch := frontier[i:min(i+50, len(frontier))]
			var f strings.Builder
			f.WriteString("(|")
			for _, m := range batch {
				f.WriteString(strings.ReplaceAll(d.opts.GroupFilter, "{dn}", goldap.EscapeFilter(m)))
			}
			f.WriteString(")")
			entries, err := search(f.String())
			if err != nil {
				return nil, err
			}
			for _, e := range entries {
				if g, ok := add(e); ok {
					next = append(next, g)
				}
			}
			if len(out) > maxGroups {
				return nil, errTooManyGroups
			}
		}
		frontier = next
	}
	return out, nil
}

// claimsFor builds the claims of a found user.
func (d *Directory) claimsFor(u *user, groups []string, amr []string) *jwks.Claims {
	return &jwks.Claims{
		Issuer:            d.opts.Issuer,
		Subject:           u.dn,
		IssuedAt:          d.opts.Now(),
		PreferredUsername: u.username,
		Name:              u.name,
		Email:             u.email,
		AMR:               amr,
		Groups:            groups,
	}
}

// Authenticate checks username and password with a bind as the user and
// returns claims for rbac: Issuer is Options.Issuer, Subject the user's
// DN, PreferredUsername the Options.UsernameAttribute value as the
// directory holds it (whatever case the user typed), Groups the user's
// groups (nested included), AMR ["pwd"]. A username that can name no
// account (see [ErrInvalidUsername]) is refused before the directory is
// asked.
//
// A wrong password, an unknown user and an empty password all return
// [ErrInvalidCredentials], and an unknown user costs a bind too, so that
// neither the answer nor its timing tells whether an account exists.
// [ErrDisabled] (which also matches ErrInvalidCredentials) is returned only
// when the directory accepted the password but the account is disabled or
// locked: telling a password guesser that an account is locked would
// confirm that it exists. Directories that refuse every bind of a locked
// account (OpenLDAP ppolicy, Active Directory) therefore report a locked
// account as ErrInvalidCredentials whatever the password; use
// [Directory.Lookup] to tell a user why, once they proved who they are
// some other way.
func (d *Directory) Authenticate(ctx context.Context, username, password string) (*jwks.Claims, error) {
	start := d.opts.Now()
	c, err := d.authenticate(ctx, username, password)
	d.emitLogin(ctx, username, c, err, d.opts.Now().Sub(start))
	return c, err
}

func (d *Directory) authenticate(ctx context.Context, username, password string) (*jwks.Claims, error) {
	if err := checkUsername(username); err != nil {
		return nil, fmt.Errorf("%w (%w)", err, ErrInvalidCredentials)
	}
	if password == "" {
		return nil, ErrInvalidCredentials
	}
	var u *user
	err := d.withConn(ctx, func(conn *goldap.Conn) error {
		var err error
		u, err = d.findUser(conn, username)
		return err
	})
	if err != nil {
		return nil, d.wrap(err)
	}
	if u == nil {
		// Spend what a real check costs: a bind that cannot succeed.
		if err := d.bindAs(ctx, d.absentDN, password); err != nil && !errors.Is(err, ErrInvalidCredentials) {
			return nil, err
		}
		return nil, ErrInvalidCredentials
	}
	if err := d.bindAs(ctx, u.dn, password); err != nil {
		return nil, err
	}
	if u.disabled {
		return nil, fmt.Errorf("%w (%w)", ErrDisabled, ErrInvalidCredentials)
	}
	var groups []string
	err = d.withConn(ctx, func(conn *goldap.Conn) error {
		var err error
		groups, err = d.groupsOf(conn, u.dn)
		return err
	})
	if err != nil {
		return nil, d.wrap(err)
	}
	return d.claimsFor(u, groups, []string{"pwd"}), nil
}

// bindAs checks a password on a connection of its own, never a pooled one.
func (d *Directory) bindAs(ctx context.Context, dn, password string) error {
	select {
	case <-d.done:
		return ErrClosed
	default:
	}
	select {
	case d.binds <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%w: waiting to bind: %w", ErrUnavailable, ctx.Err())
	case <-d.done:
		return ErrClosed
	}
	defer func() { <-d.binds }()
	conn, err := d.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	err = d.guard(ctx, conn, func() error { return conn.Bind(dn, password) })
	switch {
	case err == nil:
		return nil
	case goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials):
		return ErrInvalidCredentials
	default:
		return fmt.Errorf("%w: bind: %w", ErrUnavailable, err)
	}
}

// Lookup returns claims for a user authenticated by other means (Kerberos,
// a trusted proxy): like Authenticate without the password check, and with
// no AMR. Unknown users return [ErrNoUser], disabled ones [ErrDisabled],
// names that can name no account [ErrInvalidUsername] (and ErrNoUser).
func (d *Directory) Lookup(ctx context.Context, username string) (*jwks.Claims, error) {
	start := d.opts.Now()
	c, err := d.lookup(ctx, username)
	if c != nil {
		d.emitGroups(ctx, username, c, len(c.Groups), err, d.opts.Now().Sub(start))
	} else {
		d.emitGroups(ctx, username, nil, 0, err, d.opts.Now().Sub(start))
	}
	return c, err
}

func (d *Directory) lookup(ctx context.Context, username string) (*jwks.Claims, error) {
	if err := checkUsername(username); err != nil {
		return nil, fmt.Errorf("%w (%w)", err, ErrNoUser)
	}
	var u *user
	var groups []string
	err := d.withConn(ctx, func(conn *goldap.Conn) error {
		var err error
		if u, err = d.findUser(conn, username); err != nil || u == nil || u.disabled {
			return err
		}
		groups, err = d.groupsOf(conn, u.dn)
		return err
	})
	switch {
	case err != nil:
		return nil, d.wrap(err)
	case u == nil:
		return nil, ErrNoUser
	case u.disabled:
		return nil, ErrDisabled
	}
	return d.claimsFor(u, groups, nil), nil
}

// Groups implements rbac.GroupSource. For claims this directory built
// (Issuer is Options.Issuer) the user is the Subject DN; for other tokens
// it is the value of Options.UserClaim searched with UserFilter. A
// disabled account returns [ErrDisabled], so the decision is denied.
// Results are cached for Options.GroupsTTL (by default not at all); the
// slice is shared with the cache, do not modify it.
func (d *Directory) Groups(ctx context.Context, c *jwks.Claims) ([]string, error) {
	key, byDN, username, ok := d.cacheKey(c)
	if !ok {
		return nil, ErrNoUser
	}
	if g, ok := d.cachedGroups(key, c); ok {
		return g, nil
	}
	start := d.opts.Now()
	groups, err := d.readGroups(ctx, c, byDN, username)
	d.emitGroups(ctx, username, c, len(groups), err, d.opts.Now().Sub(start))
	if err != nil {
		return nil, err
	}
	d.storeGroups(key, groups, c)
	return groups, nil
}

// readGroups reads from the directory the groups of the user of c.
func (d *Directory) readGroups(ctx context.Context, c *jwks.Claims, byDN bool, username string) ([]string, error) {
	var u *user
	var groups []string
	err := d.withConn(ctx, func(conn *goldap.Conn) error {
		var err error
		if byDN {
			u, err = d.readUser(conn, c.Subject)
		} else {
			u, err = d.findUser(conn, username)
		}
		if err != nil || u == nil || u.disabled {
			return err
		}
		groups, err = d.groupsOf(conn, u.dn)
		return err
	})
	switch {
	case err != nil:
		return nil, d.wrap(err)
	case u == nil:
		return nil, ErrNoUser
	case u.disabled:
		return nil, ErrDisabled
	}
	return groups, nil
}

// cacheKey names the user of c as Groups looks them up: by DN for claims
// this directory built, else by the Options.UserClaim name.
func (d *Directory) cacheKey(c *jwks.Claims) (key string, byDN bool, username string, ok bool) {
	if c == nil {
		return "", false, "", false
	}
	if c.Issuer == d.opts.Issuer && c.Subject != "" {
		dn, err := goldap.ParseDN(c.Subject)
		if err != nil {
			return "", false, "", false
		}
		return "dn:" + strings.ToLower(dn.String()), true, "", true
	}
	username = claimString(c, d.opts.UserClaim)
	if checkUsername(username) != nil {
		return "", false, "", false
	}
	return "user:" + username, false, username, true
}

func (d *Directory) cachedGroups(key string, c *jwks.Claims) ([]string, bool) {
	if d.opts.GroupsTTL <= 0 {
		return nil, false
	}
	d.cacheMu.Lock()
	defer d.cacheMu.Unlock()
	e, ok := d.cache[key]
	if !ok || !d.opts.Now().Before(e.expires) {
		return nil, false
	}
	if who, added := remember(e.who, c); added {
		e.who = who
		d.cache[key] = e
	}
	return e.groups, true
}

func (d *Directory) storeGroups(key string, groups []string, c *jwks.Claims) {
	if d.opts.GroupsTTL <= 0 {
		return
	}
	d.cacheMu.Lock()
	defer d.cacheMu.Unlock()
	now := d.opts.Now()
	if d.cache == nil {
		d.cache = map[string]cached{}
	}
	if len(d.cache) >= maxCached {
		for k, e := range d.cache {
			if !now.Before(e.expires) {
				delete(d.cache, k)
			}
		}
		for k := range d.cache {
			if len(d.cache) < maxCached {
				break
			}
			delete(d.cache, k)
		}
	}
	who, _ := remember(nil, c)
	d.cache[key] = cached{groups: groups, expires: now.Add(d.opts.GroupsTTL), who: who}
}

// Forget drops the cached groups of the user of c (see Options.GroupsTTL),
// for a mover or leaver event that must take effect at once. When the event
// names a subject rather than claims (a revocation list's entry), use
// [Directory.ForgetMatching].
func (d *Directory) Forget(c *jwks.Claims) {
	key, _, _, ok := d.cacheKey(c)
	if !ok {
		return
	}
	d.cacheMu.Lock()
	defer d.cacheMu.Unlock()
	delete(d.cache, key)
}

func claimString(c *jwks.Claims, name string) string {
	switch name {
	case "preferred_username":
		return c.PreferredUsername
	case "email":
		return c.Email
	case "sub":
		return c.Subject
	case "oid":
		return c.ObjectID
	case "name":
		return c.Name
	}
	var s string
	if v, ok := c.Get(name); ok && json.Unmarshal(v, &s) == nil {
		return s
	}
	return ""
}

// wrap gives every directory failure the ErrUnavailable class unless it
// already has one of ours.
func (d *Directory) wrap(err error) error {
	for _, s := range []error{ErrUnavailable, ErrClosed, ErrInvalidCredentials, ErrDisabled, ErrNoUser} {
		if errors.Is(err, s) {
			return err
		}
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// redacted is what the service password prints as.
const redacted = "[redacted]"

// String formats the options with BindPassword redacted, so logging a
// configuration never leaks the service account's password.
func (o Options) String() string {
	type plain Options
	p := plain(o)
	if p.BindPassword != "" {
		p.BindPassword = redacted
	}
	p.Disabled, p.Now = nil, nil
	return fmt.Sprintf("%+v", p)
}

// GoString is String, for %#v.
func (o Options) GoString() string { return o.String() }

// LogValue redacts BindPassword for log/slog.
func (o Options) LogValue() slog.Value { return slog.StringValue(o.String()) }
