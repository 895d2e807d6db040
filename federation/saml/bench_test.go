package saml_test

import (
	"net/url"
	"testing"
	"time"

	crewjam "github.com/crewjam/saml"

	"github.com/idbridge/idbridge/federation/saml"
	"github.com/idbridge/idbridge/federation/saml/samltest"
)

// entraUser is a typical Entra SAML sign-in: a dozen attributes, 20 groups.
func entraResponse(b *testing.B) []byte {
	idp, _ := testIdP(b)
	u := amit
	u.Groups = nil
	for range 20 {
		u.Groups = append(u.Groups, "4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13")
	}
	return idp.Response(u, request())
}

// BenchmarkValidate is the cold validation of a typical Entra response:
// scan, signature, conditions, claims (replay cache off so one document
// can be validated again).
func BenchmarkValidate(b *testing.B) {
	doc := entraResponse(b)
	v := newValidator(b, at(time.Now()), func(o *saml.Options) { o.ReplayCache = noReplay{} })
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.ValidateXML(ctx, doc, "id-4f2b9c"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateEncrypted is BenchmarkValidate for the same response
// with the assertion encrypted as Entra does (rsa-oaep-mgf1p,
// aes256-cbc): the SDK opens it to scan the plaintext, and the library
// opens it again to check it, so two RSA-2048 decryptions.
func BenchmarkValidateEncrypted(b *testing.B) {
	cur, _, _ := spKeys(b)
	benchEncrypted(b, cur, cur)
}

// BenchmarkValidateEncryptedRollover is BenchmarkValidateEncrypted during
// a rollover, the assertion encrypted to the previous key (listed second):
// three RSA decryptions, two of them ours (the library is given only the
// key that opened it).
func BenchmarkValidateEncryptedRollover(b *testing.B) {
	cur, old, _ := spKeys(b)
	benchEncrypted(b, old, cur, old)
}

// benchEncrypted validates amit's assertion (in 20 groups) encrypted to
// to, with keys configured.
func benchEncrypted(b *testing.B, to *samltest.IdP, keys ...*samltest.IdP) {
	idp, _ := testIdP(b)
	u := amit
	u.Groups = nil
	for range 20 {
		u.Groups = append(u.Groups, "4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13")
	}
	r := request()
	r.EncryptTo = to.Cert
	doc := idp.Response(u, r)
	v := newValidator(b, at(time.Now()), decryptWith(keys...), func(o *saml.Options) { o.ReplayCache = noReplay{} })
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.ValidateXML(ctx, doc, "id-4f2b9c"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLibraryParseXMLResponse is crewjam/saml's own validation of
// the same document, the floor under BenchmarkValidate.
func BenchmarkLibraryParseXMLResponse(b *testing.B) {
	doc := entraResponse(b)
	idp, _ := testIdP(b)
	md, err := saml.ParseMetadata(idp.Metadata())
	if err != nil {
		b.Fatal(err)
	}
	acs, _ := url.Parse(acsURL)
	sp := &crewjam.ServiceProvider{EntityID: spEntity, AcsURL: *acs, IDPMetadata: md.Descriptor()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sp.ParseXMLResponse(doc, []string{"id-4f2b9c"}, *acs); err != nil {
			b.Fatal(err)
		}
	}
}
