package saml_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/idbridge/idbridge/federation/saml"
	"github.com/idbridge/idbridge/federation/saml/samltest"
	"github.com/idbridge/idbridge/internal/reason"
)

// doc parses a response for surgery.
func doc(t *testing.T, xml []byte) *etree.Document {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromBytes(xml); err != nil {
		t.Fatal(err)
	}
	return d
}

func bytesOf(t *testing.T, d *etree.Document) []byte {
	t.Helper()
	b, err := d.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// evil returns a copy of the signed assertion el, unsigned, with the
// NameID and groups of an attacker and a fresh ID.
func evil(el *etree.Element) *etree.Element {
	e := el.Copy()
	if s := e.SelectElement("Signature"); s != nil {
		e.RemoveChild(s)
	}
	e.CreateAttr("ID", "_evil")
	e.FindElement("./Subject/NameID").SetText("admin@bank.example")
	return e
}

// xsw builds signature-wrapping variant n (Somorovsky et al., "On Breaking
// SAML", 2012) from a signed response.
func xsw(t *testing.T, n int, signed []byte) []byte {
	d := doc(t, signed)
	root := d.Root()
	orig := root.SelectElement("Assertion")
	switch n {
	case 1, 2: // the Response's signature wraps: an evil Response around the signed one
		sig := root.SelectElement("Signature")
		if sig == nil {
			t.Fatal("xsw1/2 need a signed response")
		}
		origResp := root.Copy()
		r := root.Copy()
		r.CreateAttr("ID", "_evilresp")
		r.RemoveChild(r.SelectElement("Signature"))
		a := r.SelectElement("Assertion")
		r.RemoveChild(a)
		r.AddChild(evil(a))
		s := sig.Copy()
		origResp.RemoveChild(origResp.SelectElement("Signature"))
		if n == 1 { // XSW1: the original Response inside the Signature's Object
			s.CreateElement("ds:Object").AddChild(origResp)
			r.AddChild(s)
		} else { // XSW2: the original Response detached before the Signature
			r.AddChild(origResp)
			r.AddChild(s)
		}
		d.SetRoot(r)
	case 3: // an evil assertion before the signed one
		root.InsertChildAt(orig.Index(), evil(orig))
	case 4: // an evil assertion wrapping the signed one
		e := evil(orig)
		root.RemoveChild(orig)
		e.AddChild(orig)
		root.AddChild(e)
	case 5: // evil assertion carrying the copied signature, original after it
		e := evil(orig)
		e.InsertChildAt(1, orig.SelectElement("Signature").Copy())
		root.InsertChildAt(orig.Index(), e)
	case 6: // original assertion inside the evil one's copied signature
		e := evil(orig)
		s := orig.SelectElement("Signature").Copy()
		s.CreateElement("ds:Object").AddChild(orig.Copy())
		e.InsertChildAt(1, s)
		root.RemoveChild(orig)
		root.AddChild(e)
	case 7: // original assertion hidden in Extensions, evil one beside it
		ext := etree.NewElement("samlp:Extensions")
		root.RemoveChild(orig)
		ext.AddChild(orig)
		root.InsertChildAt(1, ext)
		root.AddChild(evil(orig))
	case 8: // original (signature removed) in the Object of the evil one's signature
		e := evil(orig)
		s := orig.SelectElement("Signature").Copy()
		o := orig.Copy()
		o.RemoveChild(o.SelectElement("Signature"))
		s.CreateElement("ds:Object").AddChild(o)
		e.InsertChildAt(1, s)
		root.RemoveChild(orig)
		root.AddChild(e)
	}
	return bytesOf(t, d)
}

func TestAttacks(t *testing.T) {
	idp, rogueIdP := testIdP(t)
	good := func() []byte { return idp.Response(amit, request()) }
	signedBoth := func() []byte {
		r := request()
		r.SignResponse = true
		return idp.Response(amit, r)
	}
	replace := func(xml []byte, old, new string) []byte {
		s := string(xml)
		if !strings.Contains(s, old) {
			t.Fatalf("%q not in response", old)
		}
		return []byte(strings.Replace(s, old, new, 1))
	}
	issued := time.Now()

	cases := []struct {
		name  string
		xml   func() []byte
		b64   string // used instead of xml when set
		opts  []func(*saml.Options)
		reqID []string
		want  error
	}{
		{name: "XSW1 response wrapped in its own signature", xml: func() []byte { return xsw(t, 1, signedBoth()) }, want: saml.ErrSignature},
		{name: "XSW2 detached response signature", xml: func() []byte { return xsw(t, 2, signedBoth()) }, want: saml.ErrSignature},
		{name: "XSW3 evil assertion before the signed one", xml: func() []byte { return xsw(t, 3, good()) }, want: saml.ErrSignature},
		{name: "XSW4 evil assertion wrapping the signed one", xml: func() []byte { return xsw(t, 4, good()) }, want: saml.ErrSignature},
		{name: "XSW5 copied signature on the evil assertion", xml: func() []byte { return xsw(t, 5, good()) }, want: saml.ErrSignature},
		{name: "XSW6 original inside the copied signature", xml: func() []byte { return xsw(t, 6, good()) }, want: saml.ErrSignature},
		{name: "XSW7 original hidden in Extensions", xml: func() []byte { return xsw(t, 7, good()) }, want: saml.ErrSignature},
		{name: "XSW8 unsigned original in the signature's Object", xml: func() []byte { return xsw(t, 8, good()) }, want: saml.ErrSignature},
		{name: "comment inside NameID after signing", xml: func() []byte {
			return replace(good(), "amit.r@bank.example</NameID>", "amit.r@bank.example<!---->.evil.com</NameID>")
		}, want: saml.ErrMalformed},
		{name: "comment inside an attribute value", xml: func() []byte {
			return replace(good(), lendRM+"</AttributeValue>", lendRM+"<!-- x --></AttributeValue>")
		}, want: saml.ErrMalformed},
		{name: "undeclared entity inside NameID", xml: func() []byte {
			return replace(good(), "amit.r@bank.example</NameID>", "&admin;</NameID>")
		}, want: saml.ErrMalformed},
		{name: "DTD with an internal entity", xml: func() []byte {
			return append([]byte(`<!DOCTYPE r [<!ENTITY admin "admin@bank.example">]>`), good()...)
		}, want: saml.ErrMalformed},
		{name: "billion laughs", xml: func() []byte {
			return append([]byte(`<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>`), good()...)
		}, want: saml.ErrMalformed},
		{name: "processing instruction", xml: func() []byte {
			return replace(good(), "<samlp:Status>", "<?evil x?><samlp:Status>")
		}, want: saml.ErrMalformed},
		{name: "attribute value changed after signing", xml: func() []byte {
			return replace(good(), lendRM, "a83e1f52-6c4b-47d9-8e20-c5b9d4a7f261")
		}, want: saml.ErrSignature},
		{name: "NameID changed after signing", xml: func() []byte {
			return replace(good(), "amit.r@bank.example</NameID>", "admin@bank.example</NameID>")
		}, want: saml.ErrSignature},
		{name: "unsigned assertion in a signed response (assertion signature required)", xml: func() []byte {
			r := request()
			r.ResponseOnly = true
			return idp.Response(amit, r)
		}, want: saml.ErrSignature},
		{name: "signed assertion in an unsigned response (response signature required)", xml: good,
			opts: []func(*saml.Options){func(o *saml.Options) { o.Signed = saml.SignedResponse }}, want: saml.ErrSignature},
		{name: "unsigned response and assertion", xml: func() []byte {
			d := doc(t, good())
			a := d.Root().SelectElement("Assertion")
			a.RemoveChild(a.SelectElement("Signature"))
			return bytesOf(t, d)
		}, opts: []func(*saml.Options){func(o *saml.Options) { o.Signed = saml.SignedEither }}, want: saml.ErrSignature},
		{name: "two signed assertions", xml: func() []byte {
			d := doc(t, good())
			d.Root().AddChild(d.Root().SelectElement("Assertion").Copy())
			return bytesOf(t, d)
		}, want: saml.ErrSignature},
		{name: "SHA-1 signature", xml: func() []byte {
			old := *idp
			old.SHA1 = true
			return old.Response(amit, request())
		}, want: saml.ErrAlgorithm},
		{name: "signed by a certificate not in the metadata", xml: func() []byte { return rogueIdP.Response(amit, request()) }, want: saml.ErrUnknownKey},
		{name: "expired", xml: good, opts: []func(*saml.Options){at(issued.Add(2 * time.Hour))}, want: saml.ErrExpired},
		{name: "subject confirmation expired beyond leeway", xml: good, opts: []func(*saml.Options){at(issued.Add(7 * time.Minute))}, want: saml.ErrExpired},
		{name: "issued in the future", xml: good, opts: []func(*saml.Options){at(issued.Add(-time.Hour))}, want: saml.ErrNotYetValid},
		{name: "wrong audience", xml: func() []byte {
			r := request()
			r.Audience = "https://other.bank.example/saml"
			return idp.Response(amit, r)
		}, want: saml.ErrAudience},
		{name: "wrong recipient", xml: func() []byte {
			r := request()
			r.Recipient = "https://evil.example/acs"
			return idp.Response(amit, r)
		}, want: saml.ErrRecipient},
		{name: "answers another request", xml: good, reqID: []string{"id-other"}, want: saml.ErrInResponseTo},
		{name: "unsolicited while IdP-initiated is off", xml: func() []byte {
			r := request()
			r.InResponseTo = ""
			return idp.Response(amit, r)
		}, reqID: []string{}, want: saml.ErrInResponseTo},
		{name: "oversized", xml: func() []byte {
			return replace(good(), "<samlp:Status>", strings.Repeat(" ", saml.DefaultMaxResponseBytes)+"<samlp:Status>")
		}, want: saml.ErrTooLarge},
		{name: "deeply nested", xml: func() []byte {
			return replace(good(), "<samlp:Status>", strings.Repeat("<x>", 100)+strings.Repeat("</x>", 100)+"<samlp:Status>")
		}, want: saml.ErrTooLarge},
		{name: "not base64", b64: "%%%", want: saml.ErrMalformed},
		{name: "not XML", b64: base64.StdEncoding.EncodeToString([]byte("{\"saml\":1}")), want: saml.ErrMalformed},
		{name: "root is not a Response", xml: func() []byte {
			d := doc(t, good())
			d.SetRoot(d.Root().SelectElement("Assertion"))
			return bytesOf(t, d)
		}, want: saml.ErrMalformed},
		{name: "an EncryptedAssertion beside the signed assertion", xml: func() []byte {
			return replace(good(), "<samlp:Status>", `<EncryptedAssertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion"/><samlp:Status>`)
		}, want: saml.ErrSignature},
		{name: "IdP error status", xml: func() []byte {
			r := request()
			r.SignResponse = true
			x := idp.Response(amit, r)
			return replace(x, "status:Success", "status:Responder")
		}, want: saml.ErrSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newValidator(t, tc.opts...)
			b64 := tc.b64
			if b64 == "" {
				b64 = samltest.Encode(tc.xml())
			}
			reqIDs := tc.reqID
			if reqIDs == nil {
				reqIDs = []string{"id-4f2b9c"}
			}
			a, err := v.Validate(ctx, b64, reqIDs...)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if a != nil {
				t.Fatalf("assertion returned with the error")
			}
			if reason.Of(err) == "" {
				t.Fatalf("error %v has no reason class", err)
			}
			if strings.Contains(err.Error(), "<") || strings.Contains(err.Error(), b64[:min(len(b64), 40)]) && len(b64) > 40 {
				t.Fatalf("error quotes the response: %v", err)
			}
		})
	}
}

func TestXSWVariantsAreDistinct(t *testing.T) {
	idp, _ := testIdP(t)
	r := request()
	r.SignResponse = true
	base := idp.Response(amit, r)
	seen := map[string]int{}
	for n := 1; n <= 8; n++ {
		x := string(xsw(t, n, base))
		if p, ok := seen[x]; ok {
			t.Fatalf("XSW%d builds the same document as XSW%d", n, p)
		}
		seen[x] = n
		if !strings.Contains(x, "admin@bank.example") {
			t.Fatalf("XSW%d carries no forged NameID", n)
		}
	}
	_ = fmt.Sprint
}
