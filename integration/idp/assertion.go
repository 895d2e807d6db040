package idp

import (
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// assertionSkew tolerates clock differences between a client and the
// provider when checking exp, nbf and iat.
const assertionSkew = 30 * time.Second

// assertionAlgs are the JOSE algorithms a private_key_jwt assertion may use.
var assertionAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512, jose.ES256, jose.ES384, jose.ES512,
}

// errAssertion is the parent of every client assertion failure; the detail
// names the check, never the assertion.
var errAssertion = errors.New("client assertion")

// audience decodes the aud claim, a string or an array of strings.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

type assertionClaims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  audience `json:"aud"`
	Expiry    *float64 `json:"exp"`
	NotBefore *float64 `json:"nbf"`
	IssuedAt  *float64 `json:"iat"`
	ID        string   `json:"jti"`
}

func unixTime(f float64) time.Time {
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9))
}

// verifyAssertion authenticates a client by an RFC 7523 JWT assertion: the
// client's registered key must have signed it, iss and sub must both be the
// client id, aud must name the token endpoint or the issuer, exp must lie
// ahead, and a jti may be used once.
func (s *storage) verifyAssertion(assertion, formClientID string, audiences []string) (*Client, error) {
	jws, claims, err := parseAssertion(assertion)
	if err != nil {
		return nil, err
	}
	if claims.Issuer == "" || claims.Issuer != claims.Subject {
		return nil, fmt.Errorf("%w: iss and sub must both be the client id", errAssertion)
	}
	if formClientID != "" && formClientID != claims.Issuer {
		return nil, fmt.Errorf("%w: client_id does not match iss", errAssertion)
	}
	c, ok := s.client(claims.Issuer)
	if !ok || len(c.PublicKeys) == 0 {
		return nil, fmt.Errorf("%w: client has no registered keys", errAssertion)
	}
	key, ok := assertionKey(c, jws.Signatures[0].Header.KeyID)
	if !ok {
		return nil, fmt.Errorf("%w: unknown kid", errAssertion)
	}
	if _, err := jws.Verify(key); err != nil {
		return nil, fmt.Errorf("%w: signature invalid", errAssertion)
	}
	if !slices.ContainsFunc(claims.Audience, func(a string) bool { return slices.Contains(audiences, a) }) {
		return nil, fmt.Errorf("%w: aud must be the token endpoint or the issuer", errAssertion)
	}
	exp, err := claims.checkTimes(s.now())
	if err != nil {
		return nil, err
	}
	if claims.ID != "" && !s.rememberAssertion(c.ID, claims.ID, exp.Add(assertionSkew)) {
		return nil, fmt.Errorf("%w: jti already used", errAssertion)
	}
	return c, nil
}

// parseAssertion parses a compact JWS with exactly one signature and decodes
// its claims, before anything is verified.
func parseAssertion(assertion string) (*jose.JSONWebSignature, assertionClaims, error) {
	var claims assertionClaims
	jws, err := jose.ParseSignedCompact(assertion, assertionAlgs)
	if err != nil {
		return nil, claims, fmt.Errorf("%w: malformed or unsupported algorithm", errAssertion)
	}
	if len(jws.Signatures) != 1 {
		return nil, claims, fmt.Errorf("%w: want exactly one signature", errAssertion)
	}
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &claims); err != nil {
		return nil, claims, fmt.Errorf("%w: malformed claims", errAssertion)
	}
	return jws, claims, nil
}

// assertionKey looks up the client's public key by kid; an assertion without
// a kid may use the key of a client that has exactly one.
func assertionKey(c *Client, kid string) (crypto.PublicKey, bool) {
	key, ok := c.PublicKeys[kid]
	if !ok && kid == "" && len(c.PublicKeys) == 1 {
		for _, k := range c.PublicKeys {
			key, ok = k, true
		}
	}
	return key, ok
}

// checkTimes checks exp, nbf and iat against now, each with assertionSkew,
// and returns the expiry.
func (claims assertionClaims) checkTimes(now time.Time) (time.Time, error) {
	if claims.Expiry == nil {
		return time.Time{}, fmt.Errorf("%w: exp missing", errAssertion)
	}
	exp := unixTime(*claims.Expiry)
	if !now.Before(exp.Add(assertionSkew)) {
		return time.Time{}, fmt.Errorf("%w: expired", errAssertion)
	}
	if claims.NotBefore != nil && unixTime(*claims.NotBefore).After(now.Add(assertionSkew)) {
		return time.Time{}, fmt.Errorf("%w: not yet valid", errAssertion)
	}
	if claims.IssuedAt != nil && unixTime(*claims.IssuedAt).After(now.Add(assertionSkew)) {
		return time.Time{}, fmt.Errorf("%w: issued in the future", errAssertion)
	}
	return exp, nil
}
