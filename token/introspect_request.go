package token

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idbridge/idbridge/internal/audit"
	"github.com/idbridge/idbridge/internal/flight"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/jwks"
)

// maxIntrospectionBody caps what is read of an introspection response:
// claims of a token, even with hundreds of groups, fit well below it.
const maxIntrospectionBody = 256 << 10

// flight returns the answer of the request in flight for key, starting
// one if there is none. The request runs detached from ctx, so that a
// caller who gives up does not fail the others; it is bounded by Timeout
// and cancelled by Close.
func (i *Introspector) flight(ctx context.Context, key *[sha256.Size]byte, token string) (*introspection, error) {
	k := *key
	res, err := i.calls.Do(ctx, k, func() (*introspection, error) {
		res := i.introspect(i.ctx, token, &k)
		warnIntrospection(i.ctx, i.o.Logger, res.err)
		i.store(&k, res) // before the call is forgotten: no gap between the two
		return res, nil
	})
	switch {
	case errors.Is(err, flight.ErrClosed):
		return nil, fmt.Errorf("%w: introspector closed", errClosed)
	case err != nil:
		return nil, fmt.Errorf("token: introspection: %w", err)
	}
	return res, nil
}

// introspect asks the server about token and checks the answer.
func (i *Introspector) introspect(ctx context.Context, token string, key *[sha256.Size]byte) *introspection {
	res := &introspection{tokenID: hashID(key), size: entryOverhead}
	form := url.Values{}
	for k, vs := range i.o.Params {
		form[k] = vs
	}
	form.Set("token", token)
	form.Set("token_type_hint", "access_token")
	h := http.Header{}
	used, err := i.c.Auth.authenticate(ctx, &i.c, form, h)
	if err != nil {
		res.err = i.closedOr(ctx, err)
		return res
	}
	body, status, hdr, err := i.post(ctx, form, h)
	if err != nil {
		res.err = i.closedOr(ctx, err)
		return res
	}
	if status != http.StatusOK {
		e := parseError(body, status, hdr, i.o.Now(), append(used, token))
		// Whatever the code, the API cannot validate any token until the
		// server or its own registration is fixed: not the caller's fault.
		res.err = fmt.Errorf("%w: introspection endpoint answered HTTP %d: %w", ErrIdPUnavailable, status, e)
		return res
	}
	if ct, _, _ := mime.ParseMediaType(hdr.Get("Content-Type")); ct == "application/token-introspection+jwt" {
		res.err = fmt.Errorf("%w: JWT introspection responses (RFC 9701) are not supported", ErrIdPUnavailable)
		return res
	}
	r, err := parseIntrospection(body)
	if err != nil {
		res.err = err
		return res
	}
	res.size += len(body)
	now := i.o.Now()
	if !r.active {
		res.err = errInactive
		if i.negTTL > 0 {
			res.until = now.Add(i.negTTL)
		}
		return res
	}
	c := &r.claims
	if id := firstNonEmpty(c.ID, c.UTI); id != "" {
		res.tokenID = audit.TokenID(id)
	}
	if err := i.check(r, now); err != nil {
		res.err, res.label = err, c
		if i.negTTL > 0 {
			res.until = now.Add(i.negTTL)
		}
		return res
	}
	res.claims, res.label = c, c
	if i.ttl > 0 {
		res.until = now.Add(i.ttl)
		if !c.ExpiresAt.IsZero() && c.ExpiresAt.Before(res.until) {
			res.until = c.ExpiresAt
		}
	}
	return res
}

// closedOr turns a failure caused by Close into errClosed.
func (i *Introspector) closedOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: introspection cancelled by Close", errClosed)
	}
	return err
}

// post sends form to the introspection endpoint and returns the capped
// body.
func (i *Introspector) post(ctx context.Context, form url.Values, h http.Header) ([]byte, int, http.Header, error) {
	return postForm(ctx, i.hc, i.o.Timeout, i.url, "introspection", maxIntrospectionBody, form, h)
}

// check applies the resource server's own checks to an active answer: the
// server vouches that the token is live, not that it is meant for us.
func (i *Introspector) check(r *introspected, now time.Time) error {
	c := &r.claims
	for _, t := range []string{r.tokenType, r.tokenUse, r.typ} {
		if notAccessToken(t) {
			return reject(jwks.ErrType, "token_type "+quoteCut(t)+" is not an access token")
		}
	}
	if len(i.issuers) > 0 {
		if c.Issuer == "" {
			return reject(jwks.ErrMissingClaim, "iss is required by the issuer check")
		}
		if !slices.Contains(i.issuers, c.Issuer) {
			return reject(jwks.ErrIssuer, "iss "+quoteCut(c.Issuer)+" is not trusted")
		}
	}
	if len(i.auds) > 0 && !slices.ContainsFunc(c.Audience, func(a string) bool { return slices.Contains(i.auds, a) }) {
		if len(c.Audience) == 0 {
			return reject(jwks.ErrAudience, "the answer has no aud")
		}
		return reject(jwks.ErrAudience, "no aud value is accepted")
	}
	lw := " (leeway " + i.leeway.String() + ")"
	if !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt.Add(i.leeway)) {
		return reject(jwks.ErrExpired, "exp "+c.ExpiresAt.UTC().Format(time.RFC3339)+" is past"+lw)
	}
	if !c.NotBefore.IsZero() && now.Add(i.leeway).Before(c.NotBefore) {
		return reject(jwks.ErrNotYetValid, "nbf "+c.NotBefore.UTC().Format(time.RFC3339)+" is ahead"+lw)
	}
	if !c.IssuedAt.IsZero() && now.Add(i.leeway).Before(c.IssuedAt) {
		return reject(jwks.ErrIssuedInFuture, "iat "+c.IssuedAt.UTC().Format(time.RFC3339)+" is ahead"+lw)
	}
	return nil
}

// notAccessToken recognises the token types servers report for refresh
// and ID tokens (token_type, Hydra's token_use, Keycloak's typ): a
// resource server must not accept them as access tokens.
func notAccessToken(t string) bool {
	switch strings.ToLower(t) {
	case "refresh_token", "refresh", "offline", "id_token", "id",
		"urn:ietf:params:oauth:token-type:refresh_token", "urn:ietf:params:oauth:token-type:id_token":
		return true
	}
	return false
}

func reject(s *reason.Error, detail string) error {
	return &jwks.ValidationError{Err: s, Detail: "introspection: " + detail}
}

// quoteCut quotes a value from the answer, cut so that a long one cannot
// flood a log line.
func quoteCut(s string) string {
	if len(s) > 64 {
		s = strings.ToValidUTF8(s[:64], "") + "…"
	}
	return strconv.Quote(s)
}

// hashID is the audit token_id of a token without jti: the first 16 hex
// digits of its SHA-256, never the token.
func hashID(key *[sha256.Size]byte) string { return hex.EncodeToString(key[:8]) }
