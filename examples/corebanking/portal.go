package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/idbridge/idbridge/federation/saml"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/samlsp"
)

// portal is the CBS web portal's SAML sign-in (Entra's "core banking"
// enterprise application): staff who sign in to Entra reach the portal
// pages without a password of the portal's own, and are decided as their
// directory account, as token holders are.
type portal struct {
	sp *samlsp.SP
	md *saml.Metadata
}

// newPortal fetches the tenant's federation metadata and mounts SAML
// sign-in for the SP entityID whose ACS is acsURL (the portal's public
// https URL; the entity ID defaults to the ACS's /saml).
func newPortal(ctx context.Context, metadataURL, entityID, acsURL string, policy middleware.Policy, log *slog.Logger) (*portal, error) {
	if acsURL == "" {
		return nil, fmt.Errorf("-saml-acs-url (CBS_SAML_ACS_URL) is empty: want the portal's public https URL of the assertion consumer service, such as https://cbs.bank.example/saml/acs")
	}
	if u, err := url.Parse(acsURL); err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("-saml-acs-url (CBS_SAML_ACS_URL) %q: want an absolute https URL (the session cookie is Secure)", acsURL)
	}
	if entityID == "" {
		entityID = strings.TrimSuffix(acsURL, "/acs")
	}
	md, err := saml.NewRemoteMetadata(ctx, metadataURL, func(o *saml.MetadataOptions) { o.Audit = log.Handler() })
	if err != nil {
		return nil, fmt.Errorf("-saml-metadata-url (CBS_SAML_METADATA_URL): %w", err)
	}
	v, err := saml.NewValidator(md, entityID, acsURL, func(o *saml.Options) { o.Audit = log.Handler() })
	if err != nil {
		md.Close()
		return nil, err
	}
	sp, err := samlsp.New(v, func(o *samlsp.Options) {
		o.Policy = policy
		o.Logger = log
	})
	if err != nil {
		md.Close()
		return nil, err
	}
	return &portal{sp: sp, md: md}, nil
}

// page admits a signed-in user whose decision allows permission.
func (p *portal) page(permission string, h http.HandlerFunc) http.Handler {
	return p.sp.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pr, _ := middleware.FromContext(r.Context())
		if err := pr.Decision.Check(permission); err != nil {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		h(w, r)
	}))
}

func (p *portal) Close() { p.md.Close() }
