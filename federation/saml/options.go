package saml

import (
	"log/slog"
	"net/url"
	"time"

	crewjam "github.com/crewjam/saml"
	"github.com/idbridge/idbridge/internal/option"
)

// Signed says which element of a response must carry a valid signature.
// Whatever it says, a signature that is present must be valid, and only
// what a signature covers is ever read.
type Signed int

const (
	// SignedAssertion requires the assertion's own signature: Entra's
	// default ("Sign SAML assertion"), and what AWS requires.
	SignedAssertion Signed = iota
	// SignedResponse requires the Response's signature ("Sign SAML
	// response"); the assertion inside is covered by it.
	SignedResponse
	// SignedBoth requires both ("Sign SAML response and assertion").
	SignedBoth
	// SignedEither accepts a signature on either, as SAML's Web SSO profile
	// does.
	SignedEither
)

// Bounds and defaults applied by [NewValidator].
const (
	DefaultLeeway = time.Minute
	// MaxLeeway is the most clock skew tolerated between the IdP and the
	// SP; the SAML library (crewjam/saml MaxClockSkew) never tolerates more.
	MaxLeeway = 3 * time.Minute
	// DefaultMaxResponseBytes caps a decoded response; an Entra response
	// for a user in 150 groups is about 20 KiB.
	DefaultMaxResponseBytes = 256 << 10
)

// Options configure a [Validator]. NewValidator copies them.
type Options struct {
	// Signed says what must be signed; the zero value is SignedAssertion.
	Signed Signed
	// AllowIdPInitiated accepts responses that answer no AuthnRequest (no
	// InResponseTo): sign-ins started from the IdP (Entra's My Apps, and
	// the usual Entra → AWS flow). Off, every response must answer one of
	// the request IDs passed to Validate. Replay protection covers both.
	AllowIdPInitiated bool
	// Leeway is the clock skew tolerated on NotBefore, NotOnOrAfter and
	// IssueInstant. Zero means DefaultLeeway, negative means none (the
	// SAML library still tolerates its own skew); at most MaxLeeway.
	Leeway time.Duration
	// ClaimsIssuer is the iss of the claims. Empty keeps the assertion's
	// Issuer (https://sts.windows.net/{tenant}/ for Entra). An rbac policy
	// written for Entra's v2 tokens declares
	// https://login.microsoftonline.com/{tenant}/v2.0; set that here
	// ({tenantid} is replaced by the assertion's tenant) so the same
	// policy decides on SAML sign-ins of the same tenant unchanged. The
	// assertion's Issuer is still checked against the metadata.
	ClaimsIssuer string
	// ReplayCache records accepted assertions; nil means a
	// MemoryReplayCache of 100000 assertions. Share one across a
	// fleet.
	ReplayCache ReplayCache
	// MaxResponseBytes caps a decoded response. Zero or negative means
	// DefaultMaxResponseBytes.
	MaxResponseBytes int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// DecryptionKeys open encrypted assertions (Entra's "SAML token
	// encryption"), tried in order, at most MaxDecryptionKeys: list the
	// current key first (its certificate is the one the SP metadata
	// publishes) and keep the previous one during a rollover. Without any,
	// an encrypted assertion is refused with ErrDecryption. The list is
	// copied; no key is ever logged or put in an error.
	DecryptionKeys []DecryptionKey
	// RequireEncryption refuses an assertion that is not encrypted, with
	// ErrDecryption, before the SAML library reads it. Set it with Entra's
	// token encryption on: if encryption is turned off at the IdP, sign-in
	// fails closed instead of carrying the claims in clear through the
	// browser. It needs DecryptionKeys.
	RequireEncryption bool
	// Audit receives token.validated and token.rejected events, with the
	// assertion identified by token_id (a hash of its ID), never its text.
	Audit slog.Handler
}

func (o *Options) setDefaults() {
	option.Limit(&o.Leeway, DefaultLeeway, MaxLeeway) // negative: none
	option.Positive(&o.MaxResponseBytes, DefaultMaxResponseBytes)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ReplayCache == nil {
		o.ReplayCache = NewMemoryReplayCache(0, o.Now)
	}
}

func validURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.IsAbs() && u.Host != ""
}

var _ = crewjam.MaxClockSkew
