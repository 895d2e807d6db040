package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/idbridge/idbridge/examples/internal/cli"
	"github.com/idbridge/idbridge/rbac/dirdrift"
	"github.com/idbridge/idbridge/rbac/ldap"
)

// runCheckLDAP compares the policy's directory groups with the directory.
// Exit status 1 when anything drifts.
func runCheckLDAP(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("check-ldap", stderr)
	policy := fs.String("policy", "", "policy file (YAML)")
	issuer := fs.String("issuer", "corp-ad", "the policy's name for the directory issuer (group_ids: dn)")
	url := fs.String("url", "", "directory URL, ldaps://host:636 (or ldap:// with StartTLS)")
	bindDN := fs.String("bind-dn", "", "read-only service account; its password comes from LDAP_BIND_PASSWORD")
	baseDN := fs.String("base-dn", "", "where users and groups are searched")
	caFile := fs.String("ca-file", "", "PEM CA certificates that verify the directory (default: system roots)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return cli.Status(stderr, "policycheck", err)
	}
	if *url == "" || *bindDN == "" || *baseDN == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "policycheck check-ldap: -url, -bind-dn and -base-dn are required")
		return 2
	}
	p := loadPolicy(*policy, stderr)
	if p == nil {
		return 2
	}
	var tlsConf *tls.Config
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		pool := x509.NewCertPool()
		if err != nil || !pool.AppendCertsFromPEM(pem) {
			fmt.Fprintf(stderr, "policycheck check-ldap: -ca-file holds no PEM certificate\n")
			return 2
		}
		tlsConf = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	var iss string
	for _, is := range p.Inventory().Issuers {
		if is.Name == *issuer {
			iss = is.Issuer
		}
	}
	dir, err := ldap.NewDirectory(*url, func(o *ldap.Options) {
		o.BindDN, o.BindPassword, o.BaseDN = *bindDN, os.Getenv("LDAP_BIND_PASSWORD"), *baseDN
		o.TLSConfig, o.Issuer = tlsConf, iss
	})
	if err != nil {
		fmt.Fprintf(stderr, "policycheck check-ldap: %v\n", err)
		return 2
	}
	defer dir.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := dirdrift.Check(ctx, dir, p.Inventory(), *issuer)
	if err != nil {
		fmt.Fprintf(stderr, "policycheck check-ldap: %v\n", err)
		return 2
	}
	if *asJSON {
		writeJSON(stdout, rep)
	} else {
		for _, f := range rep.Findings {
			fmt.Fprintln(stdout, f)
		}
		fmt.Fprintf(stdout, "%d groups and %d members checked, %d findings\n", rep.GroupsChecked, rep.UsersChecked, len(rep.Findings))
	}
	if len(rep.Findings) > 0 {
		return 1
	}
	return 0
}
