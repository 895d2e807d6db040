// Package ststest is a fake AWS Security Token Service for tests and
// examples: an httptest server that answers AssumeRoleWithWebIdentity in
// STS's real wire format and validates the web identity token the way AWS
// does, so that a test passing against it means something.
//
// # Use
//
//	idp := jwkstest.Start(t)
//	s := ststest.Start(t)
//	s.AddOIDCProvider(ststest.OIDCProvider{URL: idp.Issuer(), ClientIDs: []string{"app"}, JWKSURL: idp.JWKSURL()})
//	s.AddRole(ststest.Role{ARN: "arn:aws:iam::111122223333:role/Loan_ReadOnly",
//		Trust: []ststest.Condition{{Op: ststest.StringEquals, Key: ststest.ClaimKey(idp.Issuer(), "sub"), Values: []string{"amit"}}}})
//	client := s.Client()        // the real aws-sdk-go-v2 STS client, BaseEndpoint = s.URL
//
// # What it checks, in AWS's order
//
//  1. The request: POST, form-encoded, Action=AssumeRoleWithWebIdentity,
//     Version=2011-06-15, RoleArn, RoleSessionName ([\w+=,.@-]{2,64}),
//     WebIdentityToken (4 to 20000 characters), DurationSeconds (900 to
//     43200). The request is unsigned; an Authorization header is ignored.
//  2. The token: its iss must name a registered [OIDCProvider] (URL
//     compared exactly), its signature must verify against the provider's
//     keys ([jwks.Validator] with RS256..RS512 and ES256..ES512), exp must
//     be in the future and aud must be in the provider's client list. The
//     keys are fetched from the IdP when a token needs them (see
//     [OIDCProvider]).
//     Failures answer InvalidIdentityToken, ExpiredTokenException, or
//     IDPCommunicationError when the keys cannot be fetched.
//  3. The role: it must exist in the account and trust the token's provider;
//     every [Condition] of its trust policy must hold, else AccessDenied
//     (AWS does not reveal whether the role exists).
//  4. DurationSeconds must not exceed the role's MaxSessionDuration
//     (ValidationError); Policy must be a JSON policy document
//     (MalformedPolicyDocument) and, with the session tags, fit the packed
//     size (PackedPolicyTooLarge).
//
// Session tags and the source identity of a web identity session come from
// the token, as in AWS: the claim https://aws.amazon.com/tags (an object
// with principal_tags, each value a one-element list, and
// transitive_tag_keys) and the claim https://aws.amazon.com/source_identity.
// The request has no parameter for either.
//
// # Role chaining
//
// AssumeRole is served too, for a session the fake issued that assumes a
// role listing the session's role in [Role].TrustedRoles: the request must
// be signed (Signature Version 4) with that session's credentials, which
// the fake verifies; it may carry Tags, TransitiveTagKeys and
// SourceIdentity; the session lasts at most one hour; transitive tags and
// the source identity of the caller carry over and cannot be changed.
//
// # Condition keys
//
// Trust conditions use the keys IAM offers for OIDC federation, written as
// in a trust policy ("<provider host/path>:sub", see [ClaimKey]): sub; aud,
// which IAM maps to the azp claim when the token has one and to aud
// otherwise; oaud, the aud claim; amr; plus aws:RequestTag/<key> (from the
// token's tags claim) and sts:RoleSessionName. IAM drops every other claim:
// there is no groups key, so a role that must follow a group is guarded by
// sub, by a session tag the IdP emits, or by a client ID per role.
//
// # Faults
//
// [Server.FailNext] makes the next requests answer any STS error code
// (Throttling, RegionDisabledException, IDPRejectedClaim, InternalFailure,
// ...) with the status and body AWS uses for it.
//
// Like net/http/httptest, helpers panic on errors for ease of use in tests.
// The fake is for tests only: it keeps issued secrets in memory.
package ststest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idbridge/idbridge/internal/loopback"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/idbridge/idbridge/federation/saml"
	"github.com/idbridge/idbridge/jwks"
)

// Claim names AWS reads session tags and the source identity from.
const (
	TagsClaim           = "https://aws.amazon.com/tags"
	SourceIdentityClaim = "https://aws.amazon.com/source_identity"
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
	StatusCode    int
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
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
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
// HTTP status and message AWS uses for it (see [Status]).
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

// Status returns the HTTP status AWS answers an STS error code with.
func Status(code string) int {
	switch code {
	case "AccessDenied", "IDPRejectedClaim", "RegionDisabledException",
		"InvalidClientTokenId", "SignatureDoesNotMatch", "MissingAuthenticationToken":
		return http.StatusForbidden
	case "InternalFailure":
		return http.StatusInternalServerError
	case "ServiceUnavailable":
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

var defaultMessages = map[string]string{
	"AccessDenied":               "Not authorized to perform sts:AssumeRoleWithWebIdentity",
	"InvalidClientTokenId":       "The security token included in the request is invalid.",
	"SignatureDoesNotMatch":      "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
	"MissingAuthenticationToken": "Request is missing Authentication Token",
	"ExpiredToken":               "The security token included in the request is expired",
	"IDPRejectedClaim":           "The identity provider rejected the claims in the token.",
	"IDPCommunicationError":      "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements",
	"InvalidIdentityToken":       "The web identity token that was passed could not be validated by AWS.",
	"ExpiredTokenException":      "Token expired",
	"MalformedPolicyDocument":    "The policy is not in the valid JSON format.",
	"PackedPolicyTooLarge":       "Packed policy consumes 120% of allotted space, please use smaller policy.",
	"Throttling":                 "Rate exceeded",
	"InternalFailure":            "An internal error has occurred.",
	"ServiceUnavailable":         "Service is unavailable.",
}

type stsError struct {
	code, msg string
}

func fail(code, msg string) *stsError {
	if msg == "" {
		msg = defaultMessages[code]
	}
	return &stsError{code: code, msg: msg}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	rec := Request{RequestID: reqID, ContentType: r.Header.Get("Content-Type"), Authorization: r.Header.Get("Authorization") != ""}
	sess, e := s.handle(r, &rec)
	if e != nil {
		rec.Code, rec.StatusCode = e.code, Status(e.code)
		writeError(w, e, reqID)
	} else {
		rec.StatusCode, rec.AccessKeyID = http.StatusOK, sess.AccessKeyID
		writeResult(w, sess, reqID)
	}
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
}

var sessionNameRe = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

func (s *Server) handle(r *http.Request, rec *Request) (*Session, *stsError) {
	if r.Method != http.MethodPost {
		return nil, fail("InvalidAction", "Could not find operation for "+r.Method)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return nil, fail("InvalidAction", "Could not find operation")
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 1<<20))
	if err != nil {
		return nil, fail("ValidationError", "The request body could not be read.")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fail("ValidationError", "The request body could not be parsed.")
	}
	tok := form.Get("WebIdentityToken")
	rec.Action = form.Get("Action")
	rec.Form = url.Values{}
	for k, v := range form {
		if k != "WebIdentityToken" && k != "SAMLAssertion" {
			rec.Form[k] = append([]string(nil), v...)
		}
	}
	if tok != "" {
		sum := sha256.Sum256([]byte(tok))
		rec.TokenSHA256 = hex.EncodeToString(sum[:])
	}

	action := form.Get("Action")
	if v := form.Get("Version"); v != "2011-06-15" {
		return nil, fail("InvalidAction", "Could not find operation "+action+" for version "+v)
	}
	if action != "AssumeRoleWithWebIdentity" && action != "AssumeRole" && action != "AssumeRoleWithSAML" {
		return nil, fail("InvalidAction", "Could not find operation "+action+" for version 2011-06-15")
	}
	s.mu.Lock()
	var fault string
	if len(s.faults) > 0 {
		fault, s.faults = s.faults[0], s.faults[1:]
	}
	s.mu.Unlock()
	if fault != "" {
		msg := ""
		if fault == "RegionDisabledException" {
			msg = "STS is not activated in this region for account:" + s.o.AccountID +
				". Your account administrator can activate STS in this region using the IAM Console."
		}
		return nil, fail(fault, msg)
	}
	if action == "AssumeRole" {
		return s.assumeRole(r, body, form)
	}
	if action == "AssumeRoleWithSAML" {
		return s.assumeRoleWithSAML(form)
	}
	return s.assumeRoleWithWebIdentity(r, form)
}

func (s *Server) assumeRoleWithWebIdentity(r *http.Request, form url.Values) (*Session, *stsError) {
	tok := form.Get("WebIdentityToken")
	roleARN, name := form.Get("RoleArn"), form.Get("RoleSessionName")
	var problems []string
	// STS's wording: each violated constraint, with the value quoted
	// unless the member is sensitive (the token never is quoted).
	bad := func(member, value, constraint string) {
		if value != "" {
			problems = append(problems, "Value '"+value+"' at '"+member+"' failed to satisfy constraint: "+constraint)
		} else {
			problems = append(problems, "Value at '"+member+"' failed to satisfy constraint: "+constraint)
		}
	}
	switch n := len(roleARN); {
	case roleARN == "":
		problems = append(problems, "Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
	case n < 20:
		bad("roleArn", roleARN, "Member must have length greater than or equal to 20")
	case n > 2048:
		bad("roleArn", roleARN[:64]+"...", "Member must have length less than or equal to 2048")
	}
	switch {
	case name == "":
		problems = append(problems, "Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null")
	case len(name) < 2:
		bad("roleSessionName", name, "Member must have length greater than or equal to 2")
	case len(name) > 64:
		bad("roleSessionName", name, "Member must have length less than or equal to 64")
	case !sessionNameRe.MatchString(name):
		bad("roleSessionName", name, `Member must satisfy regular expression pattern: [\w+=,.@-]*`)
	}
	switch n := len(tok); {
	case n == 0:
		problems = append(problems, "Value null at 'webIdentityToken' failed to satisfy constraint: Member must not be null")
	case n < 4:
		bad("webIdentityToken", "", "Member must have length greater than or equal to 4")
	case n > 20000:
		bad("webIdentityToken", "", "Member must have length less than or equal to 20000")
	}
	duration := time.Hour
	if d := form.Get("DurationSeconds"); d != "" {
		n, err := strconv.Atoi(d)
		switch {
		case err != nil:
			bad("durationSeconds", d, "Member must be an integer")
		case n < 900:
			bad("durationSeconds", d, "Member must have value greater than or equal to 900")
		case n > 43200:
			bad("durationSeconds", d, "Member must have value less than or equal to 43200")
		}
		duration = time.Duration(n) * time.Second
	}
	switch len(problems) {
	case 0:
	case 1:
		return nil, fail("ValidationError", "1 validation error detected: "+problems[0])
	default:
		return nil, fail("ValidationError", fmt.Sprintf("%d validation errors detected: %s", len(problems), strings.Join(problems, "; ")))
	}

	c, p, e := s.verify(r.Context(), tok)
	if e != nil {
		return nil, e
	}
	tags, transitive, e := sessionTags(c)
	if e != nil {
		return nil, e
	}
	var sourceIdentity string
	if raw, ok := c.Get(SourceIdentityClaim); ok {
		if json.Unmarshal(raw, &sourceIdentity) != nil || !sessionNameRe.MatchString(sourceIdentity) || strings.HasPrefix(strings.ToLower(sourceIdentity), "aws:") {
			return nil, fail("InvalidIdentityToken", "Invalid source identity in token")
		}
	}

	s.mu.Lock()
	role, ok := s.roles[roleARN]
	s.mu.Unlock()
	if !ok || (role.Provider != "" && role.Provider != p.p.URL) || !trusts(role, p.p.URL, c, tags, name) {
		return nil, fail("AccessDenied", "")
	}
	if duration > role.MaxSessionDuration {
		return nil, fail("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	policy := form.Get("Policy")
	if policy != "" && !validPolicy(policy) {
		return nil, fail("MalformedPolicyDocument", "")
	}
	packed := len(policy)
	for k, v := range tags {
		packed += len(k) + len(v)
	}
	for k, v := range form {
		if strings.HasPrefix(k, "PolicyArns.member.") {
			packed += len(v[0])
		}
	}
	if packed > s.o.PackedPolicyLimit {
		return nil, fail("PackedPolicyTooLarge", fmt.Sprintf("Packed policy consumes %d%% of allotted space, please use smaller policy.", packed*100/s.o.PackedPolicyLimit))
	}

	roleName := roleARN[strings.LastIndex(roleARN, "/")+1:]
	sess := Session{
		Action:            "AssumeRoleWithWebIdentity",
		AccessKeyID:       "ASIA" + randomString(16, upperAlnum),
		SecretAccessKey:   randomString(40, base64Chars),
		SessionToken:      "IQoJb3JpZ2luX2VjE" + randomString(340, base64Chars),
		Expiration:        s.o.Now().Add(duration).UTC().Truncate(time.Second),
		RoleARN:           roleARN,
		AssumedRoleARN:    "arn:aws:sts::" + s.o.AccountID + ":assumed-role/" + roleName + "/" + name,
		SessionName:       name,
		Subject:           c.Subject,
		Audience:          matchedAudience(c, p.p.ClientIDs),
		Provider:          s.ProviderARN(p.p.URL),
		SourceIdentity:    sourceIdentity,
		Tags:              tags,
		TransitiveTagKeys: transitive,
		Policy:            policy,
		PackedPolicySize:  packed * 100 / s.o.PackedPolicyLimit,
	}
	s.mu.Lock()
	s.sessions[sess.AccessKeyID] = sess
	s.mu.Unlock()
	return &sess, nil
}

// verify checks the token like STS: provider by iss, then signature, times
// and audience.
func (s *Server) verify(ctx context.Context, tok string) (*jwks.Claims, *provider, *stsError) {
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
// the payload without verifying anything: it only selects the provider
// whose keys then verify the token.
func peekIssuer(tok string) (iss string, exp int64, ok bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", 0, false
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", 0, false
	}
	var c struct {
		Iss string          `json:"iss"`
		Exp json.RawMessage `json:"exp"`
	}
	if json.Unmarshal(b, &c) != nil {
		return "", 0, false
	}
	var f float64
	if json.Unmarshal(c.Exp, &f) == nil && f > 0 && f < 1e11 {
		exp = int64(f)
	}
	return c.Iss, exp, true
}

func sessionTags(c *jwks.Claims) (map[string]string, []string, *stsError) {
	raw, ok := c.Get(TagsClaim)
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
func trusts(role Role, issuer string, c *jwks.Claims, tags map[string]string, sessionName string) bool {
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

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// matches applies a condition to the values of its key. A single-valued
// operator on a multi-valued key holds when every value matches, which is
// how IAM treats an aud list under StringEquals.
func matches(cond Condition, got []string) bool {
	if len(got) == 0 {
		return false
	}
	like := cond.Op == StringLike || cond.Op == ForAnyValueStringLike
	one := func(v string) bool {
		for _, want := range cond.Values {
			if like {
				if ok, _ := path.Match(want, v); ok || want == v {
					return true
				}
			} else if want == v {
				return true
			}
		}
		return false
	}
	anyValue := strings.HasPrefix(cond.Op, "ForAnyValue:")
	for _, v := range got {
		if one(v) {
			if anyValue {
				return true
			}
		} else if !anyValue {
			return false
		}
	}
	return !anyValue
}

func matchedAudience(c *jwks.Claims, clientIDs []string) string {
	for _, a := range c.Audience {
		for _, id := range clientIDs {
			if a == id {
				return a
			}
		}
	}
	return ""
}

func validPolicy(p string) bool {
	var doc struct {
		Version   string          `json:"Version"`
		Statement json.RawMessage `json:"Statement"`
	}
	if json.Unmarshal([]byte(p), &doc) != nil {
		return false
	}
	return doc.Version != "" && len(doc.Statement) > 0
}

const (
	upperAlnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	base64Chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("ststest: " + err.Error())
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func newRequestID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("ststest: " + err.Error())
	}
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// Format prints a Session with its secret access key and session token
// redacted, so that test failure messages never carry credentials.
func (s Session) Format(f fmt.State, verb rune) {
	type view Session // no methods: no recursion
	v := view(s)
	if v.SecretAccessKey != "" {
		v.SecretAccessKey = "[redacted]"
	}
	if v.SessionToken != "" {
		v.SessionToken = "[redacted]"
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), v)
}
