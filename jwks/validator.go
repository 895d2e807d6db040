package jwks

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/audit"
	"github.com/idbridge/idbridge/internal/option"
	"github.com/idbridge/idbridge/internal/selfaudit"
)

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

// NewValidator builds a Validator. It refuses options without issuers,
// audiences or an algorithm allow-list, so a misconfigured service fails at
// start instead of accepting tokens it should not. Key sets for issuers
// given by JWKSURL or discovery are created lazily and load in the
// background; Close stops them.
func NewValidator(optFns ...func(*Options)) (*Validator, error) {
	o := option.New(optFns)
	if err := checkOptions(&o); err != nil {
		return nil, err
	}
	v := &Validator{
		exact:   map[string]*issuerEntry{},
		algs:    map[string]*algorithm{},
		auds:    slices.Clone(o.Audiences),
		tenants: lowerAll(o.Tenants),
		leeway:  leewayOf(o.Leeway),
		maxAge:  o.MaxAge,
		maxSize: o.MaxTokenSize,
		now:     o.Now,
		audit:   audit.New(o.Audit),
	}
	if err := v.setAlgorithms(o.Algorithms); err != nil {
		return nil, err
	}
	for _, t := range o.Types {
		v.types = append(v.types, normType(t))
	}
	if v.maxSize <= 0 {
		v.maxSize = DefaultMaxTokenSize
	}
	if v.now == nil {
		v.now = time.Now
	}
	ko := keySetOptions(&o)
	created := map[string]*RemoteKeySet{}
	for _, is := range o.Issuers {
		if err := v.addIssuer(is, &o, ko, created); err != nil {
			v.Close()
			return nil, err
		}
	}
	v.trusted = trustedList(o.Issuers)
	if o.Cache != nil {
		v.cache = newTokenCache(*o.Cache)
	}
	return v, nil
}

// invalid returns an error wrapping idbridge.ErrInvalidOptions.
func invalid(format string, args ...any) error {
	return fmt.Errorf("jwks: %w: "+format, append([]any{idbridge.ErrInvalidOptions}, args...)...)
}

// checkOptions refuses options that no validator can be built from.
func checkOptions(o *Options) error {
	for _, is := range o.Issuers {
		if is.err != nil { // from Entra or EntraAPI
			return fmt.Errorf("jwks: %w: %w", idbridge.ErrInvalidOptions, is.err)
		}
	}
	switch {
	case len(o.Issuers) == 0:
		return invalid("Issuers is required")
	case len(o.Audiences) == 0 || slices.Contains(o.Audiences, ""):
		return invalid("Audiences is required and must not contain empty strings")
	case len(o.Algorithms) == 0:
		return invalid("Algorithms is required")
	}
	for _, name := range o.Algorithms {
		if algorithms[name] != nil {
			continue
		}
		if strings.EqualFold(name, "none") || strings.HasPrefix(strings.ToUpper(name), "HS") {
			return invalid("algorithm %q is refused: it lets anyone holding the public key forge tokens", name)
		}
		return invalid("algorithm %q is not supported", name)
	}
	if o.MaxAge < 0 {
		return invalid("MaxAge must not be negative")
	}
	return nil
}

// setAlgorithms fills the allow-list; checkOptions accepted every name.
func (v *Validator) setAlgorithms(names []string) error {
	for _, name := range names {
		a := algorithms[name]
		if a == nil {
			return invalid("algorithm %q is not supported", name)
		}
		v.algs[name] = a
	}
	return nil
}

// leewayOf applies Options.Leeway's zero (the default) and negative (none)
// values and its bound.
func leewayOf(d time.Duration) time.Duration {
	switch {
	case d == 0:
		return DefaultLeeway
	case d < 0:
		return 0
	}
	return min(d, MaxLeeway)
}

// keySetOptions returns the options of the key sets NewValidator creates:
// Options.KeySet, completed from the validator's own options.
func keySetOptions(o *Options) KeySetOptions {
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
	return ko
}

// addIssuer adds the trusted issuer is, creating its key set (shared with
// issuers of the same JWKS URL through created) unless is.Keys is given.
func (v *Validator) addIssuer(is Issuer, o *Options, ko KeySetOptions, created map[string]*RemoteKeySet) error {
	e := &issuerEntry{iss: is.Issuer, keys: is.Keys, tenants: lowerAll(is.Tenants), alias: is.entraPeer}
	e.pre, e.suf, e.template = splitTemplate(is.Issuer)
	if err := v.checkIssuer(is, e, o.SkipTenantCheck); err != nil {
		return err
	}
	if is.Keys == nil {
		ks, err := v.keySetFor(is, e.template, ko, created)
		if err != nil {
			return err
		}
		e.keys = ks
	}
	if !retiresKeys(e.keys) {
		e.recheck = e.keys
	}
	if e.template {
		v.templates = append(v.templates, e)
		return nil
	}
	if v.exact[is.Issuer] != nil {
		return invalid("issuer %q listed twice", is.Issuer)
	}
	v.exact[is.Issuer] = e
	return nil
}

// checkIssuer checks the form of one trusted issuer.
func (v *Validator) checkIssuer(is Issuer, e *issuerEntry, skipTenantCheck bool) error {
	check := is.Issuer
	if e.template {
		if strings.Count(is.Issuer, tenantPlaceholder) != 1 {
			return invalid("issuer template %q must contain {tenantid} once", is.Issuer)
		}
		check = e.pre + "t" + e.suf
		if len(e.tenants) == 0 && len(v.tenants) == 0 && !skipTenantCheck {
			return invalid("issuer template %q needs a tenant allow-list (Issuer.Tenants or Options.Tenants)", is.Issuer)
		}
	}
	// Only the form is checked here: the key set checks the scheme
	// before it fetches anything.
	if err := checkURL(check, true); err != nil {
		return invalid("issuer: %v", err)
	}
	if is.Keys != nil && is.JWKSURL != "" {
		return invalid("issuer %q has both Keys and JWKSURL", is.Issuer)
	}
	return nil
}

// keySetFor returns the key set of an issuer without Keys: from its
// JWKSURL, or discovered from the issuer, one per URL.
func (v *Validator) keySetFor(is Issuer, template bool, ko KeySetOptions, created map[string]*RemoteKeySet) (*RemoteKeySet, error) {
	key := is.JWKSURL
	if key == "" {
		if template {
			return nil, invalid("issuer template %q cannot be discovered; set JWKSURL", is.Issuer)
		}
		key = "discover:" + is.Issuer
	}
	if ks := created[key]; ks != nil {
		return ks, nil
	}
	var ks *RemoteKeySet
	var err error
	if is.JWKSURL != "" {
		ks, err = NewKeySet(context.Background(), is.JWKSURL, func(k *KeySetOptions) { *k = ko })
	} else {
		ks, err = Discover(context.Background(), is.Issuer, func(k *KeySetOptions) { *k = ko })
	}
	if err != nil {
		return nil, invalid("issuer %q: %v", is.Issuer, err)
	}
	created[key] = ks
	v.owned = append(v.owned, ks)
	return ks, nil
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
