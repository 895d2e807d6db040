package rbacit

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/integration/ldaptest"
	"github.com/idbridge/idbridge/rbac/ldap"
)

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// events returns the JSON events written since the last call.
func (b *lockedBuffer) events(t *testing.T) ([]map[string]any, string) {
	t.Helper()
	b.mu.Lock()
	raw := b.buf.String()
	b.buf.Reset()
	b.mu.Unlock()
	var out []map[string]any
	for line := range strings.Lines(raw) {
		m := map[string]any{}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %v: %s", err, line)
		}
		out = append(out, m)
	}
	return out, raw
}

// TestDirectoryLoginsAreAudited: every directory login, success or failure,
// is one directory.login event, and every directory read of a user's groups
// one groups.resolved (none for an answer from the GroupsTTL cache); no
// event carries a password, against the real slapd.
func TestDirectoryLoginsAreAudited(t *testing.T) {
	srv := ldaptest.Start(t)
	var buf lockedBuffer
	dir := directory(t, srv, srv.LDAPSURL, func(o *ldap.Options) {
		o.Audit = slog.NewJSONHandler(&buf, nil)
		o.GroupsTTL = 60_000_000_000 // a minute
	})
	ctx := context.Background()
	logins := []struct {
		name, user, password, outcome, reason, level string
	}{
		{"success", ldaptest.UserAmit, ldaptest.PasswordAmit, "success", "", "INFO"},
		{"wrong password", ldaptest.UserAmit, "amit-Wrong-Pw-77", "failure", "forbidden", "WARN"},
		{"unknown user", "nobody", "nobody-Pw-12", "failure", "forbidden", "WARN"},
		{"filter injection", "amit.r)(uid=*", "inject-Pw-9", "failure", "forbidden", "WARN"},
		{"forged log line", "amit.r\n{\"event\":\"directory.login\"}", "forge-Pw-3", "failure", "malformed", "WARN"},
	}
	for _, tt := range logins {
		t.Run(tt.name, func(t *testing.T) {
			_, _ = dir.Authenticate(ctx, tt.user, tt.password)
			evs, raw := buf.events(t)
			if len(evs) != 1 {
				t.Fatalf("%d events, want 1:\n%s", len(evs), raw)
			}
			ev := evs[0]
			if ev["event"] != "directory.login" || ev["outcome"] != tt.outcome || ev["level"] != tt.level || ev["url"] == nil {
				t.Fatalf("event %v", ev)
			}
			if tt.reason != "" && ev["reason"] != tt.reason {
				t.Errorf("reason %v, want %s", ev["reason"], tt.reason)
			}
			if tt.outcome == "success" && (ev["user"] != ldaptest.UserAmit || ev["sub"] != srv.UserDN(ldaptest.UserAmit) || ev["groups"] == nil) {
				t.Errorf("success lacks the user: %v", ev)
			}
			// A name that can name no account is left out; one that can
			// (even a filter injection, escaped before the search) is kept
			// for the SIEM, JSON-escaped.
			if strings.Contains(tt.user, "\n") && ev["user"] != nil {
				t.Errorf("an impossible user name was logged: %q", ev["user"])
			}
			if strings.Contains(tt.user, ")") && ev["user"] != tt.user {
				t.Errorf("user %v, want %q", ev["user"], tt.user)
			}
			if strings.Contains(raw, tt.password) || strings.Contains(raw, srv.BindPassword) {
				t.Fatalf("a password reached the audit log:\n%s", raw)
			}
		})
	}
	t.Run("groups", func(t *testing.T) {
		c := &idbridge.Claims{Issuer: "https://login.example", PreferredUsername: ldaptest.UserPriya, Subject: "priya-sub"}
		for range 2 { // the second is answered from the cache
			if _, err := dir.Groups(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		evs, raw := buf.events(t)
		if len(evs) != 1 {
			t.Fatalf("%d events, want 1 (the cache hit is not a directory read):\n%s", len(evs), raw)
		}
		ev := evs[0]
		if ev["event"] != "groups.resolved" || ev["source"] != "ldap" || ev["user"] != ldaptest.UserPriya || ev["groups"] != 1.0 || ev["outcome"] != "success" {
			t.Fatalf("event %v", ev)
		}
		if _, err := dir.Lookup(ctx, ldaptest.UserLeo); err == nil {
			t.Fatal("leaver looked up")
		}
		evs, _ = buf.events(t)
		if len(evs) != 1 || evs[0]["event"] != "groups.resolved" || evs[0]["reason"] != "revoked" {
			t.Fatalf("leaver lookup: %v", evs)
		}
	})
}
