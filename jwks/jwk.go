package jwks

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/idbridge/idbridge/internal/reason"
)

// Key-size bounds. RSA below 2048 bits is factorable by well-funded
// attackers; above 8192 bits a key mostly makes verification slow.
const (
	minRSABits = 2048
	maxRSABits = 8192
)

// ErrUnsupportedKey is returned by [NewKey], and reported by [ParseJWKS] for
// each key it skips, when a key cannot verify signatures here: an unknown
// type, curve or algorithm, private material, a use other than sig.
var ErrUnsupportedKey = reason.New(reason.UnknownKey, "jwks: unsupported key")

// ErrWeakKey wraps [ErrUnsupportedKey] for keys that could verify
// signatures but must not: RSA keys under 2048 bits or with a bad exponent,
// and Ed25519 keys of small order or in a non-canonical encoding.
var ErrWeakKey = fmt.Errorf("%w: weak key", ErrUnsupportedKey)

// NewKey wraps a public key for use in a [StaticKeySet] or a custom
// [KeySet]. pub must be an *rsa.PublicKey of at least 2048 bits, an
// *ecdsa.PublicKey on P-256, P-384 or P-521, or an ed25519.PublicKey in
// canonical encoding and not of small order. alg may be "" to allow any
// algorithm of the key's type. Errors wrap [ErrUnsupportedKey], and
// [ErrWeakKey] for keys refused as weak.
func NewKey(kid, alg string, pub any) (*Key, error) {
	k := &Key{ID: kid, Algorithm: alg, Public: pub}
	if err := k.init(); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *Key) init() error {
	k.family = familyOf(k.Public)
	switch pk := k.Public.(type) {
	case *rsa.PublicKey:
		if pk == nil || pk.N == nil {
			return fmt.Errorf("%w: empty RSA key", ErrUnsupportedKey)
		}
		if n := pk.N.BitLen(); n < minRSABits {
			return fmt.Errorf("%w: RSA key of %d bits", ErrWeakKey, n)
		} else if n > maxRSABits {
			return fmt.Errorf("%w: RSA key of %d bits", ErrUnsupportedKey, n)
		}
		if pk.E < 3 || pk.E&1 == 0 {
			return fmt.Errorf("%w: RSA exponent", ErrWeakKey)
		}
	case *ecdsa.PublicKey:
		if pk == nil || pk.Curve == nil {
			return fmt.Errorf("%w: empty EC key", ErrUnsupportedKey)
		}
		switch pk.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return fmt.Errorf("%w: EC curve", ErrUnsupportedKey)
		}
	case ed25519.PublicKey:
		if len(pk) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: Ed25519 key size", ErrUnsupportedKey)
		}
		if detail := weakEd25519(pk); detail != "" {
			return fmt.Errorf("%w: Ed25519 key %s", ErrWeakKey, detail)
		}
	default:
		return fmt.Errorf("%w: key type %T", ErrUnsupportedKey, k.Public)
	}
	if k.Algorithm != "" {
		a := algorithms[k.Algorithm]
		if a == nil {
			return fmt.Errorf("%w: alg %q", ErrUnsupportedKey, k.Algorithm)
		}
		if a.family != k.family {
			return fmt.Errorf("%w: alg %s on a %s key", ErrUnsupportedKey, k.Algorithm, k.family)
		}
		if a.curve != nil && k.Public.(*ecdsa.PublicKey).Curve != a.curve {
			return fmt.Errorf("%w: alg %s on another curve", ErrUnsupportedKey, k.Algorithm)
		}
	}
	return nil
}

// sameAs reports whether two keys are the same published key, so a refresh
// keeps the old *Key (and the cache entries verified with it).
func (k *Key) sameAs(o *Key) bool {
	if k.ID != o.ID || k.Algorithm != o.Algorithm || k.Use != o.Use || k.Issuer != o.Issuer {
		return false
	}
	return samePublic(k.Public, o.Public)
}

// samePublic reports whether two public keys are equal; all the key types
// NewKey accepts have an Equal method.
func samePublic(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(x crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

// rawJWK holds the JWK members used here. x5c is only read when n/e are
// absent; its chain is not verified, because the key set itself is the
// trust anchor (fetched from the issuer over TLS).
type rawJWK struct {
	Kty    string   `json:"kty"`
	Use    string   `json:"use"`
	KeyOps []string `json:"key_ops"`
	Kid    string   `json:"kid"`
	Alg    string   `json:"alg"`
	Crv    string   `json:"crv"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	X      string   `json:"x"`
	Y      string   `json:"y"`
	D      string   `json:"d"`
	X5c    []string `json:"x5c"`
	Issuer string   `json:"issuer"`
}

// ParseJWKS parses a JWK Set document (RFC 7517). Keys that cannot be used
// to verify signatures — encryption keys, symmetric keys, unknown types or
// curves, RSA keys under 2048 bits, keys carrying private material — are
// skipped and reported in skipped, so one odd key never disables a whole
// set. It fails only if the document itself is not a JWK Set, with an
// error wrapping [ErrUnavailable].
func ParseJWKS(data []byte) (keys []*Key, skipped []error, err error) {
	keys, skipped, err = parseJWKS(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return keys, skipped, nil
}

// parseJWKS is ParseJWKS with an unclassed error, for the fetch path,
// which adds its own context.
func parseJWKS(data []byte) (keys []*Key, skipped []error, err error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("jwks: JWK Set is not valid JSON: %w", err)
	}
	if doc.Keys == nil {
		return nil, nil, errors.New("jwks: JWK Set has no keys member")
	}
	for i, raw := range doc.Keys {
		k, err := parseJWK(raw)
		if err != nil {
			skipped = append(skipped, fmt.Errorf("key %d: %w", i, err))
			continue
		}
		keys = append(keys, k)
	}
	return keys, skipped, nil
}

func parseJWK(raw []byte) (*Key, error) {
	var j rawJWK
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, shortJSONErr(err))
	}
	if j.D != "" {
		return nil, fmt.Errorf("%w: contains private key material", ErrUnsupportedKey)
	}
	if j.Use != "" && j.Use != "sig" {
		return nil, fmt.Errorf("%w: use %q", ErrUnsupportedKey, j.Use)
	}
	if j.KeyOps != nil && !slices.Contains(j.KeyOps, "verify") {
		return nil, fmt.Errorf("%w: key_ops without verify", ErrUnsupportedKey)
	}
	var pub crypto.PublicKey
	var err error
	switch j.Kty {
	case "RSA":
		pub, err = rsaJWK(&j)
	case "EC":
		pub, err = ecJWK(&j)
	case "OKP":
		pub, err = okpJWK(&j)
	default:
		err = fmt.Errorf("%w: kty %q", ErrUnsupportedKey, j.Kty)
	}
	if err != nil {
		return nil, err
	}
	k := &Key{ID: j.Kid, Algorithm: j.Alg, Use: j.Use, Issuer: j.Issuer, Public: pub}
	if err := k.init(); err != nil {
		return nil, err
	}
	return k, nil
}

// rsaJWK reads the public key of a kty RSA JWK: n and e, or else the first
// certificate of x5c.
func rsaJWK(j *rawJWK) (crypto.PublicKey, error) {
	if j.N == "" && j.E == "" && len(j.X5c) > 0 {
		pub, err := x5cKey(j.X5c[0])
		if err != nil {
			return nil, err
		}
		if _, ok := pub.(*rsa.PublicKey); !ok {
			return nil, fmt.Errorf("%w: kty RSA with a %T in x5c", ErrUnsupportedKey, pub)
		}
		return pub, nil
	}
	n, err1 := b64(j.N)
	e, err2 := b64(j.E)
	if err1 != nil || err2 != nil || len(n) == 0 || len(e) == 0 || len(e) > 4 {
		return nil, fmt.Errorf("%w: bad RSA n or e", ErrUnsupportedKey)
	}
	var eInt int
	for _, b := range e {
		eInt = eInt<<8 | int(b)
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: eInt}, nil
}

// ecJWK reads the public key of a kty EC JWK on P-256, P-384 or P-521.
func ecJWK(j *rawJWK) (crypto.PublicKey, error) {
	var curve elliptic.Curve
	var size int
	switch j.Crv {
	case "P-256":
		curve, size = elliptic.P256(), 32
	case "P-384":
		curve, size = elliptic.P384(), 48
	case "P-521":
		curve, size = elliptic.P521(), 66
	default:
		return nil, fmt.Errorf("%w: EC curve %q", ErrUnsupportedKey, j.Crv)
	}
	x, err1 := b64(j.X)
	y, err2 := b64(j.Y)
	if err1 != nil || err2 != nil || len(x) != size || len(y) != size {
		return nil, fmt.Errorf("%w: bad EC coordinates", ErrUnsupportedKey)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, append(append([]byte{4}, x...), y...))
	if err != nil {
		return nil, fmt.Errorf("%w: EC point not on curve", ErrUnsupportedKey)
	}
	return pub, nil
}

// okpJWK reads the public key of a kty OKP JWK; only Ed25519 is supported.
func okpJWK(j *rawJWK) (crypto.PublicKey, error) {
	if j.Crv != "Ed25519" {
		return nil, fmt.Errorf("%w: OKP curve %q", ErrUnsupportedKey, j.Crv)
	}
	x, err := b64(j.X)
	if err != nil || len(x) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: bad Ed25519 key", ErrUnsupportedKey)
	}
	return ed25519.PublicKey(x), nil
}

// b64 decodes base64url, tolerating the padding some IdPs add.
func b64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func x5cKey(der64 string) (any, error) {
	der, err := base64.StdEncoding.DecodeString(der64)
	if err != nil {
		return nil, fmt.Errorf("%w: bad x5c", ErrUnsupportedKey)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: bad x5c certificate", ErrUnsupportedKey)
	}
	return cert.PublicKey, nil
}

// shortJSONErr keeps a JSON error message short and free of input bytes.
func shortJSONErr(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "member " + te.Field + " has the wrong type"
	}
	return "invalid JSON"
}

// smallOrderY are the y-coordinates (little-endian, sign bit clear) of the
// eight points of small order on edwards25519: 1 (the identity), p-1
// (order 2), 0 (the two points of order 4) and the two y values of the four
// points of order 8. With a public key A among them, [k]A takes at most
// eight values whatever the message, so a fixed signature (R = -[k]A, S = 0)
// verifies a large share of all messages — for the identity, every one.
// crypto/ed25519 follows RFC 8032, which does not refuse such keys.
var smallOrderY = [...][32]byte{
	{0x01},
	{0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
	{},
	{0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
		0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
	{0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
		0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
}

// weakEd25519 returns why an Ed25519 public key must be refused, or "". A
// y-coordinate of p = 2^255-19 or more is a non-canonical encoding (of y-p,
// which includes the small-order y values 0 and 1); refusing them all
// leaves one spelling per key. The sign bit does not change a point's
// order, so it is ignored.
func weakEd25519(pub []byte) string {
	var y [32]byte
	copy(y[:], pub)
	y[31] &= 0x7f
	canonical := false // y < p: some byte below p's, all higher ones equal
	for i := 31; i >= 0; i-- {
		p := byte(0xff)
		switch i {
		case 31:
			p = 0x7f
		case 0:
			p = 0xed
		}
		if y[i] != p {
			canonical = y[i] < p
			break
		}
	}
	if !canonical {
		return "is not canonically encoded"
	}
	for _, s := range smallOrderY {
		if y == s {
			return "is of small order"
		}
	}
	return ""
}
