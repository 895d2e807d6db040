package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/idbridge/idbridge/examples/internal/cli"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// Audit modes of the -audit flag.
const (
	auditEnd    = "end"    // collect the events, print them after the story
	auditStderr = "stderr" // write each event to stderr as it happens
	auditOff    = "off"    // no audit events
)

// config is what the flags choose.
type config struct {
	audit  string        // one of the audit modes
	policy string        // path of bank.yaml; "" searches the usual places
	ldap   bool          // run the on-prem step when slapd is installed
	limit  time.Duration // the whole story must finish within this
}

// run parses args, tells the story and returns the exit status: 0 when the
// story ran to its end, 1 when a step failed, 2 on bad flags.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	fs.StringVar(&cfg.audit, "audit", auditEnd, "audit events: end (after the story), stderr (as they happen) or off")
	fs.StringVar(&cfg.policy, "policy", "", "policy file (default: examples/policies/bank.yaml, found from the repository root or examples/demo)")
	fs.BoolVar(&cfg.ldap, "ldap", true, "run the on-prem step against a local slapd when it is installed")
	fs.DurationVar(&cfg.limit, "timeout", 60*time.Second, "give up if the story takes longer")
	if err := cli.Parse(fs, args); err != nil {
		return cli.Status(stderr, "demo", err)
	}
	if fs.NArg() > 0 || (cfg.audit != auditEnd && cfg.audit != auditStderr && cfg.audit != auditOff) {
		fmt.Fprintln(stderr, "demo: -audit must be end, stderr or off, and no arguments are taken")
		fs.Usage()
		return 2
	}

	// zitadel, inside the embedded provider, logs every route it registers
	// at INFO to the default logger. The demo's own output is the story, so
	// only warnings and errors get through (the provider warns when it
	// refuses the leaver), labelled as the provider's own log.
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}).
		WithAttrs([]slog.Attr{slog.String("log", "embedded-idp")})))
	defer slog.SetDefault(prev)

	ctx, cancel := context.WithTimeout(ctx, cfg.limit)
	defer cancel()

	out := &lockedWriter{w: stdout}
	trail := &lockedWriter{w: &bytes.Buffer{}}
	var audit slog.Handler
	switch cfg.audit {
	case auditEnd:
		audit = slog.NewJSONHandler(trail, nil)
	case auditStderr:
		audit = slog.NewJSONHandler(&lockedWriter{w: stderr}, nil)
	}

	s := &story{out: out, audit: audit, cfg: cfg}
	start := time.Now()
	err := s.tell(ctx)
	s.close() // stops every server and background refresh, so the trail is complete
	if err != nil {
		fmt.Fprintf(out, "\ndemo failed: %v\n", err)
		if errors.Is(err, errPolicyNotFound) {
			fmt.Fprintln(out, "run it from the repository root (go run ./examples/demo) or pass -policy")
		}
		return 1
	}
	fmt.Fprintf(out, "\nThe story took %s.\n", time.Since(start).Round(10*time.Millisecond))
	if cfg.audit == auditEnd {
		events := trail.bytes()
		fmt.Fprintf(out, "\nAudit trail: %d events, one JSON object per line, as a SIEM receives them (none carries a token):\n",
			bytes.Count(events, []byte("\n")))
		out.Write(events)
	}
	return 0
}

// lockedWriter serializes writes: the APIs' handlers print from their own
// goroutines while the story prints from the main one.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// bytes returns a copy of what was written, when w is a *bytes.Buffer.
func (l *lockedWriter) bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.w.(*bytes.Buffer); ok {
		return bytes.Clone(b.Bytes())
	}
	return nil
}
