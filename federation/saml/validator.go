package saml

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"net/url"
	"slices"
	"sync/atomic"
	"time"

	crewjam "github.com/crewjam/saml"
	"github.com/jonboulle/clockwork"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/audit"
	"github.com/idbridge/idbridge/internal/option"
	"github.com/idbridge/idbridge/internal/reason"
)

// Validator checks SAML 2.0 responses from one IdP for one service
// provider and turns the signed assertion into the SDK's claims. It is safe
// for concurrent use by multiple goroutines.
type Validator struct {
	md       *Metadata
	entityID string
	acs      url.URL
	o        Options
	log      *audit.Logger
	clock    *dsig.Clock
	sp       atomic.Pointer[spFor]
}

// spFor is the library's ServiceProvider built for one metadata version.
type spFor struct {
	ed *crewjam.EntityDescriptor
	sp *crewjam.ServiceProvider
}

// Assertion is a validated assertion: the claims for rbac and middleware,
// and what a SAML service provider needs besides.
type Assertion struct {
	// Claims are the assertion's claims in the SDK's type: see the package
	// doc for the mapping from Entra's attribute URIs.
	Claims *idbridge.Claims
	// ID is the assertion's ID, recorded by the replay cache.
	ID string
	// NameID and NameIDFormat identify the user to the IdP (for logout).
	NameID, NameIDFormat string
	// SessionIndex is the IdP's session (for logout).
	SessionIndex string
	// Attributes are every attribute of the assertion, by Name.
	Attributes map[string][]string
	// NotOnOrAfter is when the assertion stops being valid (Conditions).
	NotOnOrAfter time.Time
	// SessionNotOnOrAfter is when the IdP wants the session to end; zero
	// when it does not say.
	SessionNotOnOrAfter time.Time
}

// NewValidator returns a Validator for the IdP described by md, accepting
// assertions for the service provider entityID (the Audience: Entra's
// "Identifier (Entity ID)", urn:amazon:webservices for AWS) posted to
// acsURL (the Recipient and Destination: Entra's "Reply URL").
func NewValidator(md *Metadata, entityID, acsURL string, opts ...func(*Options)) (*Validator, error) {
	if md == nil || md.cur.Load() == nil {
		return nil, badOptions("nil metadata")
	}
	if entityID == "" {
		return nil, badOptions("empty SP entity ID (the audience)")
	}
	u, err := url.Parse(acsURL)
	if err != nil || !validURL(acsURL) {
		return nil, badOptions("ACS URL must be absolute")
	}
	o := option.New(opts)
	if o.Signed < SignedAssertion || o.Signed > SignedEither {
		return nil, badOptions("unknown Signed %d", o.Signed)
	}
	if err := checkDecryptionKeys(o.DecryptionKeys); err != nil {
		return nil, err
	}
	if o.RequireEncryption && len(o.DecryptionKeys) == 0 {
		return nil, badOptions("RequireEncryption without DecryptionKeys")
	}
	o.DecryptionKeys = slices.Clone(o.DecryptionKeys)
	o.setDefaults()
	v := &Validator{md: md, entityID: entityID, acs: *u, o: o, log: audit.New(o.Audit)}
	v.clock = dsig.NewFakeClock(nowClock{Clock: clockwork.NewRealClock(), now: o.Now})
	return v, nil
}

// EntityID returns the SP's entity ID.
func (v *Validator) EntityID() string { return v.entityID }

// ACSURL returns the SP's assertion consumer service URL.
func (v *Validator) ACSURL() string { return v.acs.String() }

// Metadata returns the IdP metadata the validator trusts.
func (v *Validator) Metadata() *Metadata { return v.md }

// serviceProvider returns the library's SP for the current metadata.
func (v *Validator) serviceProvider() *crewjam.ServiceProvider {
	ed := v.md.cur.Load()
	if c := v.sp.Load(); c != nil && c.ed == ed {
		return c.sp
	}
	sp := &crewjam.ServiceProvider{
		EntityID:                v.entityID,
		AcsURL:                  v.acs,
		IDPMetadata:             ed,
		AllowIDPInitiated:       v.o.AllowIdPInitiated,
		Clock:                   v.clock,
		RejectSHA1Signatures:    true,
		RejectUnknownConditions: true,
	}
	// The library decrypts the assertion again after validate has opened
	// and scanned it, with the key that opened it (see parse).
	for i, k := range v.o.DecryptionKeys {
		if i == 0 {
			sp.EncryptionKey, sp.EncryptionCertificate = k.Key, k.Certificate
		} else {
			sp.DecryptionKeys = append(sp.DecryptionKeys, k.Key)
		}
	}
	v.sp.Store(&spFor{ed: ed, sp: sp})
	return sp
}

// Validate checks a SAMLResponse form value as the HTTP-POST binding
// carries it (base64) and returns the assertion. requestIDs are the IDs
// of the AuthnRequests this SP sent and has not seen answered; the
// response's InResponseTo must be one of them unless
// Options.AllowIdPInitiated is set and it has none.
func (v *Validator) Validate(ctx context.Context, samlResponse string, requestIDs ...string) (*Assertion, error) {
	if max := base64.StdEncoding.EncodedLen(v.o.MaxResponseBytes); len(samlResponse) > max {
		err := fail(ErrTooLarge, "response of %d base64 bytes exceeds %d", len(samlResponse), max)
		v.rejected(ctx, err)
		return nil, err
	}
	doc, err := base64.StdEncoding.DecodeString(samlResponse)
	if err != nil {
		err = fail(ErrMalformed, "SAMLResponse is not base64")
		v.rejected(ctx, err)
		return nil, err
	}
	return v.ValidateXML(ctx, doc, requestIDs...)
}

// ValidateXML is Validate for the decoded response document.
func (v *Validator) ValidateXML(ctx context.Context, doc []byte, requestIDs ...string) (*Assertion, error) {
	a, err := v.validate(ctx, doc, requestIDs)
	if err != nil {
		v.rejected(ctx, err)
		return nil, err
	}
	v.accepted(ctx, a)
	return a, nil
}

func (v *Validator) validate(ctx context.Context, doc []byte, requestIDs []string) (*Assertion, error) {
	sh, err := v.precheck(doc, requestIDs)
	if err != nil {
		return nil, err
	}
	var (
		enc *sealed
		key *rsa.PrivateKey // the one that opens the assertion
	)
	if sh.encrypted {
		if enc = seal(doc); enc == nil { // no key is used here
			return nil, errUndecryptable
		}
		if !sh.responseSigned {
			if key, err = v.openUnsigned(ctx, enc, &sh, requestIDs); err != nil {
				return nil, err
			}
		}
	}
	a, err := v.parse(ctx, doc, requestIDs, key)
	if err != nil {
		if sh.encrypted && !authenticated(err) {
			// Failed before a signature authenticated the plaintext (or,
			// for a signed response, the ciphertext): answered as a
			// ciphertext that does not open, or this answer would tell
			// whether it opened to a well-formed assertion.
			return nil, errUndecryptable
		}
		return nil, classify(err)
	}
	if sh.encrypted && sh.responseSigned {
		// The library checked the response's signature, which covers the
		// ciphertext, before it decrypted: the plaintext is scanned now.
		if _, err := v.openScan(enc, &sh); err != nil {
			return nil, err
		}
	}
	return v.accept(a)
}

// precheck makes the checks that need no key and no library: size, the
// document's shape, encryption and signature requirements, and whether
// an unsolicited response may be taken at all. It returns the shape.
func (v *Validator) precheck(doc []byte, requestIDs []string) (shape, error) {
	if len(doc) > v.o.MaxResponseBytes {
		return shape{}, fail(ErrTooLarge, "response of %d bytes exceeds %d", len(doc), v.o.MaxResponseBytes)
	}
	sh, err := scan(doc)
	if err != nil {
		return shape{}, err
	}
	if v.o.RequireEncryption && !sh.encrypted {
		return shape{}, fail(ErrDecryption, "the assertion is not encrypted and Options.RequireEncryption is set")
	}
	pre := sh
	if sh.encrypted {
		if len(v.o.DecryptionKeys) == 0 {
			return shape{}, fail(ErrDecryption, "the assertion is encrypted and no decryption key is configured (Options.DecryptionKeys)")
		}
		pre.assertionSigned = true // known once decrypted
	}
	if err := v.checkSigned(pre); err != nil {
		return shape{}, err
	}
	if !v.o.AllowIdPInitiated && len(requestIDs) == 0 {
		return shape{}, fail(ErrInResponseTo, "no pending request and IdP-initiated sign-in is off")
	}
	return sh, nil
}

// accept makes the checks on an authenticated assertion (its times, its
// claims, replay) and returns its claims.
func (v *Validator) accept(a *crewjam.Assertion) (*Assertion, error) {
	if err := v.checkTimes(a); err != nil {
		return nil, err
	}
	out, err := v.claims(a)
	if err != nil {
		return nil, err
	}
	if err := v.o.ReplayCache.Consume(a.Issuer.Value+"\x00"+a.ID, v.replayUntil(a)); err != nil {
		if errors.Is(err, ErrReplayed) || reason.Of(err) != "" {
			return nil, err
		}
		return nil, fail(ErrIdPUnavailable, "replay cache: %s", cut(err.Error(), 100))
	}
	return out, nil
}

// openUnsigned opens the encrypted assertion s of an unsigned response,
// whose shape is sh, and scans its plaintext before the library reads it.
// Nothing authenticates such a response before its assertion is opened,
// so its own checks (Destination, InResponseTo, Issuer, Status,
// IssueInstant) are made first, by the library on the response without
// the assertion: their answer must not depend on whether the ciphertext
// opens. It returns the key that opens the assertion.
func (v *Validator) openUnsigned(ctx context.Context, s *sealed, sh *shape, requestIDs []string) (*rsa.PrivateKey, error) {
	if _, err := v.parse(ctx, s.withoutAssertion(), requestIDs, nil); err != nil && ofResponse(err) {
		return nil, classify(err)
	}
	return v.openScan(s, sh)
}

// openScan opens s, scans the plaintext and applies Options.Signed to it,
// setting sh.assertionSigned. It returns the key that opens it; every
// failure is errUndecryptable.
func (v *Validator) openScan(s *sealed, sh *shape) (*rsa.PrivateKey, error) {
	pt, key, err := v.open(s, sh.elements)
	if err != nil {
		return nil, err
	}
	sh.assertionSigned = pt.assertionSigned
	if v.checkSigned(*sh) != nil {
		return nil, errUndecryptable
	}
	return key, nil
}

// parse has the library validate doc, again once the metadata is fetched
// if the signing key is unknown (perhaps a rollover it now announces).
// With key, the library decrypts with that key only: the one that opened
// the plaintext scanned, and one RSA operation.
func (v *Validator) parse(ctx context.Context, doc []byte, requestIDs []string, key *rsa.PrivateKey) (*crewjam.Assertion, error) {
	sp := func() *crewjam.ServiceProvider {
		sp := v.serviceProvider()
		if key == nil {
			return sp
		}
		c := *sp
		c.EncryptionKey, c.DecryptionKeys = key, nil
		return &c
	}
	a, err := sp().ParseXMLResponse(doc, requestIDs, v.acs)
	if err != nil && errors.Is(err, crewjam.ErrUntrustedCertificate) && v.md.unknownCert(ctx) {
		a, err = sp().ParseXMLResponse(doc, requestIDs, v.acs)
	}
	return a, err
}

// ofResponse reports whether err is one of the library's refusals of a
// response for its own fields, which it makes before it decrypts.
func ofResponse(err error) bool {
	var bad crewjam.ErrBadStatus
	return errors.As(err, &bad) || errors.Is(err, crewjam.ErrDestinationMismatch) ||
		errors.Is(err, crewjam.ErrRequestIDMismatch) || errors.Is(err, crewjam.ErrIssuerMismatch) ||
		errors.Is(err, crewjam.ErrExpired) || errors.Is(err, crewjam.ErrNotYetValid)
}

// authenticated reports whether err, from the library on a response with
// an encrypted assertion scan has passed, can only have come from a check
// made once a signature authenticated what it checks, or from one of the
// response's own fields: a refusal for a time, an audience, a recipient, a
// request, an issuer, a status or a replay. Every other refusal (a
// signature, a certificate, a malformed or missing element) may have been
// of a plaintext nothing authenticated.
func authenticated(err error) bool {
	return ofResponse(err) || errors.Is(err, crewjam.ErrAudienceMismatch) || errors.Is(err, crewjam.ErrAssertionReplayed)
}

// checkSigned refuses a response without the signatures Options.Signed
// requires, before the library reads it.
func (v *Validator) checkSigned(sh shape) error {
	if !sh.assertionSigned && !sh.responseSigned {
		return fail(ErrSignature, "neither the response nor the assertion is signed")
	}
	switch v.o.Signed {
	case SignedAssertion:
		if !sh.assertionSigned {
			return fail(ErrSignature, "the assertion is not signed")
		}
	case SignedResponse:
		if !sh.responseSigned {
			return fail(ErrSignature, "the response is not signed")
		}
	case SignedBoth:
		if !sh.assertionSigned || !sh.responseSigned {
			return fail(ErrSignature, "the response and the assertion must both be signed")
		}
	}
	return nil
}

// checkTimes applies Options.Leeway, which may be stricter than the
// library's fixed skew.
func (v *Validator) checkTimes(a *crewjam.Assertion) error {
	now, l := v.o.Now(), v.o.Leeway
	if a.IssueInstant.After(now.Add(l)) {
		return fail(ErrNotYetValid, "issued %s in the future", a.IssueInstant.Sub(now).Round(time.Second))
	}
	c := a.Conditions
	if !c.NotBefore.IsZero() && c.NotBefore.After(now.Add(l)) {
		return fail(ErrNotYetValid, "NotBefore is %s in the future", c.NotBefore.Sub(now).Round(time.Second))
	}
	if !c.NotOnOrAfter.IsZero() && !now.Before(c.NotOnOrAfter.Add(l)) {
		return fail(ErrExpired, "NotOnOrAfter passed %s ago", now.Sub(c.NotOnOrAfter).Round(time.Second))
	}
	for _, sc := range a.Subject.SubjectConfirmations {
		if d := sc.SubjectConfirmationData; d != nil && !d.NotOnOrAfter.IsZero() && !now.Before(d.NotOnOrAfter.Add(l)) {
			return fail(ErrExpired, "SubjectConfirmationData NotOnOrAfter passed %s ago", now.Sub(d.NotOnOrAfter).Round(time.Second))
		}
	}
	return nil
}

// replayUntil is how long the assertion's ID must be remembered: past
// the time any check would still accept it.
func (v *Validator) replayUntil(a *crewjam.Assertion) time.Time {
	until := a.IssueInstant.Add(crewjam.MaxIssueDelay)
	if nooa := a.Conditions.NotOnOrAfter; !nooa.IsZero() && nooa.Before(until) {
		until = nooa
	}
	return until.Add(max(v.o.Leeway, crewjam.MaxClockSkew))
}

func (v *Validator) rejected(ctx context.Context, err error) {
	if !v.log.Enabled(ctx) {
		return
	}
	v.log.Emit(ctx, audit.Event{Name: audit.TokenRejected, Outcome: audit.Failure, Reason: reason.Of(err),
		Issuer: v.md.EntityID(), Algorithm: "SAML2"})
}

func (v *Validator) accepted(ctx context.Context, a *Assertion) {
	if !v.log.Enabled(ctx) {
		return
	}
	c := a.Claims
	v.log.Emit(ctx, audit.Event{Name: audit.TokenValidated, Outcome: audit.Success,
		Issuer: c.Issuer, TenantID: c.TenantID, Subject: c.Subject, ObjectID: c.ObjectID,
		TokenID: audit.TokenID(a.ID), Algorithm: "SAML2", Roles: slices.Clone(c.Roles)})
}

// nowClock is a real clock whose time is Options.Now, for the library.
type nowClock struct {
	clockwork.Clock
	now func() time.Time
}

func (c nowClock) Now() time.Time                  { return c.now() }
func (c nowClock) Since(t time.Time) time.Duration { return c.now().Sub(t) }
func (c nowClock) Until(t time.Time) time.Duration { return t.Sub(c.now()) }
