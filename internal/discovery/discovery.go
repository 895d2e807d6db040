// Package discovery is the one reader of OpenID Provider discovery
// documents (OpenID Connect Discovery 1.0) in idbridge: jwks.Discover and
// token.Discover both read the document through it, so that they accept
// the same documents.
//
// # The issuer rule
//
// The document's issuer must equal the configured issuer exactly, byte for
// byte (Discovery section 4.3: a document that names another issuer is not
// that issuer's, and accepting it opens mix-up attacks). The one exception
// is Microsoft Entra ID's multi-tenant authorities, whose documents name a
// template instead of an issuer: when the configured issuer's first path
// segment is common, organizations or consumers (in any case), the
// document may name the configured issuer with that segment replaced by
// "{tenantid}" (https://login.microsoftonline.com/common/v2.0 →
// https://login.microsoftonline.com/{tenantid}/v2.0), or, for the v1
// authority of the public cloud, https://sts.windows.net/{tenantid}/.
// Nothing else containing "{tenantid}" is accepted; the tokens are later
// checked against their own tenant's issuer by the validator.
package discovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/idbridge/idbridge/internal/safeurl"
)

// WellKnown is the path of the discovery document below the issuer.
const WellKnown = "/.well-known/openid-configuration"

// Errors of [Read]; callers wrap them with their own classes.
var (
	ErrMalformed      = errors.New("discovery document is not valid JSON")
	ErrIssuerMismatch = errors.New("discovery document is for another issuer")
)

// Document holds the members of a discovery document that idbridge reads.
type Document struct {
	Issuer           string   `json:"issuer"`
	AuthURL          string   `json:"authorization_endpoint"`
	TokenURL         string   `json:"token_endpoint"`
	DeviceAuthURL    string   `json:"device_authorization_endpoint"`
	JWKSURL          string   `json:"jwks_uri"`
	UserInfoURL      string   `json:"userinfo_endpoint"`
	IntrospectionURL string   `json:"introspection_endpoint"`
	GrantTypes       []string `json:"grant_types_supported"`
	AuthMethods      []string `json:"token_endpoint_auth_methods_supported"`
}

// URL returns the discovery document's URL for issuer: the issuer without
// trailing slashes, then [WellKnown].
func URL(issuer string) string { return strings.TrimRight(issuer, "/") + WellKnown }

// Getter fetches a URL and returns the body of a 200 answer. Each caller
// brings its own (HTTP client, size limit, redirect rule, error classes).
type Getter func(ctx context.Context, url string) ([]byte, error)

// Read fetches issuer's discovery document with get, decodes it and
// applies the issuer rule. get's errors are returned as they are; a body
// that is not a JSON object wraps [ErrMalformed]; a document for another
// issuer wraps [ErrIssuerMismatch]. Endpoint URLs are not checked here:
// each caller checks those it uses.
func Read(ctx context.Context, issuer string, get Getter) (*Document, error) {
	body, err := get(ctx, URL(issuer))
	if err != nil {
		return nil, err
	}
	var d Document
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, ErrMalformed
	}
	if !IssuerMatches(d.Issuer, issuer) {
		return nil, fmt.Errorf("%w: document issuer %q differs from %q",
			ErrIssuerMismatch, safeurl.String(d.Issuer), safeurl.String(issuer))
	}
	return &d, nil
}

// IssuerMatches reports whether a document naming docIssuer belongs to the
// configured issuer, by the rule in the package documentation.
func IssuerMatches(docIssuer, issuer string) bool {
	if docIssuer == issuer {
		return true
	}
	if !strings.Contains(docIssuer, "{tenantid}") {
		return false
	}
	tmpl, ok := entraTemplate(issuer)
	return ok && (docIssuer == tmpl || docIssuer == entraV1Template && isEntraPublicV1(issuer))
}

// entraV1Template is the issuer that Entra's public-cloud v1 multi-tenant
// documents name.
const entraV1Template = "https://sts.windows.net/{tenantid}/"

// entraTemplate returns issuer with its multi-tenant segment replaced by
// {tenantid}, or false when issuer is not an Entra multi-tenant
// authority.
func entraTemplate(issuer string) (string, bool) {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	root := u.Scheme + "://" + u.Host + "/"
	rest, ok := strings.CutPrefix(issuer, root)
	if !ok {
		return "", false
	}
	seg, _, _ := strings.Cut(rest, "/")
	switch strings.ToLower(seg) {
	case "common", "organizations", "consumers":
		return root + "{tenantid}" + rest[len(seg):], true
	}
	return "", false
}

// isEntraPublicV1 reports whether issuer is a v1 (not /v2.0) authority on
// Entra's public cloud host.
func isEntraPublicV1(issuer string) bool {
	return strings.HasPrefix(issuer, "https://login.microsoftonline.com/") && !strings.Contains(issuer, "/v2.0")
}
