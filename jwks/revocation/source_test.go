package revocation_test

import (
	"context"
	"errors"
	"testing"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/federation"
	"github.com/idbridge/idbridge/federation/ststest"
	"github.com/idbridge/idbridge/jwks/jwkstest"
	"github.com/idbridge/idbridge/jwks/revocation"
	"github.com/idbridge/idbridge/token"
)

// A revoked user gets no new AWS credentials: the federation provider's
// token source refuses before STS is called.
func TestSourceStopsFederation(t *testing.T) {
	idp := jwkstest.Start(t)
	fake := ststest.Start(t)
	const role = "arn:aws:iam::111122223333:role/Loan_ReadOnly"
	fake.AddOIDCProvider(ststest.OIDCProvider{URL: idp.Issuer(), ClientIDs: []string{"lending-web"}, JWKSURL: idp.JWKSURL()})
	fake.AddRole(ststest.Role{ARN: role, Trust: []ststest.Condition{
		{Op: ststest.StringEquals, Key: ststest.ClaimKey(idp.Issuer(), "sub"), Values: []string{leoOID}},
	}})
	list, _ := revocation.New()
	ctx := context.Background()
	idToken := idp.Mint(map[string]any{"aud": "lending-web", "sub": leoOID, "oid": leoOID, "tid": tid})
	// The user as the service verified them at sign-in.
	leo := &idbridge.Claims{Issuer: idp.Issuer(), Subject: leoOID, TenantID: tid, ObjectID: leoOID}
	calls := 0
	src := revocation.Source(token.SourceFunc(func(context.Context) (*token.Token, error) {
		calls++
		return &token.Token{IDToken: idToken}, nil
	}), list, leo)

	must(t, list.Revoke(ctx, revocation.EntraUser(tid, leoOID)))
	p, err := federation.NewProvider(fake.Client(), role, src)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, err = p.Retrieve(ctx)
	if !errors.Is(err, revocation.ErrRevoked) {
		t.Fatalf("Retrieve for a revoked user: %v", err)
	}
	if calls != 0 || len(fake.Requests()) != 0 {
		t.Fatalf("revoked user's token fetched %d times, STS called %d times", calls, len(fake.Requests()))
	}
}

func TestSourceForwardsInvalidate(t *testing.T) {
	list, _ := revocation.New()
	c, err := token.NewCache(token.SourceFunc(func(context.Context) (*token.Token, error) {
		return &token.Token{AccessToken: "a"}, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := revocation.Source(c, list, &idbridge.Claims{ObjectID: amitOID, TenantID: tid})
	if _, ok := s.(interface{ Invalidate() }); !ok {
		t.Fatal("Invalidate not forwarded")
	}
	if tok, err := s.Token(context.Background()); err != nil || tok.AccessToken != "a" {
		t.Fatalf("Token = %v, %v", tok, err)
	}
	if _, ok := revocation.Source(token.SourceFunc(nil), list, nil).(interface{ Invalidate() }); ok {
		t.Fatal("Invalidate invented")
	}
}

// TestSourceMissingParts: a Source without its token source, its list or
// the user's claims (the nil claims of a failed validation) hands out no
// token: it refuses with ErrInvalidOptions instead of panicking or, for nil
// claims, passing every token through unchecked.
func TestSourceMissingParts(t *testing.T) {
	list, err := revocation.New()
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	src := token.SourceFunc(func(context.Context) (*token.Token, error) {
		calls++
		return &token.Token{AccessToken: "a"}, nil
	})
	leo := &idbridge.Claims{TenantID: tid, ObjectID: leoOID}
	tests := []struct {
		name string
		src  token.Source
		list revocation.Checker
		c    *idbridge.Claims
	}{
		{"nil claims", src, list, nil},
		{"nil list", src, nil, leo},
		{"nil source", nil, list, leo},
		{"all nil", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := revocation.Source(tt.src, tt.list, tt.c).Token(context.Background())
			if tok != nil || !errors.Is(err, idbridge.ErrInvalidOptions) || idbridge.ReasonOf(err) != idbridge.ReasonInvalidOptions {
				t.Fatalf("Token = %v, %v; want ErrInvalidOptions", tok, err)
			}
		})
	}
	if calls != 0 {
		t.Fatalf("the token source was called %d times", calls)
	}
	if tok, err := revocation.Source(src, list, leo).Token(context.Background()); err != nil || tok == nil {
		t.Fatalf("a complete Source: %v, %v", tok, err)
	}
}
