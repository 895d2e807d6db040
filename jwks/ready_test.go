package jwks_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
)

func TestReady(t *testing.T) {
	ctx := context.Background()
	clk := newClock(testNow)
	idp := jwkstest.Start(t, func(o *jwkstest.Options) { o.Now = clk.Now })
	other := jwkstest.Start(t)
	idp.SetStatus(http.StatusServiceUnavailable)
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{
			{Issuer: idp.Issuer(), JWKSURL: idp.JWKSURL()},
			{Issuer: idp.Issuer() + "/v1", JWKSURL: idp.JWKSURL()}, // the same key set
			{Issuer: other.Issuer()},                               // by discovery
			{Issuer: "https://pinned.example", Keys: jwks.NewStaticKeySet()},
		}
		o.Audiences = []string{"api://orders"}
		o.Algorithms = []string{"RS256"}
		o.Now = clk.Now
	})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()

	err = v.Ready(ctx)
	if !errors.Is(err, jwks.ErrUnavailable) || idbridge.ReasonOf(err) != "idp_unavailable" {
		t.Fatalf("Ready with one IdP down: %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, idp.Issuer()) || strings.Contains(msg, other.Issuer()+":") ||
		!strings.Contains(msg, "503") {
		t.Fatalf("Ready error does not name the issuer and its cause: %v", err)
	}
	if n := other.Requests("jwks"); n != 1 {
		t.Fatalf("the IdP that is up got %d JWKS requests, want 1 (Ready waits for the first load)", n)
	}
	// Probes in quick succession do not hammer the IdP that is down.
	before := idp.Requests("jwks")
	for range 10 {
		if err := v.Ready(ctx); err == nil {
			t.Fatal("ready while the IdP is down")
		}
	}
	if n := idp.Requests("jwks") - before; n != 0 {
		t.Fatalf("10 probes within UnknownKIDInterval caused %d fetches", n)
	}

	idp.SetStatus(0)
	clk.Add(time.Second)
	if err := v.Ready(ctx); err != nil {
		t.Fatalf("Ready after the IdP recovered: %v", err)
	}
	mustValidate(t, v, idp.Mint(map[string]any{"aud": "api://orders"}))

	// A caller's deadline bounds the wait.
	idp.OnRequest(func(string) { time.Sleep(200 * time.Millisecond) })
	defer idp.OnRequest(nil)
	ks, err := jwks.NewKeySet(ctx, idp.JWKSURL(), func(o *jwks.KeySetOptions) { o.Lazy = true })
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if err := ks.Ready(short); !errors.Is(err, jwks.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Ready past its deadline: %v", err)
	}
	if err := ks.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	ks.Close()
	if err := ks.Ready(ctx); err != nil {
		t.Fatalf("Ready after Close with keys loaded: %v", err)
	}
}

// TestLogger: operational problems reach Options.Logger without audit — a
// refresh failing (Warn), recovering (Info), unknown kids throttled (Warn,
// once however many).
func TestLogger(t *testing.T) {
	ctx := context.Background()
	clk := newClock(testNow)
	idp := jwkstest.Start(t, func(o *jwkstest.Options) { o.Now = clk.Now })
	buf := &syncWriter{w: &bytes.Buffer{}}
	v := newValidator(t, idp, func(o *jwks.Options) {
		o.Now = clk.Now
		o.Logger = slog.New(slog.NewJSONHandler(buf, nil))
	})
	tok := idp.Mint(map[string]any{"aud": "api://orders"})
	mustValidate(t, v, tok)
	idp.SetStatus(http.StatusServiceUnavailable)
	forged := func(kid string) string {
		return idp.MintWithHeader(map[string]any{"kid": kid}, map[string]any{"aud": "api://orders"})
	}
	for _, kid := range []string{"a", "b", "c", "d", "e"} {
		if _, err := v.Validate(ctx, forged(kid)); !errors.Is(err, jwks.ErrUnknownKey) {
			t.Fatalf("kid %s: %v", kid, err)
		}
	}
	idp.SetStatus(0)
	clk.Add(time.Hour)
	if _, err := v.Validate(ctx, forged("f")); !errors.Is(err, jwks.ErrUnknownKey) {
		t.Fatal(err)
	}
	logs := buf.String()
	for _, want := range []string{
		`"level":"WARN","msg":"jwks: key refresh failed"`,
		`"error":"jwks: fetch ` + idp.JWKSURL() + `: HTTP status 503"`,
		`"level":"WARN","msg":"jwks: refreshes for unknown kids throttled"`,
		`"level":"INFO","msg":"jwks: key refresh recovered"`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
	if n := strings.Count(logs, "throttled"); n != 1 {
		t.Errorf("%d throttle records, want 1 a minute", n)
	}
}
