package idbridge_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idbridge/idbridge/jwks/jwkstest"
)

// readmeBlocks returns the fenced code blocks of lang in the README section
// that starts with heading.
func readmeBlocks(t *testing.T, heading, lang string) []string {
	t.Helper()
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README.md has no %q", heading)
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	var blocks []string
	for {
		_, rest, ok := strings.Cut(section, "```"+lang+"\n")
		if !ok {
			return blocks
		}
		block, after, ok := strings.Cut(rest, "```\n")
		if !ok {
			t.Fatalf("unterminated %s block in %q", lang, heading)
		}
		blocks, section = append(blocks, block), after
	}
}

// readmeTransport is compiled into the README program: it sends Entra's
// requests to the fake IdP named by README_TEST_ENTRA_URL, so the program
// runs unchanged with the production authority in its code.
const readmeTransport = `package main

import (
	"net/http"
	"net/url"
	"os"
)

type toFakeEntra struct {
	to   *url.URL
	base http.RoundTripper
}

func (t toFakeEntra) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host == "login.microsoftonline.com" {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host = t.to.Scheme, t.to.Host
	}
	return t.base.RoundTrip(r)
}

func init() {
	to, err := url.Parse(os.Getenv("README_TEST_ENTRA_URL"))
	if err != nil {
		panic(err)
	}
	http.DefaultTransport = toFakeEntra{to, http.DefaultTransport}
}
`

// TestReadmeProtectMyAPI builds the README's "Protect my API" program and
// policy.yaml exactly as written, runs it with a tenant and client ID from
// the environment, and sends it realistic Entra v2.0 access tokens (aud the
// client ID GUID, iss login.microsoftonline.com/{tid}/v2.0) signed by a fake
// Entra: a Lending_RM member reads a loan, anyone else is refused.
func TestReadmeProtectMyAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a program")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	code := readmeBlocks(t, "## Protect my API", "go")
	policy := readmeBlocks(t, "## Protect my API", "yaml")
	if len(code) != 1 || len(policy) != 1 {
		t.Fatalf("want one go and one yaml block, got %d and %d", len(code), len(policy))
	}
	const tenant = "9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c" // the README policy's tenant
	if !strings.Contains(policy[0], "https://login.microsoftonline.com/"+tenant+"/v2.0") {
		t.Fatal("the README policy does not name the tenant this test uses")
	}

	dir := t.TempDir()
	for name, body := range map[string]string{"main.go": code[0], "fake_entra.go": readmeTransport, "policy.yaml": policy[0]} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "protect")
	build := exec.Command(goTool, "build", "-o", bin, filepath.Join(dir, "main.go"), filepath.Join(dir, "fake_entra.go"))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("the README program does not compile as written: %v\n%s", err, out)
	}
	vet := exec.Command(goTool, "vet", filepath.Join(dir, "main.go"), filepath.Join(dir, "fake_entra.go"))
	if out, err := vet.CombinedOutput(); err != nil {
		t.Fatalf("go vet on the README program: %v\n%s", err, out)
	}

	entra := jwkstest.Start(t, func(o *jwkstest.Options) { o.OmitAlg = true })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "AZURE_TENANT_ID="+tenant, "AZURE_CLIENT_ID="+jwkstest.APIClientID,
		"PORT="+strconv.Itoa(port), "README_TEST_ENTRA_URL="+entra.URL)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan string)
	go func() {
		out, _ := io.ReadAll(bufio.NewReader(stderr))
		_ = cmd.Wait()
		exited <- string(out)
	}()
	defer func() { cancel(); <-exited }()

	iss := "https://login.microsoftonline.com/" + tenant + "/v2.0"
	mint := func(t jwkstest.EntraToken) string {
		t.Tenant = tenant
		t.Claims = map[string]any{"iss": iss}
		return entra.EntraAccessToken(t)
	}
	const lendingRM = "4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13"
	tests := []struct {
		name  string
		token string
		want  int
	}{
		{"Lending_RM, v2 aud client ID", mint(jwkstest.EntraToken{Groups: []string{lendingRM}, Scopes: []string{"Loans.Read"}}), http.StatusOK},
		{"no group", mint(jwkstest.EntraToken{Scopes: []string{"Loans.Read"}}), http.StatusForbidden},
		{"for another API", mint(jwkstest.EntraToken{API: "99999999-9999-4999-8999-999999999999", Groups: []string{lendingRM}}), http.StatusUnauthorized},
		{"no token", "", http.StatusUnauthorized},
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	for _, tt := range tests {
		req, _ := http.NewRequest(http.MethodGet, base+"/loans/L-1001", nil)
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		resp := doWhenUp(t, req, exited)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s: %d %s, want %d", tt.name, resp.StatusCode, body, tt.want)
		}
		if tt.want == http.StatusOK && !strings.Contains(string(body), "loan L-1001 for "+jwkstest.UserObjectID+", roles [LoanViewer]") {
			t.Errorf("%s: body %q", tt.name, body)
		}
	}
}

// doWhenUp sends req, retrying connection refusals while the program starts
// (it is a separate process: nothing to wait on but its port).
func doWhenUp(t *testing.T, req *http.Request, exited chan string) *http.Response {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			return resp
		}
		select {
		case out := <-exited:
			t.Fatalf("the README program exited: %s", out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the README program did not answer: %v", err)
		}
	}
}

// readmeFrames are the programs the README's Go fragments are compiled in,
// by section: the names a fragment uses and every import it needs (blank
// uses keep an import or variable the fragment does not need legal).
var readmeFrames = map[string]string{
	"## Errors": `package main

import (
	"context"
	"errors"
	"log"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/token"
)

var (
	_ = errors.Is
	_ = log.Print
	_ = idbridge.ReasonOf
	_ = token.NewCache
)

func fragment(ctx context.Context, v *jwks.Validator, bearer string) {
%s}

func main() { fragment(context.Background(), nil, "") }
`,
	"## Revoke a leaver everywhere": `package main

import (
	"context"
	"net/http"

	goredis "github.com/redis/go-redis/v9"

	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/revocation"
	"github.com/idbridge/idbridge/jwks/revocation/redis"
	"github.com/idbridge/idbridge/jwks/revocation/ssf"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/grpcauth"
	"github.com/idbridge/idbridge/rbac"
)

func fragment(ctx context.Context, rdb goredis.UniversalClient, v *jwks.Validator, policy *rbac.Policy,
	mux *http.ServeMux, tid, oid, transmitter string) {
%s	_, _ = err, streams
}

func main() { fragment(context.Background(), nil, nil, nil, http.NewServeMux(), "", "", "") }
`,
}

// TestReadmeFragments compiles and vets the README's Go fragments in their
// frames, so that the names, options and error handling they show are
// those of the code.
func TestReadmeFragments(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	for heading, frame := range readmeFrames {
		code := readmeBlocks(t, heading, "go")
		if len(code) != 1 {
			t.Fatalf("%s: want one go block, got %d", heading, len(code))
		}
		var body strings.Builder
		for _, line := range strings.SplitAfter(code[0], "\n") {
			if line != "" {
				body.WriteString("\t" + line)
			}
		}
		dir := t.TempDir()
		main := filepath.Join(dir, "main.go")
		if err := os.WriteFile(main, []byte(strings.Replace(frame, "%s", body.String(), 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(goTool, "build", "-o", filepath.Join(dir, "fragment"), main).CombinedOutput(); err != nil {
			t.Errorf("%s: the README block does not compile: %v\n%s", heading, err, out)
			continue
		}
		if out, err := exec.Command(goTool, "vet", main).CombinedOutput(); err != nil {
			t.Errorf("%s: go vet on the README block: %v\n%s", heading, err, out)
		}
	}
}
