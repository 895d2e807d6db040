package jwks

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/audit"
	"github.com/idbridge/idbridge/internal/jwt"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/internal/safeurl"
	"github.com/idbridge/idbridge/internal/selfaudit"
	"github.com/idbridge/idbridge/internal/strictjson"
)

const tenantPlaceholder = "{tenantid}"

// Validator validates access tokens and ID tokens against trusted issuers.
// Build it once with [NewValidator]; it is safe for concurrent use by
// multiple goroutines. Call Close when done to stop the key sets it created.
type Validator struct {
	exact     map[string]*issuerEntry
	templates []*issuerEntry
	algs      map[string]*algorithm
	auds      []string
	types     []string
	tenants   []string
	leeway    time.Duration
	maxAge    time.Duration // Options.MaxAge: > 0 bounds iat and makes exp optional
	maxSize   int
	now       func() time.Time
	cache     *tokenCache
	audit     *audit.Logger
	owned     []*RemoteKeySet
	closeOnce sync.Once
	trusted   string // the trusted issuers, printable, for issuer rejections
}

type issuerEntry struct {
	iss      string // exact issuer or template
	pre, suf string // template parts around {tenantid}
	template bool
	keys     KeySet
	tenants  []string
	// recheck is keys when it does not retire keys that leave it (see
	// retiresKeys), so a cache hit asks it again whether the key is there.
	recheck KeySet
	// alias is Issuer.entraPeer: for an issuer built by Entra or EntraAPI,
	// the issuer of the other token version of the same tenant and
	// authorities, whose keys also verify this issuer's tokens. Only this
	// configuration makes issuers of other authorities (sovereign clouds,
	// test servers) equivalent; issuerMatches knows Entra's public ones.
	alias string
}

// keyIssuerOK reports whether a key bound to issuer property p may verify
// the token c of the trusted issuer ie.
func (ie *issuerEntry) keyIssuerOK(p string, c *idbridge.Claims) bool {
	if issuerMatches(p, c.Issuer) {
		return true
	}
	if ie.alias == "" {
		return false
	}
	alias := ie.alias
	if pre, suf, ok := splitTemplate(alias); ok {
		alias = pre + c.TenantID + suf // c.Issuer matched ie's template with this tid
	}
	return segmentMatch(p, alias)
}

// retiresKeys reports whether ks marks every key that leaves it as retired,
// which lets the verified-token cache trust an entry without asking the key
// set again. A StaticKeySet never loses keys.
func retiresKeys(ks KeySet) bool {
	switch ks.(type) {
	case *RemoteKeySet, *StaticKeySet:
		return true
	}
	return false
}

// splitTemplate splits an issuer template around its {tenantid}.
func splitTemplate(s string) (pre, suf string, ok bool) {
	i := strings.Index(s, tenantPlaceholder)
	if i < 0 {
		return "", "", false
	}
	return s[:i], s[i+len(tenantPlaceholder):], true
}

// NewValidator builds a Validator. It refuses options without issuers,
// audiences or an algorithm allow-list, so a misconfigured service fails at
// start instead of accepting tokens it should not. Key sets for issuers
// given by JWKSURL or discovery are created lazily and load in the
// background; Close stops them.
func NewValidator(optFns ...func(*Options)) (*Validator, error) {
	var o Options
	for _, fn := range optFns {
		if fn != nil {
			fn(&o)
		}
	}
	bad := func(format string, args ...any) (*Validator, error) {
		return nil, fmt.Errorf("jwks: %w: "+format, append([]any{idbridge.ErrInvalidOptions}, args...)...)
	}
	for _, is := range o.Issuers {
		if is.err != nil { // from Entra or EntraAPI
			return nil, fmt.Errorf("jwks: %w: %w", idbridge.ErrInvalidOptions, is.err)
		}
	}
	if len(o.Issuers) == 0 {
		return bad("Issuers is required")
	}
	if len(o.Audiences) == 0 || slices.Contains(o.Audiences, "") {
		return bad("Audiences is required and must not contain empty strings")
	}
	if len(o.Algorithms) == 0 {
		return bad("Algorithms is required")
	}
	v := &Validator{
		exact:   map[string]*issuerEntry{},
		algs:    map[string]*algorithm{},
		auds:    slices.Clone(o.Audiences),
		tenants: lowerAll(o.Tenants),
		maxSize: o.MaxTokenSize,
		now:     o.Now,
		audit:   audit.New(o.Audit),
	}
	for _, name := range o.Algorithms {
		a := algorithms[name]
		if a == nil {
			if strings.EqualFold(name, "none") || strings.HasPrefix(strings.ToUpper(name), "HS") {
				return bad("algorithm %q is refused: it lets anyone holding the public key forge tokens", name)
			}
			return bad("algorithm %q is not supported", name)
		}
		v.algs[name] = a
	}
	for _, t := range o.Types {
		v.types = append(v.types, normType(t))
	}
	switch {
	case o.Leeway == 0:
		v.leeway = DefaultLeeway
	case o.Leeway < 0:
		v.leeway = 0
	default:
		v.leeway = min(o.Leeway, MaxLeeway)
	}
	if o.MaxAge < 0 {
		return bad("MaxAge must not be negative")
	}
	v.maxAge = o.MaxAge
	if v.maxSize <= 0 {
		v.maxSize = DefaultMaxTokenSize
	}
	if v.now == nil {
		v.now = time.Now
	}
	ko := o.KeySet
	if ko.HTTPClient == nil {
		ko.HTTPClient = o.HTTPClient
	}
	if ko.Now == nil {
		ko.Now = o.Now
	}
	if ko.Audit == nil {
		ko.Audit = o.Audit
	}
	if ko.Logger == nil {
		ko.Logger = o.Logger
	}
	ko.Lazy = true // NewValidator has no ctx to wait with
	created := map[string]*RemoteKeySet{}
	for _, is := range o.Issuers {
		e := &issuerEntry{iss: is.Issuer, keys: is.Keys, tenants: lowerAll(is.Tenants), alias: is.entraPeer}
		e.pre, e.suf, e.template = splitTemplate(is.Issuer)
		check := is.Issuer
		if e.template {
			if strings.Count(is.Issuer, tenantPlaceholder) != 1 {
				v.Close()
				return bad("issuer template %q must contain {tenantid} once", is.Issuer)
			}
			check = e.pre + "t" + e.suf
			if len(e.tenants) == 0 && len(v.tenants) == 0 && !o.SkipTenantCheck {
				v.Close()
				return bad("issuer template %q needs a tenant allow-list (Issuer.Tenants or Options.Tenants)", is.Issuer)
			}
		}
		// Only the form is checked here: the key set checks the scheme
		// before it fetches anything.
		if err := checkURL(check, true); err != nil {
			v.Close()
			return bad("issuer: %v", err)
		}
		if is.Keys != nil && is.JWKSURL != "" {
			v.Close()
			return bad("issuer %q has both Keys and JWKSURL", is.Issuer)
		}
		if is.Keys == nil {
			key := is.JWKSURL
			if key == "" {
				if e.template {
					v.Close()
					return bad("issuer template %q cannot be discovered; set JWKSURL", is.Issuer)
				}
				key = "discover:" + is.Issuer
			}
			ks := created[key]
			if ks == nil {
				var err error
				if is.JWKSURL != "" {
					ks, err = NewKeySet(context.Background(), is.JWKSURL, func(k *KeySetOptions) { *k = ko })
				} else {
					ks, err = Discover(context.Background(), is.Issuer, func(k *KeySetOptions) { *k = ko })
				}
				if err != nil {
					v.Close()
					return bad("issuer %q: %v", is.Issuer, err)
				}
				created[key] = ks
				v.owned = append(v.owned, ks)
			}
			e.keys = ks
		}
		if !retiresKeys(e.keys) {
			e.recheck = e.keys
		}
		if e.template {
			v.templates = append(v.templates, e)
		} else {
			if v.exact[is.Issuer] != nil {
				v.Close()
				return bad("issuer %q listed twice", is.Issuer)
			}
			v.exact[is.Issuer] = e
		}
	}
	v.trusted = trustedList(o.Issuers)
	if o.Cache != nil {
		v.cache = newTokenCache(*o.Cache)
	}
	return v, nil
}

// trustedList prints the trusted issuers for an issuer rejection, so an
// operator sees at once what the token's iss was compared with: each URL
// without user info or query (safeurl), at most ten.
func trustedList(issuers []Issuer) string {
	const most = 10
	var b strings.Builder
	for i, is := range issuers {
		if i == most {
			fmt.Fprintf(&b, " and %d more", len(issuers)-most)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(safeurl.String(is.Issuer))
	}
	return b.String()
}

func lowerAll(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		out = append(out, strings.ToLower(s))
	}
	return out
}

// normType lowercases a typ and drops an "application/" prefix (RFC 7515
// §4.1.9 allows both forms).
func normType(t string) string {
	t = strings.ToLower(t)
	return strings.TrimPrefix(t, "application/")
}

func typeIs(typ, want string) bool {
	if len(typ) > len("application/") && strings.EqualFold(typ[:len("application/")], "application/") {
		typ = typ[len("application/"):]
	}
	return strings.EqualFold(typ, want)
}

// Validate validates an access token and returns its claims. Checks, in
// order: size; compact JWS form and canonical base64url; header (alg allow-list, no
// none/HMAC, no crit); claims JSON (no duplicates, right types); typ when
// Options.Types is set; iss among the trusted issuers (exact, or an Entra
// template filled with tid) and the tenant allow-lists — all before any
// network call; the key for kid from that issuer's key set (family, curve,
// JWK alg, use and issuer must fit); the signature; exp (required), nbf and
// iat with leeway; aud; last, that it is an access token and not an ID
// token (class type; the rule is in the package documentation). Failures
// wrap one sentinel (ErrExpired, ...).
//
// With Options.Cache set, a token verified before is answered from the
// cache after re-checking exp and nbf; the returned *Claims is shared and
// must not be modified.
func (v *Validator) Validate(ctx context.Context, token string) (*idbridge.Claims, error) {
	return v.validate(ctx, token, false, "")
}

// ValidateIDToken validates an OpenID Connect ID token: as Validate, except
// that Options.Types is not applied and access tokens are refused (typ
// at+jwt, scp, scope, idtyp "app", azpacr or appidacr); the nonce claim must equal nonce (an
// empty nonce skips that check, for flows without one); and a token with
// several audiences must carry an azp that is one of Options.Audiences.
// The verified-token cache is not used.
func (v *Validator) ValidateIDToken(ctx context.Context, token, nonce string) (*idbridge.Claims, error) {
	return v.validate(ctx, token, true, nonce)
}

// The guard of package middleware learns through selfaudit that a
// validator with Options.Audit records token.validated and token.rejected
// itself, so it does not record the same step twice.
func init() {
	selfaudit.Register(func(v any) (bool, bool) {
		jv, ok := v.(*Validator)
		return ok && jv != nil && jv.audit.Enabled(context.Background()), ok
	})
}

// Close stops the key sets the validator created. It is idempotent.
func (v *Validator) Close() error {
	v.closeOnce.Do(func() {
		for _, ks := range v.owned {
			ks.Close()
		}
	})
	return nil
}

func (v *Validator) validate(ctx context.Context, token string, idMode bool, nonce string) (*idbridge.Claims, error) {
	auditing := v.audit.Enabled(ctx)
	var start time.Time
	if auditing {
		start = time.Now()
	}
	var cs cacheUse
	c, err := v.check(ctx, token, idMode, &cs)
	if err == nil && idMode {
		err = checkIDToken(c, nonce, v.auds)
	}
	if auditing {
		v.emit(ctx, c, err, cs, time.Since(start))
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// The cache field of audit events, shared (Emit only reads them).
var (
	cacheHitAttrs  = []slog.Attr{slog.String(idbridge.FieldCache, "hit")}
	cacheMissAttrs = []slog.Attr{slog.String(idbridge.FieldCache, "miss")}
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
	d2 := len(h64) + 1 + len(p64)
	// The cache is consulted only for well-formed compact tokens, so
	// malformed input never pays for hashing.
	var ck cacheKey
	useCache := v.cache != nil && !idMode
	if useCache {
		ck = cacheKeyOf(s64)
		*cs = cacheMiss
		if c, err, hit := v.cached(ctx, ck, token[:d2]); hit {
			*cs = cacheHit
			return c, err
		}
	}
	hn, pn, sn := jwt.DecodedLen(len(h64)), jwt.DecodedLen(len(p64)), jwt.DecodedLen(len(s64))
	// The signature gets its own buffer: the claims keep the header and
	// payload buffer alive (in the cache too), and must not keep the
	// signature, which would make the token recoverable from memory.
	buf := make([]byte, hn+pn)
	sig := make([]byte, sn)
	if !jwt.DecodeSegment(buf[:hn], h64) {
		return nil, fail(ErrMalformed, "header is not canonical base64url")
	}
	if !jwt.DecodeSegment(buf[hn:], p64) {
		return nil, fail(ErrMalformed, "payload is not canonical base64url")
	}
	if !jwt.DecodeSegment(sig, s64) {
		return nil, fail(ErrMalformed, "signature is not canonical base64url")
	}
	// buf is never written again, so strings can share its memory; the
	// claims keep their values as substrings of the payload.
	hdr := unsafe.String(unsafe.SliceData(buf), hn)
	payload := unsafe.String(unsafe.SliceData(buf[hn:]), pn)

	var h idbridge.Header
	hasAlg, detail := jwt.DecodeHeader(hdr, &h)
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
	if len(sig) == 0 {
		return nil, fail(ErrSignature, "empty signature")
	}
	c, err := idbridge.ParseClaims(payload)
	if err != nil {
		return nil, fail(ErrMalformed, parseDetail(err))
	}
	c.Header = h
	if idMode {
		if typeIs(h.Type, "at+jwt") {
			return c, fail(ErrType, "an access token (typ at+jwt) is not an ID token")
		}
	} else if len(v.types) > 0 && !v.typeAllowed(h.Type) {
		return c, fail(ErrType, "typ "+quoteShort(h.Type)+" is not accepted")
	}

	// Issuer and tenant: decided from the token alone, before any fetch.
	if c.Issuer == "" {
		return c, fail(ErrMissingClaim, "iss is required")
	}
	ie, err := v.issuerFor(c)
	if err != nil {
		return c, err
	}

	k, err := ie.keys.Key(ctx, h.KeyID, c.Issuer)
	if err != nil {
		return c, keyErr(err)
	}
	if k == nil {
		return c, fail(ErrUnknownKey, "the key set returned no key")
	}
	if k.Issuer != "" && !ie.keyIssuerOK(k.Issuer, c) {
		return c, fail(ErrIssuer, "the signing key "+quoteShort(k.ID)+" is bound to issuer "+safeurl.String(k.Issuer))
	}
	if detail := a.fits(k); detail != "" {
		return c, fail(ErrAlgorithm, detail)
	}
	if err := a.method.Verify(token[:d2], sig, k.Public); err != nil {
		return c, fail(ErrSignature, "signature does not verify with key "+quoteShort(k.ID))
	}

	now := v.now()
	if err := v.checkTimes(c, now); err != nil {
		return c, err
	}
	if !v.audienceOK(c.Audience) {
		return c, fail(ErrAudience, "aud does not contain an accepted audience")
	}
	// The kind of token is told by its claims, so it is judged once they
	// are known to come from the issuer.
	// A typ required by Options.Types that names a kind of token
	// (secevent+jwt, ...) already says what the token is; JWT, JOSE or no
	// typ say nothing, even when Options.Types lists them.
	if idMode {
		if detail := notIDToken(h.Type, c); detail != "" {
			return c, fail(ErrType, detail)
		}
	} else if len(v.types) == 0 || genericType(h.Type) {
		if detail := notAccessToken(h.Type, c); detail != "" {
			return c, fail(ErrType, detail)
		}
	}
	if useCache {
		v.cache.put(ck, token[:d2], pn, c, k, ie.recheck, now)
	}
	return c, nil
}

// genericType reports whether typ says only that the token is a JWT or a
// JWS (JWT, JOSE, with or without "application/", or no typ), not which
// kind of token it is.
func genericType(typ string) bool {
	return typ == "" || typeIs(typ, "jwt") || typeIs(typ, "jose")
}

// notAccessToken returns why a token of header typ with claims c is not an
// access token, or "". Entra types its access tokens "JWT", like its ID
// tokens, so the claims decide (see "Access tokens and ID tokens" in the
// package documentation):
//   - typ at+jwt (RFC 9068) is an access token;
//   - nonce, at_hash or c_hash make an ID token (only ID tokens carry them);
//   - a token with none of scp, scope and roles grants nothing to an API,
//     and is what an ID token looks like (Entra's carry roles only with
//     nonce); it is refused, except an Entra app-only token saying so with
//     idtyp "app", which then holds no permission.
func notAccessToken(typ string, c *idbridge.Claims) string {
	switch {
	case typeIs(typ, "at+jwt"):
		return ""
	case c.IDTokenClaim() == "nonce":
		return "an ID token (it has a nonce) is not an access token"
	case c.IDTokenClaim() != "":
		return "an ID token (it has " + c.IDTokenClaim() + ") is not an access token"
	case entraShaped(c) && c.AuthorizedParty == "" && c.AppID == "":
		return "an Entra ID token (no azp or appid) is not an access token"
	case len(c.Scopes) == 0 && len(c.Roles) == 0 && c.IDType != "app":
		return "not an access token: it has none of scp, scope and roles (an ID token?)"
	}
	return ""
}

// entraShaped reports whether c has the claims of a Microsoft Entra token:
// a tenant and a token version. Entra names the client in every access
// token (azp in v2.0, appid in v1.0) and in no ID token, which may carry
// roles and, from the token endpoint, no nonce.
func entraShaped(c *idbridge.Claims) bool {
	return c.TenantID != "" && (c.Version == EntraV1 || c.Version == EntraV2)
}

// notIDToken returns why a token of header typ with claims c is not an ID
// token, or "": typ at+jwt, delegated scopes (scp, scope), idtyp "app" and
// Entra's client authentication claims (azpacr, appidacr) are found in
// access tokens only.
func notIDToken(typ string, c *idbridge.Claims) string {
	switch {
	case typeIs(typ, "at+jwt"):
		return "an access token (typ at+jwt) is not an ID token"
	case len(c.Scopes) > 0:
		return "an access token (it has scp or scope) is not an ID token"
	case c.IDType == "app":
		return "an app-only access token (idtyp app) is not an ID token"
	case c.AuthorizedPartyACR != "" || c.AppIDACR != "":
		return "an access token (it has azpacr or appidacr) is not an ID token"
	}
	return ""
}

// cutField shortens s to at most n bytes at a character boundary, marking
// the cut with "…".
func cutField(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
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

func (v *Validator) typeAllowed(typ string) bool {
	for _, t := range v.types {
		if typeIs(typ, t) {
			return true
		}
	}
	return false
}

// issuerFor finds the trusted issuer of c and applies the tenant
// allow-lists. A template issuer matches only when iss equals it with
// {tenantid} replaced by the token's tid.
func (v *Validator) issuerFor(c *idbridge.Claims) (*issuerEntry, error) {
	ie := v.exact[c.Issuer]
	if ie == nil {
		for _, t := range v.templates {
			if len(c.Issuer) == len(t.pre)+len(c.TenantID)+len(t.suf) && c.TenantID != "" &&
				strings.HasPrefix(c.Issuer, t.pre) && strings.HasSuffix(c.Issuer, t.suf) &&
				c.Issuer[len(t.pre):len(t.pre)+len(c.TenantID)] == c.TenantID {
				ie = t
				break
			}
		}
		if ie == nil {
			if c.TenantID == "" && len(v.templates) > 0 {
				for _, t := range v.templates {
					if strings.HasPrefix(c.Issuer, t.pre) && strings.HasSuffix(c.Issuer, t.suf) {
						return nil, fail(ErrMissingClaim, "tid is required for a multi-tenant issuer")
					}
				}
			}
			return nil, fail(ErrIssuer, "iss "+quoteShort(c.Issuer)+" is not trusted; trusted: "+v.trusted)
		}
	}
	if len(ie.tenants) > 0 || len(v.tenants) > 0 {
		if c.TenantID == "" {
			return nil, fail(ErrMissingClaim, "tid is required by the tenant allow-list")
		}
		if len(ie.tenants) > 0 && !containsFold(ie.tenants, c.TenantID) ||
			len(v.tenants) > 0 && !containsFold(v.tenants, c.TenantID) {
			return nil, fail(ErrTenant, "tid "+quoteShort(c.TenantID)+" is not allowed")
		}
	}
	return ie, nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
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

func checkIDToken(c *idbridge.Claims, nonce string, auds []string) error {
	if nonce != "" {
		if c.Nonce == "" {
			return fail(ErrMissingClaim, "nonce is required")
		}
		if subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(nonce)) != 1 {
			return fail(ErrMissingClaim, "nonce does not match")
		}
	}
	if len(c.Audience) > 1 {
		if c.AuthorizedParty == "" {
			return fail(ErrAudience, "azp is required when aud has several values")
		}
		if !slices.Contains(auds, c.AuthorizedParty) {
			return fail(ErrAudience, "azp is not an accepted audience")
		}
	}
	return nil
}

func (v *Validator) emit(ctx context.Context, c *idbridge.Claims, err error, cs cacheUse, d time.Duration) {
	e := audit.Event{Name: audit.TokenValidated, Outcome: audit.Success, Duration: d}
	switch cs {
	case cacheHit:
		e.Attrs = cacheHitAttrs
	case cacheMiss:
		e.Attrs = cacheMissAttrs
	}
	if err != nil {
		e.Name, e.Outcome, e.Reason = audit.TokenRejected, audit.Failure, reason.Of(err)
	}
	if c != nil {
		e.Issuer, e.KeyID, e.Algorithm = c.Issuer, c.Header.KeyID, c.Header.Algorithm
		if err != nil {
			// Unverified: cut, so a 16 KiB token cannot become a 16 KiB
			// log line.
			e.Issuer, e.KeyID, e.Algorithm = cutField(c.Issuer, 256), cutField(c.Header.KeyID, 128), cutField(c.Header.Algorithm, 32)
		}
		if err == nil {
			// Identity fields only for verified tokens: an unverified payload
			// is attacker-controlled.
			e.TenantID, e.Subject, e.ObjectID, e.Client = c.TenantID, c.Subject, c.ObjectID, c.Client()
			e.Roles = c.Roles
			id := c.ID
			if id == "" {
				id = c.UTI
			}
			e.TokenID = audit.TokenID(id)
		}
	}
	v.audit.Emit(ctx, e)
}
