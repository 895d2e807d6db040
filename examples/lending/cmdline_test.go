package main

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/idbridge/idbridge/examples/internal/cli"
)

// TestCommandLine checks what main does with a command line that stops
// before anything starts: -h is a request (exit 0, usage only), a bad flag
// exits 2, a configuration error names the flag and variable (exit 1).
func TestCommandLine(t *testing.T) {
	cli.TestCases(t, "lending", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return run(ctx, args, stdout, stderr, nil)
	}, []cli.Case{
		{Name: "help", Args: []string{"-h"}, Status: 0, UsageHas: "Usage of lending:"},
		{Name: "unknown flag", Args: []string{"-nope"}, Status: 2, UsageHas: "flag provided but not defined: -nope"},
	})
	t.Setenv("LENDING_POLICY_POLL", "soon")
	var out bytes.Buffer
	status := cli.Status(&out, "lending", run(t.Context(), nil, &out, &out, nil))
	if want := "lending: LENDING_POLICY_POLL \"soon\": want a duration such as 30s, or 0s to reload on SIGHUP only\n"; status != 1 || out.String() != want {
		t.Fatalf("bad LENDING_POLICY_POLL: status %d, printed %q; want 1, %q", status, out.String(), want)
	}
}
