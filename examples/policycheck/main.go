// Command policycheck lets a governance reviewer check an rbac policy
// offline: load it (every problem is reported with its line), run its
// inline tests, and ask "can this claims set do X?" with an explanation.
//
// Usage:
//
//	policycheck test   -policy FILE [-v]
//	policycheck decide -policy FILE -claims FILE|- [-can PERMISSION]... [-json]
//
// and, for identity governance (see README.md): export (the entitlement
// catalogue as JSON or CSV), diff (what each group gains and loses between
// two versions), whatif (the mover question), trust-policy and check-aws
// (IAM trust policies that enforce the AWS grants, and their drift),
// check-ldap (the policy's directory groups against the directory) and
// usage (last use per user and entitlement, from audit logs).
//
// For example, from the repository root:
//
//	go run ./examples/policycheck test -policy examples/policies/bank.yaml
//	go run ./examples/policycheck decide -policy examples/policies/bank.yaml -claims examples/policies/amit.json -can loan:read
//
// The claims are a JSON object, as in a decoded token ("-" reads stdin). A
// compact JWT is accepted too; its payload is decoded without any
// verification, which is fine for a review and never for a request. Flags
// follow the subcommand; a flag of the other subcommand is a usage error.
//
// Exit status: 0 when the tests pass or the decision allows (and grants
// every -can permission), 1 when a test fails or the decision denies, 2 for
// usage errors and policies that do not load.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/idbridge/idbridge/internal/jwt"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/examples/internal/cli"
	"github.com/idbridge/idbridge/rbac"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// flagFor names the subcommand of each flag that only one of them takes.
var flagFor = map[string]string{"v": "test", "claims": "decide", "json": "decide", "can": "decide"}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && governance[args[0]] != nil {
		return governance[args[0]](args[1:], stdin, stdout, stderr)
	}
	if len(args) == 0 || (args[0] != "test" && args[0] != "decide") {
		return printUsage(args, stderr)
	}
	cmd := args[0]
	fs := newFlags(cmd, stderr)
	policy := fs.String("policy", "", "policy file (YAML)")
	verbose := fs.Bool("v", false, "test: explain every decision, not only failures")
	claimsPath := fs.String("claims", "", "decide: claims JSON file or compact JWT, - for stdin")
	asJSON := fs.Bool("json", false, "decide: print the explanation as JSON")
	var can listFlag
	fs.Var(&can, "can", "decide: permission to check (repeatable)")
	if err := cli.Parse(fs, args[1:]); err != nil {
		return cli.Status(stderr, "policycheck", err)
	}
	if *policy == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "policycheck: -policy is required and no arguments follow the flags")
		return 2
	}
	// A flag of the other subcommand would be silently ignored; a reviewer
	// who typed it expected it to matter.
	if wrong := otherCommandFlag(fs, cmd); wrong != "" {
		fmt.Fprintf(stderr, "policycheck %s: -%s belongs to policycheck %s\n", cmd, wrong, flagFor[wrong])
		return 2
	}
	p := loadPolicy(*policy, stderr)
	if p == nil {
		return 2
	}
	if cmd == "test" {
		return runTests(p, *verbose, stdout)
	}
	return runDecide(p, *claimsPath, can, *asJSON, stdin, stdout, stderr)
}

// printUsage prints how to call policycheck; status 0 when it was asked for,
// 2 for a missing or unknown subcommand.
func printUsage(args []string, stderr io.Writer) int {
	fmt.Fprintln(stderr, "usage: policycheck test -policy FILE [-v]\n       policycheck decide -policy FILE -claims FILE|- [-can PERMISSION]... [-json]\n"+governanceUsage)
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help") {
		return 0 // asked for
	}
	return 2
}

// otherCommandFlag returns the first flag set on the command line that
// belongs to a subcommand other than cmd, or "".
func otherCommandFlag(fs *flag.FlagSet, cmd string) string {
	wrong := ""
	fs.Visit(func(f *flag.Flag) {
		if only, ok := flagFor[f.Name]; ok && only != cmd && wrong == "" {
			wrong = f.Name
		}
	})
	return wrong
}

// check is the answer for one -can permission.
type check struct {
	Permission string          `json:"permission"`
	Allowed    bool            `json:"allowed"`
	Reason     idbridge.Reason `json:"reason,omitempty"`
}

// runDecide explains the policy's decision for the claims and answers each
// -can permission. The status is 1 when the decision fails or a permission
// is refused, 2 when the claims cannot be read.
func runDecide(p *rbac.Policy, claimsPath string, can []string, asJSON bool, stdin io.Reader, stdout, stderr io.Writer) int {
	if claimsPath == "" {
		fmt.Fprintln(stderr, "policycheck decide: -claims is required")
		return 2
	}
	raw, err := readClaims(claimsPath, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "policycheck: %v\n", err)
		return 2
	}
	d, err := p.DecideJSON(raw)
	if err != nil {
		fmt.Fprintf(stderr, "policycheck: %v\n", err)
		return 2
	}
	checks, allowed := checkPermissions(d, can)
	status := 0
	if !d.OK() || !allowed {
		status = 1
	}
	e := d.Explain()
	if asJSON {
		writeJSON(stdout, struct {
			rbac.Explanation
			Checks []check `json:"checks,omitempty"`
		}{e, checks})
		return status
	}
	fmt.Fprint(stdout, e.String())
	for _, c := range checks {
		if c.Allowed {
			fmt.Fprintf(stdout, "can %s: yes\n", c.Permission)
		} else {
			fmt.Fprintf(stdout, "can %s: no (%s)\n", c.Permission, c.Reason)
		}
	}
	return status
}

// checkPermissions checks each permission against the decision, in order;
// allowed is false when any is refused.
func checkPermissions(d rbac.Decision, perms []string) (checks []check, allowed bool) {
	allowed = true
	for _, perm := range perms {
		c := check{Permission: perm, Allowed: true}
		if err := d.Check(perm); err != nil {
			c.Allowed, c.Reason, allowed = false, idbridge.ReasonOf(err), false
		}
		checks = append(checks, c)
	}
	return checks, allowed
}

func runTests(p *rbac.Policy, verbose bool, stdout io.Writer) int {
	results := p.Test(context.Background())
	failed := 0
	for _, r := range results {
		mark := "ok  "
		if !r.Passed {
			mark = "FAIL"
			failed++
		}
		fmt.Fprintf(stdout, "%s line %-4d %s\n", mark, r.Line, r.Name)
		for _, f := range r.Failures {
			fmt.Fprintf(stdout, "       %s\n", f)
		}
		if verbose || !r.Passed {
			for _, l := range strings.Split(strings.TrimRight(r.Decision.Explain().String(), "\n"), "\n") {
				fmt.Fprintf(stdout, "       | %s\n", l)
			}
		}
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", len(results)-failed, failed)
	if len(results) == 0 {
		fmt.Fprintln(stdout, "warning: the policy has no tests")
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// readClaims reads a JSON object or a compact JWT (payload decoded, not
// verified).
func readClaims(path string, stdin io.Reader) ([]byte, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(stdin, 1<<20))
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] != '{' {
		c, err := jwt.Parse(string(data)) // the validator's reader; nothing is verified here
		if err != nil {
			return nil, fmt.Errorf("claims are neither a JSON object nor a compact JWT: %w", err)
		}
		payload, _ := c.MarshalJSON()
		return payload, nil
	}
	return data, nil
}
