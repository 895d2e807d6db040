// Command tokencheck answers "why is this token rejected?": it validates
// tokens read from stdin, one per line, with the same rules an idbridge API
// applies, and prints one JSON line per token.
//
//	go run ./examples/tokencheck -issuer URL -audience AUD [-jwks URL] [-alg RS256,ES256] [-tenant TID]... [-typ at+jwt]
//
// Each output line is {"valid":true|false,"reason":"<class>","detail":"…","claims":{…}}
// with claims only for valid tokens. The token itself is never printed.
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
	Valid  bool         `json:"valid"`
	Reason string       `json:"reason,omitempty"`
	Detail string       `json:"detail,omitempty"`
	Claims *jwks.Claims `json:"claims,omitempty"`
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
	leeway := fs.Duration("leeway", 0, "clock-skew leeway (default 60s, max 5m)")
	timeout := fs.Duration("timeout", 10*time.Second, "time allowed for each token, key fetches included")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if len(issuers) == 0 || len(audiences) == 0 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "tokencheck: -issuer and -audience are required; tokens are read from stdin")
		fs.Usage()
		return 2
	}
	if len(algs) == 0 {
		algs = list{"RS256"}
	}
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		for _, iss := range issuers {
			o.Issuers = append(o.Issuers, jwks.Issuer{Issuer: iss, JWKSURL: *jwksURL})
		}
		o.Audiences = audiences
		o.Algorithms = algs
		o.Tenants = tenants
		o.Types = types
		o.Leeway = *leeway
	})
	if err != nil {
		fmt.Fprintln(stderr, "tokencheck:", err)
		return 2
	}
	defer v.Close()

	enc := json.NewEncoder(stdout)
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	status := 0
	for sc.Scan() {
		token := strings.TrimSpace(sc.Text())
		token = strings.TrimSpace(strings.TrimPrefix(token, "Bearer "))
		if token == "" {
			continue
		}
		tctx, cancel := context.WithTimeout(ctx, *timeout)
		claims, err := v.Validate(tctx, token)
		cancel()
		r := result{Valid: err == nil, Claims: claims}
		if err != nil {
			status = 1
			r.Reason = idbridge.Reason(err)
			var ve *jwks.ValidationError
			if errors.As(err, &ve) {
				r.Detail = ve.Detail
			} else {
				r.Detail = err.Error()
			}
		}
		if err := enc.Encode(r); err != nil {
			fmt.Fprintln(stderr, "tokencheck:", err)
			return 1
		}
	}
	if err := sc.Err(); err != nil {
		// A line beyond the buffer is far larger than any token.
		fmt.Fprintln(stderr, "tokencheck: reading stdin:", err)
		return 1
	}
	return status
}
