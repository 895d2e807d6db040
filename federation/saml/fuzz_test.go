package saml_test

import (
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/idbridge/idbridge/federation/saml"
	"github.com/idbridge/idbridge/federation/saml/samltest"
	"github.com/idbridge/idbridge/internal/reason"
)

// FuzzValidateXML feeds arbitrary documents to the scan and the library:
// every outcome is a classed error or a valid assertion, never a panic.
func FuzzValidateXML(f *testing.F) {
	idp, _ := testIdP(f)
	issued := time.Now()
	good := idp.Response(amit, request())
	f.Add(good)
	r := request()
	r.SignResponse = true
	f.Add(idp.Response(amit, r))
	f.Add([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion"/></samlp:Response>`))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>`))
	f.Add([]byte{})
	cur, _, _ := spKeys(f)
	f.Add(encrypted(f, cur, "", "", nil))
	f.Add(encrypted(f, cur, samltest.AlgRSAOAEP, samltest.AlgAES128GCM, func(r *samltest.Request) { r.SignResponse = true }))
	v := newValidator(f, at(issued), decryptWith(cur), func(o *saml.Options) {
		o.ReplayCache = noReplay{}
	})
	f.Fuzz(func(t *testing.T, doc []byte) {
		a, err := v.ValidateXML(ctx, doc, "id-4f2b9c")
		if err != nil {
			if a != nil {
				t.Fatal("assertion with error")
			}
			if reason.Of(err) == "" {
				t.Fatalf("unclassed error: %v", err)
			}
			return
		}
		if a.Claims == nil || a.Claims.Subject == "" {
			t.Fatal("accepted without a subject")
		}
	})
}

// noReplay lets the fuzzer accept the seed more than once.
type noReplay struct{}

func (noReplay) Consume(string, time.Time) error { return nil }

// FuzzParseMetadata: metadata documents are refused with a class or
// parsed, never a panic.
func FuzzParseMetadata(f *testing.F) {
	idp, _ := testIdP(f)
	f.Add(idp.Metadata())
	f.Add([]byte(`<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata"><EntityDescriptor entityID="x"/></EntitiesDescriptor>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		md, err := saml.ParseMetadata(doc)
		if err != nil {
			if reason.Of(err) == "" {
				t.Fatalf("unclassed error: %v", err)
			}
			return
		}
		if md.EntityID() == "" {
			t.Fatal("metadata without entityID accepted")
		}
	})
}

// FuzzEncryptedPlaintext encrypts arbitrary plaintexts to the SP's key
// in an Entra response: every outcome is ErrDecryption, another classed
// error once the plaintext is a well-formed signed assertion, or a valid
// assertion; never a panic.
func FuzzEncryptedPlaintext(f *testing.F) {
	cur, _, _ := spKeys(f)
	idp, _ := testIdP(f)
	d := etree.NewDocument()
	if err := d.ReadFromBytes(idp.Response(amit, request())); err != nil {
		f.Fatal(err)
	}
	a := etree.NewDocument()
	a.SetRoot(d.Root().SelectElement("Assertion").Copy())
	pt, err := a.WriteToBytes()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pt)
	f.Add([]byte(`<Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion"/>`))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "b">]><Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion">&a;</Assertion>`))
	f.Add([]byte{})
	shell := etree.NewDocument()
	if err := shell.ReadFromBytes(encrypted(f, cur, "", samltest.AlgAES256GCM, nil)); err != nil {
		f.Fatal(err)
	}
	v := newValidator(f, at(time.Now()), decryptWith(cur), func(o *saml.Options) { o.ReplayCache = noReplay{} })
	f.Fuzz(func(t *testing.T, pt []byte) {
		s := shell.Copy()
		ea := s.Root().SelectElement("EncryptedAssertion")
		s.Root().InsertChildAt(ea.Index(), samltest.EncryptBytes(pt, cur.Cert, "", samltest.AlgAES256GCM))
		s.Root().RemoveChild(ea)
		doc, err := s.WriteToBytes()
		if err != nil {
			t.Skip()
		}
		a, err := v.ValidateXML(ctx, doc, "id-4f2b9c")
		if err != nil {
			if a != nil || reason.Of(err) == "" {
				t.Fatalf("assertion with error, or unclassed error: %v", err)
			}
			return
		}
		if a.Claims == nil || a.Claims.Subject == "" {
			t.Fatal("accepted without a subject")
		}
	})
}
