package token

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t is defined as a SHA-1 thumbprint (RFC 7515 section 4.1.7)
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/idbridge/idbridge/internal/option"
)

// Algorithms and thumbprint headers for [PrivateKeyJWT].
const (
	RS256 = "RS256"
	PS256 = "PS256"

	// ThumbprintS256 puts the certificate's SHA-256 thumbprint in the
	// x5t#S256 header, as current Entra guidance asks.
	ThumbprintS256 = "x5t#S256"
	// ThumbprintSHA1 puts the SHA-1 thumbprint in the x5t header, for
	// IdPs (and older Entra setups) that only know that one.
	ThumbprintSHA1 = "x5t"
)

// JWTOptions tunes the assertions [PrivateKeyJWT] signs.
type JWTOptions struct {
	// Certificate is the certificate registered for the client; its
	// thumbprint goes in the header so that the IdP can find the key.
	Certificate *x509.Certificate
	// Algorithm is RS256 (default) or PS256 (what Entra recommends).
	Algorithm string
	// Thumbprint is ThumbprintS256 (default when Certificate is set),
	// ThumbprintSHA1, or "" for none.
	Thumbprint string
	// KeyID is put in the kid header, for IdPs that find client keys by
	// key ID (ZITADEL, Keycloak).
	KeyID string
	// Audience is the assertion's aud. Default: the token endpoint URL,
	// which Entra requires; some IdPs (ZITADEL) want their issuer.
	Audience string
	// Lifetime is how long an assertion is valid. Default 5 minutes,
	// clamped to [30s, 10m]: it only has to survive one request.
	Lifetime time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

type jwtAuth struct {
	key    crypto.Signer
	o      JWTOptions
	header string // encoded protected header; constant per key
}

// PrivateKeyJWT authenticates with a JWT signed by the client's private
// key (private_key_jwt, RFC 7523 section 2.2). Each token request gets a
// fresh assertion: a new jti, iat and nbf now, exp a few minutes ahead.
// key must hold an RSA key; it may be an HSM- or KMS-backed signer.
func PrivateKeyJWT(key crypto.Signer, optFns ...func(*JWTOptions)) (ClientAuth, error) {
	o := option.New(optFns)
	if key == nil {
		return nil, fmt.Errorf("%w: nil private key", errInvalidOptions)
	}
	pub, ok := key.Public().(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: private_key_jwt needs an RSA key, got %T", errInvalidOptions, key.Public())
	}
	if pub.N.BitLen() < 2048 {
		return nil, fmt.Errorf("%w: RSA key of %d bits is too short", errInvalidOptions, pub.N.BitLen())
	}
	if o.Algorithm == "" {
		o.Algorithm = RS256
	}
	if o.Algorithm != RS256 && o.Algorithm != PS256 {
		return nil, fmt.Errorf("%w: unsupported algorithm %q", errInvalidOptions, o.Algorithm)
	}
	if o.Lifetime == 0 {
		o.Lifetime = 5 * time.Minute
	}
	o.Lifetime = min(max(o.Lifetime, 30*time.Second), 10*time.Minute)
	if o.Now == nil {
		o.Now = time.Now
	}
	hdr := map[string]string{"alg": o.Algorithm, "typ": "JWT"}
	if o.KeyID != "" {
		hdr["kid"] = o.KeyID
	}
	if o.Certificate != nil {
		cp, ok := o.Certificate.PublicKey.(*rsa.PublicKey)
		if !ok || !cp.Equal(pub) {
			return nil, fmt.Errorf("%w: certificate does not match the private key", errInvalidOptions)
		}
		if o.Thumbprint == "" {
			o.Thumbprint = ThumbprintS256
		}
	}
	switch o.Thumbprint {
	case "":
	case ThumbprintS256, ThumbprintSHA1:
		if o.Certificate == nil {
			return nil, fmt.Errorf("%w: %s needs a certificate", errInvalidOptions, o.Thumbprint)
		}
		hdr[o.Thumbprint] = thumbprint(o.Certificate, o.Thumbprint)
	default:
		return nil, fmt.Errorf("%w: unknown thumbprint header %q", errInvalidOptions, o.Thumbprint)
	}
	h, err := json.Marshal(hdr)
	if err != nil {
		return nil, fmt.Errorf("%w: encoding header: %w", errInvalidOptions, err)
	}
	return &jwtAuth{key: key, o: o, header: base64.RawURLEncoding.EncodeToString(h)}, nil
}

// Format prints the algorithm and thumbprint header, never the key.
func (a *jwtAuth) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "token.PrivateKeyJWT(%s", a.o.Algorithm)
	if a.o.Thumbprint != "" {
		fmt.Fprintf(f, ", %s", a.o.Thumbprint)
	}
	fmt.Fprint(f, ")")
}

func thumbprint(cert *x509.Certificate, kind string) string {
	if kind == ThumbprintSHA1 {
		sum := sha1.Sum(cert.Raw) //nolint:gosec // thumbprint, not a signature
		return base64.RawURLEncoding.EncodeToString(sum[:])
	}
	sum := sha256.Sum256(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (a *jwtAuth) authenticate(ctx context.Context, c *Client, form url.Values, _ http.Header) ([]string, error) {
	// An HSM- or KMS-backed Signer takes no context; do not wait for it
	// past ctx.
	assertion, err := await(ctx, func() (string, error) { return a.sign(c.ID, c.TokenURL) })
	if err != nil {
		return nil, err
	}
	return assertionAuth{fn: func(context.Context) (string, error) { return assertion, nil }}.authenticate(ctx, c, form, nil)
}

// sign makes one assertion for clientID at tokenURL.
func (a *jwtAuth) sign(clientID, tokenURL string) (string, error) {
	now := a.o.Now()
	aud := a.o.Audience
	if aud == "" {
		aud = tokenURL
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", unavailable("random", err)
	}
	claims, err := json.Marshal(map[string]any{
		"iss": clientID,
		"sub": clientID,
		"aud": aud,
		"jti": hex.EncodeToString(jti[:]),
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(a.o.Lifetime).Unix(),
	})
	if err != nil {
		return "", fmt.Errorf("%w: encoding claims: %w", errInvalidOptions, err)
	}
	signing := a.header + "." + base64.RawURLEncoding.EncodeToString(claims)
	digest := sha256.Sum256([]byte(signing))
	var opts crypto.SignerOpts = crypto.SHA256
	if a.o.Algorithm == PS256 {
		opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
	}
	sig, err := a.key.Sign(rand.Reader, digest[:], opts)
	if err != nil {
		return "", unavailable("signing client assertion", err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// ParsePEM reads a private key and its certificate chain from PEM data, as
// found in the file AZURE_CLIENT_CERTIFICATE_PATH names. The key may be
// PKCS #8 or PKCS #1; the first certificate whose public key matches it is
// returned first.
func ParsePEM(data []byte) (crypto.Signer, []*x509.Certificate, error) {
	var key crypto.Signer
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		switch b.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, nil, fmt.Errorf("%w: parsing certificate: %w", errInvalidOptions, err)
			}
			certs = append(certs, c)
		case "PRIVATE KEY", "RSA PRIVATE KEY":
			if key != nil {
				return nil, nil, fmt.Errorf("%w: more than one private key in PEM data", errInvalidOptions)
			}
			k, err := parseKey(b)
			if err != nil {
				return nil, nil, err
			}
			key = k
		case "ENCRYPTED PRIVATE KEY":
			return nil, nil, fmt.Errorf("%w: encrypted private keys are not supported", errInvalidOptions)
		}
	}
	if key == nil {
		return nil, nil, fmt.Errorf("%w: no private key in PEM data", errInvalidOptions)
	}
	for i, c := range certs {
		if pk, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); ok && pk.Equal(key.Public()) {
			certs[0], certs[i] = certs[i], certs[0]
			return key, certs, nil
		}
	}
	if len(certs) > 0 {
		return nil, nil, fmt.Errorf("%w: no certificate matches the private key", errInvalidOptions)
	}
	return key, nil, nil
}

// ParsePKCS12 reads a private key and its certificate chain from PKCS #12
// data (a .pfx or .p12 file), the form Windows, Azure Key Vault and the
// Azure SDKs use for client certificates. Both the modern encryption
// (PBES2 with AES, as OpenSSL 3 and current Windows write it) and the
// legacy one (3DES, RC2) are read. The leaf certificate, which must match
// the key, is returned first.
func ParsePKCS12(data []byte, password Secret) (crypto.Signer, []*x509.Certificate, error) {
	k, leaf, chain, err := pkcs12.DecodeChain(data, password.Reveal())
	if err != nil {
		return nil, nil, fmt.Errorf("%w: reading PKCS #12 data: %w", errInvalidOptions, err)
	}
	key, ok := k.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("%w: %T cannot sign", errInvalidOptions, k)
	}
	if pk, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !pk.Equal(key.Public()) {
		return nil, nil, fmt.Errorf("%w: the PKCS #12 certificate does not match its private key", errInvalidOptions)
	}
	return key, append([]*x509.Certificate{leaf}, chain...), nil
}

// parseCertificateFile reads PEM, or else PKCS #12, as the Azure SDKs do
// for AZURE_CLIENT_CERTIFICATE_PATH.
func parseCertificateFile(data []byte, password Secret) (crypto.Signer, []*x509.Certificate, error) {
	if bytes.Contains(data, []byte("-----BEGIN ")) {
		return ParsePEM(data)
	}
	return ParsePKCS12(data, password)
}

func parseKey(b *pem.Block) (crypto.Signer, error) {
	if b.Type == "RSA PRIVATE KEY" {
		k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: parsing PKCS #1 key: %w", errInvalidOptions, err)
		}
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: parsing PKCS #8 key: %w", errInvalidOptions, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: %T cannot sign", errInvalidOptions, k)
	}
	return s, nil
}
