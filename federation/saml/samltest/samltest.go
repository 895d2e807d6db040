// Package samltest mints SAML 2.0 responses and federation metadata shaped
// as Microsoft Entra ID issues them, signed with a test key, for tests and
// examples of the saml packages. Helpers panic on error, for ease of use in
// tests.
//
// The shapes follow Entra's wire format: a samlp:Response whose Issuer and
// Assertion Issuer are https://sts.windows.net/{tenant}/, IDs "_" + GUID,
// the assertion signed enveloped with RSA-SHA256 and exclusive
// canonicalization (Entra's default, "Sign SAML assertion"), the Signature
// right after the Issuer, a bearer SubjectConfirmation valid for 5 minutes,
// Conditions from 5 minutes before to 1 hour after issuance, and the
// attribute URIs of Entra's claim set. With Request.EncryptTo, the signed
// assertion is then encrypted to the SP's certificate as Entra's SAML token
// encryption does (RSA-OAEP-MGF1P, AES-256-CBC). The real IdP peer used by the
// integration tests is crewjam/saml's; this package exists so that unit
// tests and examples need no server.
package samltest

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"html"
	"math/big"
	"strings"
	"text/template"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml/xmlenc"
	dsig "github.com/russellhaering/goxmldsig"
)

// Entra's SAML attribute names.
const (
	AttrTenantID    = "http://schemas.microsoft.com/identity/claims/tenantid"
	AttrObjectID    = "http://schemas.microsoft.com/identity/claims/objectidentifier"
	AttrDisplayName = "http://schemas.microsoft.com/identity/claims/displayname"
	AttrIdP         = "http://schemas.microsoft.com/identity/claims/identityprovider"
	AttrAMR         = "http://schemas.microsoft.com/claims/authnmethodsreferences"
	AttrGroups      = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"
	AttrRole        = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
	AttrGivenName   = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname"
	AttrSurname     = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname"
	AttrEmail       = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
	AttrName        = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"

	AttrAWSRole            = "https://aws.amazon.com/SAML/Attributes/Role"
	AttrAWSSessionName     = "https://aws.amazon.com/SAML/Attributes/RoleSessionName"
	AttrAWSSessionDuration = "https://aws.amazon.com/SAML/Attributes/SessionDuration"

	MethodPassword = "http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password"
	MethodMFA      = "http://schemas.microsoft.com/claims/multipleauthn"
)

// IdP is a test identity provider for one Entra tenant.
type IdP struct {
	TenantID string
	Key      *rsa.PrivateKey
	Cert     *x509.Certificate
	// Now is the clock for IssueInstant and validity; nil means time.Now.
	Now func() time.Time
	// SHA1 signs with rsa-sha1 and SHA-1 digests, as old IdPs did.
	SHA1 bool
}

// New returns an IdP for tenantID with a fresh 2048-bit RSA key and a
// self-signed certificate, as Entra's "Microsoft Azure Federated SSO
// Certificate" is.
func New(tenantID string) *IdP {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "Microsoft Azure Federated SSO Certificate"},
		NotBefore:    time.Now().Add(-24 * time.Hour),
		NotAfter:     time.Now().Add(3 * 365 * 24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return &IdP{TenantID: tenantID, Key: key, Cert: cert}
}

func (i *IdP) now() time.Time {
	if i.Now != nil {
		return i.Now().UTC()
	}
	return time.Now().UTC()
}

// EntityID is Entra's SAML issuer for the tenant.
func (i *IdP) EntityID() string { return "https://sts.windows.net/" + i.TenantID + "/" }

// SSOURL is the tenant's SAML sign-on endpoint.
func (i *IdP) SSOURL() string { return "https://login.microsoftonline.com/" + i.TenantID + "/saml2" }

// CertBase64 is the signing certificate as Entra's metadata lists it.
func (i *IdP) CertBase64() string { return base64.StdEncoding.EncodeToString(i.Cert.Raw) }

// User is who signs in.
type User struct {
	ObjectID, UPN, DisplayName, GivenName, Surname, Email string
	Groups                                                []string // group object IDs
	Roles                                                 []string // app roles
	MFA                                                   bool     // authnmethodsreferences gains multipleauthn
	// AWSRoles are "role ARN,provider ARN" pairs for the AWS app.
	AWSRoles []string
	// SessionDuration is the AWS SessionDuration attribute in seconds; 0 omits it.
	SessionDuration int
	// Extra attributes, by name.
	Extra map[string][]string
}

// Request is what the service provider asked for.
type Request struct {
	Audience     string // the SP's entity ID (Entra's "Identifier")
	Recipient    string // the ACS URL (Entra's "Reply URL")
	InResponseTo string // the AuthnRequest ID; "" for IdP-initiated
	// SignResponse signs the whole Response too (Entra's "Sign SAML
	// response and assertion"); ResponseOnly signs only the Response
	// ("Sign SAML response").
	SignResponse, ResponseOnly bool
	// IssueInstant defaults to Now.
	IssueInstant time.Time
	// EncryptTo encrypts the signed assertion to the SP's certificate, as
	// Entra's "SAML token encryption" does: the Response carries an
	// EncryptedAssertion (signed by SignResponse after encryption), with
	// KeyTransport (default rsa-oaep-mgf1p with a SHA-1 digest, Entra's)
	// and Content (default aes256-cbc, Entra's), XML Encryption algorithm
	// URIs; see the Alg constants.
	EncryptTo             *x509.Certificate
	KeyTransport, Content string
}

// XML Encryption algorithms for Request.KeyTransport and Request.Content,
// including refused ones, for tests of refusals.
const (
	AlgRSAOAEPMGF1P = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
	AlgRSAOAEP      = "http://www.w3.org/2009/xmlenc11#rsa-oaep"
	AlgRSA15        = "http://www.w3.org/2001/04/xmlenc#rsa-1_5"
	AlgAES256CBC    = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
	AlgAES128CBC    = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
	AlgAES128GCM    = "http://www.w3.org/2009/xmlenc11#aes128-gcm"
	AlgAES256GCM    = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
	AlgTripleDES    = "http://www.w3.org/2001/04/xmlenc#tripledes-cbc"
)

// GUID returns a random version-4 GUID in Entra's lower-case form.
func GUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

type attr struct {
	Name   string
	Values []string
}

type respData struct {
	RespID, AssertID, Issuer, Instant, Destination, InResponseTo string
	NameID, SCNotOnOrAfter, NotBefore, NotOnOrAfter, Audience    string
	AuthnInstant                                                 string
	Attrs                                                        []attr
}

// The template mirrors an Entra response; XML-escaped values only.
var respTmpl = template.Must(template.New("r").Funcs(template.FuncMap{"x": html.EscapeString}).Parse(
	`<samlp:Response ID="{{.RespID}}" Version="2.0" IssueInstant="{{.Instant}}" Destination="{{x .Destination}}"{{if .InResponseTo}} InResponseTo="{{x .InResponseTo}}"{{end}} xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">` +
		`<Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">{{x .Issuer}}</Issuer>` +
		`<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
		`<Assertion ID="{{.AssertID}}" IssueInstant="{{.Instant}}" Version="2.0" xmlns="urn:oasis:names:tc:SAML:2.0:assertion">` +
		`<Issuer>{{x .Issuer}}</Issuer>` +
		`<Subject><NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{{x .NameID}}</NameID>` +
		`<SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><SubjectConfirmationData {{if .InResponseTo}}InResponseTo="{{x .InResponseTo}}" {{end}}NotOnOrAfter="{{.SCNotOnOrAfter}}" Recipient="{{x .Destination}}"/></SubjectConfirmation></Subject>` +
		`<Conditions NotBefore="{{.NotBefore}}" NotOnOrAfter="{{.NotOnOrAfter}}"><AudienceRestriction><Audience>{{x .Audience}}</Audience></AudienceRestriction></Conditions>` +
		`<AttributeStatement>{{range .Attrs}}<Attribute Name="{{x .Name}}">{{range .Values}}<AttributeValue>{{x .}}</AttributeValue>{{end}}</Attribute>{{end}}</AttributeStatement>` +
		`<AuthnStatement AuthnInstant="{{.AuthnInstant}}" SessionIndex="{{.AssertID}}"><AuthnContext><AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</AuthnContextClassRef></AuthnContext></AuthnStatement>` +
		`</Assertion></samlp:Response>`))

const timeFormat = "2006-01-02T15:04:05.000Z"

// Response returns a signed SAML Response for u, as XML.
func (i *IdP) Response(u User, r Request) []byte {
	now := r.IssueInstant
	if now.IsZero() {
		now = i.now()
	}
	now = now.UTC()
	d := respData{
		RespID: "_" + GUID(), AssertID: "_" + GUID(), Issuer: i.EntityID(),
		Instant: now.Format(timeFormat), Destination: r.Recipient, InResponseTo: r.InResponseTo,
		NameID: u.UPN, SCNotOnOrAfter: now.Add(5 * time.Minute).Format(timeFormat),
		NotBefore: now.Add(-5 * time.Minute).Format(timeFormat), NotOnOrAfter: now.Add(time.Hour).Format(timeFormat),
		Audience: r.Audience, AuthnInstant: now.Add(-2 * time.Second).Format(timeFormat),
	}
	add := func(name string, vs ...string) {
		if len(vs) > 0 && (len(vs) > 1 || vs[0] != "") {
			d.Attrs = append(d.Attrs, attr{name, vs})
		}
	}
	add(AttrTenantID, i.TenantID)
	add(AttrObjectID, u.ObjectID)
	add(AttrIdP, i.EntityID())
	amr := []string{MethodPassword}
	if u.MFA {
		amr = append(amr, MethodMFA)
	}
	add(AttrAMR, amr...)
	add(AttrDisplayName, u.DisplayName)
	add(AttrGroups, u.Groups...)
	add(AttrRole, u.Roles...)
	add(AttrGivenName, u.GivenName)
	add(AttrSurname, u.Surname)
	add(AttrEmail, u.Email)
	add(AttrName, u.UPN)
	add(AttrAWSRole, u.AWSRoles...)
	if len(u.AWSRoles) > 0 {
		add(AttrAWSSessionName, u.UPN)
	}
	if u.SessionDuration > 0 {
		add(AttrAWSSessionDuration, fmt.Sprint(u.SessionDuration))
	}
	for name, vs := range u.Extra {
		add(name, vs...)
	}
	var buf bytes.Buffer
	if err := respTmpl.Execute(&buf, d); err != nil {
		panic(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(buf.Bytes()); err != nil {
		panic(err)
	}
	if !r.ResponseOnly || r.EncryptTo != nil {
		a := doc.Root().SelectElement("Assertion")
		doc.Root().RemoveChild(a)
		if !r.ResponseOnly {
			a = i.SignElement(a)
		}
		if r.EncryptTo != nil {
			a = Encrypt(a, r.EncryptTo, r.KeyTransport, r.Content)
		}
		doc.Root().AddChild(a)
	}
	if r.SignResponse || r.ResponseOnly {
		doc.SetRoot(i.SignElement(doc.Root()))
	}
	out, err := doc.WriteToBytes()
	if err != nil {
		panic(err)
	}
	return out
}

// Encode returns the XML as the SAMLResponse form value of the HTTP-POST
// binding: standard base64.
func Encode(xml []byte) string { return base64.StdEncoding.EncodeToString(xml) }

// Encrypt returns an EncryptedAssertion holding assertion encrypted to
// cert with keyTransport and content (XML Encryption URIs; "" means
// Entra's rsa-oaep-mgf1p with a SHA-1 digest, and aes256-cbc): an
// EncryptedData of Type Element whose KeyInfo holds the EncryptedKey.
func Encrypt(assertion *etree.Element, cert *x509.Certificate, keyTransport, content string) *etree.Element {
	d := etree.NewDocument()
	d.SetRoot(assertion.Copy())
	pt, err := d.WriteToBytes()
	if err != nil {
		panic(err)
	}
	return EncryptBytes(pt, cert, keyTransport, content)
}

// EncryptBytes is Encrypt for a plaintext given as bytes, well-formed or
// not, for tests of what a plaintext may hold.
func EncryptBytes(plaintext []byte, cert *x509.Certificate, keyTransport, content string) *etree.Element {
	var enc xmlenc.RSA
	switch keyTransport {
	case "", AlgRSAOAEPMGF1P:
		enc = xmlenc.OAEP()
		enc.DigestMethod = xmlenc.SHA1
	case AlgRSAOAEP:
		enc = xmlenc.OAEP_SHA256()
	case AlgRSA15:
		enc = xmlenc.PKCS1v15()
	default:
		panic("samltest: unknown key transport " + keyTransport)
	}
	ciphers := map[string]xmlenc.BlockCipher{"": xmlenc.AES256CBC, AlgAES256CBC: xmlenc.AES256CBC,
		AlgAES128CBC: xmlenc.AES128CBC, AlgAES128GCM: xmlenc.AES128GCM, AlgAES256GCM: xmlenc.AES256GCM,
		AlgTripleDES: xmlenc.TripleDES}
	bc, ok := ciphers[content]
	if !ok {
		panic("samltest: unknown content algorithm " + content)
	}
	enc.BlockCipher = bc
	data, err := enc.Encrypt(cert, plaintext, nil)
	if err != nil {
		panic(err)
	}
	data.CreateAttr("Type", "http://www.w3.org/2001/04/xmlenc#Element")
	ea := etree.NewElement("EncryptedAssertion")
	ea.CreateAttr("xmlns", "urn:oasis:names:tc:SAML:2.0:assertion")
	ea.AddChild(data)
	return ea
}

// SignElement returns a copy of el with an enveloped RSA-SHA256 signature
// (exclusive c14n, X509Certificate in KeyInfo) inserted after its Issuer,
// where the SAML schema puts it. el must have an ID attribute.
func (i *IdP) SignElement(el *etree.Element) *etree.Element {
	ctx, err := dsig.NewSigningContext(i.Key, [][]byte{i.Cert.Raw})
	if err != nil {
		panic(err)
	}
	ctx.Hash = crypto.SHA256
	method := dsig.RSASHA256SignatureMethod
	if i.SHA1 {
		ctx.Hash, method = crypto.SHA1, dsig.RSASHA1SignatureMethod
	}
	if err := ctx.SetSignatureMethod(method); err != nil {
		panic(err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	el = el.Copy()
	sig, err := ctx.ConstructSignature(el, true)
	if err != nil {
		panic(err)
	}
	pos := 0
	for j, c := range el.ChildElements() {
		if c.Tag == "Issuer" {
			pos = j + 1
			break
		}
	}
	el.InsertChildAt(childIndex(el, pos), sig)
	return el
}

// childIndex maps an index among child elements to one among all tokens.
func childIndex(el *etree.Element, n int) int {
	seen := 0
	for j, t := range el.Child {
		if _, ok := t.(*etree.Element); ok {
			if seen == n {
				return j
			}
			seen++
		}
	}
	return len(el.Child)
}

// Metadata returns the tenant's federation metadata document in Entra's
// shape (federationmetadata/2007-06/federationmetadata.xml): an
// EntityDescriptor with a WS-Federation RoleDescriptor
// (fed:SecurityTokenServiceType) and an IDPSSODescriptor, both listing the
// signing certificate.
func (i *IdP) Metadata() []byte {
	cert := i.CertBase64()
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="utf-8"?><EntityDescriptor ID="_%s" entityID="%s" xmlns="urn:oasis:names:tc:SAML:2.0:metadata">`, GUID(), i.EntityID())
	fmt.Fprintf(&b, `<RoleDescriptor xsi:type="fed:SecurityTokenServiceType" protocolSupportEnumeration="http://docs.oasis-open.org/wsfed/federation/200706" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:fed="http://docs.oasis-open.org/wsfed/federation/200706">`)
	fmt.Fprintf(&b, `<KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>%s</X509Certificate></X509Data></KeyInfo></KeyDescriptor>`, cert)
	fmt.Fprintf(&b, `<fed:ClaimTypesOffered><auth:ClaimType Uri="%s" xmlns:auth="http://docs.oasis-open.org/wsfed/authorization/200706"><auth:DisplayName>Name</auth:DisplayName></auth:ClaimType></fed:ClaimTypesOffered>`, AttrName)
	fmt.Fprintf(&b, `<fed:SecurityTokenServiceEndpoint><wsa:EndpointReference xmlns:wsa="http://www.w3.org/2005/08/addressing"><wsa:Address>https://login.microsoftonline.com/%s/wsfed</wsa:Address></wsa:EndpointReference></fed:SecurityTokenServiceEndpoint>`, i.TenantID)
	fmt.Fprintf(&b, `<fed:PassiveRequestorEndpoint><wsa:EndpointReference xmlns:wsa="http://www.w3.org/2005/08/addressing"><wsa:Address>https://login.microsoftonline.com/%s/wsfed</wsa:Address></wsa:EndpointReference></fed:PassiveRequestorEndpoint>`, i.TenantID)
	b.WriteString(`</RoleDescriptor>`)
	b.WriteString(`<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">`)
	fmt.Fprintf(&b, `<KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>%s</X509Certificate></X509Data></KeyInfo></KeyDescriptor>`, cert)
	fmt.Fprintf(&b, `<SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="%s"/>`, i.SSOURL())
	fmt.Fprintf(&b, `<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="%s"/>`, i.SSOURL())
	fmt.Fprintf(&b, `<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="%s"/>`, i.SSOURL())
	b.WriteString(`</IDPSSODescriptor></EntityDescriptor>`)
	return []byte(b.String())
}
