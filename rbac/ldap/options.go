package ldap

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/option"
)

// Defaults of [Options], as its fields' comments state them.
const (
	defaultUserFilter  = "(&(objectClass=inetOrgPerson)(uid={username}))"
	defaultGroupFilter = "(&(objectClass=groupOfNames)(member={dn}))"
	defaultDialTimeout = 5 * time.Second
	defaultTimeout     = 10 * time.Second
	defaultMaxConns    = 4
	defaultMaxDepth    = 10
	defaultGroupsTTL   = time.Minute
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
	// escaped name. "" means "(&(objectClass=inetOrgPerson)(uid={username}))";
	// for AD use "(&(objectClass=user)(sAMAccountName={username}))" or
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
	// replaced by the escaped DN. "" means
	// "(&(objectClass=groupOfNames)(member={dn}))"; for AD
	// "(&(objectClass=group)(member={dn}))".
	GroupFilter string
	// GroupIDAttribute names the attribute that identifies a group to the
	// policy; "" means the group's DN, normalized (rbac.NormalizeGroupID),
	// which matches an issuer with group_ids: dn.
	GroupIDAttribute string
	// InChain expands nesting with AD's LDAP_MATCHING_RULE_IN_CHAIN
	// (1.2.840.113556.1.4.1941) in one search; only Active Directory has it.
	InChain bool
	// MaxDepth bounds nesting levels followed; 0 means 10.
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
	// 5s.
	DialTimeout time.Duration
	// Timeout bounds each LDAP operation; 0 means 10s.
	Timeout time.Duration
	// MaxConns bounds the pooled service connections, and separately the
	// connections open at once for user binds (Authenticate); 0 means
	// 4. Callers beyond it wait (on their context), so a
	// burst of logins cannot open unbounded connections to the directory.
	MaxConns int
	// Disabled reports whether an account is disabled from its attributes
	// (names in lower case); nil means [DefaultDisabled].
	Disabled func(attrs map[string][]string) bool
	// GroupsTTL is how long [Directory.Groups] (the rbac.GroupSource)
	// keeps a user's groups, so that a decision does not cost directory
	// searches on every request; 0 means 1 minute, negative
	// means no caching. A mover's new groups, and a leaver disabled in the
	// directory, take effect after at most GroupsTTL; [Directory.Forget]
	// drops one user at once. Clamped to at most 1h. Authenticate and
	// Lookup never use the cache.
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

// invalid is the error of a constructor given unusable options.
func invalid(format string, args ...any) error {
	return fmt.Errorf("ldap: %w: "+format, append([]any{idbridge.ErrInvalidOptions}, args...)...)
}

// check validates the options for a directory at rawURL and fills in
// their defaults; it returns the parsed URL.
func (o *Options) check(rawURL string) (*url.URL, error) {
	u, err := o.checkURL(rawURL)
	if err != nil {
		return nil, err
	}
	if err := o.checkDNs(); err != nil {
		return nil, err
	}
	if err := o.checkFilters(); err != nil {
		return nil, err
	}
	o.setDefaults(u)
	return u, nil
}

func (o *Options) checkURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	switch {
	case err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "":
		return nil, invalid("URL must be ldap://host[:port] or ldaps://host[:port]")
	case u.Scheme == "ldaps" && o.StartTLS:
		return nil, invalid("StartTLS is for ldap:// URLs; ldaps:// is already TLS")
	case u.Scheme == "ldap" && !o.StartTLS && !o.InsecurePlaintext:
		return nil, invalid("ldap:// without StartTLS would send passwords in clear text; set StartTLS, use ldaps://, or set InsecurePlaintext for tests")
	}
	return u, nil
}

func (o *Options) checkDNs() error {
	if o.BindDN == "" || o.BindPassword == "" {
		return invalid("BindDN and BindPassword (the service account) are required")
	}
	if o.BaseDN == "" {
		return invalid("BaseDN is required")
	}
	for _, dn := range []string{o.BindDN, o.BaseDN, o.UserBaseDN, o.GroupBaseDN} {
		if dn != "" {
			if _, err := goldap.ParseDN(dn); err != nil {
				return invalid("invalid DN %q", dn)
			}
		}
	}
	if o.UserBaseDN == "" {
		o.UserBaseDN = o.BaseDN
	}
	if o.GroupBaseDN == "" {
		o.GroupBaseDN = o.BaseDN
	}
	return nil
}

func (o *Options) checkFilters() error {
	var err error
	option.Default(&o.UserFilter, defaultUserFilter)
	option.Default(&o.GroupFilter, defaultGroupFilter)
	if !strings.Contains(o.UserFilter, "{username}") {
		return invalid("UserFilter must contain {username}")
	}
	if o.UsernameAttribute, err = usernameAttribute(o.UsernameAttribute, o.UserFilter); err != nil {
		return err
	}
	if !strings.Contains(o.GroupFilter, "{dn}") {
		return invalid("GroupFilter must contain {dn}")
	}
	if o.InChain && !strings.Contains(o.GroupFilter, inChainTerm) {
		// Without the (member={dn}) term there is nothing to rewrite into
		// the in-chain rule, and nesting would silently be ignored.
		return invalid("InChain needs a GroupFilter with the term %s", inChainTerm)
	}
	for _, f := range []string{strings.ReplaceAll(o.UserFilter, "{username}", "x"), strings.ReplaceAll(o.GroupFilter, "{dn}", "x")} {
		if _, err := goldap.CompileFilter(f); err != nil {
			return invalid("invalid filter %q: %w", f, err)
		}
	}
	return nil
}

// setDefaults fills in the defaults of the remaining options and clamps
// GroupsTTL.
func (o *Options) setDefaults(u *url.URL) {
	option.Default(&o.UserClaim, "preferred_username")
	option.Default(&o.Issuer, u.Scheme+"://"+u.Host)
	option.Positive(&o.MaxDepth, defaultMaxDepth)
	option.Positive(&o.DialTimeout, defaultDialTimeout)
	option.Positive(&o.Timeout, defaultTimeout)
	option.Positive(&o.MaxConns, defaultMaxConns)
	if o.Disabled == nil {
		o.Disabled = DefaultDisabled
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	option.Limit(&o.GroupsTTL, defaultGroupsTTL, time.Hour)
}

// tlsConfig is a copy of c (or a new config) with ServerName and
// MinVersion filled in.
func tlsConfig(c *tls.Config, host string) *tls.Config {
	var tc *tls.Config
	if c != nil {
		tc = c.Clone()
	} else {
		tc = &tls.Config{}
	}
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	if tc.MinVersion == 0 {
		tc.MinVersion = tls.VersionTLS12
	}
	return tc
}
