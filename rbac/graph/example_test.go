package graph_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/rbac"
	"github.com/idbridge/idbridge/rbac/graph"
	"github.com/idbridge/idbridge/token"
)

// A policy resolves overage tokens through Graph; here a local endpoint
// stands in for graph.microsoft.com.
func ExampleNewSource() {
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#Collection(Edm.String)",`+
			`"value":["4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13"]}`)
	}))
	defer fake.Close()

	// In production: a client-credentials token.Source in token's cache.
	appToken := token.SourceFunc(func(ctx context.Context) (*token.Token, error) {
		return &token.Token{AccessToken: "app-token", TokenType: "Bearer"}, nil
	})
	src, err := graph.NewSource("9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c", appToken,
		func(o *graph.Options) { o.Endpoint = fake.URL + "/v1.0" })
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := rbac.NewPolicy("../../examples/policies/bank.yaml", func(o *rbac.Options) { o.Groups = src })
	if err != nil {
		fmt.Println(err)
		return
	}
	overage := &idbridge.Claims{
		Issuer:     "https://login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0",
		TenantID:   "9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c",
		ObjectID:   "0d6f1e0b-1c0e-4d5a-9d8e-3b1f2a7c9e01",
		ClaimNames: map[string]string{"groups": "src1"}, // no groups claim: over 200 groups
	}
	d := p.DecideContext(context.Background(), overage)
	fmt.Println(d.OK(), d.Roles())
	// Output:
	// true [LoanViewer KYC_ReadOnly]
}
