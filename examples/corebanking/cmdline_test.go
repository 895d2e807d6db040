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
	t.Setenv("CBS_TLS_CERT", "")
	t.Setenv("CBS_TLS_KEY", "")
	t.Setenv("LDAP_CA_FILE", "")
	cli.TestCases(t, "corebanking", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return run(ctx, args, stdout, stderr, nil)
	}, []cli.Case{
		{Name: "help", Args: []string{"-h"}, Status: 0, UsageHas: "Usage of corebanking:"},
		{Name: "unknown flag", Args: []string{"-nope"}, Status: 2, UsageHas: "flag provided but not defined: -nope"},
		{Name: "certificate without key", Args: []string{"-tls-cert", "cert.pem"}, Status: 1, Printed: "corebanking: -tls-cert (CBS_TLS_CERT) is set but -tls-key (CBS_TLS_KEY) is empty: TLS needs the certificate's private key file (PEM); set both, or neither to serve plaintext\n"},
		{Name: "missing CA file", Args: []string{"-ldap-ca-file", "no-such-ca.pem"}, Status: 1, Printed: "corebanking: -ldap-ca-file (LDAP_CA_FILE): want the directory's CA certificates (PEM): open no-such-ca.pem: no such file or directory\n"},
	})
}
