package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idbridge/idbridge/integration/idp"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"plain HTTP", []string{"-http", "-addr", "127.0.0.1:0"}},
		{"ES256", []string{"-http", "-alg", "ES256"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			pr, pw := io.Pipe()
			var stderr strings.Builder
			done := make(chan error, 1)
			go func() {
				err := run(ctx, tc.args, pw, &stderr)
				pw.Close()
				done <- err
			}()
			line, err := bufio.NewReader(pr).ReadString('\n')
			if err != nil {
				t.Fatalf("reading the issuer line: %v (stderr: %s)", err, stderr.String())
			}
			issuer, ok := strings.CutPrefix(strings.TrimSpace(line), "issuer=http://127.0.0.1:")
			if !ok || issuer == "" {
				t.Fatalf("first line %q", line)
			}
			resp, err := http.Get("http://127.0.0.1:" + issuer + "/.well-known/openid-configuration")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("discovery: HTTP %d", resp.StatusCode)
			}
			go io.Copy(io.Discard, pr)
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("run: %v", err)
			}
			for _, secret := range []string{idp.LendingWebSecret, idp.LendingAPISecret, idp.AnalyticsSvcSecret, idp.AmitPassword, idp.PriyaPassword, idp.LeoPassword} {
				if strings.Contains(stderr.String(), secret) {
					t.Error("summary prints a secret or password")
				}
			}
		})
	}
}

func TestRunBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-alg", "HS256"}, {"-nope"}, {"extra"}} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%v) succeeded", args)
		}
	}
}
