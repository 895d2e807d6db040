package saml_test

import (
	"testing"
	"time"

	"github.com/idbridge/idbridge/federation/saml"
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
	v := newValidator(f, at(issued), func(o *saml.Options) {
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
