package token

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/idbridge/idbridge"
)

func TestFileAssertion(t *testing.T) {
	clock := newFakeClock()
	dir := t.TempDir()
	path := filepath.Join(dir, "azure-identity-token")
	write := func(exp time.Time, sub string) string {
		tok := fakeJWT(map[string]any{"sub": sub, "exp": exp.Unix(), "aud": "api://AzureADTokenExchange"})
		if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return tok
	}
	fa, err := NewFileAssertion(path, func(o *FileAssertionOptions) { o.Now = clock.Now })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := fa.Assertion(ctx); err == nil {
		t.Fatal("missing file accepted")
	}
	first := write(clock.Now().Add(time.Hour), "system:serviceaccount:lending:api")
	if got, err := fa.Assertion(ctx); err != nil || got != first {
		t.Fatalf("Assertion = %q, %v", got, err)
	}
	// Renewed by the kubelet: a change of size is picked up at once.
	second := write(clock.Now().Add(time.Hour), "system:serviceaccount:lending:api-renewed")
	if got, _ := fa.Assertion(ctx); got != second {
		t.Fatal("changed file not re-read")
	}
	// Same size and mtime (a bind mount can hide a change): re-read after
	// five minutes anyway.
	st, _ := os.Stat(path)
	third := write(clock.Now().Add(2*time.Hour), "system:serviceaccount:lending:api-renewed")
	os.Chtimes(path, st.ModTime(), st.ModTime())
	if got, _ := fa.Assertion(ctx); got != second {
		t.Fatal("unchanged-looking file re-read early")
	}
	clock.Advance(6 * time.Minute)
	if got, _ := fa.Assertion(ctx); got != third {
		t.Fatal("file not re-read after the interval")
	}
	// Never served past its own exp.
	write(clock.Now().Add(-time.Second), "stale")
	if _, err := fa.Assertion(ctx); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired file: %v", err)
	}
	os.WriteFile(path, []byte("  \n"), 0o600)
	if _, err := fa.Assertion(ctx); !errors.Is(err, idbridge.ErrInvalidOptions) {
		t.Fatalf("empty file: %v", err)
	}
	if _, err := NewFileAssertion(""); !errors.Is(err, idbridge.ErrInvalidOptions) {
		t.Fatal("empty path accepted")
	}
}

func TestWorkloadIdentityClientCredentials(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	assertion := fakeJWT(map[string]any{"exp": time.Now().Add(time.Hour).Unix()})
	os.WriteFile(path, []byte(assertion), 0o600)
	idp := newFakeIdP(t, func(int, url.Values, http.Header) (int, map[string]string, string) {
		return 200, nil, okToken("at", 3600)
	})
	fa, _ := NewFileAssertion(path)
	cc, _ := NewClientCredentials(Client{ID: "analytics-svc", TokenURL: idp.URL(), Auth: ClientAssertion(fa.Assertion)}, []string{"api://lending/.default"})
	if _, err := cc.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if idp.form(0).Get("client_assertion") != assertion {
		t.Fatal("assertion not sent")
	}
}
