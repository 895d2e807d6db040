package idp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Algorithms the provider signs tokens with.
const (
	// AlgRS256 is RSASSA-PKCS1-v1_5 with SHA-256, what Entra signs with; the default.
	AlgRS256 = "RS256"
	// AlgES256 is ECDSA P-256 with SHA-256, for tests of validators that must
	// accept more than Entra's algorithm.
	AlgES256 = "ES256"
)

// Grant types a [Client] may be allowed in [Client.GrantTypes].
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	GrantTokenExchange     = "urn:ietf:params:oauth:grant-type:token-exchange"
	GrantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
)

var knownGrants = []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials, GrantTokenExchange, GrantDeviceCode}

// redacted replaces secrets in every printed or logged form of a value.
const redacted = "[redacted]"

// User is an account that can sign in. It prints and logs with its password
// redacted, so a failing test can dump it safely.
type User struct {
	// Username is what the user types at login ("amit").
	Username string
	// Password is checked at login and device approval.
	Password string
	// Subject is the sub claim; empty means ObjectID. Entra's sub is pairwise
	// per application, so SDK code must identify users by oid, not sub.
	Subject string
	// ObjectID is the oid claim (a GUID); empty derives a stable GUID from
	// the tenant and username.
	ObjectID string
	// Name is the display name (name claim).
	Name string
	// Email is preferred_username when set (Entra puts the UPN there);
	// otherwise preferred_username is Username.
	Email string
	// Groups are group object IDs (GUIDs), as Entra emits them.
	Groups []string
	// Roles are app roles assigned to the user.
	Roles []string
	// AMR is the amr claim; empty means ["pwd"].
	AMR []string
	// ACR is the acr claim; empty means "1".
	ACR string
	// Disabled marks a leaver: login, device approval, refresh and token
	// exchange fail for this user.
	Disabled bool
}

// Format prints u with its password redacted, for every verb.
func (u User) Format(f fmt.State, verb rune) {
	type plain User
	c := plain(u)
	if c.Password != "" {
		c.Password = redacted
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), c)
}

// LogValue logs u without its password.
func (u User) LogValue() slog.Value {
	return slog.GroupValue(slog.String("username", u.Username), slog.String("oid", u.ObjectID),
		slog.Any("groups", u.Groups), slog.Bool("disabled", u.Disabled))
}

// Client is a registered application. It prints and logs with its secret
// redacted.
type Client struct {
	// ID is the client_id (and the azp claim of its tokens).
	ID string
	// Secret authenticates a confidential client with client_secret_basic or
	// client_secret_post. Empty with PublicKeys set means the client must use
	// private_key_jwt.
	Secret string
	// RedirectURIs are the exact redirect URIs allowed for the code flow.
	RedirectURIs []string
	// Public marks a client without credentials (a CLI or SPA); it must use PKCE.
	Public bool
	// Roles are app roles assigned to the client's service principal; they
	// appear in its app-only tokens.
	Roles []string
	// PublicKeys verify private_key_jwt client assertions, by JOSE kid.
	// Supported key types: *rsa.PublicKey (RS256, PS256) and
	// *ecdsa.PublicKey (ES256).
	PublicKeys map[string]crypto.PublicKey
	// GrantTypes the client may use (Grant* constants). Empty means
	// authorization_code, refresh_token and device_code for a public client,
	// and authorization_code, refresh_token and client_credentials otherwise.
	GrantTypes []string
	// ObjectID is the oid and sub of the client's app-only tokens (its service
	// principal); empty derives a stable GUID from the tenant and client id.
	ObjectID string
	// Resource is the App ID URI of the API this client is ("api://lending").
	// Tokens requested for it carry the client's ID as aud (Entra v2.0); a
	// token exchanged by this client must have been issued for it.
	Resource string
}

// Format prints c with its secret redacted, for every verb.
func (c Client) Format(f fmt.State, verb rune) {
	type plain Client
	p := plain(c)
	if p.Secret != "" {
		p.Secret = redacted
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), p)
}

// LogValue logs c without its secret.
func (c Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", c.ID), slog.Bool("public", c.Public), slog.Any("grant_types", c.GrantTypes))
}

// ClientKey is a private key a client signs private_key_jwt assertions with.
// It prints and logs with the key redacted.
type ClientKey struct {
	// KID is the JOSE kid the provider looks the public key up by.
	KID string
	// Key is *rsa.PrivateKey or *ecdsa.PrivateKey.
	Key crypto.Signer
}

// Format prints k with the private key redacted, for every verb.
func (k ClientKey) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprintf(f, "idp.ClientKey{KID:%q, Key:%s}", k.KID, redacted)
		return
	}
	fmt.Fprintf(f, "{KID:%s Key:%s}", k.KID, redacted)
}

// LogValue logs only the kid.
func (k ClientKey) LogValue() slog.Value { return slog.GroupValue(slog.String("kid", k.KID)) }

// Options configure a provider. [Start] fills them with the scenario defaults
// before the option functions run, so a function may append to Users or
// Clients, or replace them.
type Options struct {
	// Algorithm signs tokens: AlgRS256 (default) or AlgES256.
	Algorithm string
	// TenantID is the tid claim.
	TenantID string
	// Users who can sign in.
	Users []User
	// Clients registered with the provider.
	Clients []Client
	// APIs maps App ID URIs to application (client) IDs, the aud of v2.0
	// access tokens requested by URI ("api://lending/.default" gives aud
	// LendingAppID). The Resource of every client is added. A resource
	// not listed keeps its name as aud.
	APIs map[string]string
	// AccessTokenLifetime defaults to 1 h; clamped to [1 s, 24 h].
	AccessTokenLifetime time.Duration
	// IDTokenLifetime defaults to 1 h; clamped to [1 s, 24 h].
	IDTokenLifetime time.Duration
	// RefreshTokenLifetime defaults to 24 h; clamped to [1 s, 90 days].
	RefreshTokenLifetime time.Duration
	// DeviceCodeLifetime defaults to 5 min; clamped to [1 s, 1 h].
	DeviceCodeLifetime time.Duration
	// DevicePollInterval is the interval announced to device clients; it
	// defaults to 1 s, the smallest RFC 8628 can express, and is rounded up
	// to whole seconds.
	DevicePollInterval time.Duration
	// PlainHTTP serves http:// instead of https://. zitadel refuses an http
	// issuer unless told to allow it, which this option does and nothing else.
	PlainHTTP bool
	// Addr is the listen address; default "127.0.0.1:0" (a random port).
	// Restart reuses the address actually bound.
	Addr string
	// Now is the clock for expiry decisions; nil means time.Now. See the
	// package documentation for what it does not cover.
	Now func() time.Time
}

// DefaultOptions returns the scenario defaults [Start] begins from.
func DefaultOptions() Options {
	return Options{
		Algorithm: AlgRS256,
		TenantID:  ScenarioTenantID,
		Users:     ScenarioUsers(),
		Clients:   ScenarioClients(),
		APIs:      ScenarioAPIs(),
	}
}

func clamp(d, def, lo, hi time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return min(max(d, lo), hi)
}

// normalize defaults, clamps and validates a copy of o.
func (o Options) normalize() (Options, error) {
	o.Users = slices.Clone(o.Users)
	o.Clients = slices.Clone(o.Clients)
	o.APIs = maps.Clone(o.APIs)
	if o.APIs == nil {
		o.APIs = map[string]string{}
	}
	if err := o.normalizeSettings(); err != nil {
		return o, err
	}
	if err := o.normalizeUsers(); err != nil {
		return o, err
	}
	if err := o.normalizeClients(); err != nil {
		return o, err
	}
	return o, nil
}

// normalizeSettings defaults and checks the provider-wide settings: the
// algorithm, tenant, lifetimes, listen address and clock.
func (o *Options) normalizeSettings() error {
	if o.Algorithm == "" {
		o.Algorithm = AlgRS256
	}
	if o.Algorithm != AlgRS256 && o.Algorithm != AlgES256 {
		return fmt.Errorf("%w: algorithm %q (want %s or %s)", ErrInvalidOptions, o.Algorithm, AlgRS256, AlgES256)
	}
	if o.TenantID == "" {
		return fmt.Errorf("%w: empty tenant id", ErrInvalidOptions)
	}
	o.AccessTokenLifetime = clamp(o.AccessTokenLifetime, time.Hour, time.Second, 24*time.Hour)
	o.IDTokenLifetime = clamp(o.IDTokenLifetime, time.Hour, time.Second, 24*time.Hour)
	o.RefreshTokenLifetime = clamp(o.RefreshTokenLifetime, 24*time.Hour, time.Second, 90*24*time.Hour)
	o.DeviceCodeLifetime = clamp(o.DeviceCodeLifetime, 5*time.Minute, time.Second, time.Hour)
	o.DevicePollInterval = clamp(o.DevicePollInterval, time.Second, time.Second, time.Minute).Round(time.Second)
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if _, _, err := net.SplitHostPort(o.Addr); err != nil {
		return fmt.Errorf("%w: addr %q: %w", ErrInvalidOptions, o.Addr, err)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// normalizeUsers checks that every user has a unique username and fills in
// the derived claims (oid, sub, amr, acr) of those that leave them empty.
func (o *Options) normalizeUsers() error {
	seen := map[string]bool{}
	for i := range o.Users {
		u := &o.Users[i]
		if u.Username == "" {
			return fmt.Errorf("%w: user %d has no username", ErrInvalidOptions, i)
		}
		if seen[u.Username] {
			return fmt.Errorf("%w: duplicate user %q", ErrInvalidOptions, u.Username)
		}
		seen[u.Username] = true
		if u.ObjectID == "" {
			u.ObjectID = stableGUID(o.TenantID, "user", u.Username)
		}
		if u.Subject == "" {
			u.Subject = u.ObjectID
		}
		u.Groups, u.Roles, u.AMR = slices.Clone(u.Groups), slices.Clone(u.Roles), slices.Clone(u.AMR)
		if len(u.AMR) == 0 {
			u.AMR = []string{"pwd"}
		}
		if u.ACR == "" {
			u.ACR = "1"
		}
	}
	return nil
}

// normalizeClients checks that every client has a unique id, credentials
// that fit its kind and known grant types, fills in its defaults, and adds
// its Resource to APIs.
func (o *Options) normalizeClients() error {
	seen := map[string]bool{}
	for i := range o.Clients {
		c := &o.Clients[i]
		if c.ID == "" {
			return fmt.Errorf("%w: client %d has no id", ErrInvalidOptions, i)
		}
		if seen[c.ID] {
			return fmt.Errorf("%w: duplicate client %q", ErrInvalidOptions, c.ID)
		}
		seen[c.ID] = true
		if err := c.checkCredentials(); err != nil {
			return err
		}
		grants, err := c.grantTypes()
		if err != nil {
			return err
		}
		c.GrantTypes = grants
		c.RedirectURIs, c.Roles, c.PublicKeys = slices.Clone(c.RedirectURIs), slices.Clone(c.Roles), maps.Clone(c.PublicKeys)
		if c.ObjectID == "" {
			c.ObjectID = stableGUID(o.TenantID, "client", c.ID)
		}
		if c.Resource != "" {
			o.APIs[c.Resource] = c.ID
		}
	}
	return nil
}

// checkCredentials refuses a public client with credentials, a confidential
// one without, and public keys of a type assertions cannot be verified with.
func (c Client) checkCredentials() error {
	if c.Public && (c.Secret != "" || len(c.PublicKeys) > 0) {
		return fmt.Errorf("%w: public client %q has credentials", ErrInvalidOptions, c.ID)
	}
	if !c.Public && c.Secret == "" && len(c.PublicKeys) == 0 {
		return fmt.Errorf("%w: confidential client %q has neither secret nor public keys", ErrInvalidOptions, c.ID)
	}
	for kid, k := range c.PublicKeys {
		switch k.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey:
		default:
			return fmt.Errorf("%w: client %q key %q: unsupported type %T", ErrInvalidOptions, c.ID, kid, k)
		}
	}
	return nil
}

// grantTypes returns a copy of the client's GrantTypes, or the defaults of
// its kind when it has none, and refuses unknown grants and
// client_credentials for a public client.
func (c Client) grantTypes() ([]string, error) {
	grants := slices.Clone(c.GrantTypes)
	if len(grants) == 0 {
		if c.Public {
			grants = []string{GrantAuthorizationCode, GrantRefreshToken, GrantDeviceCode}
		} else {
			grants = []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials}
		}
	}
	for _, g := range grants {
		if !slices.Contains(knownGrants, g) {
			return nil, fmt.Errorf("%w: client %q: unknown grant type %q", ErrInvalidOptions, c.ID, g)
		}
	}
	if c.Public && slices.Contains(grants, GrantClientCredentials) {
		return nil, fmt.Errorf("%w: public client %q cannot use client_credentials", ErrInvalidOptions, c.ID)
	}
	return grants, nil
}

// stableGUID derives a GUID that is the same in every run, so logs and
// golden files stay comparable.
func stableGUID(tenant, kind, name string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("idbridge-idp:"+tenant+":"+kind+":"+name)).String()
}
