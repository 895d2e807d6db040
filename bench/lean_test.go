package bench

import (
	"os/exec"
	"strings"
	"testing"
)

// heavy are the module paths an HTTP-only service must not link: gRPC and
// protobuf come with middleware/grpcauth only, go-ldap with rbac/ldap,
// keyfunc with jwks/keyfuncset, zitadel with nothing of the SDK's.
var heavy = []string{
	"google.golang.org/grpc",
	"google.golang.org/protobuf",
	"github.com/go-ldap",
	"github.com/MicahParks/keyfunc",
	"github.com/zitadel",
}

// TestLeanImports checks that leanapp (jwks, rbac, the HTTP guard,
// token.Cache and middleware.NewTransport) links none of the heavy
// dependencies.
func TestLeanImports(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(goCmd, "list", "-deps", "./leanapp").Output()
	if err != nil {
		t.Fatalf("go list -deps ./leanapp: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, h := range heavy {
			if strings.HasPrefix(dep, h) {
				t.Errorf("leanapp links %s", dep)
			}
		}
	}
}
