package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/idbridge/idbridge/examples/internal/cli"
	"github.com/idbridge/idbridge/rbac"
	"github.com/idbridge/idbridge/rbac/catalog"
)

// governance holds the subcommands for the IGA tool and auditors; each
// takes its own flags.
var governance = map[string]func(args []string, stdin io.Reader, stdout, stderr io.Writer) int{
	"export":       runExport,
	"diff":         runDiff,
	"whatif":       runWhatIf,
	"trust-policy": runTrustPolicy,
	"check-aws":    runCheckAWS,
	"check-ldap":   runCheckLDAP,
	"usage":        runUsage,
}

const governanceUsage = `       policycheck export -policy FILE [-format json|csv|conflicts-csv]
       policycheck diff [-json] OLD NEW        (policy YAML or exported catalogue JSON)
       policycheck whatif -policy FILE -claims FILE|- [-add GROUP]... [-remove GROUP]... [-json]
       policycheck trust-policy -policy FILE -audience [ISSUER=]CLIENT_ID... [-saml-provider ARN] [-subjects FILE] [-role ARN|NAME]
       policycheck check-aws -policy FILE -audience [ISSUER=]CLIENT_ID... [-endpoint URL] [-json]
       policycheck check-ldap -policy FILE -url URL -bind-dn DN -base-dn DN [-issuer NAME] [-ca-file PEM] [-json]
       policycheck usage [-json] [-policy FILE] AUDIT.jsonl|-`

func newFlags(cmd string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("policycheck "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func loadPolicy(path string, stderr io.Writer) *rbac.Policy {
	if path == "" {
		fmt.Fprintln(stderr, "policycheck: -policy is required")
		return nil
	}
	p, err := rbac.NewPolicy(path)
	if err != nil {
		fmt.Fprintf(stderr, "policy does not load:\n%v\n", err)
		return nil
	}
	return p
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// runExport prints the policy's entitlement catalogue.
func runExport(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("export", stderr)
	policy := fs.String("policy", "", "policy file (YAML)")
	format := fs.String("format", "json", "json, csv (one row per group and entitlement) or conflicts-csv (separation-of-duties conflicts)")
	if err := cli.Parse(fs, args); err != nil {
		return cli.Status(stderr, "policycheck", err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "policycheck export: no arguments follow the flags")
		return 2
	}
	write := map[string]func(*catalog.Catalog, io.Writer) error{
		"json": (*catalog.Catalog).WriteJSON, "csv": (*catalog.Catalog).WriteCSV, "conflicts-csv": (*catalog.Catalog).WriteConflictsCSV,
	}[*format]
	if write == nil {
		fmt.Fprintf(stderr, "policycheck export: unknown -format %q (json, csv or conflicts-csv)\n", *format)
		return 2
	}
	p := loadPolicy(*policy, stderr)
	if p == nil {
		return 2
	}
	c, err := catalog.New(p)
	if err != nil {
		fmt.Fprintf(stderr, "policycheck: %v\n", err)
		return 2
	}
	// Written whole or not at all: a reader never gets part of a catalogue.
	var b bytes.Buffer
	if err := write(c, &b); err != nil {
		fmt.Fprintf(stderr, "policycheck: %v\n", err)
		return 2
	}
	_, _ = stdout.Write(b.Bytes())
	return 0
}

// readCatalog reads a policy (YAML) or an exported catalogue (JSON with
// schema_version).
func readCatalog(path string) (*catalog.Catalog, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' && bytes.Contains(t, []byte(`"schema_version"`)) {
		c, err := catalog.Read(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return c, nil
	}
	p, err := rbac.NewPolicy(path)
	if err != nil {
		return nil, fmt.Errorf("policy does not load:\n%w", err)
	}
	return catalog.New(p)
}

// runDiff prints per group what is gained and lost. Exit status as
// diff(1): 0 no change, 1 changes, 2 trouble.
func runDiff(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("diff", stderr)
	asJSON := fs.Bool("json", false, "print the diff as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return cli.Status(stderr, "policycheck", err)
	}
	if fs.NArg() != 2 {
		fmt.Fprintln(stderr, "usage: policycheck diff [-json] OLD NEW")
		return 2
	}
	old, err := readCatalog(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "policycheck diff: %v\n", err)
		return 2
	}
	new, err := readCatalog(fs.Arg(1))
	if err != nil {
		fmt.Fprintf(stderr, "policycheck diff: %v\n", err)
		return 2
	}
	d, err := catalog.Compare(old, new)
	if err != nil {
		fmt.Fprintf(stderr, "policycheck diff: %v\n", err)
		return 2
	}
	if *asJSON {
		writeJSON(stdout, d)
	} else {
		_ = d.WriteText(stdout)
	}
	if d.Empty() {
		return 0
	}
	return 1
}

// runWhatIf answers the mover question. Exit status 1 when the move breaks
// a separation-of-duties constraint.
func runWhatIf(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("whatif", stderr)
	policy := fs.String("policy", "", "policy file (YAML)")
	claimsPath := fs.String("claims", "", "the user's claims: JSON file or compact JWT, - for stdin")
	asJSON := fs.Bool("json", false, "print the answer as JSON")
	var add, remove listFlag
	fs.Var(&add, "add", "group (name or ID) the user would join (repeatable)")
	fs.Var(&remove, "remove", "group (name or ID) the user would leave (repeatable)")
	if err := cli.Parse(fs, args); err != nil {
		return cli.Status(stderr, "policycheck", err)
	}
	if *claimsPath == "" || len(add)+len(remove) == 0 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "policycheck whatif: -claims and at least one -add or -remove are required")
		return 2
	}
	p := loadPolicy(*policy, stderr)
	if p == nil {
		return 2
	}
	raw, err := readClaims(*claimsPath, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "policycheck: %v\n", err)
		return 2
	}
	m, err := catalog.WhatIf(p, raw, add, remove)
	if err != nil {
		fmt.Fprintf(stderr, "policycheck whatif: %v\n", err)
		return 2
	}
	if *asJSON {
		writeJSON(stdout, m)
	} else {
		printMove(stdout, m)
	}
	if len(m.NewConflicts) > 0 {
		return 1
	}
	return 0
}

func printMove(w io.Writer, m *catalog.Move) {
	var change []string
	for _, g := range m.Added {
		change = append(change, "+"+g)
	}
	for _, g := range m.Removed {
		change = append(change, "-"+g)
	}
	fmt.Fprintf(w, "move %s (policy %s)\n", strings.Join(change, " "), m.Policy.Version)
	for _, a := range []struct {
		name string
		acc  catalog.Access
	}{{"before", m.Before}, {"after", m.After}} {
		if a.acc.Allowed {
			fmt.Fprintf(w, "  %-6s ALLOW roles [%s]\n", a.name, strings.Join(a.acc.Roles, ", "))
		} else {
			fmt.Fprintf(w, "  %-6s DENY %s", a.name, a.acc.Reason)
			if a.acc.DeniedBy != "" {
				fmt.Fprintf(w, " by %s", a.acc.DeniedBy)
			}
			fmt.Fprintln(w)
		}
	}
	for _, e := range m.Gained {
		fmt.Fprintf(w, "  + %s\n", e)
	}
	for _, e := range m.Lost {
		fmt.Fprintf(w, "  - %s\n", e)
	}
	for _, c := range m.NewConflicts {
		fmt.Fprintf(w, "  new separation-of-duties conflict: %s\n", c)
	}
}
