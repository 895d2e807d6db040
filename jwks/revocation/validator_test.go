package revocation_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/selfaudit"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
	"github.com/idbridge/idbridge/jwks/revocation"
)

// A real validator wrapped with the list: valid tokens pass, a revoked
// user's token is refused with class revoked, invalid tokens keep their
// own error.
func TestValidator(t *testing.T) {
	idp := jwkstest.Start(t)
	jv, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: idp.Issuer(), JWKSURL: idp.JWKSURL()}}
		o.Audiences = []string{"api://lending"}
		o.Algorithms = []string{"RS256"}
		o.HTTPClient = idp.Client()
		o.Cache = &jwks.CacheOptions{}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer jv.Close()
	list, _ := revocation.New()
	v := revocation.NewValidator(jv, list)
	ctx := context.Background()
	leo := idp.Mint(map[string]any{"aud": "api://lending", "tid": tid, "oid": leoOID, "scp": "Loans.Read"})
	amit := idp.Mint(map[string]any{"aud": "api://lending", "tid": tid, "oid": amitOID, "scp": "Loans.Read"})
	if _, err := v.Validate(ctx, leo); err != nil {
		t.Fatal(err)
	}
	must(t, list.Revoke(ctx, revocation.EntraUser(tid, leoOID)))
	_, err = v.Validate(ctx, leo) // also a verified-token cache hit
	if !errors.Is(err, revocation.ErrRevoked) || idbridge.ReasonOf(err) != "revoked" {
		t.Fatalf("revoked: %v", err)
	}
	if _, err := v.Validate(ctx, amit); err != nil {
		t.Fatalf("other user: %v", err)
	}
	if _, err := v.Validate(ctx, "not.a.token"); !errors.Is(err, jwks.ErrMalformed) {
		t.Fatalf("malformed: %v", err)
	}
	if selfaudit.Audits(v) {
		t.Fatal("selfaudit.Audits true for a validator without audit")
	}
}

func TestOnRevoke(t *testing.T) {
	c := newClock()
	var got []revocation.Entry
	l := newList(t, c, func(o *revocation.Options) { o.OnRevoke = func(e revocation.Entry) { got = append(got, e) } })
	ctx := context.Background()
	must(t, l.Revoke(ctx, revocation.EntraUser(tid, leoOID)))
	must(t, l.Revoke(ctx, revocation.Entry{Kind: revocation.Subject, TenantID: tid, ObjectID: leoOID, At: c.ago(time.Hour)})) // older: no news
	if _, err := l.Merge(revocation.SessionID("s1")); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ObjectID != leoOID || got[1].ID != "s1" {
		t.Fatalf("OnRevoke saw %+v", got)
	}
}

// TestValidatorKeepsWhatTheGuardAsks: wrapping a validator in the list
// must not drop what middleware asks of it by optional interfaces. Without
// ValidUntil a stream admitted with a token that has no exp (accepted under
// jwks.Options.MaxAge) never ended, and one under a short leeway outlived
// its token by the default leeway; without Issuers the start-up check of
// validator against policy was silently skipped.
func TestValidatorKeepsWhatTheGuardAsks(t *testing.T) {
	idp := jwkstest.Start(t)
	jv, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: idp.Issuer(), JWKSURL: idp.JWKSURL()}}
		o.Audiences = []string{"api://lending"}
		o.Algorithms = []string{"RS256"}
		o.HTTPClient = idp.Client()
		o.MaxAge = 10 * time.Minute
		o.Leeway = time.Second
	})
	if err != nil {
		t.Fatal(err)
	}
	defer jv.Close()
	list, _ := revocation.New()
	v := revocation.NewValidator(jv, list)
	type validUntil interface {
		ValidUntil(*idbridge.Claims) time.Time
	}
	type issuers interface{ Issuers() []string }
	vu, ok := any(v).(validUntil)
	if !ok {
		t.Fatal("the wrapped validator no longer says when a token stops being accepted")
	}
	for name, claims := range map[string]map[string]any{
		"no exp (MaxAge)": {"exp": nil},
		"exp":             {},
	} {
		claims["aud"], claims["tid"], claims["oid"], claims["scp"] = "api://lending", tid, leoOID, "Loans.Read"
		c, err := v.Validate(context.Background(), idp.Mint(claims))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got, want := vu.ValidUntil(c), jv.ValidUntil(c); got.IsZero() || !got.Equal(want) {
			t.Errorf("%s: ValidUntil %v, want %v", name, got, want)
		}
	}
	is, ok := any(v).(issuers)
	if !ok || !slices.Equal(is.Issuers(), jv.Issuers()) {
		t.Fatal("the wrapped validator no longer lists its issuers")
	}
	// A validator that says neither: exp plus the default leeway, and no
	// issuers, as middleware assumes for it.
	bare := revocation.NewValidator(validatorFunc(func(context.Context, string) (*idbridge.Claims, error) { return nil, nil }), list)
	exp := time.Unix(1_800_000_000, 0)
	if got := bare.ValidUntil(&idbridge.Claims{ExpiresAt: exp}); !got.Equal(exp.Add(jwks.DefaultLeeway)) {
		t.Errorf("bare ValidUntil %v", got)
	}
	if got := bare.ValidUntil(&idbridge.Claims{}); !got.IsZero() {
		t.Errorf("bare ValidUntil without exp %v", got)
	}
	if bare.Issuers() != nil {
		t.Error("bare Issuers not nil")
	}
}

type validatorFunc func(context.Context, string) (*idbridge.Claims, error)

func (f validatorFunc) Validate(ctx context.Context, tok string) (*idbridge.Claims, error) {
	return f(ctx, tok)
}

// TestNewValidatorNilParts: a validator built without its validator or its
// list refuses every token instead of panicking or letting it through.
func TestNewValidatorNilParts(t *testing.T) {
	list, err := revocation.New()
	if err != nil {
		t.Fatal(err)
	}
	idp := jwkstest.Start(t)
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: idp.Issuer(), JWKSURL: idp.JWKSURL()}}
		o.Audiences = []string{jwkstest.APIClientID}
		o.Algorithms = []string{"RS256"}
		o.HTTPClient = idp.Client()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	tok := idp.Mint(map[string]any{"aud": jwkstest.APIClientID, "sub": "amit", "azp": "lending-web", "scp": "Loans.Read"})
	if _, err := v.Validate(context.Background(), tok); err != nil {
		t.Fatalf("the token itself: %v", err)
	}
	for name, rv := range map[string]*revocation.Validator{
		"nil validator": revocation.NewValidator(nil, list),
		"nil list":      revocation.NewValidator(v, nil),
		"both nil":      revocation.NewValidator(nil, nil),
	} {
		if _, err := rv.Validate(context.Background(), tok); !errors.Is(err, idbridge.ErrInvalidOptions) {
			t.Errorf("%s: Validate = %v, want ErrInvalidOptions", name, err)
		}
		if got := rv.Issuers(); len(got) != 0 {
			t.Errorf("%s: Issuers = %v, want none", name, got)
		}
	}
}

// TestValidUntilNilClaims: nil claims are over at once, whether the wrapped
// validator says when its tokens end or not.
func TestValidUntilNilClaims(t *testing.T) {
	list, _ := revocation.New()
	bare := revocation.NewValidator(validatorFunc(func(context.Context, string) (*idbridge.Claims, error) { return nil, nil }), list)
	if got := bare.ValidUntil(nil); !got.Equal(time.Unix(0, 0)) {
		t.Errorf("ValidUntil(nil) = %v, want the Unix epoch", got)
	}
}
