// Command tokencheck answers "why is this token rejected?": it validates
// tokens read from stdin, one per line, with the same rules an idbridge API
// applies, and prints one JSON line per token.
//
//	go run ./examples/tokencheck -issuer URL -audience AUD [-jwks URL] [-alg RS256,ES256] [-tenant TID]... [-typ at+jwt]
//	go run ./examples/tokencheck -entra TENANT -client-id GUID [-app-id-uri URI]... [-v1]
//
// -entra and -client-id check tokens exactly as an API configured with
// jwks.EntraAPI accepts them: TENANT is the directory (tenant) ID (or
// organizations/common with -tenant), GUID the API's application (client)
// ID. v2.0 tokens (iss https://login.microsoftonline.com/TENANT/v2.0) must
// carry the client ID as aud; with -v1, v1.0 tokens (iss
// https://sts.windows.net/TENANT/) are checked instead and may carry the
// client ID or an App ID URI (default api://GUID). -authority replaces
// both hosts, for sovereign clouds.
//
// Each output line is {"valid":true|false,"reason":"<class>","detail":"…","claims":{…}}
// with claims only for valid tokens. A line may keep the "Bearer " of the
// Authorization header it was copied from; a line over 1 MiB is reported as
// too_large and skipped. The token itself is never printed.
// The exit status is 0 if every token was valid, 1 otherwise, and 2 on bad
// flags.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/examples/internal/cli"
	"github.com/idbridge/idbridge/jwks"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// list is a repeatable flag that also accepts comma-separated values.
type list []string

func (l *list) String() string { return strings.Join(*l, ",") }
func (l *list) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

// result is one output line.
type result struct {
	Valid  bool             `json:"valid"`
	Reason idbridge.Reason  `json:"reason,omitempty"`
	Detail string           `json:"detail,omitempty"`
	Claims *idbridge.Claims `json:"claims,omitempty"`
}

// config is what the flags ask for.
type config struct {
	issuers, audiences, tenants, types, algs, appIDURIs list

	jwksURL, entra, clientID, authority string
	v1                                  bool
	leeway, timeout                     time.Duration
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tokencheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := config{algs: list{}}
	fs.Var(&c.issuers, "issuer", "trusted issuer (repeatable); may contain {tenantid} with -jwks and -tenant")
	fs.Var(&c.audiences, "audience", "accepted audience (repeatable)")
	fs.StringVar(&c.jwksURL, "jwks", "", "JWKS URL (default: OpenID discovery from the issuer)")
	fs.Var(&c.algs, "alg", "allowed algorithms, comma-separated (default RS256)")
	fs.Var(&c.tenants, "tenant", "allowed tenant ID (repeatable)")
	fs.Var(&c.types, "typ", "required header typ, e.g. at+jwt (repeatable)")
	fs.StringVar(&c.entra, "entra", "", "Entra tenant ID (or organizations/common with -tenant): check tokens as jwks.EntraAPI does")
	fs.StringVar(&c.clientID, "client-id", "", "with -entra: the API's application (client) ID, the aud of v2.0 tokens")
	fs.Var(&c.appIDURIs, "app-id-uri", "with -entra: the API's App ID URI (repeatable; default api://CLIENT-ID)")
	fs.BoolVar(&c.v1, "v1", false, "with -entra: check v1.0 tokens (iss https://sts.windows.net/TENANT/) instead of v2.0")
	fs.StringVar(&c.authority, "authority", "", "with -entra: replaces https://login.microsoftonline.com and https://sts.windows.net (sovereign clouds)")
	fs.DurationVar(&c.leeway, "leeway", 0, "clock-skew leeway (default 60s, max 5m)")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "time allowed for each token, key fetches included")
	if err := cli.Parse(fs, args); err != nil {
		return cli.Status(stderr, "tokencheck", err)
	}
	if problem, usage := c.problem(fs.NArg()); problem != "" {
		fmt.Fprintln(stderr, "tokencheck: "+problem)
		if usage {
			fs.Usage()
		}
		return 2
	}
	v, err := c.validator()
	if err != nil {
		fmt.Fprintln(stderr, "tokencheck:", err)
		return 2
	}
	defer v.Close()
	return checkTokens(ctx, v, c.timeout, stdin, stdout, stderr)
}

// problem describes a combination of flags that cannot work, or is ""
// when there is none; usage says whether the usage should follow it.
func (c *config) problem(nargs int) (problem string, usage bool) {
	if c.entra == "" && (c.clientID != "" || len(c.appIDURIs) > 0 || c.v1 || c.authority != "") {
		return "-client-id, -app-id-uri, -v1 and -authority go with -entra", false
	}
	if c.entra != "" && c.clientID == "" {
		return "-entra needs -client-id, the API's application (client) ID", false
	}
	if (c.entra == "" && (len(c.issuers) == 0 || len(c.audiences) == 0)) || nargs > 0 {
		return "-issuer and -audience (or -entra and -client-id) are required; tokens are read from stdin", true
	}
	return "", false
}

// validator builds the validator the flags describe: jwks.EntraAPI's
// rules with -entra, plus the issuers, audiences and other checks given.
func (c *config) validator() (*jwks.Validator, error) {
	if len(c.algs) == 0 {
		c.algs = list{"RS256"}
	}
	var opts []func(*jwks.Options)
	if c.entra != "" {
		opts = append(opts, jwks.EntraAPI(c.entra, c.clientID, func(e *jwks.EntraOptions) {
			e.AppIDURIs, e.Tenants = c.appIDURIs, c.tenants
			if c.v1 {
				e.Versions = []string{jwks.EntraV1}
			}
			e.Authority, e.V1Authority = c.authority, c.authority
		}))
	}
	return jwks.NewValidator(append(opts, func(o *jwks.Options) {
		for _, iss := range c.issuers {
			o.Issuers = append(o.Issuers, jwks.Issuer{Issuer: iss, JWKSURL: c.jwksURL})
		}
		o.Audiences = append(o.Audiences, c.audiences...)
		o.Algorithms = c.algs
		o.Tenants = c.tenants
		o.Types = c.types
		o.Leeway = c.leeway
	})...)
}

// checkTokens validates each token read from stdin and prints one result
// line for it, skipping blank lines. It returns the exit status: 0 when
// every token was valid, 1 otherwise or when stdin or stdout fails.
func checkTokens(ctx context.Context, v *jwks.Validator, timeout time.Duration, stdin io.Reader, stdout, stderr io.Writer) int {
	enc := json.NewEncoder(stdout)
	in := bufio.NewReaderSize(stdin, 64<<10)
	status := 0
	for {
		line, tooLong, err := readLine(in, maxLine)
		if err != nil && !errors.Is(err, io.EOF) {
			fmt.Fprintln(stderr, "tokencheck: reading stdin:", err)
			return 1
		}
		var r result
		switch token := bearer(line); {
		case tooLong:
			// Far beyond any token: say so for this line and go on with
			// the next, as for any other rejected token.
			r = result{Reason: idbridge.ReasonOf(jwks.ErrTooLarge), Detail: fmt.Sprintf("line longer than %d bytes", maxLine)}
		case token != "":
			r = validate(ctx, v, token, timeout)
		default:
			if err != nil {
				return status
			}
			continue
		}
		if !r.Valid {
			status = 1
		}
		if err := enc.Encode(r); err != nil {
			fmt.Fprintln(stderr, "tokencheck:", err)
			return 1
		}
		if err != nil {
			return status
		}
	}
}

// validate checks one token within timeout; a rejected token's result
// carries the reason class and the validator's detail.
func validate(ctx context.Context, v *jwks.Validator, token string, timeout time.Duration) result {
	tctx, cancel := context.WithTimeout(ctx, timeout)
	claims, err := v.Validate(tctx, token)
	cancel()
	r := result{Valid: err == nil, Claims: claims}
	if err != nil {
		r.Reason = idbridge.ReasonOf(err)
		var ve *jwks.ValidationError
		if errors.As(err, &ve) {
			r.Detail = ve.Detail
		} else {
			r.Detail = err.Error()
		}
	}
	return r
}

// maxLine bounds one input line; tokens are capped far below (16 KiB by
// default), so a longer line is reported as too_large without being kept.
const maxLine = 1 << 20

// readLine returns the next line without its end of line. A line longer
// than max is consumed and reported with tooLong, its bytes dropped. err is
// io.EOF with the last line when the input ends.
func readLine(r *bufio.Reader, max int) (line string, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > max+2 { // room for "\r\n"
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return strings.TrimRight(string(buf), "\r\n"), tooLong, err
	}
}

// bearer trims space and an optional "Bearer " scheme (any case, RFC 6750)
// from a line.
func bearer(line string) string {
	token := strings.TrimSpace(line)
	if len(token) > 7 && strings.EqualFold(token[:7], "bearer ") {
		token = strings.TrimSpace(token[7:])
	}
	return token
}
