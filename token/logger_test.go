package token

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// logBuffer collects JSON log records.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		m := map[string]any{}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %v", err)
		}
		out = append(out, m)
	}
	return out
}

// TestLoggerSeesOperationalProblems: with audit off, an IdP that throttles
// (429 with Retry-After) or fails (503) while a token is still valid
// reaches Renewal.Logger at warning level, with what an operator needs
// and no secret.
func TestLoggerSeesOperationalProblems(t *testing.T) {
	clock := newFakeClock()
	var mu sync.Mutex
	status := 200
	idp := newFakeIdP(t, func(int, url.Values, http.Header) (int, map[string]string, string) {
		mu.Lock()
		defer mu.Unlock()
		switch status {
		case 429:
			return 429, map[string]string{"Retry-After": "7"}, `{"error":"temporarily_unavailable","error_description":"AADSTS50196: The server terminated an operation because it encountered a client request loop.","trace_id":"trace-1"}`
		case 503:
			return 503, nil, "upstream busy"
		}
		return 200, nil, okToken("at-secret-value", 3600)
	})
	setStatus := func(s int) { mu.Lock(); status = s; mu.Unlock() }
	var logs logBuffer
	c, err := NewCachedClientCredentials(Client{ID: "svc", TokenURL: idp.URL(), Auth: ClientSecretPost("client-secret-value")},
		[]string{"api://core/.default"}, func(o *CachedOptions) {
			o.Now = clock.Now
			o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
		})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if _, err := c.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(logs.records(t)); n != 0 {
		t.Fatalf("%d log records for a successful fetch", n)
	}

	// In the refresh window the IdP fails: the current token is served and
	// the failure logged.
	setStatus(503)
	clock.Advance(55 * time.Minute)
	if tok, err := c.Token(ctx); err != nil || tok.AccessToken != "at-secret-value" {
		t.Fatalf("in the window: %v", err)
	}
	waitFor(t, "the failed renewal to be logged", func() bool { return len(logs.records(t)) == 1 })

	// Expired, and the IdP throttles: the caller gets the error, the
	// operator the status and Retry-After.
	clock.Advance(time.Hour)
	setStatus(429)
	if _, err := c.Token(ctx); !errors.Is(err, ErrIdPUnavailable) {
		t.Fatalf("expired while throttled: %v", err)
	}
	recs := logs.records(t)
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	for i, want := range []map[string]any{
		{"level": "WARN", "msg": "token: renewal failed; serving the current token meanwhile", "reason": "idp_unavailable", "status": 503.0, "failures": 1.0},
		{"level": "WARN", "msg": "token: renewal failed; no valid token to serve", "reason": "idp_unavailable", "status": 429.0, "failures": 2.0,
			"error_code": "temporarily_unavailable", "retry_after": float64(7 * time.Second), "trace_id": "trace-1"},
	} {
		for k, v := range want {
			if recs[i][k] != v {
				t.Errorf("record %d: %s = %v, want %v (%v)", i, k, recs[i][k], v, recs[i])
			}
		}
	}
	if recs[0]["valid_until"] == nil || recs[1]["retry_in"].(float64) < float64(7*time.Second) {
		t.Errorf("valid_until or retry_in missing: %v", recs)
	}
	logs.mu.Lock()
	all := logs.buf.String()
	logs.mu.Unlock()
	for _, secret := range []string{"at-secret-value", "client-secret-value"} {
		if strings.Contains(all, secret) {
			t.Errorf("the log carries %s", secret)
		}
	}
}

// TestLoggerSeesIntrospectionOutage: a throttled introspection endpoint
// reaches Renewal.Logger with its status and Retry-After; a token the
// server calls inactive is the caller's problem and is not logged.
func TestLoggerSeesIntrospectionOutage(t *testing.T) {
	e := newIntrospectionEndpoint(t, func(string) (int, string, string) {
		return http.StatusTooManyRequests, "", `{"error":"slow_down"}`
	})
	var logs logBuffer
	i := introspectorFor(t, e, nil, func(o *IntrospectorOptions) { o.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) })
	if _, err := i.Validate(context.Background(), "opaque-token-value"); !errors.Is(err, ErrIdPUnavailable) {
		t.Fatalf("error %v", err)
	}
	e.setRespond(answer(`{"active":false}`))
	if _, err := i.Validate(context.Background(), "another-opaque-token"); !errors.Is(err, ErrInactive) {
		t.Fatalf("error %v", err)
	}
	recs := logs.records(t)
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1: %v", len(recs), recs)
	}
	for k, v := range map[string]any{"level": "WARN", "msg": "token: introspection failed; tokens cannot be validated",
		"reason": "idp_unavailable", "status": 429.0, "error_code": "slow_down"} {
		if recs[0][k] != v {
			t.Errorf("%s = %v, want %v (%v)", k, recs[0][k], v, recs[0])
		}
	}
	if logs.buf.Len() > 0 && strings.Contains(logs.buf.String(), "opaque-token-value") {
		t.Error("the log carries the token")
	}
}
