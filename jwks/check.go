package jwks

// This file is the validation itself: the verified-token cache lookup,
// decoding (parse, header), the issuer, key and signature (verify), and
// the checks of the verified claims (checkClaims, checkTimes).

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/jwt"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/internal/safeurl"
	"github.com/idbridge/idbridge/internal/strictjson"
)

// cacheUse says how the verified-token cache took part in a validation,
// for the audit event's cache field (and so the cache hit ratio metric).
type cacheUse uint8

const (
	cacheUnused cacheUse = iota // no cache, an ID token, or a malformed token
	cacheMiss
	cacheHit
)

// check does the work of Validate, noting the cache's part in cs. On
// failure it may also return the partly parsed claims, for the audit event
// only.
func (v *Validator) check(ctx context.Context, token string, idMode bool, cs *cacheUse) (*idbridge.Claims, error) {
	if len(token) > v.maxSize {
		return nil, fail(ErrTooLarge, fmt.Sprintf("token of %d bytes exceeds %d", len(token), v.maxSize))
	}
	h64, p64, s64, detail := jwt.Split(token)
	if detail != "" {
		return nil, fail(ErrMalformed, detail)
	}
	input := token[:len(h64)+1+len(p64)] // the signing input
	// The cache is consulted only for well-formed compact tokens, so
	// malformed input never pays for hashing.
	var ck cacheKey
	useCache := v.cache != nil && !idMode
	if useCache {
		ck = cacheKeyOf(s64)
		*cs = cacheMiss
		if c, err, hit := v.cached(ctx, ck, input); hit {
			*cs = cacheHit
			return c, err
		}
	}
	var t parsed
	if err := v.parse(&t, h64, p64, s64, idMode); err != nil {
		return t.c, err
	}
	ie, k, err := v.verify(ctx, &t, input)
	if err != nil {
		return t.c, err
	}
	now := v.now()
	if err := v.checkClaims(t.c, idMode, now); err != nil {
		return t.c, err
	}
	if useCache {
		v.cache.put(ck, input, t.payload, t.c, k, ie.recheck, now)
	}
	return t.c, nil
}

// parsed is a token taken apart by parse.
type parsed struct {
	c       *idbridge.Claims // with the header; not verified
	alg     *algorithm       // the header's alg, allowed
	sig     []byte           // the decoded signature
	payload int              // decoded payload bytes
}

// parse decodes the segments of a token, its header (whose alg must be
// allowed) and its claims into t, and checks typ.
func (v *Validator) parse(t *parsed, h64, p64, s64 string, idMode bool) error {
	hn, pn, sn := jwt.DecodedLen(len(h64)), jwt.DecodedLen(len(p64)), jwt.DecodedLen(len(s64))
	// The signature gets its own buffer: the claims keep the header and
	// payload buffer alive (in the cache too), and must not keep the
	// signature, which would make the token recoverable from memory.
	buf := make([]byte, hn+pn)
	t.sig = make([]byte, sn)
	if !jwt.DecodeSegment(buf[:hn], h64) {
		return fail(ErrMalformed, "header is not canonical base64url")
	}
	if !jwt.DecodeSegment(buf[hn:], p64) {
		return fail(ErrMalformed, "payload is not canonical base64url")
	}
	if !jwt.DecodeSegment(t.sig, s64) {
		return fail(ErrMalformed, "signature is not canonical base64url")
	}
	// buf is never written again, so strings can share its memory; the
	// claims keep their values as substrings of the payload.
	hdr := unsafe.String(unsafe.SliceData(buf), hn)
	payload := unsafe.String(unsafe.SliceData(buf[hn:]), pn)
	t.payload = pn

	var h idbridge.Header
	var err error
	if t.alg, err = v.header(hdr, &h); err != nil {
		return err
	}
	if len(t.sig) == 0 {
		return fail(ErrSignature, "empty signature")
	}
	c, err := idbridge.ParseClaims(payload)
	if err != nil {
		return fail(ErrMalformed, parseDetail(err))
	}
	c.Header = h
	t.c = c
	if idMode {
		if typeIs(h.Type, "at+jwt") {
			return fail(ErrType, "an access token (typ at+jwt) is not an ID token")
		}
	} else if len(v.types) > 0 && !v.typeAllowed(h.Type) {
		return fail(ErrType, "typ "+quoteShort(h.Type)+" is not accepted")
	}
	return nil
}

// header decodes the JOSE header into h and returns its algorithm, which
// must be on the allow-list.
func (v *Validator) header(hdr string, h *idbridge.Header) (*algorithm, error) {
	hasAlg, detail := jwt.DecodeHeader(hdr, h)
	if detail != "" {
		return nil, fail(ErrMalformed, detail)
	}
	if !hasAlg {
		return nil, fail(ErrAlgorithm, "header has no alg")
	}
	a := v.algs[h.Algorithm]
	if a == nil {
		if strings.EqualFold(h.Algorithm, "none") {
			return nil, fail(ErrAlgorithm, "unsigned tokens (alg none) are never accepted")
		}
		return nil, fail(ErrAlgorithm, "alg "+quoteShort(h.Algorithm)+" is not allowed")
	}
	return a, nil
}

// verify finds the trusted issuer of t and the key for its kid, and
// checks the signature over input with it.
func (v *Validator) verify(ctx context.Context, t *parsed, input string) (*issuerEntry, *Key, error) {
	c := t.c
	// Issuer and tenant: decided from the token alone, before any fetch.
	if c.Issuer == "" {
		return nil, nil, fail(ErrMissingClaim, "iss is required")
	}
	ie, err := v.issuerFor(c)
	if err != nil {
		return nil, nil, err
	}
	k, err := ie.keys.Key(ctx, c.Header.KeyID, c.Issuer)
	if err != nil {
		return nil, nil, keyErr(err)
	}
	if k == nil {
		return nil, nil, fail(ErrUnknownKey, "the key set returned no key")
	}
	if k.Issuer != "" && !ie.keyIssuerOK(k.Issuer, c) {
		return nil, nil, fail(ErrIssuer, "the signing key "+quoteShort(k.ID)+" is bound to issuer "+safeurl.String(k.Issuer))
	}
	if detail := t.alg.fits(k); detail != "" {
		return nil, nil, fail(ErrAlgorithm, detail)
	}
	if err := t.alg.method.Verify(input, t.sig, k.Public); err != nil {
		return nil, nil, fail(ErrSignature, "signature does not verify with key "+quoteShort(k.ID))
	}
	return ie, k, nil
}

// checkClaims checks the verified claims at now: times, audience, and the
// kind of token.
func (v *Validator) checkClaims(c *idbridge.Claims, idMode bool, now time.Time) error {
	if err := v.checkTimes(c, now); err != nil {
		return err
	}
	if !v.audienceOK(c.Audience) {
		return fail(ErrAudience, "aud does not contain an accepted audience")
	}
	// The kind of token is told by its claims, so it is judged once they
	// are known to come from the issuer.
	// A typ required by Options.Types that names a kind of token
	// (secevent+jwt, ...) already says what the token is; JWT, JOSE or no
	// typ say nothing, even when Options.Types lists them.
	typ := c.Header.Type
	if idMode {
		if detail := notIDToken(typ, c); detail != "" {
			return fail(ErrType, detail)
		}
	} else if len(v.types) == 0 || genericType(typ) {
		if detail := notAccessToken(typ, c); detail != "" {
			return fail(ErrType, detail)
		}
	}
	return nil
}

// quoteShort quotes a token-supplied value for an error detail, cut to a
// length that cannot carry a token.
func quoteShort(s string) string { return strictjson.QuoteShort(s) }

// parseDetail returns the detail of an *idbridge.ParseError.
func parseDetail(err error) string {
	var pe *idbridge.ParseError
	if errors.As(err, &pe) {
		return pe.Detail
	}
	return "claims are malformed"
}

// cached answers from the verified-token cache for the token whose
// signature segment hashes to k and whose signing input is input. hit is
// false when the token must be validated in full: absent, or its key left
// the key set (then the entry is dropped, and the full validation reports
// why the token now fails).
func (v *Validator) cached(ctx context.Context, k cacheKey, input string) (c *idbridge.Claims, err error, hit bool) {
	e, ok := v.cache.get(k, input)
	if !ok {
		return nil, nil, false
	}
	c = e.c
	if e.key.retired.Load() || e.recheck != nil && !stillPublished(ctx, e.recheck, c, e.key) {
		v.cache.del(k, c)
		return nil, nil, false
	}
	if err := v.checkTimes(c, v.now()); err != nil {
		if errors.Is(err, ErrExpired) {
			v.cache.del(k, c)
		}
		return c, err, true
	}
	return c, nil, true
}

// stillPublished asks a key set that does not retire keys whether key,
// which verified c, is still in it.
func stillPublished(ctx context.Context, ks KeySet, c *idbridge.Claims, key *Key) bool {
	k, err := ks.Key(ctx, c.Header.KeyID, c.Issuer)
	return err == nil && k != nil && (k == key || k.sameAs(key))
}

func (v *Validator) checkTimes(c *idbridge.Claims, now time.Time) error {
	if v.maxAge > 0 {
		if c.IssuedAt.IsZero() {
			return fail(ErrMissingClaim, "iat is required")
		}
		if now.Sub(c.IssuedAt) > v.maxAge+v.leeway {
			return fail(ErrExpired, "iat "+c.IssuedAt.UTC().Format(time.RFC3339)+" is older than "+v.maxAge.String()+" (leeway "+v.leeway.String()+")")
		}
	} else if c.ExpiresAt.IsZero() {
		return fail(ErrMissingClaim, "exp is required")
	}
	if !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt.Add(v.leeway)) {
		return fail(ErrExpired, "exp "+c.ExpiresAt.UTC().Format(time.RFC3339)+" is past (leeway "+v.leeway.String()+")")
	}
	if !c.NotBefore.IsZero() && now.Add(v.leeway).Before(c.NotBefore) {
		return fail(ErrNotYetValid, "nbf "+c.NotBefore.UTC().Format(time.RFC3339)+" is ahead (leeway "+v.leeway.String()+")")
	}
	if !c.IssuedAt.IsZero() && now.Add(v.leeway).Before(c.IssuedAt) {
		return fail(ErrIssuedInFuture, "iat "+c.IssuedAt.UTC().Format(time.RFC3339)+" is ahead (leeway "+v.leeway.String()+")")
	}
	return nil
}

func (v *Validator) audienceOK(aud []string) bool {
	for _, a := range aud {
		if slices.Contains(v.auds, a) {
			return true
		}
	}
	return false
}

// keyErr makes sure a key-set error carries a reason class.
func keyErr(err error) error {
	if reason.Of(err) != "" {
		return err
	}
	return &ValidationError{Err: ErrUnavailable, Detail: "key set: " + err.Error()}
}
