package saml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
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
	encrypted       bool // the one assertion is an EncryptedAssertion
	elements        int  // elements seen
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
//   - anything but exactly one saml:Assertion or saml:EncryptedAssertion,
//     anywhere in the document: every published XSW variant adds a second
//     one (wrapped in the Signature, Extensions, Object, another Response
//     or Assertion);
//   - any other encrypted element (EncryptedID, EncryptedAttribute, XML
//     Encryption outside the EncryptedAssertion).
func scan(doc []byte) (shape, error) {
	return (&scanner{assertionDepth: -1, encDepth: -1}).run(doc)
}

// scanPlaintext scans the plaintext of an EncryptedAssertion as scan
// scans a response, as if it stood in the Response in the
// EncryptedAssertion's place: its root must be a saml:Assertion, nothing
// may precede it (not even an XML declaration), and the bounds count from
// depth 1 and from the response's elements.
func scanPlaintext(pt []byte, elements int) (shape, error) {
	sc := &scanner{base: 1, depth: 1, assertionDepth: -1, encDepth: -1}
	sc.sh.elements = elements
	return sc.run(pt)
}

func (sc *scanner) run(doc []byte) (shape, error) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	d.Entity = nil
	d.CharsetReader = nil
	sc.d = d
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return sc.sh, fail(ErrMalformed, "not well-formed XML (line %d)", line(d))
		}
		if err := sc.token(tok); err != nil {
			return sc.sh, err
		}
	}
	switch {
	case sc.roots != 1:
		return sc.sh, fail(ErrMalformed, "%d root elements", sc.roots)
	case sc.assertions == 0:
		return sc.sh, fail(ErrMalformed, "no Assertion")
	case sc.assertions > 1:
		return sc.sh, fail(ErrSignature, "%d Assertions or EncryptedAssertions; exactly one is accepted (signature wrapping)", sc.assertions)
	}
	return sc.sh, nil
}

// scanner is the state of one scan.
type scanner struct {
	d                        *xml.Decoder
	sh                       shape
	base                     int // depth of the root's parent: 0, or 1 for a plaintext
	depth, assertions, roots int
	assertionDepth           int // -1 outside the Assertion
	encDepth                 int // -1 outside the EncryptedAssertion
}

// token checks one token of the document.
func (sc *scanner) token(tok xml.Token) error {
	switch t := tok.(type) {
	case xml.StartElement:
		return sc.start(t)
	case xml.EndElement:
		switch sc.depth {
		case sc.assertionDepth:
			sc.assertionDepth = -1
		case sc.encDepth:
			sc.encDepth = -1
		}
		sc.depth--
	case xml.Comment:
		return fail(ErrMalformed, "comments are not accepted (line %d)", line(sc.d))
	case xml.ProcInst:
		if t.Target != "xml" || sc.sh.elements > 0 || sc.base > 0 {
			return fail(ErrMalformed, "processing instructions are not accepted")
		}
	case xml.Directive:
		return fail(ErrMalformed, "DTDs and entity declarations are not accepted")
	case xml.CharData:
		if sc.depth == sc.base && len(bytes.TrimSpace(t)) > 0 {
			return fail(ErrMalformed, "text outside the root element")
		}
	}
	return nil
}

// start checks an element's place in the document.
func (sc *scanner) start(t xml.StartElement) error {
	sc.depth++
	sc.sh.elements++
	if sc.depth > maxDepth {
		return fail(ErrTooLarge, "elements nest deeper than %d", maxDepth)
	}
	if sc.sh.elements > maxElements {
		return fail(ErrTooLarge, "more than %d elements", maxElements)
	}
	if err := sc.root(t.Name); err != nil {
		return err
	}
	ns := t.Name.Space // resolved by Token
	if sc.encDepth < 0 && (ns == nsXEnc || ns == nsXEnc11 || strings.HasPrefix(t.Name.Local, "Encrypted")) &&
		(t.Name.Local != "EncryptedAssertion" || ns != nsAssertion) {
		return fail(ErrMalformed, "encrypted elements other than an EncryptedAssertion are not accepted")
	}
	return sc.mark(t.Name)
}

// root checks the document element: a samlp:Response, or a saml:Assertion
// when the scanner reads a decrypted plaintext.
func (sc *scanner) root(n xml.Name) error {
	if sc.depth != sc.base+1 {
		return nil
	}
	sc.roots++
	if sc.base == 0 && (n.Local != "Response" || n.Space != nsProtocol) {
		return fail(ErrMalformed, "root element is not a samlp:Response")
	}
	if sc.base == 1 && (n.Local != "Assertion" || n.Space != nsAssertion) {
		return fail(ErrMalformed, "the plaintext is not a saml:Assertion")
	}
	return nil
}

// mark records the assertions and signatures the element is, refusing an
// assertion that is not a child of the Response.
func (sc *scanner) mark(n xml.Name) error {
	switch {
	case n.Local == "Assertion" && n.Space == nsAssertion:
		sc.assertions++
		if sc.depth != 2 {
			return fail(ErrSignature, "an Assertion at depth %d, not a child of the Response (signature wrapping)", sc.depth)
		}
		sc.assertionDepth = sc.depth
	case n.Local == "EncryptedAssertion" && n.Space == nsAssertion && sc.encDepth < 0:
		sc.assertions++
		if sc.depth != 2 {
			return fail(ErrSignature, "an EncryptedAssertion at depth %d, not a child of the Response (signature wrapping)", sc.depth)
		}
		sc.sh.encrypted = true
		sc.encDepth = sc.depth
	case n.Local == "Signature" && n.Space == nsDSig:
		if sc.depth == 2 {
			sc.sh.responseSigned = true
		} else if sc.assertionDepth > 0 && sc.depth == sc.assertionDepth+1 {
			sc.sh.assertionSigned = true
		}
	}
	return nil
}

func line(d *xml.Decoder) int {
	l, _ := d.InputPos()
	return l
}
