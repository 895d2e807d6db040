// Command idp runs the integration-test OpenID provider (package
// integration/idp) with the scenario defaults, for demos and for manual
// testing against the SDK.
//
// Usage:
//
//	go run ./integration/cmd/idp [-addr 127.0.0.1:9000] [-http] [-alg ES256] [-cert ca.pem]
//
// When the provider is ready, the command prints exactly one line,
// "issuer=<URL>", to stdout, and a summary of clients and users to stderr.
// It runs until SIGINT or SIGTERM. Passwords and client secrets are the
// constants in integration/idp/scenario.go; they are never printed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/idbridge/idbridge/integration/idp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// zitadel logs each route at INFO; keep stderr for the summary and for
	// warnings about refused requests.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "idp:", err)
		os.Exit(1)
	}
}

// run starts the provider, announces it and serves until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("idp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (port 0 picks a free port)")
	plain := fs.Bool("http", false, "serve plain HTTP instead of HTTPS with a self-signed certificate")
	alg := fs.String("alg", idp.AlgRS256, "token signing algorithm: RS256 or ES256")
	certFile := fs.String("cert", "", "write the self-signed certificate (PEM) to this file, for curl --cacert")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	p, err := idp.Start(func(o *idp.Options) {
		o.Addr = *addr
		o.PlainHTTP = *plain
		o.Algorithm = *alg
	})
	if err != nil {
		return err
	}
	defer p.Close()
	if *certFile != "" && !*plain {
		if err := os.WriteFile(*certFile, p.CertificatePEM(), 0o644); err != nil {
			return fmt.Errorf("writing the certificate: %w", err)
		}
	}
	summary(stderr, p, *alg)
	if _, err := fmt.Fprintf(stdout, "issuer=%s\n", p.Issuer()); err != nil {
		return err
	}
	<-ctx.Done()
	return p.Close()
}

func summary(w io.Writer, p *idp.Provider, alg string) {
	fmt.Fprintf(w, "idbridge test IdP, tenant %s, signing %s (kid %s)\n", p.TenantID(), alg, p.SigningKeyID())
	fmt.Fprintf(w, "  discovery  %s\n  token      %s\n  authorize  %s\n  device     %s\n",
		p.DiscoveryURL(), p.TokenURL(), p.AuthURL(), p.DeviceAuthURL())
	fmt.Fprintln(w, "clients:")
	for _, c := range idp.ScenarioClients() {
		auth := "client_secret"
		switch {
		case c.Public:
			auth = "public"
		case c.Secret == "":
			auth = "private_key_jwt"
		}
		fmt.Fprintf(w, "  %-14s %-16s roles=%v grants=%v\n", c.ID, auth, c.Roles, c.GrantTypes)
	}
	fmt.Fprintln(w, "users:")
	for _, u := range idp.ScenarioUsers() {
		groups := make([]string, len(u.Groups))
		for i, g := range u.Groups {
			groups[i] = idp.GroupNames[g]
		}
		state := ""
		if u.Disabled {
			state = " (disabled)"
		}
		fmt.Fprintf(w, "  %-6s %-8s oid=%s groups=%v roles=%v amr=%v%s\n", u.Username, u.Name, u.ObjectID, groups, u.Roles, u.AMR, state)
	}
	fmt.Fprintln(w, "passwords and secrets: the constants in integration/idp/scenario.go;")
	fmt.Fprintf(w, "cbs-batch signs with the first key of integration/idp/testkeys.pem (kid %s)\n", idp.CBSBatchKeyID)
}
