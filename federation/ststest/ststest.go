package ststest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/federation/saml"
	"github.com/idbridge/idbridge/internal/jwt"
	"github.com/idbridge/idbridge/internal/loopback"
	"github.com/idbridge/idbridge/internal/option"
	"github.com/idbridge/idbridge/jwks"
)

// Claim names AWS reads session tags and the source identity from.
const (
	tagsClaim           = "https://aws.amazon.com/tags"
	sourceIdentityClaim = "https://aws.amazon.com/source_identity"
)

// Trust condition operators.
const (
	StringEquals            = "StringEquals"
	StringLike              = "StringLike"
	ForAnyValueStringEquals = "ForAnyValue:StringEquals"
	ForAnyValueStringLike   = "ForAnyValue:StringLike"
)

// DefaultAccountID is the account of a Server without Options.AccountID.
const DefaultAccountID = "111122223333"

const xmlns = "https://sts.amazonaws.com/doc/2011-06-15/"

// Options configure a [Server].
type Options struct {
	// AccountID owns the roles and OIDC providers; default DefaultAccountID.
	AccountID string
	// Now is the clock for token validation and credential expiry; nil
	// means time.Now. Credentials expire Now+duration.
	Now func() time.Time
	// HTTPClient fetches the providers' keys (for example one that trusts
	// a test IdP's certificate); nil means http.DefaultClient.
	HTTPClient *http.Client
	// Leeway tolerates clock skew on exp and nbf; zero means none, which
	// makes expiry tests exact.
	Leeway time.Duration
	// PackedPolicyLimit is the byte budget of session policy plus session
	// tags; default 2048.
	PackedPolicyLimit int
}

// OIDCProvider is an IAM OIDC identity provider: AWS trusts a token when its
// iss equals URL exactly and its aud is one of ClientIDs.
type OIDCProvider struct {
	// URL is the issuer, compared exactly with iss (https://, or http:// on
	// loopback for test IdPs).
	URL string
	// ClientIDs is the audience list.
	ClientIDs []string
	// Keys verifies signatures. When nil, the fake fetches the JWKS at
	// JWKSURL (or, when that is empty, at the jwks_uri of URL's discovery
	// document) when a token needs it: on first use, every five minutes,
	// and whenever a token names an unknown kid. An IdP that cannot be
	// reached then makes STS answer IDPCommunicationError.
	Keys    jwks.KeySet
	JWKSURL string
}

// Condition is one trust policy condition: the value(s) found under Key
// must match Values with Op. A missing key fails every operator.
type Condition struct {
	Op     string
	Key    string
	Values []string
}

// Role is an IAM role that can be assumed with web identity.
type Role struct {
	// ARN is arn:aws:iam::<account>:role/<name>.
	ARN string
	// Provider is the URL of the trusted OIDC provider (the Federated
	// principal); empty trusts every registered provider.
	Provider string
	// Trust lists the conditions, all of which must hold.
	Trust []Condition
	// MaxSessionDuration is 1h (default) to 12h.
	MaxSessionDuration time.Duration
	// TrustedRoles are the roles whose sessions may assume this one with
	// AssumeRole (role chaining), as a trust policy naming them as AWS
	// principals does.
	TrustedRoles []string
}

// Request is what the fake recorded of one call: the form without the
// token, which is represented by its SHA-256.
type Request struct {
	Action        string
	Form          url.Values // WebIdentityToken removed
	TokenSHA256   string     // hex
	Code          string     // error code answered, "" on success
	Status        int        // HTTP status answered
	ContentType   string
	Authorization bool // whether the request carried an Authorization header
	RequestID     string
	AccessKeyID   string // on success, the access key issued
}

// Session is an issued set of credentials and what it was issued for.
type Session struct {
	// Action is AssumeRoleWithWebIdentity, or AssumeRole for a chained
	// session.
	Action            string
	AccessKeyID       string
	SecretAccessKey   string
	SessionToken      string
	Expiration        time.Time
	RoleARN           string
	AssumedRoleARN    string
	SessionName       string
	Subject           string
	Audience          string
	Provider          string
	SourceIdentity    string
	Tags              map[string]string
	TransitiveTagKeys []string
	Policy            string
	// PackedPolicySize is the percentage of the packed budget the session
	// policy and tags use; reported when either is present.
	PackedPolicySize int
	// Issuer is the SAML assertion's issuer (AssumeRoleWithSAML).
	Issuer string
}

// Server is a fake STS endpoint. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL, http://127.0.0.1:port.
	URL string

	o   Options
	srv *httptest.Server

	mu        sync.Mutex // guards the fields below
	providers map[string]*provider
	roles     map[string]Role
	sessions  map[string]Session
	// samlProviders are the IAM SAML providers by ARN (saml.go).
	samlProviders map[string]*saml.Validator
	requests      []Request
	faults        []string
}

type provider struct {
	p OIDCProvider
	v *jwks.Validator
}

// NewServer starts a fake STS on 127.0.0.1. Call Close when done.
func NewServer(optFns ...func(*Options)) *Server {
	o := option.New(optFns)
	if o.AccountID == "" {
		o.AccountID = DefaultAccountID
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	if o.PackedPolicyLimit <= 0 {
		o.PackedPolicyLimit = 2048
	}
	s := &Server{o: o, providers: map[string]*provider{}, roles: map[string]Role{}, sessions: map[string]Session{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Start is NewServer for a test: the server is closed by tb.Cleanup.
func Start(tb testing.TB, optFns ...func(*Options)) *Server {
	tb.Helper()
	s := NewServer(optFns...)
	tb.Cleanup(s.Close)
	return s
}

// Close shuts the server down and stops the providers' key sets.
func (s *Server) Close() {
	s.srv.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.providers {
		p.v.Close()
	}
}

// AccountID returns the account of the roles.
func (s *Server) AccountID() string { return s.o.AccountID }

// Client returns the real aws-sdk-go-v2 STS client pointed at the server
// (BaseEndpoint), in region us-east-1, with one attempt per call so that
// tests see every error at once. optFns may change that.
func (s *Server) Client(optFns ...func(*sts.Options)) *sts.Client {
	return sts.New(sts.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(s.URL),
		HTTPClient:       s.srv.Client(),
		RetryMaxAttempts: 1,
	}, optFns...)
}

// ClaimKey returns the trust-policy condition key for claim (sub, aud,
// oaud, amr) of the OIDC provider with issuer URL, as IAM spells it: the
// URL without its scheme, a colon, the claim.
func ClaimKey(issuer, claim string) string {
	return providerKey(issuer) + ":" + claim
}

func providerKey(issuer string) string {
	k := strings.TrimPrefix(strings.TrimPrefix(issuer, "https://"), "http://")
	return strings.TrimSuffix(k, "/")
}

// ProviderARN returns the ARN of the OIDC provider with issuer URL.
func (s *Server) ProviderARN(issuer string) string {
	return "arn:aws:iam::" + s.o.AccountID + ":oidc-provider/" + providerKey(issuer)
}

// AddOIDCProvider registers an OIDC provider. It panics when the provider
// is invalid.
func (s *Server) AddOIDCProvider(p OIDCProvider) {
	u, err := url.Parse(p.URL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && loopback.Host(u.Hostname()))) {
		panic("ststest: OIDC provider URL must be https:// (or http:// on loopback): " + p.URL)
	}
	if len(p.ClientIDs) == 0 {
		panic("ststest: OIDC provider needs at least one client ID")
	}
	p.ClientIDs = append([]string(nil), p.ClientIDs...)
	keys := p.Keys
	if keys == nil {
		keys = &remoteKeys{issuer: p.URL, jwksURL: p.JWKSURL, client: s.o.HTTPClient, now: s.o.Now}
	}
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: p.URL, Keys: keys}}
		o.Audiences = p.ClientIDs
		o.Algorithms = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"}
		o.Leeway = -1
		if s.o.Leeway > 0 {
			o.Leeway = s.o.Leeway
		}
		o.Now = s.o.Now
		o.HTTPClient = s.o.HTTPClient
	})
	if err != nil {
		panic("ststest: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.providers[p.URL]; old != nil {
		old.v.Close()
	}
	s.providers[p.URL] = &provider{p: p, v: v}
}

var roleARNRe = regexp.MustCompile(`^arn:aws:iam::([0-9]{12}):role/((?:[\w+=,.@-]+/)*)([\w+=,.@-]{1,64})$`)

// AddRole registers or replaces a role. It panics when the role is invalid.
func (s *Server) AddRole(r Role) {
	m := roleARNRe.FindStringSubmatch(r.ARN)
	if m == nil || m[1] != s.o.AccountID {
		panic("ststest: role ARN must be arn:aws:iam::" + s.o.AccountID + ":role/<name>: " + r.ARN)
	}
	if r.MaxSessionDuration == 0 {
		r.MaxSessionDuration = time.Hour
	}
	if r.MaxSessionDuration < time.Hour || r.MaxSessionDuration > 12*time.Hour {
		panic("ststest: MaxSessionDuration must be within 1h..12h")
	}
	for _, c := range r.Trust {
		switch c.Op {
		case StringEquals, StringLike, ForAnyValueStringEquals, ForAnyValueStringLike:
		default:
			panic("ststest: unsupported condition operator " + c.Op)
		}
	}
	r.Trust = append([]Condition(nil), r.Trust...)
	r.TrustedRoles = append([]string(nil), r.TrustedRoles...)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roles[r.ARN] = r
}

// FailNext makes the next n requests answer the STS error code, with the
// HTTP status and message AWS uses for it: 403 for AccessDenied and the
// other authorization codes, 500 for InternalFailure, 503 for
// ServiceUnavailable, 400 otherwise.
func (s *Server) FailNext(code string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, code)
	}
}

// Requests returns what the server recorded of every request so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	copy(out, s.requests)
	return out
}

// Session returns the session issued with an access key ID.
func (s *Server) Session(accessKeyID string) (Session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.sessions[accessKeyID]
	return ss, ok
}

// verify checks the token like STS: provider by iss, then signature, times
// and audience.
func (s *Server) verify(ctx context.Context, tok string) (*idbridge.Claims, *provider, *stsError) {
	iss, exp, ok := peekIssuer(tok)
	if !ok {
		return nil, nil, fail("InvalidIdentityToken", "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)")
	}
	if iss == "" {
		return nil, nil, fail("InvalidIdentityToken", "Missing a required claim: iss")
	}
	s.mu.Lock()
	p := s.providers[iss]
	s.mu.Unlock()
	if p == nil {
		return nil, nil, fail("InvalidIdentityToken", "No OpenIDConnect provider found in your account for "+iss)
	}
	// STS takes ID tokens and access tokens alike; a validator tells
	// them apart.
	c, err := p.v.Validate(ctx, tok)
	if errors.Is(err, jwks.ErrType) {
		c, err = p.v.ValidateIDToken(ctx, tok, "")
	}
	switch {
	case err == nil:
		return c, p, nil
	case errors.Is(err, jwks.ErrExpired):
		// Sic: STS writes no space before the expiration.
		return nil, nil, fail("ExpiredTokenException", "Token expired: current date/time "+strconv.FormatInt(s.o.Now().Unix(), 10)+
			" must be before the expiration date/time"+strconv.FormatInt(exp, 10))
	case errors.Is(err, jwks.ErrAudience):
		return nil, nil, fail("InvalidIdentityToken", "Incorrect token audience")
	case errors.Is(err, jwks.ErrUnavailable):
		return nil, nil, fail("IDPCommunicationError", "")
	case errors.Is(err, jwks.ErrSignature), errors.Is(err, jwks.ErrUnknownKey), errors.Is(err, jwks.ErrAlgorithm):
		return nil, nil, fail("InvalidIdentityToken", "Couldn't verify the signature of the token")
	case errors.Is(err, jwks.ErrNotYetValid), errors.Is(err, jwks.ErrIssuedInFuture):
		return nil, nil, fail("InvalidIdentityToken", "Token is not yet valid")
	}
	return nil, nil, fail("InvalidIdentityToken", "")
}

// peekIssuer reads iss (and exp, for the message of an expired token) from
// the payload without verifying anything, with the SDK's one unverified
// JWT reader: it only selects the provider whose keys then verify the
// token.
func peekIssuer(tok string) (iss string, exp int64, ok bool) {
	c, err := jwt.Parse(tok)
	if err != nil {
		return "", 0, false
	}
	if !c.ExpiresAt.IsZero() {
		exp = c.ExpiresAt.Unix()
	}
	return c.Issuer, exp, true
}

func sessionTags(c *idbridge.Claims) (map[string]string, []string, *stsError) {
	raw, ok := c.Get(tagsClaim)
	if !ok {
		return nil, nil, nil
	}
	var t struct {
		PrincipalTags     map[string][]string `json:"principal_tags"`
		TransitiveTagKeys []string            `json:"transitive_tag_keys"`
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, nil, fail("InvalidIdentityToken", "Invalid session tags in token")
	}
	if len(t.PrincipalTags) > 50 {
		return nil, nil, fail("InvalidIdentityToken", "Too many session tags in token")
	}
	tags := map[string]string{}
	for k, v := range t.PrincipalTags {
		if len(v) != 1 || k == "" || strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, nil, fail("InvalidIdentityToken", "Invalid session tags in token")
		}
		tags[k] = v[0]
	}
	for _, k := range t.TransitiveTagKeys {
		if _, ok := tags[k]; !ok {
			return nil, nil, fail("InvalidIdentityToken", "Transitive tag key is not a session tag")
		}
	}
	sort.Strings(t.TransitiveTagKeys)
	return tags, t.TransitiveTagKeys, nil
}

// trusts evaluates the role's trust conditions against the request context
// IAM builds for an OIDC token.
func trusts(role Role, issuer string, c *idbridge.Claims, tags map[string]string, sessionName string) bool {
	pk := providerKey(issuer) + ":"
	for _, cond := range role.Trust {
		var got []string
		switch {
		case strings.HasPrefix(cond.Key, pk):
			switch cond.Key[len(pk):] {
			case "sub":
				got = nonEmpty(c.Subject)
			case "aud":
				if c.AuthorizedParty != "" {
					got = []string{c.AuthorizedParty}
				} else {
					got = c.Audience
				}
			case "oaud":
				got = c.Audience
			case "amr":
				got = c.AMR
			}
		case strings.HasPrefix(cond.Key, "aws:RequestTag/"):
			k := cond.Key[len("aws:RequestTag/"):]
			for tk, tv := range tags {
				if strings.EqualFold(tk, k) {
					got = []string{tv}
				}
			}
		case cond.Key == "sts:RoleSessionName":
			got = []string{sessionName}
		}
		if !matches(cond, got) {
			return false
		}
	}
	return true
}

func matchedAudience(c *idbridge.Claims, clientIDs []string) string {
	for _, a := range c.Audience {
		for _, id := range clientIDs {
			if a == id {
				return a
			}
		}
	}
	return ""
}
