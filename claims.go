package idbridge

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/idbridge/idbridge/internal/strictjson"
)

// Claims are the claims of a token, typed for what services decide on:
// registered claims, the OIDC ones, and Microsoft Entra ID's access-token
// claims. The jwks validator returns them verified; token introspection,
// directory logins and [ParseClaims] build them from a JSON claims object
// through the same claim table ([LookupClaim]). Claims returned by a
// validator are shared with its verified-token cache: treat them as
// read-only.
//
// Every claim of a parsed payload is also reachable as raw JSON through
// [Claims.Get], so a service never needs to parse the token a second time.
type Claims struct {
	Issuer   string   // iss
	Subject  string   // sub
	Audience []string // aud; a single string is decoded as a one-element list

	ExpiresAt time.Time // exp; zero when absent
	NotBefore time.Time // nbf; zero when absent
	IssuedAt  time.Time // iat; zero when absent

	ID  string // jti
	UTI string // uti: Entra's token identifier

	// ObjectID and TenantID identify an Entra user or service principal;
	// use them, never PreferredUsername, as the stable identity.
	ObjectID string // oid
	TenantID string // tid

	AuthorizedParty    string // azp (v2 tokens): the client application
	AppID              string // appid (v1 tokens): the client application
	ClientID           string // client_id (RFC 9068 tokens): the client application
	AuthorizedPartyACR string // azpacr: how the client authenticated (0 public, 1 secret, 2 certificate)
	AppIDACR           string // appidacr: the v1 form of azpacr

	Scopes []string // scp (Entra) or scope (RFC 9068): delegated permissions, split on spaces
	Roles  []string // roles: app roles
	Groups []string // groups: group object IDs (absent on overage, see GroupsOverage)
	WIDs   []string // wids: directory role template IDs

	IDType string   // idtyp: "app" for app-only tokens, "user" when requested
	ACR    string   // acr
	ACRS   []string // acrs: authentication context class references
	AMR    []string // amr: authentication methods

	// ClientCapabilities lists xms_cc; "cp1" means the client can handle
	// claims challenges (continuous access evaluation).
	ClientCapabilities []string

	PreferredUsername string // preferred_username: display only, mutable
	Name              string // name
	Email             string // email
	Version           string // ver: "1.0" or "2.0" for Entra tokens
	SessionID         string // sid
	Nonce             string // nonce (ID tokens)

	// ClaimNames is _claim_names: claim name → source name. Entra sets
	// "groups" here instead of a groups claim when a user has too many.
	ClaimNames map[string]string
	// ClaimSources is _claim_sources: source name → where to fetch it.
	ClaimSources map[string]ClaimSource

	// Header is the JOSE header of the token the claims were read from,
	// verified with them when they come from a jwks.Validator; empty for
	// claims that came from no JWT (introspection, directory logins,
	// ParseClaims).
	Header Header

	raw   string // the payload JSON, as parsed
	marks uint8  // claims present that tell the kind of token (markNonce...)
}

// Header is the part of a token's JOSE header that decides how it was
// verified: the algorithm, the key and the token type.
type Header struct {
	Algorithm string // alg, such as "RS256"
	KeyID     string // kid
	Type      string // typ, such as "at+jwt", or ""
}

// Claims whose presence tells an ID token from an access token.
const (
	markNonce    = 1 << iota // nonce: only ID tokens (OpenID Connect Core §2)
	markCodeHash             // at_hash or c_hash: only ID tokens (OpenID Connect Core §3.1.3.6, §3.3.2.11)
)

// ClaimSource is one entry of _claim_sources: where a distributed claim
// (such as groups on overage) can be fetched. Any access token a source
// carries is deliberately not kept.
type ClaimSource struct {
	Endpoint string `json:"endpoint"` // URL to fetch the claim from, e.g. Microsoft Graph
}

// HasScope reports whether s is one of the delegated scopes (scp or scope).
// Nil claims (what a failed validation returns) hold no scope.
func (c *Claims) HasScope(s string) bool { return c != nil && slices.Contains(c.Scopes, s) }

// HasRole reports whether r is one of the app roles (roles). Nil claims
// hold no role.
func (c *Claims) HasRole(r string) bool { return c != nil && slices.Contains(c.Roles, r) }

// InGroup reports whether the group object ID id is in the groups claim.
// On overage (see [Claims.GroupsOverage]) it is false for every group:
// resolve the groups elsewhere rather than trusting a negative answer.
// Nil claims are in no group.
func (c *Claims) InGroup(id string) bool { return c != nil && slices.Contains(c.Groups, id) }

// Client returns the calling application: azp (Entra v2), appid (Entra
// v1) or client_id (RFC 9068), whichever is set; a token in which they
// differ is refused as malformed. It is "" for nil claims.
func (c *Claims) Client() string {
	switch {
	case c == nil:
		return ""
	case c.AuthorizedParty != "":
		return c.AuthorizedParty
	case c.AppID != "":
		return c.AppID
	}
	return c.ClientID
}

// GroupsOverage reports whether the issuer left out the groups claim because
// the user is in too many groups (_claim_names.groups present). The groups
// must then be fetched (for example from Microsoft Graph) or the request
// denied; an empty Groups list does not mean "no groups". It is false for
// nil claims, which are in no group.
func (c *Claims) GroupsOverage() bool {
	if c == nil {
		return false
	}
	_, ok := c.ClaimNames["groups"]
	return ok
}

// Get returns the raw JSON value of any claim in the parsed payload, for
// claims that have no typed field. It reports false when the claim is absent.
// Claims built in code answer for their typed fields (see MarshalJSON).
func (c *Claims) Get(name string) (json.RawMessage, bool) {
	if c == nil {
		return nil, false
	}
	v, ok := "", false
	if c.raw == "" {
		v, ok = builtClaim(c, name)
	} else {
		v, ok = strictjson.Member(c.raw, name)
	}
	if !ok {
		return nil, false
	}
	return json.RawMessage(v), true
}

// IDTokenClaim names a claim of the payload that only ID tokens carry:
// "nonce" (OpenID Connect Core §2), or "at_hash or c_hash" (§3.1.3.6,
// §3.3.2.11); "" when there is none. A validator of access tokens refuses
// a token that has one. A nonce counts even when empty; a null value does
// not count.
func (c *Claims) IDTokenClaim() string {
	switch {
	case c == nil:
		return ""
	case c.marks&markNonce != 0:
		return "nonce"
	case c.marks&markCodeHash != 0:
		return "at_hash or c_hash"
	}
	return ""
}

// MarshalJSON returns the parsed payload as it was signed or sent, so that tools
// such as tokencheck can show every claim, including untyped ones. Claims
// built in code rather than parsed (an LDAP login, a policy test) are
// written from their typed fields through the claim table.
func (c *Claims) MarshalJSON() ([]byte, error) {
	if c == nil {
		return []byte("null"), nil
	}
	if c.raw == "" {
		return []byte(encodeClaims(c)), nil
	}
	return []byte(c.raw), nil
}
