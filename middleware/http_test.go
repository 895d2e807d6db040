package middleware_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
	"github.com/idbridge/idbridge/middleware"
)

// whoami answers with the principal's subject and roles.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	p, ok := middleware.FromContext(r.Context())
	if !ok {
		fmt.Fprint(w, "anonymous")
		return
	}
	fmt.Fprintf(w, "%s %v %s", p.Claims.Subject, p.Decision.Roles(), r.URL.RawQuery)
})

func TestHandler(t *testing.T) {
	e := newEnv(t)
	rm := e.Mint(map[string]any{"groups": []string{groupRM}, "scp": "Loans.Read Loans.List"})
	approverNoMFA := e.Mint(map[string]any{"groups": []string{groupApprover}, "amr": []string{"pwd"}})
	approverNoMFACAE := e.Mint(map[string]any{"groups": []string{groupApprover}, "amr": []string{"pwd"}, "xms_cc": []string{"cp1"}})
	approver := e.Mint(map[string]any{"groups": []string{groupApprover}, "amr": []string{"pwd", "mfa"}})
	leaver := e.Mint(map[string]any{"groups": []string{groupRM, groupLeavers}})
	nobody := e.Mint(map[string]any{"roles": []string{"Reports.Read"}})
	expired := e.Mint(map[string]any{"groups": []string{groupRM}, "iat": time.Now().Add(-3 * time.Hour).Unix(), "exp": time.Now().Add(-2 * time.Hour).Unix()})
	otherAud := e.Mint(map[string]any{"aud": "api://other"})
	forged := rm[:len(rm)-8] + "AAAAAAAA"
	huge := "a" + strings.Repeat("b", jwks.DefaultMaxTokenSize)

	bearer := func(tok string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	}
	stepUp := base64.StdEncoding.EncodeToString([]byte(defaultStepUpClaims))

	tests := []struct {
		name      string
		reqs      []middleware.Requirement
		req       func(*http.Request)
		status    int
		challenge string // exact WWW-Authenticate; "-" for none
		body      string // substring of the body
		err       error  // the sentinel the guard's error wraps
		class     idbridge.Reason
	}{
		{"no header", []middleware.Requirement{middleware.Authenticated()}, func(*http.Request) {},
			401, `Bearer realm="lending"`, `"error":"unauthorized"`, middleware.ErrNoToken, reason.Malformed},
		{"basic scheme", []middleware.Requirement{middleware.Authenticated()}, func(r *http.Request) { r.SetBasicAuth("u", "p") },
			401, `Bearer realm="lending"`, "unauthorized", middleware.ErrNoToken, reason.Malformed},
		{"bearer without token", []middleware.Requirement{middleware.Authenticated()}, func(r *http.Request) { r.Header.Set("Authorization", "Bearer ") },
			400, `Bearer realm="lending", error="invalid_request", error_description="malformed"`, "invalid_request", middleware.ErrMalformedHeader, reason.Malformed},
		{"two words", []middleware.Requirement{middleware.Authenticated()}, bearer(rm + " extra"),
			400, `Bearer realm="lending", error="invalid_request", error_description="malformed"`, "", middleware.ErrMalformedHeader, reason.Malformed},
		{"comma joined", []middleware.Requirement{middleware.Authenticated()}, bearer(rm + ", Bearer " + rm),
			400, `Bearer realm="lending", error="invalid_request", error_description="malformed"`, "", middleware.ErrMalformedHeader, reason.Malformed},
		{"two headers", []middleware.Requirement{middleware.Authenticated()}, func(r *http.Request) {
			r.Header.Add("Authorization", "Bearer "+rm)
			r.Header.Add("Authorization", "Bearer "+rm)
		}, 400, `Bearer realm="lending", error="invalid_request", error_description="malformed"`, "", middleware.ErrMultipleTokens, reason.Malformed},
		{"query token refused", []middleware.Requirement{middleware.Authenticated()}, func(r *http.Request) { r.URL.RawQuery = "access_token=" + rm },
			400, `Bearer realm="lending", error="invalid_request", error_description="malformed"`, "", middleware.ErrQueryToken, reason.Malformed},
		{"query token behind a ';' pair refused with header", []middleware.Requirement{middleware.Authenticated()}, func(r *http.Request) {
			r.URL.RawQuery = "page=2;access_token=" + rm
			r.Header.Set("Authorization", "Bearer "+rm)
		}, 400, `Bearer realm="lending", error="invalid_request", error_description="malformed"`, "", middleware.ErrQueryToken, reason.Malformed},
		{"encoded query token refused with header", []middleware.Requirement{middleware.Authenticated()}, func(r *http.Request) {
			r.URL.RawQuery = "x=1&access%5Ftoken=" + rm
			r.Header.Set("Authorization", "Bearer "+rm)
		}, 400, `Bearer realm="lending", error="invalid_request", error_description="malformed"`, "", middleware.ErrQueryToken, reason.Malformed},
		{"too large", []middleware.Requirement{middleware.Authenticated()}, bearer(huge),
			401, `Bearer realm="lending", error="invalid_token", error_description="too_large"`, "", middleware.ErrTokenTooLarge, reason.TooLarge},
		{"not a JWT", []middleware.Requirement{middleware.Authenticated()}, bearer("abc"),
			401, `Bearer realm="lending", error="invalid_token", error_description="malformed"`, "", jwks.ErrMalformed, reason.Malformed},
		{"expired", []middleware.Requirement{middleware.Authenticated()}, bearer(expired),
			401, `Bearer realm="lending", error="invalid_token", error_description="expired"`, `"error_description":"expired"`, jwks.ErrExpired, reason.Expired},
		{"other audience", []middleware.Requirement{middleware.Authenticated()}, bearer(otherAud),
			401, `Bearer realm="lending", error="invalid_token", error_description="audience"`, "", jwks.ErrAudience, reason.Audience},
		{"forged signature", []middleware.Requirement{middleware.Authenticated()}, bearer(forged),
			401, `Bearer realm="lending", error="invalid_token", error_description="signature"`, "", jwks.ErrSignature, reason.Signature},
		{"lower-case scheme, extra spaces", []middleware.Requirement{middleware.Require("loan:read")}, func(r *http.Request) { r.Header.Set("Authorization", "bearer   "+rm) },
			200, "-", "u1 [LoanViewer]", nil, ""},
		{"permission granted", []middleware.Requirement{middleware.Require("loan:read")}, bearer(rm),
			200, "-", "u1 [LoanViewer]", nil, ""},
		{"permission missing", []middleware.Requirement{middleware.Require("loan:approve")}, bearer(rm),
			403, `Bearer realm="lending", error="insufficient_scope", error_description="insufficient_role"`, `"error":"insufficient_scope"`, nil, reason.InsufficientRole},
		{"no mapping at all", []middleware.Requirement{middleware.Require("loan:read")}, bearer(nobody),
			403, `Bearer realm="lending", error="insufficient_scope", error_description="insufficient_role"`, "", nil, reason.InsufficientRole},
		{"step-up, CAE-capable client", []middleware.Requirement{middleware.Require("loan:approve")}, bearer(approverNoMFACAE),
			401, `Bearer realm="lending", error="insufficient_claims", error_description="step_up_required", claims="` + stepUp + `"`, "insufficient_claims", nil, reason.StepUpRequired},
		// Entra sends claims challenges only to clients that declare cp1;
		// the others get RFC 9470's answer, which they may understand.
		{"step-up, other client", []middleware.Requirement{middleware.Require("loan:approve")}, bearer(approverNoMFA),
			401, `Bearer realm="lending", error="insufficient_user_authentication", error_description="step_up_required"`, "insufficient_user_authentication", nil, reason.StepUpRequired},
		{"after step-up", []middleware.Requirement{middleware.Require("loan:approve")}, bearer(approver),
			200, "-", "u1 [LoanApprover]", nil, ""},
		{"leaver denied on an authenticated route", []middleware.Requirement{middleware.Authenticated()}, bearer(leaver),
			403, `Bearer realm="lending", error="insufficient_scope", error_description="revoked"`, "", nil, reason.Revoked},
		{"authenticated without grant", []middleware.Requirement{middleware.Authenticated()}, bearer(nobody),
			200, "-", "u1 []", nil, ""},
		{"scope granted", []middleware.Requirement{middleware.RequireScope("Loans.Write", "Loans.Read")}, bearer(rm),
			200, "-", "u1", nil, ""},
		{"scope missing", []middleware.Requirement{middleware.RequireScope("Loans.Write", "Loans.Admin")}, bearer(rm),
			403, `Bearer realm="lending", error="insufficient_scope", error_description="insufficient_scope", scope="Loans.Write Loans.Admin"`, "", middleware.ErrInsufficientScope, reason.InsufficientScope},
		{"all requirements must hold", []middleware.Requirement{middleware.RequireScope("Loans.Read"), middleware.Require("loan:approve")}, bearer(rm),
			403, `Bearer realm="lending", error="insufficient_scope", error_description="insufficient_role"`, "", nil, reason.InsufficientRole},
		{"policy role", []middleware.Requirement{middleware.RequireRole("LoanViewer")}, bearer(rm),
			200, "-", "u1", nil, ""},
		{"policy role not held", []middleware.Requirement{middleware.RequireRole("LoanApprover")}, bearer(rm),
			403, `Bearer realm="lending", error="insufficient_scope", error_description="insufficient_role"`, "", middleware.ErrInsufficientRole, reason.InsufficientRole},
		{"custom check", []middleware.Requirement{middleware.RequireFunc("tenant", func(_ context.Context, p *middleware.Principal) error {
			if p.Claims.TenantID != "tid-2" {
				return errors.New("wrong tenant")
			}
			return nil
		})}, bearer(rm), 403, `Bearer realm="lending", error="insufficient_scope", error_description="forbidden"`, "", nil, reason.Forbidden},
		{"no requirement: deny by default", nil, bearer(rm),
			403, `Bearer realm="lending", error="insufficient_scope", error_description="forbidden"`, "", middleware.ErrNoRequirement, reason.Forbidden},
		{"skip auth", []middleware.Requirement{middleware.SkipAuth()}, func(*http.Request) {},
			200, "-", "anonymous", nil, ""},
		{"skip auth with others", []middleware.Requirement{middleware.SkipAuth(), middleware.Authenticated()}, bearer(rm),
			500, "-", "server_error", middleware.ErrMisconfigured, reason.Forbidden},
		{"bad scope", []middleware.Requirement{middleware.RequireScope(`a"b`)}, bearer(rm),
			500, "-", "server_error", middleware.ErrMisconfigured, reason.Forbidden},
		{"zero requirement", []middleware.Requirement{{}}, bearer(rm),
			500, "-", "server_error", middleware.ErrMisconfigured, reason.Forbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *middleware.Error
			g := e.Guard(t, func(o *middleware.Options) {
				o.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err *middleware.Error) {
					got = err
					middleware.WriteError(w, r, err)
				}
			})
			r := httptest.NewRequest("GET", "/loans/1", nil)
			tt.req(r)
			w := httptest.NewRecorder()
			g.Handler(whoami, tt.reqs...).ServeHTTP(w, r)
			body := w.Body.String()
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.status, body)
			}
			ch := w.Header().Get("WWW-Authenticate")
			if tt.challenge == "-" && ch != "" || tt.challenge != "-" && ch != tt.challenge {
				t.Errorf("WWW-Authenticate\n got %s\nwant %s", ch, tt.challenge)
			}
			if !strings.Contains(body, tt.body) {
				t.Errorf("body %q does not contain %q", body, tt.body)
			}
			for _, tok := range []string{rm, expired, forged, leaver, huge[:100]} {
				if strings.Contains(body, tok) || strings.Contains(ch, tok) || got != nil && strings.Contains(fmt.Sprintf("%v %+v %#v", got, got, got), tok) {
					t.Fatal("a token leaked into the response or the error")
				}
			}
			if tt.status == 200 {
				if got != nil {
					t.Fatalf("error handler called for an admitted request: %v", got)
				}
				return
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Error("rejection without Cache-Control: no-store")
			}
			if got == nil {
				t.Fatal("error handler not called")
			}
			if tt.err != nil && !errors.Is(got, tt.err) {
				t.Errorf("error %v does not wrap %v", got, tt.err)
			}
			if got.Reason() != tt.class || reason.Of(got) != tt.class {
				t.Errorf("class %q (reason.Of %q), want %q", got.Reason(), reason.Of(got), tt.class)
			}
			if got.Status != tt.status {
				t.Errorf("Error.Status %d, want %d", got.Status, tt.status)
			}
		})
	}
}

func TestHandlerWithoutPolicy(t *testing.T) {
	e := newEnv(t)
	g, err := middleware.New(e.V)
	if err != nil {
		t.Fatal(err)
	}
	app := e.Mint(map[string]any{"roles": []string{"Reports.Read"}})
	tests := []struct {
		name   string
		reqs   []middleware.Requirement
		status int
	}{
		{"token role", []middleware.Requirement{middleware.RequireRole("Admin", "Reports.Read")}, 200},
		{"token role missing", []middleware.Requirement{middleware.RequireRole("Admin")}, 403},
		{"permission needs a policy", []middleware.Requirement{middleware.Require("loan:read")}, 500},
		{"authenticated", []middleware.Requirement{middleware.Authenticated()}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+app)
			w := httptest.NewRecorder()
			g.Handler(whoami, tt.reqs...).ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if w.Code == 200 && w.Body.String() != "u1 [] " {
				t.Errorf("body %q", w.Body)
			}
		})
	}
}

func TestDefaultRequirements(t *testing.T) {
	e := newEnv(t)
	g := e.Guard(t, func(o *middleware.Options) { o.Default = []middleware.Requirement{middleware.Require("loan:read")} })
	rm := e.Mint(map[string]any{"groups": []string{groupRM}})
	nobody := e.Mint(nil)
	for tok, want := range map[string]int{rm: 200, nobody: 403} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		g.Handler(whoami).ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("status %d, want %d", w.Code, want)
		}
	}
}

func TestQueryTokenAllowed(t *testing.T) {
	e := newEnv(t)
	g := e.Guard(t, func(o *middleware.Options) { o.InsecureAllowQueryToken = true })
	rm := e.Mint(map[string]any{"groups": []string{groupRM}})
	h := g.Handler(whoami, middleware.Require("loan:read"))
	tests := []struct {
		name   string
		query  string
		header bool
		status int
		body   string
	}{
		{"query only", "page=2&access_token=" + rm, false, 200, "u1 [LoanViewer] page=2"},
		{"behind a ';' pair, stripped", "page=2;access_token=" + rm + ";sort=asc", false, 200, "u1 [LoanViewer] page=2;sort=asc"},
		{"';' token and header", "page=2;access_token=" + rm, true, 400, ""},
		{"query and header", "access_token=" + rm, true, 400, ""},
		{"two query tokens", "access_token=" + rm + "&access_token=" + rm, false, 400, ""},
		{"bad query token", "access_token=a%20b", false, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/loans?"+tt.query, nil)
			if tt.header {
				r.Header.Set("Authorization", "Bearer "+rm)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.body) {
				t.Fatalf("status %d body %q, want %d %q", w.Code, w.Body, tt.status, tt.body)
			}
		})
	}
}

func TestUnavailable(t *testing.T) {
	idp := jwkstest.Start(t)
	idp.SetStatus(http.StatusInternalServerError) // down before the first key fetch
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: idp.Issuer(), JWKSURL: idp.JWKSURL()}}
		o.Audiences = []string{audience}
		o.Algorithms = []string{"RS256"}
		o.HTTPClient = idp.Client()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	g, err := middleware.New(v)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+idp.Mint(map[string]any{"aud": audience}))
	w := httptest.NewRecorder()
	g.Handler(whoami, middleware.Authenticated()).ServeHTTP(w, r)
	if w.Code != 503 || w.Header().Get("WWW-Authenticate") != "" {
		t.Fatalf("status %d, challenge %q; want 503 without challenge", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	if !strings.Contains(w.Body.String(), "temporarily_unavailable") {
		t.Errorf("body %s", w.Body)
	}
}

func TestStepUpClaimsOptions(t *testing.T) {
	e := newEnv(t)
	const acrs = `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`
	claims := `Bearer authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", error_description="step_up_required", claims="` +
		base64.StdEncoding.EncodeToString([]byte(acrs)) + `"`
	rfc9470 := `Bearer error="insufficient_user_authentication", error_description="step_up_required"`
	tests := []struct {
		name   string
		always bool
		cc     []string // xms_cc
		want   string
	}{
		{"cp1", false, []string{"cp1"}, claims},
		{"cp1 among others", false, []string{"cp2", "cp1"}, claims},
		{"no xms_cc", false, nil, rfc9470},
		{"other capability", false, []string{"cp2"}, rfc9470},
		{"always, no xms_cc", true, nil, claims},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := e.Guard(t, func(o *middleware.Options) {
				o.StepUpClaims = acrs
				o.AuthorizationURI = "https://login.microsoftonline.com/common/oauth2/authorize"
				o.Realm = ""
				o.ClaimsChallengeAlways = tt.always
			})
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+e.Mint(map[string]any{"groups": []string{groupApprover}, "xms_cc": tt.cc}))
			w := httptest.NewRecorder()
			g.Handler(whoami, middleware.Require("loan:approve")).ServeHTTP(w, r)
			if got := w.Header().Get("WWW-Authenticate"); w.Code != 401 || got != tt.want {
				t.Fatalf("%d %s\nwant 401 %s", w.Code, got, tt.want)
			}
		})
	}
}

func TestPrincipalContext(t *testing.T) {
	e := newEnv(t)
	g := e.Guard(t)
	tok := e.Mint(map[string]any{"groups": []string{groupRM}})
	var p *middleware.Principal
	h := g.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ = middleware.FromContext(r.Context())
	}), middleware.Require("loan:read"))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	h.ServeHTTP(httptest.NewRecorder(), r)
	if p == nil {
		t.Fatal("no principal in the handler's context")
	}
	if p.Token() != tok || p.Claims.ObjectID != "oid-1" || !p.Decision.Allowed("loan:read") || p.Decision.Allowed("loan:approve") {
		t.Errorf("principal %v: wrong token, claims or decision", p)
	}
	// Printing or logging the principal never shows the token.
	var buf strings.Builder
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("req", "principal", p, "value", *p)
	js, _ := json.Marshal(p)
	ctx := middleware.NewContext(context.Background(), p)
	for _, s := range []string{fmt.Sprintf("%v %+v %#v %s %q", p, p, p, p, p), fmt.Sprintf("%v %+v %#v", *p, *p, *p), buf.String(), string(js), fmt.Sprint(ctx)} {
		if strings.Contains(s, tok) || strings.Contains(s, tok[:40]) {
			t.Fatalf("token printed: %s", s)
		}
	}
	if !strings.Contains(fmt.Sprint(p), `oid="oid-1"`) || !strings.Contains(buf.String(), `"oid":"oid-1"`) {
		t.Errorf("principal does not describe itself: %v / %s", p, buf.String())
	}
	if _, ok := middleware.FromContext(context.Background()); ok {
		t.Error("FromContext found a principal in an empty context")
	}
}

func TestNewRefuses(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		v    middleware.Validator
		fn   func(*middleware.Options)
	}{
		{"nil validator", nil, nil},
		{"realm with quote", e.V, func(o *middleware.Options) { o.Realm = `a"b` }},
		{"realm with newline", e.V, func(o *middleware.Options) { o.Realm = "a\nb" }},
		{"authorization URI with quote", e.V, func(o *middleware.Options) { o.AuthorizationURI = `https://x/"` }},
		{"step-up claims not JSON", e.V, func(o *middleware.Options) { o.StepUpClaims = "mfa" }},
		{"step-up claims not an object", e.V, func(o *middleware.Options) { o.StepUpClaims = "[1]" }},
		{"default invalid", e.V, func(o *middleware.Options) { o.Default = []middleware.Requirement{middleware.RequireRole()} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := middleware.New(tt.v, tt.fn)
			if !errors.Is(err, idbridge.ErrInvalidOptions) || g != nil {
				t.Fatalf("New = %v, %v; want ErrInvalidOptions", g, err)
			}
		})
	}
}

func TestCustomErrorHandlerAndBody(t *testing.T) {
	e := newEnv(t)
	g := e.Guard(t)
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer x.y.z")
	w := httptest.NewRecorder()
	g.Handler(whoami, middleware.Authenticated()).ServeHTTP(w, r)
	var body map[string]string
	if err := json.NewDecoder(w.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body["error"] != "invalid_token" || body["error_description"] != "malformed" || len(body) != 2 {
		t.Errorf("body %v", body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}
