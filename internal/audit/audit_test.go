package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"
)

func TestEmit(t *testing.T) {
	var buf bytes.Buffer
	l := New(slog.NewJSONHandler(&buf, nil))
	l.Emit(context.Background(), Event{
		Name: TokenRejected, Outcome: Failure, Reason: "expired",
		Issuer: "https://idp.example/", Subject: "u1", TokenID: TokenID("abc"),
		Roles: []string{"LoanViewer"}, Duration: 1500 * time.Microsecond,
	})
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("output is not one JSON object: %v", err)
	}
	want := map[string]any{
		"event": TokenRejected, "outcome": Failure, "reason": "expired",
		"iss": "https://idp.example/", "sub": "u1", "token_id": TokenID("abc"),
		"duration_ms": 1.5, "level": "WARN",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if _, ok := got["tid"]; ok {
		t.Error("empty fields must be left out")
	}
}

func TestNilLogger(t *testing.T) {
	var l *Logger
	l.Emit(context.Background(), Event{Name: TokenValidated})
	New(nil).Emit(context.Background(), Event{Name: TokenValidated})
}

func TestTokenID(t *testing.T) {
	if TokenID("") != "" {
		t.Fatal("empty jti must give empty id")
	}
	if got := TokenID("abc"); len(got) != 16 || got == "abc" {
		t.Fatalf("TokenID = %q", got)
	}
}
