package jwkstest

// This file answers discovery and JWKS requests.

import (
	"net/http"
	"strings"
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	kind := ""
	switch {
	case strings.HasSuffix(p, "/.well-known/openid-configuration"):
		kind = "discovery"
	case p == "/keys" || strings.HasSuffix(p, "/discovery/v2.0/keys") || strings.HasSuffix(p, "/discovery/keys"):
		kind = "jwks"
	case p == "/token" || strings.HasSuffix(p, "/oauth2/v2.0/token"):
		kind = "token"
	default:
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	s.requests[kind]++
	status, hook := s.status, s.hook
	s.mu.Unlock()
	if hook != nil {
		hook(kind)
	}
	if status != 0 {
		http.Error(w, http.StatusText(status), status)
		return
	}
	if kind == "token" {
		s.tokenEndpoint(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if kind == "jwks" {
		s.mu.Lock()
		body := s.jwksLocked()
		s.mu.Unlock()
		w.Header().Set("Cache-Control", s.o.CacheControl)
		_, _ = w.Write(body)
		return
	}
	_, _ = w.Write(mustJSON(s.discovery(p)))
}

func (s *Server) discovery(p string) map[string]any {
	base := strings.TrimSuffix(p, "/.well-known/openid-configuration")
	iss, jwksURI, tokenURL := s.Issuer(), s.JWKSURL(), s.URL+"/token"
	if s.o.Entra && base != "" {
		// /{tenant}/v2.0/.well-known/openid-configuration, as Entra serves it.
		tenant := strings.TrimSuffix(strings.TrimPrefix(base, "/"), "/v2.0")
		iss = s.URL + "/" + tenant + "/v2.0"
		if tenant == "organizations" || tenant == "common" {
			iss = s.URL + "/{tenantid}/v2.0"
		}
		jwksURI = s.URL + "/" + tenant + "/discovery/v2.0/keys"
		tokenURL = s.URL + "/" + tenant + "/oauth2/v2.0/token"
	}
	s.mu.Lock()
	algs := []string{}
	for _, k := range s.keys {
		algs = append(algs, k.alg)
	}
	s.mu.Unlock()
	// Only what the server serves: no authorization endpoint (sign-in
	// flows need a real provider, such as integration/idp), so no
	// response types either.
	return map[string]any{
		"issuer":                                iss,
		"jwks_uri":                              jwksURI,
		"token_endpoint":                        tokenURL,
		"grant_types_supported":                 []string{"client_credentials", "refresh_token"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": algs,
	}
}
