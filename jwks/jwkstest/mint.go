package jwkstest

// This file mints and signs tokens.

import (
	"encoding/base64"
	"encoding/json"
)

// Mint signs claims with the current key. Unless given, iss is Issuer(),
// iat is now and exp is now plus TokenLifetime. A claim set to nil is left
// out (use it to drop a default such as exp). It mints an access token: when
// claims name none of scp, scope, roles and idtyp, nor an ID token's nonce,
// at_hash or c_hash, scp is "access_as_user" (a validator refuses a token
// with no permission claim as an ID token).
func (s *Server) Mint(claims map[string]any) string {
	return s.MintWithHeader(nil, claims)
}

// MintWithHeader is Mint with extra header parameters merged over the
// defaults alg, kid and typ "JWT"; a parameter set to nil is left out.
func (s *Server) MintWithHeader(header, claims map[string]any) string {
	s.mu.Lock()
	k := s.current
	s.mu.Unlock()
	now := s.o.Now()
	c := map[string]any{
		"iss": s.Issuer(),
		"iat": now.Unix(),
		"exp": now.Add(s.o.TokenLifetime).Unix(),
	}
	if !hasAny(claims, "scp", "scope", "roles", "idtyp", "nonce", "at_hash", "c_hash") {
		c["scp"] = "access_as_user"
	}
	merge(c, claims)
	h := map[string]any{"alg": k.alg, "kid": k.kid, "typ": "JWT"}
	merge(h, header)
	return s.signWith(k, mustJSON(h), mustJSON(c))
}

// hasAny reports whether m has one of the keys, even with a nil value.
func hasAny(m map[string]any, keys ...string) bool {
	for _, k := range keys {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

// SignRaw signs the exact header and payload bytes with the current key
// and returns the compact JWS; for tests of malformed or tricky tokens.
func (s *Server) SignRaw(header, payload []byte) string {
	s.mu.Lock()
	k := s.current
	s.mu.Unlock()
	return s.signWith(k, header, payload)
}

// Sign signs the signing input (base64url header "." base64url payload)
// with the current key and returns the base64url signature.
func (s *Server) Sign(signingInput string) string {
	s.mu.Lock()
	k := s.current
	s.mu.Unlock()
	sig, err := k.method.Sign(signingInput, k.signer)
	if err != nil {
		panic("jwkstest: sign: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(sig)
}

func (s *Server) signWith(k *signingKey, header, payload []byte) string {
	in := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig, err := k.method.Sign(in, k.signer)
	if err != nil {
		panic("jwkstest: sign: " + err.Error())
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func merge(dst, src map[string]any) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
		} else {
			dst[k] = v
		}
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("jwkstest: " + err.Error())
	}
	return b
}
