package grpcauth_test

import (
	"errors"
	"fmt"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/grpcauth"
)

// NewServer gives a guard built for HTTP a gRPC face. The requirements of
// each method are checked against the guard's policy at start: a method
// that names a permission the policy does not declare (a typo would deny
// every caller) is refused with idbridge.ErrInvalidOptions.
func ExampleNewServer() {
	idp, v, policy := exampleSetup()
	defer idp.Close()
	defer v.Close()
	g, err := middleware.New(v, func(o *middleware.Options) { o.Policy = policy })
	if err != nil {
		fmt.Println(err)
		return
	}

	for _, perm := range []string{"loan:read", "loan:reed"} {
		_, err := grpcauth.NewServer(g, func(o *grpcauth.ServerOptions) {
			o.Methods = map[string][]middleware.Requirement{
				"/bank.loans.v1.Loans/*": {middleware.Require(perm)},
			}
		})
		fmt.Printf("%s: %t %q\n", perm, errors.Is(err, idbridge.ErrInvalidOptions), idbridge.ReasonOf(err))
	}
	// Output:
	// loan:read: false ""
	// loan:reed: true "invalid_options"
}
