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

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tokencheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var issuers, audiences, tenants, types list
	algs := list{}
	fs.Var(&issuers, "issuer", "trusted issuer (repeatable); may contain {tenantid} with -jwks and -tenant")
	fs.Var(&audiences, "audience", "accepted audience (repeatable)")
	jwksURL := fs.String("jwks", "", "JWKS URL (default: OpenID discovery from the issuer)")
	fs.Var(&algs, "alg", "allowed algorithms, comma-separated (default RS256)")
	fs.Var(&tenants, "tenant", "allowed tenant ID (repeatable)")
	fs.Var(&types, "typ", "required header typ, e.g. at+jwt (repeatable)")
	entra := fs.String("entra", "", "Entra tenant ID (or organizations/common with -tenant): check tokens as jwks.EntraAPI does")
	clientID := fs.String("client-id", "", "with -entra: the API's application (client) ID, the aud of v2.0 tokens")
	var appIDURIs list
	fs.Var(&appIDURIs, "app-id-uri", "with -entra: the API's App ID URI (repeatable; default api://CLIENT-ID)")
	v1 := fs.Bool("v1", false, "with -entra: check v1.0 tokens (iss https://sts.windows.net/TENANT/) instead of v2.0")
	authority := fs.String("authority", "", "with -entra: replaces https://login.microsoftonline.com and https://sts.windows.net (sovereign clouds)")
	leeway := fs.Duration("leeway", 0, "clock-skew leeway (default 60s, max 5m)")
	timeout := fs.Duration("timeout", 10*time.Second, "time allowed for each token, key fetches included")
	if err := cli.Parse(fs, args); err != nil {
		return cli.Status(stderr, "tokencheck", err)
	}
	if *entra == "" && (*clientID != "" || len(appIDURIs) > 0 || *v1 || *authority != "") {
		fmt.Fprintln(stderr, "tokencheck: -client-id, -app-id-uri, -v1 and -authority go with -entra")
		return 2
	}
	if *entra != "" && *clientID == "" {
		fmt.Fprintln(stderr, "tokencheck: -entra needs -client-id, the API's application (client) ID")
		return 2
	}
	if (*entra == "" && (len(issuers) == 0 || len(audiences) == 0)) || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "tokencheck: -issuer and -audience (or -entra and -client-id) are required; tokens are read from stdin")
		fs.Usage()
		return 2
	}
	if len(algs) == 0 {
		algs = list{"RS256"}
	}
	var opts []func(*jwks.Options)
	if *entra != "" {
		opts = append(opts, jwks.EntraAPI(*entra, *clientID, func(e *jwks.EntraOptions) {
			e.AppIDURIs, e.Tenants = appIDURIs, tenants
			if *v1 {
				e.Versions = []string{jwks.EntraV1}
			}
			e.Authority, e.V1Authority = *authority, *authority
		}))
	}
	v, err := jwks.NewValidator(append(opts, func(o *jwks.Options) {
		for _, iss := range issuers {
			o.Issuers = append(o.Issuers, jwks.Issuer{Issuer: iss, JWKSURL: *jwksURL})
		}
		o.Audiences = append(o.Audiences, audiences...)
		o.Algorithms = algs
		o.Tenants = tenants
		o.Types = types
		o.Leeway = *leeway
	})...)
	if err != nil {
		fmt.Fprintln(stderr, "tokencheck:", err)
		return 2
	}
	defer v.Close()

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
			tctx, cancel := context.WithTimeout(ctx, *timeout)
			claims, verr := v.Validate(tctx, token)
			cancel()
			r = result{Valid: verr == nil, Claims: claims}
			if verr != nil {
				r.Reason = idbridge.ReasonOf(verr)
				var ve *jwks.ValidationError
				if errors.As(verr, &ve) {
					r.Detail = ve.Detail
				} else {
					r.Detail = verr.Error()
				}
			}
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
