package main

import (
	"context"
	"io"
	"testing"

	"github.com/idbridge/idbridge/examples/internal/cli"
)

// TestCommandLine checks what main does with a command line that stops
// before anything starts: -h is a request (exit 0, usage only), a bad flag
// exits 2, a configuration error names the flag and variable (exit 1).
func TestCommandLine(t *testing.T) {
	t.Setenv("ANALYTICS_TLS_CERT", "")
	t.Setenv("ANALYTICS_TLS_KEY", "")
	cli.TestCases(t, "analytics", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return run(ctx, args, stdout, stderr, nil)
	}, []cli.Case{
		{Name: "help", Args: []string{"-h"}, Status: 0, UsageHas: "Usage of analytics:"},
		{Name: "unknown flag", Args: []string{"-nope"}, Status: 2, UsageHas: "flag provided but not defined: -nope"},
		{Name: "certificate without key", Args: []string{"-tls-cert", "cert.pem"}, Status: 1, Printed: "analytics: -tls-cert (ANALYTICS_TLS_CERT) is set but -tls-key (ANALYTICS_TLS_KEY) is empty: TLS needs the certificate's private key file (PEM); set both, or neither to serve plaintext\n"},
		{Name: "key without certificate", Args: []string{"-tls-key", "key.pem"}, Status: 1, Printed: "analytics: -tls-key (ANALYTICS_TLS_KEY) is set but -tls-cert (ANALYTICS_TLS_CERT) is empty: TLS needs the certificate file (PEM); set both, or neither to serve plaintext\n"},
		{Name: "missing certificate", Args: []string{"-tls-cert", "no-such-cert.pem", "-tls-key", "no-such-key.pem"}, Status: 1, Printed: "analytics: -tls-cert (ANALYTICS_TLS_CERT) \"no-such-cert.pem\" and -tls-key (ANALYTICS_TLS_KEY) \"no-such-key.pem\": want a PEM certificate and its private key: open no-such-cert.pem: no such file or directory\n"},
	})
}
