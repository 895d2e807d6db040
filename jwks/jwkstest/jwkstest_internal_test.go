package jwkstest

import (
	"crypto/rsa"
	"fmt"
	"strings"
	"testing"
)

// TestServerRedacted: a Server holds private keys; printing it in a test
// log must not show them.
func TestServerRedacted(t *testing.T) {
	s := Start(t)
	d := s.current.signer.(*rsa.PrivateKey).D.String()
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(f, s); strings.Contains(out, d) || !strings.Contains(out, s.URL) {
			t.Fatalf("%s of a Server = %.200s", f, out)
		}
	}
}
