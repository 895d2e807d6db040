// Command analytics is the bank's Analytics API, deployed in AWS (EKS): a
// gRPC service that validates the same Entra ID bearer token the lending
// app's users hold, directly — no STS, no call to Entra per request — and
// reaches S3 with its own workload identity, never a user's token.
//
// # Running it in AWS against Entra ID
//
// On EKS with IAM roles for service accounts, the pod identity webhook sets
// AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN (and AWS_REGION); the IAM
// role trusts the cluster's OIDC provider for this service account:
//
//	analytics -addr :9090 -tls-cert tls.crt -tls-key tls.key \
//	    -issuer https://login.microsoftonline.com/<tenant ID>/v2.0 -audience <lending API client ID> \
//	    -policy /etc/analytics/bank.yaml -bucket bank-analytics-exports
//
// Flags fall back to ANALYTICS_ADDR, ANALYTICS_ISSUER, ANALYTICS_AUDIENCE,
// ANALYTICS_POLICY, ANALYTICS_BUCKET, AWS_REGION, ANALYTICS_TLS_CERT and
// ANALYTICS_TLS_KEY.
//
// # Running it locally
//
// Without -issuer it starts the embedded OpenID provider as the bank's
// tenant, a fake STS (federation/ststest) that trusts it, and a web identity
// token file for the service, sets the two IRSA variables as the EKS
// webhook would, and prints how to call it (grpcurl reads reports.proto):
//
//	go run ./examples/analytics -print-token
//	grpcurl -plaintext -proto examples/analytics/reports.proto -H "authorization: Bearer $AMIT" \
//	    127.0.0.1:9090 bank.analytics.v1.Reports/LoanBook
//
// A Go client attaches tokens with the SDK's credentials, which send them
// in plaintext to loopback only (a mesh sidecar needs
// PerRPCOptions.InsecureAllowPlaintextToSidecar), and retry once with a
// new token when the token is refused as invalid_token:
//
//	creds, _ := grpcauth.NewPerRPCCredentials(cache) // a token.Cache
//	cc, _ := grpc.NewClient("127.0.0.1:9090", grpc.WithTransportCredentials(insecure.NewCredentials()),
//	    grpc.WithPerRPCCredentials(creds),
//	    grpc.WithChainUnaryInterceptor(creds.UnaryClientInterceptor()),
//	    grpc.WithChainStreamInterceptor(creds.StreamClientInterceptor()))
//
// WatchLoans streams end when the caller's token expires (Unauthenticated,
// invalid_token): the client opens a new stream with a new token.
//
// # What it shows
//
//   - jwks with OpenID discovery from the issuer URL (the lending app uses
//     jwks.Entra instead); the same bank policy (rbac) as the lending API.
//   - middleware's guard on gRPC (middleware/grpcauth): unary and stream
//     interceptors; the service declares each method's permission
//     (grpcauth.MethodRequirements), checked against the policy at start
//     (Server.CheckService); the health service is open
//     (ServerOptions.Methods with SkipAuth).
//   - federation.FromEnvironment: S3 credentials for the service's own IAM
//     role from its projected token (Export), cached and renewed ahead.
//   - federation.RoleFor: where a user's direct AWS access comes from
//     (Lending_RM → Loan_ReadOnly, MyAWSRole), and why it is not done here.
//   - Audit events as JSON lines on stderr; graceful stop on SIGINT/SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"

	"github.com/idbridge/idbridge/examples/internal/cli"
	"github.com/idbridge/idbridge/examples/internal/localidp"
	"github.com/idbridge/idbridge/federation"
	"github.com/idbridge/idbridge/integration/idp"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/grpcauth"
	"github.com/idbridge/idbridge/rbac"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	status := cli.Status(os.Stderr, "analytics", run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil))
	stop()
	os.Exit(status)
}

// env returns the environment variable key, or def when it is unset.
func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

// run serves until ctx is done. started, when not nil, is called once the
// listener is bound (tests use it).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, started func(string, *localidp.IdP)) error {
	fs := flag.NewFlagSet("analytics", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", env("ANALYTICS_ADDR", "127.0.0.1:9090"), "gRPC listen address (:9090 in a container)")
	issuer := fs.String("issuer", env("ANALYTICS_ISSUER", ""), "token issuer, https://login.microsoftonline.com/<tenant>/v2.0; empty runs locally")
	audience := fs.String("audience", env("ANALYTICS_AUDIENCE", idp.LendingAppID), "accepted aud: the lending platform's client ID (the aud of its v2.0 tokens)")
	policyPath := fs.String("policy", env("ANALYTICS_POLICY", "examples/policies/bank.yaml"), "policy file")
	bucket := fs.String("bucket", env("ANALYTICS_BUCKET", ""), "S3 bucket Export writes to; empty: get credentials only")
	region := fs.String("region", env("AWS_REGION", "us-east-1"), "AWS region of STS and S3")
	tlsCert := fs.String("tls-cert", env("ANALYTICS_TLS_CERT", ""), "TLS certificate (PEM); empty serves plaintext, for loopback or a mesh")
	tlsKey := fs.String("tls-key", env("ANALYTICS_TLS_KEY", ""), "TLS private key (PEM)")
	printToken := fs.Bool("print-token", false, "local mode: print the scenario users' bearer tokens to stdout")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	// Configuration errors show at start, naming the flag and variable.
	cert, err := cli.LoadKeyPair(cli.Setting{Flag: "tls-cert", Env: "ANALYTICS_TLS_CERT", Value: *tlsCert},
		cli.Setting{Flag: "tls-key", Env: "ANALYTICS_TLS_KEY", Value: *tlsKey})
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil)).With("service", "analytics")
	audit := log.Handler()

	// Production: keys by OpenID discovery from the issuer; STS in the region.
	issuers := []jwks.Issuer{{Issuer: *issuer}}
	var local *localidp.IdP
	var stsClient stscreds.AssumeRoleWithWebIdentityAPIClient = sts.New(sts.Options{Region: *region})
	var hc *http.Client // nil: default clients (each fetch has its own timeout)
	var notes []string
	if *issuer == "" { // local mode: everything below this block is production code
		dir, err := os.MkdirTemp("", "analytics-local-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if local, err = localidp.Start(); err != nil {
			return err
		}
		defer local.Close()
		issuers = []jwks.Issuer{{Issuer: local.Issuer()}}
		hc = local.HTTPClient()
		if *policyPath, err = jwkstest.PolicyFile(*policyPath, dir, localidp.EntraIssuer, local.Issuer()); err != nil {
			return err
		}
		fake, err := local.StartSTS(ctx, dir)
		if err != nil {
			return err
		}
		defer fake.Close()
		stsClient = fake.Client()
		notes = []string{"AWS: fake STS at " + fake.URL + ", service role " + fake.RoleARN + ", web identity token " + fake.TokenFile}
		os.Setenv(federation.EnvTokenFile, fake.TokenFile) // what the EKS webhook sets
		os.Setenv(federation.EnvRoleARN, fake.RoleARN)
	}

	policy, err := rbac.NewPolicy(*policyPath, func(o *rbac.Options) { o.Audit = audit })
	if err != nil {
		return err
	}
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = issuers
		o.Audiences = []string{*audience}
		o.Algorithms = []string{"RS256"}
		o.Cache = &jwks.CacheOptions{}
		o.HTTPClient, o.Audit = hc, audit
	})
	if err != nil {
		return err
	}
	defer v.Close()
	g, err := middleware.New(v, func(o *middleware.Options) {
		o.Policy, o.Realm, o.Audit = policy, "analytics", audit
	})
	if err != nil {
		return err
	}
	guard, err := grpcauth.NewServer(g, func(o *grpcauth.ServerOptions) {
		o.Methods = map[string][]middleware.Requirement{"/grpc.health.v1.Health/*": {middleware.SkipAuth()}}
	})
	if err != nil {
		return err
	}

	// The service's own AWS identity: IRSA's projected token exchanged at
	// STS for AWS_ROLE_ARN. Users' tokens never come here.
	creds, err := federation.FromEnvironment(stsClient, func(o *federation.Options) { o.Audit, o.Logger = audit, log })
	if err != nil {
		return err
	}
	defer creds.Close() // stops the background renewal
	rep := &reports{log: log, creds: creds, roleARN: creds.RoleARN(), bucket: *bucket}
	if *bucket != "" {
		rep.s3 = s3.New(s3.Options{Region: *region, Credentials: creds})
	}

	opts := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(guard.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(guard.StreamServerInterceptor()),
		grpc.ConnectionTimeout(10 * time.Second),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: 5 * time.Minute}),
	}
	if cert != nil {
		opts = append(opts, grpc.Creds(credentials.NewServerTLSFromCert(cert)))
	}
	// A permission the policy does not declare stops the service here,
	// not at each method's first call.
	if err := guard.CheckService(&reportsDesc, rep); err != nil {
		return err
	}
	srv := grpc.NewServer(opts...)
	srv.RegisterService(&reportsDesc, rep)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	log.Info("listening", "addr", ln.Addr().String(), "policy", *policyPath, "aws_role", creds.RoleARN())
	if local != nil {
		call := `grpcurl -plaintext -proto examples/analytics/reports.proto -H "authorization: Bearer $%s" %s ` + serviceName + "/%s"
		err := local.Announce(ctx, stdout, localidp.Hint{App: "analytics", URL: ln.Addr().String(), PrintTokens: *printToken,
			Scopes: []string{idp.ResourceLending + "/Loans.Read"},
			Notes:  notes,
			Try: []string{fmt.Sprintf(call, "AMIT", ln.Addr(), "LoanBook"), fmt.Sprintf(call, "AMIT", ln.Addr(), "Export"),
				fmt.Sprintf(call, "AMIT", ln.Addr(), "MyAWSRole"), fmt.Sprintf(call, "LEO", ln.Addr(), "WatchLoans") + "   # PermissionDenied"}})
		if err != nil {
			ln.Close()
			return err
		}
	}
	if started != nil {
		started(ln.Addr().String(), local)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Graceful stop: health says NOT_SERVING, calls in flight get ten
	// seconds, then the rest are cut.
	log.Info("shutting down")
	hs.Shutdown()
	stopped := make(chan struct{})
	go func() { srv.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		srv.Stop()
	}
	return nil
}
