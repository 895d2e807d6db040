package idp

import (
	"strings"
	"testing"
)

func TestSplitResourceScope(t *testing.T) {
	tests := []struct {
		scope, resource, permission string
		ok                          bool
	}{
		{"api://lending/Loans.Read", "api://lending", "Loans.Read", true},
		{"api://lending/.default", "api://lending", ".default", true},
		{"https://graph.microsoft.com/User.Read", "https://graph.microsoft.com", "User.Read", true},
		{"api://lending/v2/Loans.Read", "api://lending/v2", "Loans.Read", true},
		{"00000003-0000-0000-c000-000000000000/User.Read", "00000003-0000-0000-c000-000000000000", "User.Read", true},
		{"openid", "", "", false},
		{"api://lending", "", "", false},
		{"api://lending/", "", "", false},
		{"not-a-guid/Perm", "", "", false},
		{"://x/y", "", "", false},
	}
	for _, tc := range tests {
		r, p, ok := splitResourceScope(tc.scope)
		if r != tc.resource || p != tc.permission || ok != tc.ok {
			t.Errorf("splitResourceScope(%q) = %q, %q, %v; want %q, %q, %v", tc.scope, r, p, ok, tc.resource, tc.permission, tc.ok)
		}
	}
}

func TestResolveAudience(t *testing.T) {
	tests := []struct {
		name      string
		scopes    []string
		resources []string
		want      string
		wantErr   bool
	}{
		{"none", []string{"openid", "profile"}, nil, "client", false},
		{"scope", []string{"openid", "api://lending/Loans.Read"}, nil, LendingAppID, false},
		{"default", []string{"api://lending/.default"}, nil, LendingAppID, false},
		{"by application ID", []string{LendingAppID + "/Loans.Read"}, nil, LendingAppID, false},
		{"resource", nil, []string{"api://cbs"}, CBSAppID, false},
		{"resource with slash", nil, []string{"api://cbs/"}, CBSAppID, false},
		{"agreeing", []string{"api://cbs/A", "api://cbs/B"}, []string{"api://cbs"}, CBSAppID, false},
		{"URI and application ID agree", []string{"api://cbs/A"}, []string{CBSAppID}, CBSAppID, false},
		{"unknown resource keeps its name", nil, []string{"https://graph.example"}, "https://graph.example", false},
		{"two scopes", []string{"api://cbs/A", "api://lending/B"}, nil, "", true},
		{"scope and resource", []string{"api://cbs/A"}, []string{"api://lending"}, "", true},
	}
	for _, tc := range tests {
		got, err := resolveAudience("client", tc.scopes, tc.resources, ScenarioAPIs())
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("%s: resolveAudience = %q, %v; want %q, error %v", tc.name, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestDelegatedScp(t *testing.T) {
	tests := []struct {
		scopes    []string
		aud, want string
	}{
		{[]string{"openid", "api://lending/Loans.Read", "api://lending/Loans.Write"}, LendingAppID, "Loans.Read Loans.Write"},
		{[]string{"api://lending/.default"}, LendingAppID, "user_impersonation"},
		{[]string{LendingAppID + "/Loans.Read", "api://cbs/A"}, LendingAppID, "Loans.Read"},
		{[]string{"openid", "profile", "offline_access"}, "client", "openid profile"},
		{[]string{"offline_access"}, "client", "user_impersonation"},
		{nil, CBSAppID, "user_impersonation"},
	}
	for _, tc := range tests {
		if got := delegatedScp(tc.scopes, tc.aud, "client", ScenarioAPIs()); got != tc.want {
			t.Errorf("delegatedScp(%v, %q) = %q, want %q", tc.scopes, tc.aud, got, tc.want)
		}
	}
}

func FuzzSplitResourceScope(f *testing.F) {
	for _, s := range []string{"api://lending/Loans.Read", "openid", "api://x/", "00000003-0000-0000-c000-000000000000/User.Read", "://", "a://b/c/d", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, scope string) {
		r, p, ok := splitResourceScope(scope)
		if !ok {
			return
		}
		if r == "" || p == "" || r+"/"+p != scope || strings.HasSuffix(r, "/") {
			t.Fatalf("splitResourceScope(%q) = %q, %q", scope, r, p)
		}
		if _, err := resolveAudience("c", []string{scope}, nil, ScenarioAPIs()); err != nil {
			t.Fatalf("one resource scope refused: %v", err)
		}
	})
}

func FuzzVerifyAssertion(f *testing.F) {
	o, err := DefaultOptions().normalize()
	if err != nil {
		f.Fatal(err)
	}
	s := newStorage(o, nil)
	for _, a := range []string{"", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30.", "eyJhbGciOiJub25lIn0.eyJpc3MiOiJjYnMtYmF0Y2giLCJzdWIiOiJjYnMtYmF0Y2gifQ."} {
		f.Add(a, "")
	}
	f.Fuzz(func(t *testing.T, assertion, clientID string) {
		if _, err := s.verifyAssertion(assertion, clientID, []string{"https://127.0.0.1/oauth/token"}); err == nil {
			t.Fatal("an unsigned or random assertion was accepted")
		} else if assertion != "" && len(assertion) > 8 && strings.Contains(err.Error(), assertion) {
			t.Fatal("the error echoes the assertion")
		}
	})
}

func BenchmarkResolveAudience(b *testing.B) {
	scopes := []string{"openid", "profile", "offline_access", "api://lending/Loans.Read", "api://lending/Loans.Write"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := resolveAudience("lending-web", scopes, nil, ScenarioAPIs()); err != nil {
			b.Fatal(err)
		}
	}
}
