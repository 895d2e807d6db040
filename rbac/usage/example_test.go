package usage_test

import (
	"fmt"
	"strings"

	"github.com/idbridge/idbridge/rbac/usage"
)

// Two audit lines as a slog JSON handler writes them: Amit read a loan,
// then was refused origination without MFA.
func ExampleSummarize() {
	log := `{"time":"2026-11-02T09:14:03.513Z","level":"INFO","msg":"authz.allowed","event":"authz.allowed","outcome":"success","iss":"https://login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0","oid":"0d6f1e0b-1c0e-4d5a-9d8e-3b1f2a7c9e01","permission":"loan:read","route":"GET /loans/{id}","method":"GET"}
{"time":"2026-11-20T11:31:09.204Z","level":"WARN","msg":"authz.denied","event":"authz.denied","outcome":"failure","reason":"step_up_required","iss":"https://login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0","oid":"0d6f1e0b-1c0e-4d5a-9d8e-3b1f2a7c9e01","permission":"loan:create","route":"POST /loans","method":"POST"}
`
	rep, err := usage.Summarize(strings.NewReader(log), usage.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, u := range rep.Uses {
		fmt.Printf("%s: used %d (last via %q), denied %d (%q)\n", u.Entitlement, u.Allowed, u.LastRoute, u.Denied, u.LastReason)
	}
	fmt.Println("unused:", rep.Unused(usage.KindPermission, []string{"loan:read", "loan:create", "kyc:read"}))
	// Output:
	// loan:create: used 0 (last via ""), denied 1 ("step_up_required")
	// loan:read: used 1 (last via "GET /loans/{id}"), denied 0 ("")
	// unused: [kyc:read loan:create]
}
