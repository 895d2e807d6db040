package federation

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
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
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return ti, tokenErr(ErrMalformedToken, "not three dot-separated parts")
	}
	payload, err := base64.RawURLEncoding.Strict().DecodeString(parts[1])
	if err != nil {
		return ti, tokenErr(ErrMalformedToken, "payload is not base64url")
	}
	var c struct {
		Iss   string          `json:"iss"`
		Sub   string          `json:"sub"`
		Oid   string          `json:"oid"`
		Tid   string          `json:"tid"`
		Azp   string          `json:"azp"`
		AppID string          `json:"appid"`
		Jti   string          `json:"jti"`
		Uti   string          `json:"uti"`
		Aud   json.RawMessage `json:"aud"`
		Exp   json.RawMessage `json:"exp"`
		Tags  json.RawMessage `json:"https://aws.amazon.com/tags"`
		SrcID json.RawMessage `json:"https://aws.amazon.com/source_identity"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return ti, tokenErr(ErrMalformedToken, "payload is not a JSON object of string claims")
	}
	ti.iss, ti.sub, ti.oid, ti.tid = c.Iss, c.Sub, c.Oid, c.Tid
	ti.azp = c.Azp
	if ti.azp == "" {
		ti.azp = c.AppID
	}
	ti.jti = c.Jti
	if ti.jti == "" {
		ti.jti = c.Uti
	}
	if ti.aud, err = stringOrList(c.Aud); err != nil {
		return ti, tokenErr(ErrMalformedToken, "aud is neither a string nor a list of strings")
	}
	if len(c.Exp) > 0 && !isNull(c.Exp) {
		var f float64
		if json.Unmarshal(c.Exp, &f) != nil || f < 0 || f > 1e11 {
			return ti, tokenErr(ErrMalformedToken, "exp is not a NumericDate")
		}
		sec, frac := math.Modf(f)
		ti.exp = time.Unix(int64(sec), int64(frac*1e9))
	}
	if len(c.Tags) > 0 && !isNull(c.Tags) {
		var t struct {
			PrincipalTags     map[string]json.RawMessage `json:"principal_tags"`
			TransitiveTagKeys []string                   `json:"transitive_tag_keys"`
		}
		if json.Unmarshal(c.Tags, &t) != nil {
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
	if len(c.SrcID) > 0 && !isNull(c.SrcID) {
		if json.Unmarshal(c.SrcID, &ti.sourceIdentity) != nil {
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
