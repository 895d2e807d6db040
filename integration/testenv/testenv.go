// Package testenv decides what an integration test does when a real server
// it needs is missing: skip locally, fail under IDBRIDGE_REQUIRE_INTEGRATION=1.
package testenv

import (
	"os"
	"testing"
)

// RequireEnv is the environment variable that turns a missing server from a
// skip into a failure. CI sets it to 1.
const RequireEnv = "IDBRIDGE_REQUIRE_INTEGRATION"

// Required reports whether integration servers are mandatory in this run.
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// Missing stops the test because a server it needs is not available. what
// names the server, hint says how to install or start it. Locally the test is
// skipped; under IDBRIDGE_REQUIRE_INTEGRATION=1 it fails.
func Missing(t testing.TB, what, hint string) {
	t.Helper()
	if Required() {
		t.Fatalf("%s is required (%s=1) but not available: %s", what, RequireEnv, hint)
	}
	t.Skipf("%s not available, skipping: %s (set %s=1 to make this a failure)", what, hint, RequireEnv)
}
