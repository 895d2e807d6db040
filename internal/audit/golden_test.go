package audit

import (
	"bytes"
	"context"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// goldenEvents are one event of each name as the packages emit it (same
// fields, realistic values), so the golden files show a SIEM the exact
// JSON of each event. Trace fields come from a span reader set in the test.
func goldenEvents() []Event {
	at := time.Date(2026, 12, 3, 15, 0, 0, 0, time.UTC)
	const (
		iss = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"
		tid = "72f988bf-86f1-41af-91ab-2d7cd011db47"
		oid = "9f5bd7a6-0a8e-4ed1-a1b6-2a4b4d6a3c11"
		azp = "0f4e9c6d-7b2a-4f53-9b8e-5d2c1a3b4e6f"
	)
	user := func(e Event) Event {
		e.Issuer, e.TenantID, e.Subject, e.ObjectID, e.Client = iss, tid, "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ", oid, azp
		e.TokenID = TokenID("u5Y7nQ2xKkmN3bL0pQ1aAA")
		return e
	}
	ms := 1200 * time.Microsecond
	return []Event{
		user(Event{Name: TokenValidated, Outcome: Success, KeyID: "nOo3ZDrODXEK1jKWhXslHR_KXEg", Algorithm: "RS256",
			Roles: []string{"Loans.Read"}, Route: "GET /loans/{id}", RemoteAddr: "192.0.2.7:4711", Duration: ms,
			Attrs: []slog.Attr{slog.String("cache", "miss")}}),
		{Name: TokenRejected, Outcome: Failure, Reason: "expired", Issuer: iss, KeyID: "nOo3ZDrODXEK1jKWhXslHR_KXEg", Algorithm: "RS256",
			Route: "GET /loans/{id}", RemoteAddr: "192.0.2.7:4711", Duration: ms},
		user(Event{Name: AuthzAllowed, Outcome: Success, Permission: "loan:read", Roles: []string{"LoanViewer"},
			Route: "GET /loans/{id}", RemoteAddr: "192.0.2.7:4711", Duration: ms,
			Attrs: []slog.Attr{slog.String("policy_version", "lending@4f2a9c1e"), slog.Any("mappings", []string{"relationship-managers"})}}),
		user(Event{Name: AuthzDenied, Outcome: Failure, Reason: "insufficient_role", Permission: "loan:approve",
			Route: "POST /loans/{id}/approve", RemoteAddr: "192.0.2.7:4711", Duration: ms,
			Attrs: []slog.Attr{slog.String("policy_version", "lending@4f2a9c1e"), slog.String("rule", "separation of duties: loan:create")}}),
		user(Event{Name: TokenIssued, Outcome: Success, Duration: 84 * time.Millisecond}),
		user(Event{Name: TokenRefreshed, Outcome: Success, Duration: 61 * time.Millisecond}),
		user(Event{Name: TokenRefreshFailed, Outcome: Failure, Reason: "idp_unavailable", Duration: 30 * time.Second,
			Attrs: []slog.Attr{slog.String("error_code", "temporarily_unavailable")}}),
		{Name: SignInFailed, Outcome: Failure, Reason: "malformed", Duration: ms,
			Attrs: []slog.Attr{slog.String("stage", "state")}},
		{Name: STSAssumed, Outcome: Success, Issuer: iss, Subject: "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ", TokenID: TokenID("u5Y7nQ2xKkmN3bL0pQ1aAA"),
			Duration: 142 * time.Millisecond, Attrs: []slog.Attr{
				slog.String("role_arn", "arn:aws:iam::123456789012:role/lending-reader"),
				slog.String("session_name", "lending-9f5bd7a6"),
				slog.String("assumed_role_arn", "arn:aws:sts::123456789012:assumed-role/lending-reader/lending-9f5bd7a6"),
				slog.String("request_id", "c6104cbe-af31-11e0-8154-cbc7ccf896c7"),
				slog.String("access_key_id", "ASIAIOSFODNN7EXAMPLE"), slog.String("account_id", "123456789012"),
				slog.Time("expiration", at.Add(time.Hour))}},
		{Name: STSFailed, Outcome: Failure, Reason: "forbidden", Issuer: iss, TokenID: TokenID("u5Y7nQ2xKkmN3bL0pQ1aAA"),
			Duration: 40 * time.Millisecond, Attrs: []slog.Attr{
				slog.String("role_arn", "arn:aws:iam::123456789012:role/lending-reader"),
				slog.String("error_code", "AccessDenied"), slog.String("request_id", "c6104cbe-af31-11e0-8154-cbc7ccf896c7"),
				slog.Bool("cached", true)}},
		{Name: JWKSRefreshed, Outcome: Success, Issuer: iss, Duration: 35 * time.Millisecond, Attrs: []slog.Attr{
			slog.String("url", "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/discovery/v2.0/keys"),
			slog.Int("keys", 6), slog.Int("skipped", 0), slog.Bool("forced", false)}},
		{Name: JWKSRefreshFailed, Outcome: Failure, Reason: "idp_unavailable", Issuer: iss, Attrs: []slog.Attr{
			slog.String("url", "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/discovery/v2.0/keys"),
			slog.String("error", "jwks: identity provider unavailable: status 503")}},
		{Name: PolicyReloaded, Outcome: Success, Duration: 3 * time.Millisecond, Attrs: []slog.Attr{
			slog.String("policy_previous", "lending@0b1c2d3e"), slog.String("policy_version", "lending@4f2a9c1e"), slog.Int("mappings", 12)}},
		user(Event{Name: RevocationAdded, Outcome: Success, Attrs: []slog.Attr{
			slog.String("revocation", "subject"), slog.Time("revoked_at", at)}}),
		{Name: DirectoryLogin, Outcome: Failure, Reason: "signature", Duration: 9 * time.Millisecond, Attrs: []slog.Attr{
			slog.String("user", "amit"), slog.String("url", "ldaps://ldap.bank.example:636")}},
		{Name: GroupsResolved, Outcome: Success, Subject: "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ", ObjectID: oid, Duration: 48 * time.Millisecond,
			Attrs: []slog.Attr{slog.String("source", "graph"), slog.Int("groups", 214)}},
	}
}

// goldenHandler writes JSON without the time, which changes on every run.
func goldenHandler(buf *bytes.Buffer) slog.Handler {
	return slog.NewJSONHandler(buf, &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})
}

func TestGolden(t *testing.T) {
	SetSpanIDs(func(ctx context.Context) (string, string) {
		return "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	})
	defer spanIDs.Store(nil)
	seen := map[string]bool{}
	for _, e := range goldenEvents() {
		t.Run(e.Name, func(t *testing.T) {
			if seen[e.Name] {
				t.Fatalf("two golden events named %s", e.Name)
			}
			seen[e.Name] = true
			var buf bytes.Buffer
			New(goldenHandler(&buf)).Emit(context.Background(), e)
			path := filepath.Join("testdata", e.Name+".golden")
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("JSON of %s changed; a SIEM parses it. got:\n%s\nwant:\n%s", e.Name, buf.Bytes(), want)
			}
			if !strings.Contains(buf.String(), `"schema_version":1`) || !strings.Contains(buf.String(), `"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"`) {
				t.Errorf("schema_version or trace_id missing: %s", buf.Bytes())
			}
		})
	}
}
