package saml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
)

// Structural bounds of a response. Entra's responses nest 8 deep and hold
// a few hundred elements even for a user in 150 groups.
const (
	maxDepth    = 32
	maxElements = 10000
)

const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"
)

// shape is what the pre-scan learned of a response's structure. It is read
// from the document before any signature is checked, so it is used only to
// refuse: never as a value the SDK trusts.
type shape struct {
	responseSigned  bool // a ds:Signature is a direct child of the root Response
	assertionSigned bool // a ds:Signature is a direct child of the Assertion
}

// scan checks the raw XML before the SAML library parses it, refusing what
// no IdP sends and what signature-wrapping and parser attacks need:
//
//   - a DTD (<!DOCTYPE>, entity declarations), comments and processing
//     instructions anywhere: Entra emits none, and comments inside a NameID
//     or attribute value are how canonicalization and text reading are made
//     to disagree;
//   - entities other than XML's five and character references (the
//     decoder is strict);
//   - nesting deeper than maxDepth or more than maxElements elements;
//   - a root other than samlp:Response, or a second one;
//   - anything but exactly one saml:Assertion, anywhere in the document:
//     every published XSW variant adds a second one (wrapped in the
//     Signature, Extensions, Object, another Response or Assertion), and an
//     encrypted one is not supported.
func scan(doc []byte) (shape, error) {
	var sh shape
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	d.Entity = nil
	d.CharsetReader = nil
	depth, elements, assertions, roots := 0, 0, 0, 0
	assertionDepth := -1
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return sh, fail(ErrMalformed, "not well-formed XML (line %d)", line(d))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			elements++
			if depth > maxDepth {
				return sh, fail(ErrTooLarge, "elements nest deeper than %d", maxDepth)
			}
			if elements > maxElements {
				return sh, fail(ErrTooLarge, "more than %d elements", maxElements)
			}
			ns := t.Name.Space // resolved by Token
			if depth == 1 {
				roots++
				if t.Name.Local != "Response" || ns != nsProtocol {
					return sh, fail(ErrMalformed, "root element is not a samlp:Response")
				}
			}
			switch {
			case t.Name.Local == "Assertion" && ns == nsAssertion:
				assertions++
				if depth != 2 {
					return sh, fail(ErrSignature, "an Assertion at depth %d, not a child of the Response (signature wrapping)", depth)
				}
				assertionDepth = depth
			case t.Name.Local == "EncryptedAssertion" && ns == nsAssertion:
				return sh, fail(ErrMalformed, "encrypted assertions are not supported")
			case t.Name.Local == "Signature" && ns == nsDSig:
				if depth == 2 {
					sh.responseSigned = true
				} else if assertionDepth > 0 && depth == assertionDepth+1 {
					sh.assertionSigned = true
				}
			}
		case xml.EndElement:
			if depth == assertionDepth {
				assertionDepth = -1
			}
			depth--
		case xml.Comment:
			return sh, fail(ErrMalformed, "comments are not accepted (line %d)", line(d))
		case xml.ProcInst:
			if t.Target != "xml" || elements > 0 {
				return sh, fail(ErrMalformed, "processing instructions are not accepted")
			}
		case xml.Directive:
			return sh, fail(ErrMalformed, "DTDs and entity declarations are not accepted")
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return sh, fail(ErrMalformed, "text outside the root element")
			}
		}
	}
	switch {
	case roots != 1:
		return sh, fail(ErrMalformed, "%d root elements", roots)
	case assertions == 0:
		return sh, fail(ErrMalformed, "no Assertion")
	case assertions > 1:
		return sh, fail(ErrSignature, "%d Assertions; exactly one is accepted (signature wrapping)", assertions)
	}
	return sh, nil
}

func line(d *xml.Decoder) int {
	l, _ := d.InputPos()
	return l
}
