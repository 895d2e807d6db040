package main

import (
	"strings"
	"testing"

	"github.com/idbridge/idbridge/integration/testenv"
)

// TestSharedSession checks the end of step 6: two replicas of lending-web
// renewing one session in Redis at once make one token request.
func TestSharedSession(t *testing.T) {
	code, out, errOut := runDemo(t)
	if code != 0 {
		t.Fatalf("exit status %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	step, _, _ := strings.Cut(out[strings.Index(out, "\n6. "):], "\n7. ")
	if strings.Contains(step, "redis-server is not installed") {
		if testenv.Required() {
			t.Errorf("step 6 ran without Redis, but %s=1: install redis-server", testenv.RequireEnv)
		}
		return
	}
	want := "renew it at once: 1 token request, same token: true, no invalid_grant"
	if !strings.Contains(squash(step), want) {
		t.Errorf("step 6 lacks %q:\n%s", want, step)
	}
}
