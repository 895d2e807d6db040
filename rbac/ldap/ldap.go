package ldap

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/audit"
	"github.com/idbridge/idbridge/internal/option"
	"github.com/idbridge/idbridge/internal/reason"
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
)

// errClosed is the error of a call after Close.
var errClosed = fmt.Errorf("ldap: directory %w", idbridge.ErrClosed)

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
	who     []*idbridge.Claims // subjects it was looked up for (see ForgetMatching)
}

// maxCached bounds the GroupsTTL cache; past it, expired entries go first,
// then arbitrary ones (a re-fetch, never a wrong answer).
const maxCached = 10000

// NewDirectory returns a Directory for url (ldap:// or ldaps://). It does
// not connect; call [Directory.Check] to verify the configuration at start.
func NewDirectory(rawURL string, optFns ...func(*Options)) (*Directory, error) {
	o := option.New(optFns)
	u, err := o.check(rawURL)
	if err != nil {
		return nil, err
	}
	tc := tlsConfig(o.TLSConfig, u.Hostname())
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
// fail, later ones return an error wrapping idbridge.ErrClosed. Close is
// idempotent.
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

// claimsFor builds the claims of a found user.
func (d *Directory) claimsFor(u *user, groups []string, amr []string) *idbridge.Claims {
	return &idbridge.Claims{
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
func (d *Directory) Authenticate(ctx context.Context, username, password string) (*idbridge.Claims, error) {
	start := d.opts.Now()
	c, err := d.authenticate(ctx, username, password)
	d.emitLogin(ctx, username, c, err, d.opts.Now().Sub(start))
	return c, err
}

func (d *Directory) authenticate(ctx context.Context, username, password string) (*idbridge.Claims, error) {
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
		return errClosed
	default:
	}
	select {
	case d.binds <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%w: waiting to bind: %w", ErrUnavailable, ctx.Err())
	case <-d.done:
		return errClosed
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
func (d *Directory) Lookup(ctx context.Context, username string) (*idbridge.Claims, error) {
	start := d.opts.Now()
	c, err := d.lookup(ctx, username)
	if c != nil {
		d.emitGroups(ctx, username, c, len(c.Groups), err, d.opts.Now().Sub(start))
	} else {
		d.emitGroups(ctx, username, nil, 0, err, d.opts.Now().Sub(start))
	}
	return c, err
}

func (d *Directory) lookup(ctx context.Context, username string) (*idbridge.Claims, error) {
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
// Results are cached for Options.GroupsTTL (1 minute unless set); the
// slice is shared with the cache, do not modify it.
func (d *Directory) Groups(ctx context.Context, c *idbridge.Claims) ([]string, error) {
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
func (d *Directory) readGroups(ctx context.Context, c *idbridge.Claims, byDN bool, username string) ([]string, error) {
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
func (d *Directory) cacheKey(c *idbridge.Claims) (key string, byDN bool, username string, ok bool) {
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

func (d *Directory) cachedGroups(key string, c *idbridge.Claims) ([]string, bool) {
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

func (d *Directory) storeGroups(key string, groups []string, c *idbridge.Claims) {
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
func (d *Directory) Forget(c *idbridge.Claims) {
	key, _, _, ok := d.cacheKey(c)
	if !ok {
		return
	}
	d.cacheMu.Lock()
	defer d.cacheMu.Unlock()
	delete(d.cache, key)
}

func claimString(c *idbridge.Claims, name string) string {
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
	for _, s := range []error{ErrUnavailable, idbridge.ErrClosed, ErrInvalidCredentials, ErrDisabled, ErrNoUser, ErrNoGroup} {
		if errors.Is(err, s) {
			return err
		}
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}
