package middleware_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/revocation"
	"github.com/idbridge/idbridge/middleware"
)

func TestAuditOneEventPerStep(t *testing.T) {
	tests := []struct {
		name            string
		validatorAudits bool
		header          string // "" for none; TOKEN is replaced
		groups          []string
		want            []string
	}{
		{"admitted", false, "Bearer TOKEN", []string{groupRM}, []string{"token.validated", "authz.allowed"}},
		{"denied", false, "Bearer TOKEN", nil, []string{"token.validated", "authz.denied"}},
		{"no token", false, "", nil, []string{"token.rejected"}},
		{"malformed header", false, "Bearer a b", nil, []string{"token.rejected"}},
		{"invalid token", false, "Bearer x.y.z", nil, []string{"token.rejected"}},
		// The validator records step 2 itself: the guard must not repeat it.
		{"admitted, validator audits", true, "Bearer TOKEN", []string{groupRM}, []string{"token.validated", "authz.allowed"}},
		{"invalid token, validator audits", true, "Bearer x.y.z", nil, []string{"token.rejected"}},
		// Step 1 is the guard's alone, whoever audits step 2.
		{"no token, validator audits", true, "", nil, []string{"token.rejected"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			clk := newClock(time.Now())
			e := newEnv(t, func(o *jwks.Options) {
				if tt.validatorAudits {
					o.Audit = rec
				}
			})
			g := e.Guard(t, func(o *middleware.Options) {
				o.Audit = rec
				o.Now = func() time.Time { clk.Add(5 * time.Millisecond); return clk.Now() }
			})
			mux := http.NewServeMux()
			mux.Handle("GET /loans/{id}", g.Handler(whoami, middleware.Require("loan:read")))
			tok := e.Mint(map[string]any{"groups": tt.groups})
			r := httptest.NewRequest("GET", "/loans/42", nil)
			r.RemoteAddr = "192.0.2.7:4711"
			if tt.header != "" {
				r.Header.Set("Authorization", strings.ReplaceAll(tt.header, "TOKEN", tok))
			}
			mux.ServeHTTP(httptest.NewRecorder(), r)
			// Key-set events (jwks.refreshed) come from the validator's
			// background loading and are not part of a request's steps.
			got := slices.DeleteFunc(rec.Names(), func(n string) bool { return strings.HasPrefix(n, "jwks.") })
			if !slices.Equal(got, tt.want) {
				t.Fatalf("events %v, want %v", got, tt.want)
			}
			for _, ev := range rec.All() {
				if strings.HasPrefix(ev["event"].(string), "jwks.") {
					continue
				}
				fromGuard := ev["route"] != nil
				if !fromGuard {
					continue // the validator's own event
				}
				if ev["route"] != "GET /loans/{id}" || ev["remote_addr"] != "192.0.2.7:4711" {
					t.Errorf("%v: route %v remote_addr %v", ev["event"], ev["route"], ev["remote_addr"])
				}
				if d, _ := ev["duration_ms"].(float64); d <= 0 {
					t.Errorf("%v: duration_ms %v", ev["event"], ev["duration_ms"])
				}
				switch ev["event"] {
				case "authz.allowed":
					if ev["permission"] != "loan:read" || ev["sub"] != "u1" || ev["oid"] != "oid-1" || ev["token_id"] == nil || ev["policy_version"] == nil {
						t.Errorf("authz.allowed lacks fields: %v", ev)
					}
					if roles, _ := ev["roles"].([]string); !slices.Equal(roles, []string{"LoanViewer"}) {
						t.Errorf("roles %v", ev["roles"])
					}
				case "authz.denied":
					if ev["reason"] != "insufficient_role" || ev["outcome"] != "failure" {
						t.Errorf("authz.denied: %v", ev)
					}
				case "token.rejected":
					if ev["reason"] == nil || ev["sub"] != nil {
						t.Errorf("token.rejected must have a reason and no identity: %v", ev)
					}
				case "token.validated":
					if ev["kid"] != e.IdP.KeyID() || ev["alg"] != "RS256" || ev["iss"] != e.IdP.Issuer() {
						t.Errorf("token.validated: %v", ev)
					}
				}
			}
		})
	}
}

func TestAuditNeverCarriesTheToken(t *testing.T) {
	var buf bytes.Buffer
	e := newEnv(t)
	g := e.Guard(t, func(o *middleware.Options) { o.Audit = slog.NewJSONHandler(&buf, nil) })
	rm := e.Mint(map[string]any{"groups": []string{groupRM}})
	h := g.Handler(whoami, middleware.Require("loan:read"))
	for _, hdr := range []string{"Bearer " + rm, "Bearer " + rm + " x", "Bearer " + rm[:len(rm)-4] + "AAAA"} {
		r := httptest.NewRequest("GET", "/loans", nil)
		r.Header.Set("Authorization", hdr)
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	r := httptest.NewRequest("GET", "/loans?access_token="+rm, nil)
	h.ServeHTTP(httptest.NewRecorder(), r)
	if n := strings.Count(buf.String(), "\n"); n != 5 {
		t.Errorf("%d events, want 5:\n%s", n, buf.String())
	}
	if strings.Contains(buf.String(), rm[:30]) || strings.Contains(buf.String(), rm[len(rm)-30:]) {
		t.Fatalf("a token reached the audit log:\n%s", buf.String())
	}
}

// An anonymous request (no credential at all) is normal traffic: it is
// recorded as token.rejected with reason "missing" at INFO, while a
// malformed header stays WARN malformed.
func TestAuditAnonymousIsNotMalformed(t *testing.T) {
	tests := []struct {
		name, header, reason, level string
	}{
		{"no header", "", "missing", "INFO"},
		{"another scheme", "Basic dTpw", "missing", "INFO"},
		{"malformed bearer", "Bearer a b", "malformed", "WARN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			e := newEnv(t)
			g := e.Guard(t, func(o *middleware.Options) { o.Audit = slog.NewJSONHandler(&buf, nil) })
			r := httptest.NewRequest("GET", "/loans", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			g.Handler(whoami, middleware.Require("loan:read")).ServeHTTP(httptest.NewRecorder(), r)
			var ev map[string]any
			if err := json.Unmarshal(buf.Bytes(), &ev); err != nil {
				t.Fatalf("want one event: %v\n%s", err, buf.String())
			}
			if ev["event"] != "token.rejected" || ev["reason"] != tt.reason || ev["level"] != tt.level {
				t.Fatalf("event %v reason %v level %v, want token.rejected %s %s", ev["event"], ev["reason"], ev["level"], tt.reason, tt.level)
			}
		})
	}
}

// The guard detects that a validator records step 2 itself through the
// validators' own registration, also behind a revocation wrapper.
func TestAuditValidatorWrapped(t *testing.T) {
	for _, audits := range []bool{false, true} {
		rec := &recorder{}
		e := newEnv(t, func(o *jwks.Options) {
			if audits {
				o.Audit = rec
			}
		})
		list, err := revocation.New()
		if err != nil {
			t.Fatal(err)
		}
		g, err := middleware.New(revocation.NewValidator(e.V, list), func(o *middleware.Options) {
			o.Policy = e.Policy
			o.Audit = rec
		})
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+e.Mint(map[string]any{"groups": []string{groupRM}}))
		g.Handler(whoami, middleware.Require("loan:read")).ServeHTTP(httptest.NewRecorder(), r)
		got := slices.DeleteFunc(rec.Names(), func(n string) bool { return strings.HasPrefix(n, "jwks.") })
		if want := []string{"token.validated", "authz.allowed"}; !slices.Equal(got, want) {
			t.Errorf("validator audits %v: events %v, want %v", audits, got, want)
		}
	}
}
