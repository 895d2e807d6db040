package jwkstest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/idbridge/idbridge"
)

// PolicyFile copies the policy file at src (an rbac policy, or any file
// naming issuers) into dir, replacing each old issuer of oldNew (pairs of
// old, new) with its new one, and returns the copy's path: a policy written
// for the production issuer, pointed at a test issuer. It fails if an old
// issuer is not in the file, so a test never runs against a policy that
// still trusts only production.
func PolicyFile(src, dir string, oldNew ...string) (string, error) {
	if len(oldNew)%2 != 0 {
		return "", fmt.Errorf("jwkstest: %w: PolicyFile wants old, new issuer pairs", idbridge.ErrInvalidOptions)
	}
	raw, err := os.ReadFile(src)
	if err != nil {
		return "", fmt.Errorf("jwkstest: %w", err)
	}
	for i := 0; i < len(oldNew); i += 2 {
		old, repl := []byte(oldNew[i]), []byte(oldNew[i+1])
		if len(old) == 0 || !bytes.Contains(raw, old) {
			return "", fmt.Errorf("jwkstest: %w: %s does not name the issuer %q", idbridge.ErrInvalidOptions, src, oldNew[i])
		}
		raw = bytes.ReplaceAll(raw, old, repl)
	}
	dst := filepath.Join(dir, filepath.Base(src))
	if err := os.WriteFile(dst, raw, 0o600); err != nil {
		return "", fmt.Errorf("jwkstest: %w", err)
	}
	return dst, nil
}

// Policy points the policy file at src, written for Microsoft Entra ID, at
// this server: https://login.microsoftonline.com and https://sts.windows.net
// become the server's URL (the authorities [Server.EntraAPI] uses), in a
// copy under tb.TempDir() whose path it returns. The test fails if the file
// names neither authority.
func (s *Server) Policy(tb testing.TB, src string) string {
	tb.Helper()
	raw, err := os.ReadFile(src)
	if err != nil {
		tb.Fatalf("jwkstest: %v", err)
	}
	var oldNew []string
	for _, a := range []string{"https://login.microsoftonline.com/", "https://sts.windows.net/"} {
		if bytes.Contains(raw, []byte(a)) {
			oldNew = append(oldNew, a, s.URL+"/")
		}
	}
	if len(oldNew) == 0 {
		tb.Fatalf("jwkstest: %s names no Entra issuer (https://login.microsoftonline.com/... or https://sts.windows.net/...)", src)
	}
	path, err := PolicyFile(src, tb.TempDir(), oldNew...)
	if err != nil {
		tb.Fatal(err)
	}
	return path
}
