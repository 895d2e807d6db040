package saml_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/idbridge/idbridge/federation/saml"
	"github.com/idbridge/idbridge/federation/saml/samltest"
)

const (
	tenant   = "9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c"
	spEntity = "https://cbs.bank.example/saml"
	acsURL   = "https://cbs.bank.example/saml/acs"
	lendRM   = "4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13"
	amitOID  = "7d3e2a10-5b8c-4f1e-9c6d-2a4b8e0f1c3d"
)

var (
	idpOnce sync.Once
	theIdP  *samltest.IdP
	rogue   *samltest.IdP
)

// testIdP returns the tenant's IdP and one with the same entityID but
// another key (shared: RSA key generation is slow).
func testIdP(t testing.TB) (*samltest.IdP, *samltest.IdP) {
	t.Helper()
	idpOnce.Do(func() {
		theIdP = samltest.New(tenant)
		rogue = samltest.New(tenant)
	})
	return theIdP, rogue
}

var amit = samltest.User{
	ObjectID: amitOID, UPN: "amit.r@bank.example", DisplayName: "Amit R",
	GivenName: "Amit", Surname: "R", Email: "amit.r@bank.example",
	Groups: []string{lendRM}, MFA: true,
}

func newValidator(t testing.TB, opts ...func(*saml.Options)) *saml.Validator {
	t.Helper()
	idp, _ := testIdP(t)
	md, err := saml.ParseMetadata(idp.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	v, err := saml.NewValidator(md, spEntity, acsURL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func at(t time.Time) func(*saml.Options) {
	return func(o *saml.Options) { o.Now = func() time.Time { return t } }
}

var ctx = context.Background()

func request() samltest.Request {
	return samltest.Request{Audience: spEntity, Recipient: acsURL, InResponseTo: "id-4f2b9c"}
}
