package federation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	ijwt "github.com/idbridge/idbridge/internal/jwt"
)

// Claim names AWS reads a web identity session's tags and source identity
// from.
const (
	TagsClaim           = "https://aws.amazon.com/tags"
	SourceIdentityClaim = "https://aws.amazon.com/source_identity"
)

// tokenInfo is what a Provider reads from the identity token before
// sending it: labels for the session name and the audit event, exp to avoid
// sending an expired token, and the session attributes to compare with the
// configured ones. It is read WITHOUT verifying the signature — STS
// verifies — so nothing here is trusted for a decision; a forged token only
// fools its own sender.
type tokenInfo struct {
	iss, sub, oid, tid, azp, jti string
	aud                          []string
	exp                          time.Time
	hasTags                      bool
	tags                         map[string]string // principal_tags, one value each
	transitive                   []string
	sourceIdentity               string
}

// tokenErr is a parse failure; the detail never quotes the token.
func tokenErr(sentinel error, detail string) error {
	return &Error{Err: sentinel, Detail: detail}
}

// parseToken decodes the payload of a compact JWS. It never echoes the
// token in an error.
func parseToken(tok string) (tokenInfo, error) {
	var ti tokenInfo
	if len(tok) > maxTokenLength {
		return ti, tokenErr(ErrTooLarge, fmt.Sprintf("identity token of %d bytes exceeds STS's %d", len(tok), maxTokenLength))
	}
	// The one JWT reader, with the validator's rules: what is sent is
	// exactly what a validator would read.
	c, err := ijwt.Parse(tok)
	if err != nil {
		return ti, tokenErr(ErrMalformedToken, "not a compact JWS of canonical base64url with well-typed JSON claims")
	}
	ti.iss, ti.sub, ti.oid, ti.tid = c.Issuer, c.Subject, c.ObjectID, c.TenantID
	ti.azp = c.Client()
	ti.jti = c.ID
	if ti.jti == "" {
		ti.jti = c.UTI
	}
	ti.aud, ti.exp = c.Audience, c.ExpiresAt
	if !ti.exp.IsZero() && (ti.exp.Unix() < 0 || ti.exp.Unix() > 1e11) {
		return ti, tokenErr(ErrMalformedToken, "exp is not a NumericDate")
	}
	tags, _ := c.Get(TagsClaim)
	srcID, _ := c.Get(SourceIdentityClaim)
	if len(tags) > 0 && !isNull(tags) {
		var t struct {
			PrincipalTags     map[string]json.RawMessage `json:"principal_tags"`
			TransitiveTagKeys []string                   `json:"transitive_tag_keys"`
		}
		if json.Unmarshal(tags, &t) != nil {
			return ti, tokenErr(ErrMalformedToken, fmt.Sprintf("%s is not an object of principal_tags and transitive_tag_keys", TagsClaim))
		}
		ti.hasTags = true
		ti.tags = make(map[string]string, len(t.PrincipalTags))
		for k, raw := range t.PrincipalTags {
			vs, err := stringOrList(raw)
			if err != nil || len(vs) != 1 {
				return ti, tokenErr(ErrMalformedToken, fmt.Sprintf("principal tag %q must be a one-element list of strings", cut(k)))
			}
			ti.tags[k] = vs[0]
		}
		ti.transitive = t.TransitiveTagKeys
	}
	if len(srcID) > 0 && !isNull(srcID) {
		if json.Unmarshal(srcID, &ti.sourceIdentity) != nil {
			return ti, tokenErr(ErrMalformedToken, fmt.Sprintf("%s is not a string", SourceIdentityClaim))
		}
	}
	return ti, nil
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

func stringOrList(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || isNull(raw) {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}, nil
	}
	var l []string
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, err
	}
	return l, nil
}

// cut shortens a token-supplied value for an error detail, so that no
// error can carry a token smuggled into a claim name.
func cut(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// missingAttributes reports which configured session attribute the token
// lacks, or "" when it carries them all.
func missingAttributes(o *Options, ti *tokenInfo) string {
	if o.SourceIdentity != "" && ti.sourceIdentity != o.SourceIdentity {
		if ti.sourceIdentity == "" {
			return "no " + SourceIdentityClaim + " claim"
		}
		return SourceIdentityClaim + " differs from the configured source identity"
	}
	if len(o.SessionTags) == 0 && len(o.TransitiveTagKeys) == 0 {
		return ""
	}
	if !ti.hasTags {
		return "no " + TagsClaim + " claim"
	}
	lookup := func(k string) (string, bool) {
		for tk, tv := range ti.tags {
			if strings.EqualFold(tk, k) {
				return tv, true
			}
		}
		return "", false
	}
	for k, want := range o.SessionTags {
		got, ok := lookup(k)
		if !ok {
			return "session tag " + k + " missing from the token"
		}
		if got != want {
			return "session tag " + k + " has another value in the token"
		}
	}
	for _, k := range o.TransitiveTagKeys {
		found := false
		for _, tk := range ti.transitive {
			if strings.EqualFold(tk, k) {
				found = true
				break
			}
		}
		if !found {
			return "tag " + k + " is not transitive in the token"
		}
	}
	return ""
}
