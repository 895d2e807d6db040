package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/idbridge/idbridge/examples/internal/cli"
	"github.com/idbridge/idbridge/rbac/usage"
)

// runUsage summarises an audit log for access review: per user and
// entitlement the last use and its route.
func runUsage(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("usage", stderr)
	policy := fs.String("policy", "", "also list the policy's permissions and AWS roles nobody used in the log's window")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return cli.Status(stderr, "policycheck", err)
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: policycheck usage [-json] [-policy FILE] AUDIT.jsonl|-")
		return 2
	}
	in := stdin
	if fs.Arg(0) != "-" {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			fmt.Fprintf(stderr, "policycheck usage: %v\n", err)
			return 2
		}
		defer f.Close()
		in = f
	}
	rep, err := usage.Summarize(in, usage.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "policycheck usage: %v\n", err)
		return 2
	}
	var unusedPerms, unusedRoles []string
	if *policy != "" {
		p := loadPolicy(*policy, stderr)
		if p == nil {
			return 2
		}
		var roles []string
		for _, m := range p.Inventory().Mappings {
			for _, a := range m.AWS {
				roles = append(roles, a.RoleARN)
			}
		}
		unusedPerms = rep.Unused(usage.KindPermission, p.Declared().Permissions)
		unusedRoles = rep.Unused(usage.KindAWSRole, roles)
	}
	if *asJSON {
		writeJSON(stdout, struct {
			*usage.Report
			UnusedPermissions []string `json:"unused_permissions,omitempty"`
			UnusedAWSRoles    []string `json:"unused_aws_roles,omitempty"`
		}{rep, unusedPerms, unusedRoles})
		return 0
	}
	fmt.Fprintf(stdout, "%d lines, %d entitlement events from %s to %s\n", rep.Lines, rep.Events, stamp(rep.From), stamp(rep.To))
	user := ""
	for _, u := range rep.Uses {
		if k := u.Issuer + " " + u.User; k != user {
			user = k
			fmt.Fprintf(stdout, "%s (%s)\n", u.User, u.Issuer)
		}
		fmt.Fprintf(stdout, "  %-10s %s", u.Kind, u.Entitlement)
		if u.Allowed > 0 {
			fmt.Fprintf(stdout, ": used %d times, last %s via %s", u.Allowed, stamp(u.LastUsed), u.LastRoute)
		} else {
			fmt.Fprint(stdout, ": never used")
		}
		if u.Denied > 0 {
			fmt.Fprintf(stdout, "; denied %d times, last %s (%s)", u.Denied, stamp(u.LastDenied), u.LastReason)
		}
		fmt.Fprintln(stdout)
	}
	if *policy != "" {
		fmt.Fprintf(stdout, "never used by anyone: permissions [%s], aws roles [%s]\n", strings.Join(unusedPerms, ", "), strings.Join(unusedRoles, ", "))
	}
	return 0
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
