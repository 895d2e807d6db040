package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reloadcheck"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/internal/guardtest"
	"github.com/idbridge/idbridge/rbac"
)

// reloadPolicy writes the test policy for e's issuer to a file and loads
// it, auditing to rec.
func reloadPolicy(t *testing.T, e *guardtest.Env, rec *recorder) (*rbac.Policy, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, fmt.Appendf(nil, guardtest.PolicyYAML, e.IdP.Issuer()), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := rbac.NewPolicy(path, func(o *rbac.Options) {
		if rec != nil {
			o.Audit = rec
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return p, path
}

// TestReloadThatBreaksGuardRefused: a reload or update that would leave a
// guard's route requiring what the policy no longer declares, or drop an
// issuer its validator trusts, is refused with the guard's start-up error;
// the working policy stays and serves, and the refusal is audited.
func TestReloadThatBreaksGuardRefused(t *testing.T) {
	e := newEnv(t)
	full := fmt.Sprintf(guardtest.PolicyYAML, e.IdP.Issuer())
	tests := []struct {
		name    string
		yaml    string
		is      error  // nil when the new policy is swapped in
		message string // in the error
	}{
		{"unchanged", full, nil, ""},
		{"adds a role", strings.Replace(full, "roles:\n", "roles:\n  - {name: Auditor, permissions: [loan:audit]}\n", 1), nil, ""},
		{"drops a required permission",
			strings.Replace(full, "permissions: [loan:read, loan:approve]", "permissions: [loan:read]", 1), middleware.ErrMisconfigured,
			`Require("loan:approve") names permission "loan:approve", which the policy does not declare`},
		{"renames a required role",
			strings.ReplaceAll(full, "LoanViewer", "LoanReader"), middleware.ErrMisconfigured,
			`RequireRole("LoanViewer") names role "LoanViewer", which the policy does not declare`},
		{"drops the issuer the validator trusts",
			strings.Replace(full, e.IdP.Issuer(), "https://other.example.com", 1), idbridge.ErrInvalidOptions,
			`the policy has no issuer for "` + e.IdP.Issuer() + `", which the validator trusts`},
		{"not a policy", "version: 2\n", rbac.ErrInvalidPolicy, ""},
	}
	for _, via := range []string{"Reload", "Update"} {
		for _, tt := range tests {
			t.Run(via+"/"+tt.name, func(t *testing.T) {
				rec := &recorder{}
				p, path := reloadPolicy(t, e, rec)
				g := e.Guard(t, func(o *middleware.Options) { o.Policy = p })
				approve := g.Handler(whoami, middleware.Require("loan:approve"))
				g.Handler(whoami, middleware.RequireRole("LoanViewer"))
				g.Handler(whoami, middleware.RequireFunc("custom", func(context.Context, *middleware.Principal) error { return nil }))
				before := p.Version()

				var err error
				if via == "Reload" {
					if err = os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
						t.Fatal(err)
					}
					err = p.Reload(context.Background())
				} else {
					err = p.Update(context.Background(), []byte(tt.yaml))
				}

				if tt.is == nil {
					if err != nil {
						t.Fatalf("%s: %v", via, err)
					}
					return
				}
				t.Logf("%s: %v", via, err)
				if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.message) {
					t.Fatalf("%s = %v, want %v with %s", via, err, tt.is, tt.message)
				}
				if p.Version() != before {
					t.Fatal("the refused policy was swapped in")
				}
				// The working policy still serves the route.
				w := httptest.NewRecorder()
				r := httptest.NewRequest(http.MethodGet, "/", nil)
				r.Header.Set("Authorization", "Bearer "+e.Mint(map[string]any{"groups": []string{groupApprover}, "amr": []string{"mfa"}}))
				approve.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					t.Fatalf("after the refused %s: %d", via, w.Code)
				}
				var ev map[string]any
				for _, x := range rec.All() {
					if x["event"] == "policy.reloaded" {
						ev = x
					}
				}
				if ev == nil || ev["outcome"] != "failure" || ev["reason"] != string(idbridge.ReasonOf(err)) {
					t.Fatalf("audit event %v, want policy.reloaded failure with reason %q", ev, idbridge.ReasonOf(err))
				}
			})
		}
	}
}

// TestReloadCheckGoesWithGuard: a guard that is garbage collected no
// longer vetoes reloads, and its check is unregistered.
func TestReloadCheckGoesWithGuard(t *testing.T) {
	e := newEnv(t)
	p, _ := reloadPolicy(t, e, nil)
	checks, _ := reloadcheck.Of(p)
	drop := []byte(strings.Replace(fmt.Sprintf(guardtest.PolicyYAML, e.IdP.Issuer()), "permissions: [loan:read, loan:approve]", "permissions: [loan:read]", 1))

	kept := e.Guard(t, func(o *middleware.Options) { o.Policy = p })
	func() {
		g := e.Guard(t, func(o *middleware.Options) { o.Policy = p })
		g.Handler(whoami, middleware.Require("loan:approve"))
		if err := p.Update(context.Background(), drop); !errors.Is(err, middleware.ErrMisconfigured) {
			t.Fatalf("Update with the guard alive = %v", err)
		}
		if n := checks.Len(); n != 2 {
			t.Fatalf("%d checks registered, want 2", n)
		}
		runtime.KeepAlive(g)
	}()
	for i := 0; i < 1000 && checks.Len() > 1; i++ {
		runtime.GC()
		time.Sleep(time.Millisecond) // let the cleanup goroutine run
	}
	if n := checks.Len(); n != 1 {
		t.Fatalf("%d checks registered after the guard was collected, want 1", n)
	}
	if err := p.Update(context.Background(), drop); err != nil {
		t.Fatalf("Update after the guard was collected: %v", err)
	}
	runtime.KeepAlive(kept)
}

// TestReloadConcurrentWithRoutes: routes registered while the policy is
// reloaded, under -race: once a route requiring loan:approve is accepted,
// no reload drops loan:approve.
func TestReloadConcurrentWithRoutes(t *testing.T) {
	e := newEnv(t)
	p, path := reloadPolicy(t, e, nil)
	full := fmt.Sprintf(guardtest.PolicyYAML, e.IdP.Issuer())
	drop := strings.Replace(full, "permissions: [loan:read, loan:approve]", "permissions: [loan:read]", 1)
	g := e.Guard(t, func(o *middleware.Options) { o.Policy = p })
	// Start without the permission: routes are refused until a reload
	// restores it, and accepted from then on.
	if err := p.Update(context.Background(), []byte(drop)); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted, refused := 0, 0
	for i := range 4 {
		wg.Go(func() { // reloaders: drop the permission, restore it
			for j := range 50 {
				data := []byte(full)
				if j%2 == 0 {
					data = []byte(drop)
				}
				if i == 0 {
					mu.Lock() // one writer of the file
					if err := os.WriteFile(path, data, 0o600); err != nil {
						t.Error(err)
					}
					_ = p.Reload(context.Background())
					mu.Unlock()
				} else {
					_ = p.Update(context.Background(), data)
				}
			}
		})
		wg.Go(func() { // routes, some refused while the permission is dropped
			for range 50 {
				if catchPanic(func() { g.Handler(whoami, middleware.Require("loan:approve")) }) != "" {
					mu.Lock()
					refused++
					mu.Unlock()
				} else {
					mu.Lock()
					accepted++
					mu.Unlock()
					if !declares(p, "loan:approve") {
						t.Error("a route requiring loan:approve was accepted, then the permission dropped")
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if accepted > 0 && !declares(p, "loan:approve") {
		t.Fatal("loan:approve dropped with a route requiring it")
	}
	t.Logf("%d routes accepted, %d refused", accepted, refused)
}

func declares(p *rbac.Policy, perm string) bool {
	for _, d := range p.Declared().Permissions {
		if d == perm {
			return true
		}
	}
	return false
}

// TestFailedNewDoesNotVeto: a New that fails after it has checked the
// validator's issuers against the policy (here on a Default route naming
// an undeclared permission) returns no guard, so nothing may veto a later
// reload on its behalf, collected or not.
func TestFailedNewDoesNotVeto(t *testing.T) {
	e := newEnv(t)
	p, _ := reloadPolicy(t, e, nil)
	checks, _ := reloadcheck.Of(p)
	g, err := middleware.New(e.V, func(o *middleware.Options) {
		o.Policy = p
		o.Default = []middleware.Requirement{middleware.Require("loan:nope")}
	})
	if err == nil || g != nil {
		t.Fatalf("New = %v, %v; want an error for the undeclared Default", g, err)
	}
	if n := checks.Len(); n != 0 {
		t.Fatalf("%d checks registered by a New that failed, want 0", n)
	}
	other := []byte(strings.Replace(fmt.Sprintf(guardtest.PolicyYAML, e.IdP.Issuer()), e.IdP.Issuer(), "https://other.example.com", 1))
	if err := p.Update(context.Background(), other); err != nil {
		t.Fatalf("Update after a New that failed: %v", err)
	}
}

// TestNewRefusesNilPolicy: a nil *rbac.Policy in Options.Policy is refused
// with ErrInvalidOptions, not a nil dereference while New checks the
// validator's issuers against it.
func TestNewRefusesNilPolicy(t *testing.T) {
	e := newEnv(t)
	var p *rbac.Policy
	var err error
	if msg := catchPanic(func() {
		_, err = middleware.New(e.V, func(o *middleware.Options) { o.Policy = p })
	}); msg != "" {
		t.Fatalf("New panicked: %s", msg)
	}
	if !errors.Is(err, idbridge.ErrInvalidOptions) {
		t.Fatalf("New = %v, want ErrInvalidOptions", err)
	}
}
