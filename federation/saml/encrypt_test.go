package saml_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"

	"github.com/beevik/etree"
	"github.com/crewjam/saml/xmlenc"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/federation/saml"
	"github.com/idbridge/idbridge/federation/saml/samltest"
	"github.com/idbridge/idbridge/internal/reason"
)

var (
	spKeysOnce      sync.Once
	spKey, spOld    *samltest.IdP // the SP's encryption keys: current and previous
	spNotConfigured *samltest.IdP
)

// spKeys returns the SP's current and previous encryption key pairs and
// one the SP does not hold (samltest.IdP is a key and its certificate).
func spKeys(t testing.TB) (cur, old, other *samltest.IdP) {
	t.Helper()
	spKeysOnce.Do(func() {
		spKey, spOld, spNotConfigured = samltest.New("sp"), samltest.New("sp-old"), samltest.New("sp-other")
	})
	return spKey, spOld, spNotConfigured
}

func decryptWith(keys ...*samltest.IdP) func(*saml.Options) {
	return func(o *saml.Options) {
		for _, k := range keys {
			o.DecryptionKeys = append(o.DecryptionKeys, saml.DecryptionKey{Key: k.Key, Certificate: k.Cert})
		}
	}
}

// encrypted mints amit's response encrypted to to with the given
// algorithms ("" for Entra's).
func encrypted(t testing.TB, to *samltest.IdP, keyTransport, content string, edit func(*samltest.Request)) []byte {
	t.Helper()
	idp, _ := testIdP(t)
	r := request()
	r.EncryptTo, r.KeyTransport, r.Content = to.Cert, keyTransport, content
	if edit != nil {
		edit(&r)
	}
	return idp.Response(amit, r)
}

// withPlaintext returns a response whose EncryptedAssertion holds pt
// (Entra's algorithms), to.
func withPlaintext(t *testing.T, to *samltest.IdP, pt []byte) []byte {
	d := doc(t, encrypted(t, to, "", "", nil))
	root := d.Root()
	ea := root.SelectElement("EncryptedAssertion")
	root.InsertChildAt(ea.Index(), samltest.EncryptBytes(pt, to.Cert, "", ""))
	root.RemoveChild(ea)
	return bytesOf(t, d)
}

// cipherValue edits the base64 CipherValue of the EncryptedData (key
// false) or of the EncryptedKey (key true).
func cipherValue(t *testing.T, xml []byte, key bool, edit func([]byte)) []byte {
	d := doc(t, xml)
	path := "./EncryptedAssertion/EncryptedData/CipherData/CipherValue"
	if key {
		path = "./EncryptedAssertion/EncryptedData/KeyInfo/EncryptedKey/CipherData/CipherValue"
	}
	cv := d.Root().FindElement(path)
	if cv == nil {
		t.Fatal("no CipherValue")
	}
	b, err := base64.StdEncoding.DecodeString(cv.Text())
	if err != nil {
		t.Fatal(err)
	}
	edit(b)
	cv.SetText(base64.StdEncoding.EncodeToString(b))
	return bytesOf(t, d)
}

// keyInfo replaces the content of the EncryptedKey's KeyInfo with inner.
func keyInfo(t *testing.T, xml []byte, inner string) []byte {
	d := doc(t, xml)
	ki := d.Root().FindElement("./EncryptedAssertion/EncryptedData/KeyInfo/EncryptedKey/KeyInfo")
	if ki == nil {
		t.Fatal("no KeyInfo in the EncryptedKey")
	}
	for _, c := range ki.ChildElements() {
		ki.RemoveChild(c)
	}
	frag := etree.NewDocument()
	if err := frag.ReadFromString(`<x xmlns:ds="http://www.w3.org/2000/09/xmldsig#">` + inner + `</x>`); err != nil {
		t.Fatal(err)
	}
	for _, c := range frag.Root().ChildElements() {
		ki.AddChild(c)
	}
	return bytesOf(t, d)
}

// signedPlaintext returns amit's signed assertion as bytes, edited.
func signedPlaintext(t *testing.T, edit func(string) string) []byte {
	idp, _ := testIdP(t)
	d := doc(t, idp.Response(amit, request()))
	a := etree.NewDocument()
	a.SetRoot(d.Root().SelectElement("Assertion").Copy())
	b, err := a.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	return []byte(edit(b))
}

func TestEncryptedAssertions(t *testing.T) {
	// What an application may have registered with crewjam/saml's xmlenc
	// is still refused: the validator checks its own list first.
	xmlenc.RegisterDecrypter(xmlenc.PKCS1v15())
	xmlenc.RegisterDecrypter(xmlenc.TripleDES)
	cur, old, other := spKeys(t)
	idp, _ := testIdP(t)
	signed := func(o *saml.Options) { o.Signed = saml.SignedBoth }
	cases := []struct {
		name string
		xml  func() []byte
		opts []func(*saml.Options)
		want error // nil: accepted
	}{
		{name: "Entra: signed assertion, aes256-cbc, rsa-oaep-mgf1p", xml: func() []byte { return encrypted(t, cur, "", "", nil) }},
		{name: "aes256-gcm, xmlenc11 rsa-oaep", xml: func() []byte { return encrypted(t, cur, samltest.AlgRSAOAEP, samltest.AlgAES256GCM, nil) }},
		{name: "aes128-gcm", xml: func() []byte { return encrypted(t, cur, "", samltest.AlgAES128GCM, nil) }},
		{name: "response signed over the EncryptedAssertion too", opts: []func(*saml.Options){signed},
			xml: func() []byte { return encrypted(t, cur, "", "", func(r *samltest.Request) { r.SignResponse = true }) }},
		{name: "response signed, assertion not, SignedResponse", opts: []func(*saml.Options){func(o *saml.Options) { o.Signed = saml.SignedResponse }},
			xml: func() []byte { return encrypted(t, cur, "", "", func(r *samltest.Request) { r.ResponseOnly = true }) }},
		{name: "signed plaintext re-encrypted unchanged (control for the plaintext cases)", xml: func() []byte {
			return withPlaintext(t, cur, signedPlaintext(t, func(s string) string { return s }))
		}},
		{name: "EncryptedKey beside the EncryptedData", xml: func() []byte {
			d := doc(t, encrypted(t, cur, "", "", nil))
			ea := d.Root().SelectElement("EncryptedAssertion")
			ki := ea.FindElement("./EncryptedData/KeyInfo")
			ek := ki.SelectElement("EncryptedKey")
			ki.RemoveChild(ek)
			ea.AddChild(ek)
			return bytesOf(t, d)
		}},
		{name: "EncryptedKey naming the certificate by issuer and serial", xml: func() []byte {
			return keyInfo(t, encrypted(t, cur, "", "", nil),
				`<ds:X509Data><ds:X509IssuerSerial><ds:X509IssuerName>CN=sp</ds:X509IssuerName><ds:X509SerialNumber>1</ds:X509SerialNumber></ds:X509IssuerSerial></ds:X509Data>`)
		}},
		{name: "rollover: encrypted to the previous key", opts: []func(*saml.Options){decryptWith(old)},
			xml: func() []byte { return encrypted(t, old, "", "", nil) }},

		{name: "rsa-1_5 key transport", xml: func() []byte { return encrypted(t, cur, samltest.AlgRSA15, "", nil) }, want: saml.ErrDecryption},
		{name: "EncryptedKey naming another certificate", xml: func() []byte {
			return keyInfo(t, encrypted(t, cur, "", "", nil), `<ds:X509Data><ds:X509Certificate>`+other.CertBase64()+`</ds:X509Certificate></ds:X509Data>`)
		}, want: saml.ErrDecryption},
		{name: "3DES content", xml: func() []byte { return encrypted(t, cur, "", samltest.AlgTripleDES, nil) }, want: saml.ErrDecryption},
		{name: "aes128-cbc content", xml: func() []byte { return encrypted(t, cur, "", samltest.AlgAES128CBC, nil) }, want: saml.ErrDecryption},
		{name: "encrypted to a key the SP does not hold", xml: func() []byte { return encrypted(t, other, "", "", nil) }, want: saml.ErrDecryption},
		{name: "CBC: IV bit flipped", xml: func() []byte {
			return cipherValue(t, encrypted(t, cur, "", "", nil), false, func(b []byte) { b[3] ^= 0x01 })
		}, want: saml.ErrDecryption},
		{name: "CBC: last block flipped (padding)", xml: func() []byte {
			return cipherValue(t, encrypted(t, cur, "", "", nil), false, func(b []byte) { b[len(b)-17] ^= 0x80 })
		}, want: saml.ErrDecryption},
		{name: "CBC: middle block flipped", xml: func() []byte {
			return cipherValue(t, encrypted(t, cur, "", "", nil), false, func(b []byte) { b[len(b)/2] ^= 0x04 })
		}, want: saml.ErrDecryption},
		{name: "GCM: tag flipped", xml: func() []byte {
			return cipherValue(t, encrypted(t, cur, "", samltest.AlgAES256GCM, nil), false, func(b []byte) { b[len(b)-1] ^= 0x01 })
		}, want: saml.ErrDecryption},
		{name: "OAEP: EncryptedKey flipped", xml: func() []byte {
			return cipherValue(t, encrypted(t, cur, "", "", nil), true, func(b []byte) { b[10] ^= 0x01 })
		}, want: saml.ErrDecryption},
		{name: "plaintext with a DTD", xml: func() []byte {
			return withPlaintext(t, cur, signedPlaintext(t, func(s string) string { return `<!DOCTYPE a [<!ENTITY x "y">]>` + s }))
		}, want: saml.ErrDecryption},
		{name: "plaintext with a comment in the NameID", xml: func() []byte {
			return withPlaintext(t, cur, signedPlaintext(t, func(s string) string {
				return strings.Replace(s, "amit.r@bank.example</NameID>", "amit.r@bank.example<!---->.evil</NameID>", 1)
			}))
		}, want: saml.ErrDecryption},
		{name: "plaintext with an XML declaration", xml: func() []byte {
			return withPlaintext(t, cur, signedPlaintext(t, func(s string) string { return `<?xml version="1.0"?>` + s }))
		}, want: saml.ErrDecryption},
		{name: "plaintext with a second assertion", xml: func() []byte {
			return withPlaintext(t, cur, signedPlaintext(t, func(s string) string { return s + s }))
		}, want: saml.ErrDecryption},
		{name: "plaintext with an assertion wrapped in the signed one (XSW)", xml: func() []byte {
			return withPlaintext(t, cur, signedPlaintext(t, func(s string) string {
				i := strings.Index(s, "<Subject>")
				return s[:i] + strings.Replace(s, "amit.r@bank.example", "admin@bank.example", 1) + s[i:]
			}))
		}, want: saml.ErrDecryption},
		{name: "plaintext beyond the element bound", xml: func() []byte {
			return withPlaintext(t, cur, signedPlaintext(t, func(s string) string {
				return strings.Replace(s, "</Assertion>", strings.Repeat("<x/>", 10000)+"</Assertion>", 1)
			}))
		}, want: saml.ErrDecryption},
		{name: "plaintext beyond the depth bound", xml: func() []byte {
			return withPlaintext(t, cur, signedPlaintext(t, func(s string) string {
				return strings.Replace(s, "</Assertion>", strings.Repeat("<x>", 31)+strings.Repeat("</x>", 31)+"</Assertion>", 1)
			}))
		}, want: saml.ErrDecryption},
		{name: "plaintext not XML", xml: func() []byte { return withPlaintext(t, cur, []byte("<Assertion")) }, want: saml.ErrDecryption},
		{name: "plaintext is an EncryptedAssertion", xml: func() []byte {
			d := doc(t, encrypted(t, cur, "", "", nil))
			inner := etree.NewDocument()
			inner.SetRoot(d.Root().SelectElement("EncryptedAssertion").Copy())
			b, _ := inner.WriteToBytes()
			return withPlaintext(t, cur, b)
		}, want: saml.ErrDecryption},
		{name: "plaintext assertion unsigned, response unsigned", xml: func() []byte {
			return withPlaintext(t, cur, signedPlaintext(t, func(s string) string {
				i, j := strings.Index(s, "<ds:Signature"), strings.Index(s, "</ds:Signature>")
				return s[:i] + s[j+len("</ds:Signature>"):]
			}))
		}, want: saml.ErrDecryption},
		{name: "plaintext assertion unsigned in a signed response (assertion signature required)", xml: func() []byte {
			return encrypted(t, cur, "", "", func(r *samltest.Request) { r.ResponseOnly = true })
		}, want: saml.ErrDecryption},
		{name: "NameID changed in the plaintext after signing", xml: func() []byte {
			return withPlaintext(t, cur, signedPlaintext(t, func(s string) string {
				return strings.Replace(s, "amit.r@bank.example</NameID>", "admin@bank.example</NameID>", 1)
			}))
		}, want: saml.ErrDecryption}, // not ErrSignature: see TestEncryptedNoOracle
		{name: "response signature required, response unsigned", opts: []func(*saml.Options){signed},
			xml: func() []byte { return encrypted(t, cur, "", "", nil) }, want: saml.ErrSignature},
		{name: "EncryptedAssertion beside a plain Assertion", xml: func() []byte {
			d := doc(t, encrypted(t, cur, "", "", nil))
			d.Root().AddChild(doc(t, idp.Response(amit, request())).Root().SelectElement("Assertion"))
			return bytesOf(t, d)
		}, want: saml.ErrSignature},
		{name: "two EncryptedAssertions", xml: func() []byte {
			d := doc(t, encrypted(t, cur, "", "", nil))
			d.Root().AddChild(d.Root().SelectElement("EncryptedAssertion").Copy())
			return bytesOf(t, d)
		}, want: saml.ErrSignature},
		{name: "EncryptedAssertion hidden in Extensions", xml: func() []byte {
			d := doc(t, encrypted(t, cur, "", "", nil))
			ea := d.Root().SelectElement("EncryptedAssertion")
			d.Root().RemoveChild(ea)
			ext := etree.NewElement("samlp:Extensions")
			ext.AddChild(ea)
			d.Root().InsertChildAt(1, ext)
			return bytesOf(t, d)
		}, want: saml.ErrSignature},
		{name: "two EncryptedKeys", xml: func() []byte {
			d := doc(t, encrypted(t, cur, "", "", nil))
			ki := d.Root().FindElement("./EncryptedAssertion/EncryptedData/KeyInfo")
			ki.AddChild(ki.SelectElement("EncryptedKey").Copy())
			return bytesOf(t, d)
		}, want: saml.ErrDecryption},
		{name: "EncryptedID in a plain assertion", xml: func() []byte {
			d := doc(t, idp.Response(amit, request()))
			d.Root().FindElement("./Assertion/Subject").AddChild(etree.NewElement("EncryptedID"))
			return bytesOf(t, d)
		}, want: saml.ErrMalformed},
		{name: "oversized ciphertext", xml: func() []byte {
			x := string(encrypted(t, cur, "", "", nil))
			return []byte(strings.Replace(x, "<xenc:CipherValue>", "<xenc:CipherValue>"+strings.Repeat("A", saml.DefaultMaxResponseBytes), 1))
		}, want: saml.ErrTooLarge},
	}
	undecryptable := ""
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newValidator(t, append([]func(*saml.Options){decryptWith(cur)}, tc.opts...)...)
			a, err := v.Validate(ctx, samltest.Encode(tc.xml()), "id-4f2b9c")
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if a.Claims.Subject != amit.UPN || a.Claims.TenantID != tenant {
					t.Fatalf("claims %+v", a.Claims)
				}
				return
			}
			if !errors.Is(err, tc.want) || a != nil {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if reason.Of(err) == "" || strings.Contains(err.Error(), "<") {
				t.Fatalf("unclassed or quoting error: %v", err)
			}
			if tc.want == saml.ErrDecryption {
				// One message for every failure to open: no oracle.
				if undecryptable == "" {
					undecryptable = err.Error()
				} else if err.Error() != undecryptable {
					t.Fatalf("error %q differs from %q", err, undecryptable)
				}
			}
		})
	}
}

func TestEncryptedNeedsAKey(t *testing.T) {
	cur, _, _ := spKeys(t)
	v := newValidator(t)
	_, err := v.Validate(ctx, samltest.Encode(encrypted(t, cur, "", "", nil)), "id-4f2b9c")
	if !errors.Is(err, saml.ErrDecryption) || !strings.Contains(err.Error(), "no decryption key") {
		t.Fatalf("err = %v", err)
	}
}

func TestEncryptedRollover(t *testing.T) {
	cur, old, _ := spKeys(t)
	v := newValidator(t, decryptWith(cur, old))
	for _, to := range []*samltest.IdP{cur, old} {
		if _, err := v.Validate(ctx, samltest.Encode(encrypted(t, to, "", "", nil)), "id-4f2b9c"); err != nil {
			t.Fatal(err)
		}
	}
	// A replayed encrypted assertion is spent like a plain one.
	x := samltest.Encode(encrypted(t, cur, "", "", nil))
	if _, err := v.Validate(ctx, x, "id-4f2b9c"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(ctx, x, "id-4f2b9c"); !errors.Is(err, saml.ErrReplayed) {
		t.Fatalf("replay: %v", err)
	}
}

func TestDecryptionKeyOptions(t *testing.T) {
	cur, old, _ := spKeys(t)
	idp, _ := testIdP(t)
	md, err := saml.ParseMetadata(idp.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	short, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	broken := *cur.Key
	broken.D = big.NewInt(3)
	for name, keys := range map[string][]saml.DecryptionKey{
		"nil key":              {{}},
		"short key":            {{Key: short}},
		"inconsistent key":     {{Key: &broken}},
		"certificate mismatch": {{Key: cur.Key, Certificate: old.Cert}},
		"too many":             {{Key: cur.Key}, {Key: cur.Key}, {Key: cur.Key}, {Key: cur.Key}, {Key: cur.Key}},
	} {
		_, err := saml.NewValidator(md, spEntity, acsURL, func(o *saml.Options) { o.DecryptionKeys = keys })
		if !errors.Is(err, idbridge.ErrInvalidOptions) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	// No key material where %v could put it.
	o := saml.Options{DecryptionKeys: []saml.DecryptionKey{{Key: cur.Key, Certificate: cur.Cert}}}
	s := fmt.Sprintf("%v %+v %#v", o, o, o.DecryptionKeys[0])
	if d := cur.Key.D.String(); strings.Contains(s, d[:20]) || strings.Contains(s, cur.Key.N.String()[:20]) {
		t.Fatal("fmt prints the key")
	}
}

func TestServiceProviderMetadataEncryptionKey(t *testing.T) {
	cur, old, _ := spKeys(t)
	b, err := newValidator(t, decryptWith(cur, old)).ServiceProviderMetadata()
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	if !strings.Contains(md, `use="encryption"`) || !strings.Contains(md, cur.CertBase64()) || strings.Contains(md, old.CertBase64()) {
		t.Fatalf("metadata does not publish exactly the current encryption certificate:\n%s", md)
	}
	for _, alg := range []string{samltest.AlgAES256GCM, samltest.AlgAES128GCM, samltest.AlgAES256CBC, samltest.AlgRSAOAEPMGF1P, samltest.AlgRSAOAEP} {
		if !strings.Contains(md, alg) {
			t.Errorf("metadata does not list %s", alg)
		}
	}
	for _, alg := range []string{samltest.AlgAES128CBC, "aes192", samltest.AlgRSA15, samltest.AlgTripleDES} {
		if strings.Contains(md, alg) {
			t.Errorf("metadata lists %s, which is refused", alg)
		}
	}
	b, err = newValidator(t).ServiceProviderMetadata()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "KeyDescriptor") {
		t.Fatalf("metadata without keys has a KeyDescriptor:\n%s", b)
	}
}

// TestEncryptedConcurrent validates encrypted responses from several
// goroutines with one validator (run with -race).
func TestEncryptedConcurrent(t *testing.T) {
	cur, old, _ := spKeys(t)
	v := newValidator(t, decryptWith(cur, old))
	docs := make([]string, 8)
	for i := range docs {
		to, content := cur, samltest.AlgAES256CBC
		if i%2 == 1 {
			to, content = old, samltest.AlgAES256GCM
		}
		docs[i] = samltest.Encode(encrypted(t, to, "", content, nil))
	}
	var wg sync.WaitGroup
	errs := make([]error, len(docs))
	for i, d := range docs {
		wg.Go(func() { _, errs[i] = v.Validate(ctx, d, "id-4f2b9c") })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("response %d: %v", i, err)
		}
	}
}

// TestEncryptedNoOracle: whether a ciphertext opens to a well-formed
// assertion is what CBC format oracles (Jager and Somorovsky, 2011) learn
// from, so it must not change the answer. A ciphertext that opens to a
// plaintext passing the scan but not its signature, and one that does not
// open at all, get the same error (message, reason, hence audit event and
// samlsp's answer and log line); a check of the response itself, which
// does not depend on the ciphertext, gives its own error for both.
func TestEncryptedNoOracle(t *testing.T) {
	cur, _, _ := spKeys(t)
	opens := withPlaintext(t, cur, signedPlaintext(t, func(s string) string {
		return strings.Replace(s, "amit.r@bank.example</NameID>", "admin@bank.example</NameID>", 1)
	}))
	closed := cipherValue(t, encrypted(t, cur, "", "", nil), false, func(b []byte) { b[len(b)-17] ^= 0x80 })
	setRoot := func(attr, value string) func([]byte) []byte {
		return func(xml []byte) []byte {
			d := doc(t, xml)
			d.Root().CreateAttr(attr, value)
			return bytesOf(t, d)
		}
	}
	for _, tc := range []struct {
		name      string
		requestID string
		edit      func([]byte) []byte // of the (unsigned) response
		want      error
	}{
		{name: "signature broken in the plaintext", requestID: "id-4f2b9c", want: saml.ErrDecryption},
		{name: "InResponseTo of the response wrong", requestID: "id-other", want: saml.ErrInResponseTo},
		{name: "Destination of the response wrong", requestID: "id-4f2b9c", edit: setRoot("Destination", "https://evil.example/acs"), want: saml.ErrRecipient},
		{name: "Issuer of the response wrong", requestID: "id-4f2b9c", edit: func(xml []byte) []byte {
			d := doc(t, xml)
			d.Root().SelectElement("Issuer").SetText("https://evil.example/")
			return bytesOf(t, d)
		}, want: saml.ErrIssuer},
		{name: "response signature that does not verify", requestID: "id-4f2b9c", edit: func(xml []byte) []byte {
			d := doc(t, xml)
			sig := doc(t, encrypted(t, cur, "", "", func(r *samltest.Request) { r.SignResponse = true })).Root().SelectElement("Signature")
			d.Root().InsertChildAt(d.Root().SelectElement("Issuer").Index()+1, sig)
			return bytesOf(t, d)
		}, want: saml.ErrDecryption},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opens, closed := opens, closed
			if tc.edit != nil {
				opens, closed = tc.edit(opens), tc.edit(closed)
			}
			v := newValidator(t, decryptWith(cur))
			_, errOpens := v.Validate(ctx, samltest.Encode(opens), tc.requestID)
			_, errClosed := v.Validate(ctx, samltest.Encode(closed), tc.requestID)
			if !errors.Is(errOpens, tc.want) || !errors.Is(errClosed, tc.want) {
				t.Fatalf("opens: %v; does not open: %v; want %v for both", errOpens, errClosed, tc.want)
			}
			if errOpens.Error() != errClosed.Error() || reason.Of(errOpens) != reason.Of(errClosed) {
				t.Fatalf("opens: %v; does not open: %v: an oracle", errOpens, errClosed)
			}
		})
	}
}

// TestKeyTransportDigestAndMGF: the OAEP digest and MGF are the ones the
// document states, or SHA-1 where it states none (the specs' default);
// a SHA-2 digest without an MGF is refused, for xmlenc would decrypt it a
// second time with MGF1 of the digest's hash (an algorithm no spec
// names, and a second RSA operation per key for a forged key).
func TestKeyTransportDigestAndMGF(t *testing.T) {
	cur, _, _ := spKeys(t)
	const (
		mgf1p   = samltest.AlgRSAOAEPMGF1P
		oaep11  = samltest.AlgRSAOAEP
		sha256  = "http://www.w3.org/2001/04/xmlenc#sha256"
		mgfSHA1 = "http://www.w3.org/2009/xmlenc11#mgf1sha1"
	)
	// edit rewrites the EncryptedKey's EncryptionMethod of a response
	// encrypted with keyTransport: its Algorithm, and its DigestMethod and
	// MGF ("" removes one, "-" keeps it).
	edit := func(keyTransport, alg, digest, mgf string) []byte {
		d := doc(t, encrypted(t, cur, keyTransport, "", nil))
		m := d.Root().FindElement("./EncryptedAssertion/EncryptedData/KeyInfo/EncryptedKey/EncryptionMethod")
		m.CreateAttr("Algorithm", alg)
		for name, value := range map[string]string{"DigestMethod": digest, "MGF": mgf} {
			if value == "-" {
				continue
			}
			if el := m.SelectElement(name); el != nil {
				m.RemoveChild(el)
			}
			if value != "" {
				el := m.CreateElement(name)
				el.CreateAttr("xmlns", nsFor(name))
				el.CreateAttr("Algorithm", value)
			}
		}
		return bytesOf(t, d)
	}
	for _, tc := range []struct {
		name string
		xml  []byte
		want error
	}{
		{name: "rsa-oaep-mgf1p, SHA-1 digest (Entra's)", xml: edit("", mgf1p, "-", "-")},
		{name: "rsa-oaep-mgf1p, no digest (SHA-1)", xml: edit("", mgf1p, "", "-")},
		{name: "rsa-oaep, no digest, no MGF (SHA-1, MGF1-SHA-1)", xml: edit("", oaep11, "", "")},
		{name: "rsa-oaep, SHA-1 digest, MGF1-SHA-1 stated", xml: edit("", oaep11, "-", mgfSHA1)},
		{name: "rsa-oaep, SHA-256 digest, MGF1-SHA-256 stated", xml: edit(oaep11, oaep11, "-", "-")},

		{name: "rsa-oaep-mgf1p naming SHA-256, key wrapped with MGF1-SHA-256", xml: edit(oaep11, mgf1p, sha256, ""), want: saml.ErrDecryption},
		{name: "rsa-oaep, SHA-256 digest, no MGF, key wrapped with MGF1-SHA-256", xml: edit(oaep11, oaep11, "-", ""), want: saml.ErrDecryption},
		{name: "rsa-oaep, SHA-256 digest, MGF1-SHA-1 stated, key wrapped with MGF1-SHA-256", xml: edit(oaep11, oaep11, "-", mgfSHA1), want: saml.ErrDecryption},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newValidator(t, decryptWith(cur))
			a, err := v.Validate(ctx, samltest.Encode(tc.xml), "id-4f2b9c")
			if tc.want == nil {
				if err != nil || a.Claims.Subject != amit.UPN {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func nsFor(name string) string {
	if name == "MGF" {
		return "http://www.w3.org/2009/xmlenc11#"
	}
	return "http://www.w3.org/2000/09/xmldsig#"
}

// TestRequireEncryption: with Options.RequireEncryption a plain assertion
// is refused, signed or not, before the library reads it; an encrypted
// one is accepted; the option needs a key.
func TestRequireEncryption(t *testing.T) {
	cur, _, _ := spKeys(t)
	idp, _ := testIdP(t)
	require := func(o *saml.Options) { o.RequireEncryption = true }
	v := newValidator(t, decryptWith(cur), require)
	if _, err := v.Validate(ctx, samltest.Encode(encrypted(t, cur, "", "", nil)), "id-4f2b9c"); err != nil {
		t.Fatalf("encrypted: %v", err)
	}
	for name, xml := range map[string][]byte{
		"plain assertion":              idp.Response(amit, request()),
		"plain assertion, both signed": idp.Response(amit, func() samltest.Request { r := request(); r.SignResponse = true; return r }()),
	} {
		_, err := v.Validate(ctx, samltest.Encode(xml), "id-4f2b9c")
		if !errors.Is(err, saml.ErrDecryption) || !strings.Contains(err.Error(), "RequireEncryption") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	md, err := saml.ParseMetadata(idp.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := saml.NewValidator(md, spEntity, acsURL, require); !errors.Is(err, idbridge.ErrInvalidOptions) {
		t.Fatalf("without a key: err = %v", err)
	}
}

// TestSignedResponseCheckedBeforeDecrypting: a signed response is checked
// (its signature, then its own fields) before its assertion is
// decrypted, so the signature authenticates the ciphertext first: a
// response answering another request is refused for that even when the
// SP holds no key to its assertion, and a forged one costs no RSA
// decryption.
func TestSignedResponseCheckedBeforeDecrypting(t *testing.T) {
	cur, _, other := spKeys(t)
	both := func(o *saml.Options) { o.Signed = saml.SignedBoth }
	v := newValidator(t, decryptWith(cur), both)
	for name, to := range map[string]*samltest.IdP{"opens": cur, "encrypted to another key": other} {
		xml := encrypted(t, to, "", "", func(r *samltest.Request) { r.SignResponse = true })
		if _, err := v.Validate(ctx, samltest.Encode(xml), "id-other"); !errors.Is(err, saml.ErrInResponseTo) {
			t.Errorf("%s, answering another request: err = %v", name, err)
		}
	}
}
