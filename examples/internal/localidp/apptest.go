package localidp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// RunFunc is the shape of the apps' run functions: serve until ctx is
// done, calling started once the listener is bound with the app's URL and,
// in local mode, the provider.
type RunFunc func(ctx context.Context, args []string, stdout, stderr io.Writer, started func(url string, p *IdP)) error

// App is an app running in a test.
type App struct {
	URL    string // http://127.0.0.1:<port>, or 127.0.0.1:<port> for gRPC
	IdP    *IdP   // the provider the app started in local mode
	Stdout *Buffer
	Stderr *Buffer // the app's JSON log and audit events
}

// RunTest runs an app in-process with args (which should include
// "-addr 127.0.0.1:0") until it has started, and stops it through
// t.Cleanup, failing the test if it does not stop cleanly. An error is
// returned when run fails before it starts listening, for the test to
// decide (skip when a server such as slapd is missing, else fail).
func RunTest(t testing.TB, run RunFunc, args ...string) (*App, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a := &App{Stdout: &Buffer{}, Stderr: &Buffer{}}
	up := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, a.Stdout, a.Stderr, func(url string, p *IdP) {
			a.URL, a.IdP = url, p
			close(up)
		})
	}()
	select {
	case <-up:
	case err := <-done:
		cancel()
		if err == nil {
			err = errors.New("localidp: the app returned before it started")
		}
		return nil, err
	case <-time.After(time.Minute):
		cancel()
		t.Fatal("the app did not start within a minute")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("the app stopped with an error: %v\nlog:\n%s", err, a.Stderr)
			}
		case <-time.After(30 * time.Second):
			t.Error("the app did not stop within 30s of its context being cancelled")
		}
	})
	return a, nil
}

// Eventually polls cond every 10ms until it holds or timeout passes, and
// reports whether it held: tests wait for a state, never for a fixed time.
func Eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Buffer is a bytes.Buffer safe for the concurrent writes of an app's
// handlers and the reads of its test.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// CheckNoSecrets fails t if the app's stdout or stderr contains one of
// secrets (tokens, passwords): none may ever reach a log.
func (a *App) CheckNoSecrets(t testing.TB, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if strings.Contains(a.Stderr.String(), s) || strings.Contains(a.Stdout.String(), s) {
			t.Errorf("a secret (%d bytes) appears in the app's output", len(s))
		}
	}
}
