package saml

import (
	"crypto/rsa"
	"crypto/x509"

	"github.com/beevik/etree"
	"github.com/crewjam/saml/xmlenc"
)

// DecryptionKey is a key of the service provider that the IdP encrypts
// assertions to (Entra's "SAML token encryption" certificate).
type DecryptionKey struct {
	// Key decrypts; an RSA key of at least 2048 bits.
	Key *rsa.PrivateKey
	// Certificate is Key's certificate, the one uploaded to Entra. The
	// first key's certificate is published in the SP metadata as the
	// encryption key; optional for the others. When set it must hold
	// Key's public key.
	Certificate *x509.Certificate
}

// MaxDecryptionKeys bounds Options.DecryptionKeys: each key costs an RSA
// operation on an assertion none of the others decrypts.
const MaxDecryptionKeys = 4

// XML Encryption namespaces.
const (
	nsXEnc   = "http://www.w3.org/2001/04/xmlenc#"
	nsXEnc11 = "http://www.w3.org/2009/xmlenc11#"
)

// The algorithms accepted, whatever else crewjam/saml's xmlenc registry
// holds: RSA-OAEP key transport (never rsa-1_5, which Bleichenbacher's
// attack breaks), and AES-256-CBC (Entra's) or AES-GCM for the content
// (never 3DES). The OAEP digest and MGF may be SHA-1: OAEP does not rely on
// collision resistance. A SHA-2 digest must come with its MGF stated
// (xmlenc11#rsa-oaep; see seal).
var (
	contentAlgorithms = map[string]bool{
		nsXEnc + "aes256-cbc":   true,
		nsXEnc11 + "aes128-gcm": true,
		nsXEnc11 + "aes256-gcm": true,
	}
	keyTransports = map[string]bool{
		nsXEnc + "rsa-oaep-mgf1p": true,
		nsXEnc11 + "rsa-oaep":     true,
	}
	oaepDigests = map[string]bool{
		nsDSig + "sha1":   true,
		nsXEnc + "sha256": true,
		"http://www.w3.org/2001/04/xmldsig-more#sha384": true,
		nsXEnc + "sha512": true,
	}
	oaepMGFs = map[string]bool{
		nsXEnc11 + "mgf1sha1":   true,
		nsXEnc11 + "mgf1sha256": true,
		nsXEnc11 + "mgf1sha384": true,
		nsXEnc11 + "mgf1sha512": true,
	}
)

// errUndecryptable is every failure to open an encrypted assertion: a
// bad key, OAEP or padding, a GCM tag, an algorithm not accepted, a
// plaintext that is not one well-formed assertion passing the scan, or one
// without the signature Options.Signed requires, or one whose signature (or
// that of the response carrying it) does not verify. One value, one message:
// which of these happened is what padding and format oracles on XML
// Encryption (Jager and Somorovsky, 2011) need to learn.
var errUndecryptable = fail(ErrDecryption, "no configured key opens it with an accepted algorithm, or it does not hold one well-formed, signed assertion")

// checkDecryptionKeys validates Options.DecryptionKeys.
func checkDecryptionKeys(keys []DecryptionKey) error {
	if len(keys) > MaxDecryptionKeys {
		return badOptions("%d decryption keys; at most %d", len(keys), MaxDecryptionKeys)
	}
	for i, k := range keys {
		if k.Key == nil {
			return badOptions("decryption key %d is nil", i)
		}
		if k.Key.N == nil || k.Key.N.BitLen() < 2048 {
			return badOptions("decryption key %d is shorter than 2048 bits", i)
		}
		if k.Key.Validate() != nil {
			return badOptions("decryption key %d is not a valid RSA key", i)
		}
		if c := k.Certificate; c != nil {
			if pub, ok := c.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&k.Key.PublicKey) {
				return badOptions("decryption key %d does not match its certificate", i)
			}
		}
	}
	return nil
}

// sealed is the EncryptedAssertion of a response, its structure and
// algorithms checked and no key used yet.
type sealed struct {
	doc       *etree.Document
	ea        *etree.Element
	data, key *etree.Element // the EncryptedData and its one EncryptedKey
}

// open decrypts s and scans the plaintext as an assertion in the
// response's place, the response having elements elements. It returns
// the plaintext's shape and the key that opened it; every failure is
// errUndecryptable.
func (v *Validator) open(s *sealed, elements int) (shape, *rsa.PrivateKey, error) {
	pt, key := v.decrypt(s)
	if pt == nil {
		return shape{}, nil, errUndecryptable
	}
	sh, err := scanPlaintext(pt, elements)
	if err != nil {
		return shape{}, nil, errUndecryptable
	}
	return sh, key, nil
}

// seal finds the EncryptedAssertion of doc, a response scan has passed,
// and checks it without a key, or returns nil. The algorithms are checked
// against the lists above before xmlenc reads them, on the very elements
// xmlenc and crewjam/saml use (the first child of each name, whatever its
// namespace), so each is required to be the only one of its name.
func seal(doc []byte) *sealed {
	d := etree.NewDocument()
	if d.ReadFromBytes(doc) != nil || d.Root() == nil {
		return nil
	}
	ea := only(d.Root(), "EncryptedAssertion", nsAssertion)
	if ea == nil {
		return nil
	}
	data := only(ea, "EncryptedData", nsXEnc)
	if data == nil || !accepted(data, contentAlgorithms) {
		return nil
	}
	if t := data.SelectAttr("Type"); t != nil && t.Value != nsXEnc+"Element" {
		return nil
	}
	// Exactly one EncryptedKey, beside the EncryptedData or in its KeyInfo
	// (crewjam/saml tries both places).
	keys := ea.SelectElements("EncryptedKey")
	if ki := data.SelectElements("KeyInfo"); len(ki) > 1 {
		return nil
	} else if len(ki) == 1 {
		keys = append(keys, ki[0].SelectElements("EncryptedKey")...)
	}
	if len(keys) != 1 || keys[0].NamespaceURI() != nsXEnc || !accepted(keys[0], keyTransports) {
		return nil
	}
	m := only(keys[0], "EncryptionMethod", nsXEnc)
	dm, mgf := m.SelectElements("DigestMethod"), m.SelectElements("MGF")
	if len(dm) > 1 || len(dm) == 1 && !oaepDigests[dm[0].SelectAttrValue("Algorithm", "")] {
		return nil
	}
	if len(mgf) > 1 || len(mgf) == 1 && !oaepMGFs[mgf[0].SelectAttrValue("Algorithm", "")] {
		return nil
	}
	// Without an MGF, xmlenc unwraps with MGF1-SHA-1 (what both specs
	// mean) and, if that fails, again with MGF1 of the digest's hash: an
	// algorithm no spec names, and a second RSA operation per key for a
	// forged key. So a digest other than SHA-1 needs its MGF stated.
	if len(mgf) == 0 && len(dm) == 1 && dm[0].SelectAttrValue("Algorithm", "") != nsDSig+"sha1" {
		return nil
	}
	if len(m.SelectElements("OAEPparams")) > 0 {
		return nil
	}
	return &sealed{doc: d, ea: ea, data: data, key: keys[0]}
}

// withoutAssertion returns the response of s without its
// EncryptedAssertion, or nil.
func (s *sealed) withoutAssertion() []byte {
	d := s.doc.Copy()
	d.Root().RemoveChildAt(s.ea.Index())
	b, err := d.WriteToBytes()
	if err != nil {
		return nil
	}
	return b
}

// decrypt returns the plaintext of s and the key that opened it, or nil.
// crewjam/saml decrypts the same element again, with that key only, when
// it checks the signatures.
func (v *Validator) decrypt(s *sealed) ([]byte, *rsa.PrivateKey) {
	// The content is decrypted with the transported key, from a copy
	// without the EncryptedKey (the block ciphers would unwrap it again).
	data := s.data.Copy()
	if ki := data.SelectElement("KeyInfo"); ki != nil {
		for _, ek := range ki.SelectElements("EncryptedKey") {
			ki.RemoveChild(ek)
		}
	}
	for _, k := range v.o.DecryptionKeys {
		cek, err := xmlenc.Decrypt(k.Key, s.key)
		if err != nil {
			continue
		}
		if pt, err := xmlenc.Decrypt(cek, data); err == nil {
			return pt, k.Key
		}
	}
	return nil, nil
}

// only returns el's one child named local, if it is in namespace ns and
// no other child has that name.
func only(el *etree.Element, local, ns string) *etree.Element {
	cs := el.SelectElements(local)
	if len(cs) != 1 || cs[0].NamespaceURI() != ns {
		return nil
	}
	return cs[0]
}

// accepted reports whether el's one EncryptionMethod names an algorithm
// of allowed.
func accepted(el *etree.Element, allowed map[string]bool) bool {
	m := only(el, "EncryptionMethod", nsXEnc)
	return m != nil && allowed[m.SelectAttrValue("Algorithm", "")]
}
