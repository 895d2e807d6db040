package ldaptest

import (
	"fmt"
	"os"
	"testing"

	"github.com/idbridge/idbridge/integration/testenv"
)

// TestMain skips the whole package when slapd is missing and integration
// servers are optional. Tests would skip one by one through [Start] anyway,
// but the runnable Example cannot skip, so the decision is taken once here.
// Under IDBRIDGE_REQUIRE_INTEGRATION=1 everything runs and fails loudly.
func TestMain(m *testing.M) {
	if _, err := findSlapd(""); err != nil && !testenv.Required() {
		fmt.Printf("skipping ldaptest: %v (apt-get install -y slapd ldap-utils; set %s=1 to make this a failure)\n",
			err, testenv.RequireEnv)
		os.Exit(0)
	}
	os.Exit(m.Run())
}
