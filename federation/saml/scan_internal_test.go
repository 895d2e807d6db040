package saml

import (
	"errors"
	"strings"
	"testing"
)

// TestScanPlaintext: the plaintext of an EncryptedAssertion is held to
// the response scan, as if it stood in the Response. (The validator
// reports all of these as ErrDecryption; this shows which rule refuses.)
func TestScanPlaintext(t *testing.T) {
	const open = `<Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion">`
	const sig = `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/>`
	a := func(inner string) string { return open + inner + `</Assertion>` }
	cases := []struct {
		name, pt string
		elements int
		want     error // nil: accepted
		signed   bool
	}{
		{name: "signed assertion", pt: a(sig), signed: true},
		{name: "unsigned assertion", pt: a(`<Subject/>`)},
		{name: "signature deeper than the assertion's child", pt: a(`<Subject>` + sig + `</Subject>`)},
		{name: "surrounding whitespace", pt: "\n " + a(sig) + "\n", signed: true},
		{name: "32 levels with the Response: the bound", pt: a(strings.Repeat("<x>", 30) + strings.Repeat("</x>", 30))},
		{name: "33 levels with the Response", pt: a(strings.Repeat("<x>", 31) + strings.Repeat("</x>", 31)), want: ErrTooLarge},
		{name: "elements counted with the response's", pt: a(sig), elements: maxElements - 1, want: ErrTooLarge},
		{name: "XML declaration", pt: `<?xml version="1.0"?>` + a(sig), want: ErrMalformed},
		{name: "DTD", pt: `<!DOCTYPE a>` + a(sig), want: ErrMalformed},
		{name: "comment", pt: a(`<NameID>a<!---->b</NameID>`), want: ErrMalformed},
		{name: "processing instruction", pt: a(`<?x y?>`), want: ErrMalformed},
		{name: "entity", pt: a(`<NameID>&x;</NameID>`), want: ErrMalformed},
		{name: "two assertions", pt: a(sig) + a(sig), want: ErrMalformed},
		{name: "an assertion inside the assertion", pt: a(sig + a("")), want: ErrSignature},
		{name: "text after the assertion", pt: a(sig) + "x", want: ErrMalformed},
		{name: "root not an assertion", pt: `<Response xmlns="urn:oasis:names:tc:SAML:2.0:protocol"/>`, want: ErrMalformed},
		{name: "unbound prefix", pt: `<saml:Assertion>` + sig + `</saml:Assertion>`, want: ErrMalformed},
		{name: "nested EncryptedAssertion", pt: `<EncryptedAssertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion"/>`, want: ErrMalformed},
		{name: "EncryptedID", pt: a(`<Subject><EncryptedID/></Subject>`), want: ErrMalformed},
		{name: "XML Encryption element", pt: a(`<xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"/>`), want: ErrMalformed},
		{name: "not well-formed", pt: open, want: ErrMalformed},
		{name: "empty", pt: "", want: ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sh, err := scanPlaintext([]byte(tc.pt), tc.elements)
			if tc.want == nil {
				if err != nil || sh.assertionSigned != tc.signed || sh.encrypted {
					t.Fatalf("err %v, shape %+v", err, sh)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}
