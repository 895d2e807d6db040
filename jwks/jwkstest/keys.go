package jwkstest

// This file holds the signing keys and the JWKS they are published in.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

type signingKey struct {
	kid    string
	alg    string
	signer crypto.Signer
	method jwt.SigningMethod
	cert   []byte // self-signed certificate for x5c (RSA only)
}

// KeyID returns the kid of the current signing key.
func (s *Server) KeyID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current.kid
}

// Algorithm returns the alg of the current signing key.
func (s *Server) Algorithm() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current.alg
}

// Rotate creates a new signing key of the server's algorithm and signs
// with it from now on. A soft rotation keeps publishing the old keys (tokens
// they signed stay valid); a hard one publishes only the new key. It
// returns the new kid.
func (s *Server) Rotate(hard bool) string {
	return s.AddKey(s.o.Algorithm, hard)
}

// AddKey is Rotate with a chosen algorithm, for servers that sign with
// several key types.
func (s *Server) AddKey(alg string, hard bool) string {
	k := s.newKey(alg)
	s.mu.Lock()
	defer s.mu.Unlock()
	if hard {
		s.keys = nil
	}
	s.keys = append(s.keys, k)
	s.current = k
	return k.kid
}

// UseKey makes the published key kid the signing key, for servers with
// several keys (see AddKey). It panics if kid is not published.
func (s *Server) UseKey(kid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.keys {
		if k.kid == kid {
			s.current = k
			return
		}
	}
	panic("jwkstest: no published key " + kid)
}

// PublicKey returns the current public key, for building static key sets.
func (s *Server) PublicKey() crypto.PublicKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current.signer.Public()
}

// JWKS returns the JWK Set document the server publishes.
func (s *Server) JWKS() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.jwksLocked()
}

func (s *Server) newKey(alg string) *signingKey {
	k := &signingKey{alg: alg, method: jwt.GetSigningMethod(alg)}
	if k.method == nil {
		panic("jwkstest: unsupported algorithm " + alg)
	}
	var err error
	switch {
	case strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS"):
		k.signer, err = rsa.GenerateKey(rand.Reader, 2048)
	case alg == "ES256":
		k.signer, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case alg == "ES384":
		k.signer, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case alg == "ES512":
		k.signer, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case alg == "EdDSA":
		_, k.signer, err = ed25519.GenerateKey(rand.Reader)
	default:
		panic("jwkstest: unsupported algorithm " + alg)
	}
	if err != nil {
		panic("jwkstest: key generation: " + err.Error())
	}
	id := make([]byte, 15)
	_, _ = rand.Read(id)
	k.kid = base64.RawURLEncoding.EncodeToString(id)
	if _, ok := k.signer.(*rsa.PrivateKey); ok && s.o.Entra {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1),
			Subject:      pkix.Name{CommonName: "accounts.accesscontrol.windows.net"},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(5 * 365 * 24 * time.Hour),
		}
		if k.cert, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.signer.Public(), k.signer); err != nil {
			panic("jwkstest: certificate: " + err.Error())
		}
		sum := sha1.Sum(k.cert)
		k.kid = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return k
}

func (s *Server) jwksLocked() []byte {
	type jwk struct {
		Kty    string   `json:"kty"`
		Use    string   `json:"use"`
		Kid    string   `json:"kid"`
		X5t    string   `json:"x5t,omitempty"`
		Alg    string   `json:"alg,omitempty"`
		N      string   `json:"n,omitempty"`
		E      string   `json:"e,omitempty"`
		Crv    string   `json:"crv,omitempty"`
		X      string   `json:"x,omitempty"`
		Y      string   `json:"y,omitempty"`
		X5c    []string `json:"x5c,omitempty"`
		Issuer string   `json:"issuer,omitempty"`
	}
	b64 := base64.RawURLEncoding.EncodeToString
	out := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	for _, k := range s.keys {
		j := jwk{Use: "sig", Kid: k.kid}
		if !s.o.OmitAlg {
			j.Alg = k.alg
		}
		switch pub := k.signer.Public().(type) {
		case *rsa.PublicKey:
			j.Kty, j.N, j.E = "RSA", b64(pub.N.Bytes()), b64(big.NewInt(int64(pub.E)).Bytes())
		case *ecdsa.PublicKey:
			size := (pub.Curve.Params().BitSize + 7) / 8
			point, err := pub.Bytes() // 0x04 || X || Y
			if err != nil {
				panic("jwkstest: EC key: " + err.Error())
			}
			j.Kty, j.Crv = "EC", pub.Curve.Params().Name
			j.X, j.Y = b64(point[1:1+size]), b64(point[1+size:])
		case ed25519.PublicKey:
			j.Kty, j.Crv, j.X = "OKP", "Ed25519", b64(pub)
		}
		if k.cert != nil {
			sum := sha1.Sum(k.cert)
			j.X5t = b64(sum[:])
			j.X5c = []string{base64.StdEncoding.EncodeToString(k.cert)}
		}
		if s.o.Entra {
			j.Issuer = s.URL + "/{tenantid}/v2.0"
		}
		out.Keys = append(out.Keys, j)
	}
	return mustJSON(out)
}
