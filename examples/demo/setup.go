package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/idbridge/idbridge/integration/idp"
	"github.com/idbridge/idbridge/rbac"
	"github.com/idbridge/idbridge/token"
)

// The bank's Entra tenant and groups, as examples/policies/bank.yaml declares
// them. The embedded provider is configured to issue exactly these, so the
// policy file is used as written; only its issuer URL is pointed at the
// embedded provider (see loadPolicy).
const (
	bankTenantID     = "9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c"
	bankEntraIssuer  = "https://login.microsoftonline.com/" + bankTenantID + "/v2.0"
	groupLendingRM   = "4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13"
	groupCreditOffer = "a83e1f52-6c4b-47d9-8e20-c5b9d4a7f261"
	groupHRLeavers   = "e2d94c07-1b5a-4f68-a3c9-7f0e8b2d5a46"
)

// groupNames turns the groups claim into names people read.
var groupNames = map[string]string{
	groupLendingRM:   "Lending_RM",
	groupCreditOffer: "Credit_Officers",
	groupHRLeavers:   "HR_Leavers",
}

// The directory name of the on-prem issuer in bank.yaml: rbac/ldap stamps
// the claims it builds with it, and the policy's corp-ad entries match it.
const corpADIssuer = "ldap://corp.bank.example"

// errPolicyNotFound means bank.yaml is not where the demo looks for it.
var errPolicyNotFound = errors.New("demo: policy file not found")

// policyCandidates are where bank.yaml is, relative to the directories the
// demo is run from: the repository root (README), examples/, or
// examples/demo (go test).
var policyCandidates = []string{
	"examples/policies/bank.yaml",
	"policies/bank.yaml",
	"../policies/bank.yaml",
}

// startIdP starts the embedded OpenID provider as the bank's tenant. The
// scenario users keep their names, passwords and app roles; their groups
// become the policy's group object IDs, and Leo starts as an active
// employee so that the story can show him leave.
func startIdP() (*idp.Provider, error) {
	return idp.Start(func(o *idp.Options) {
		o.TenantID = bankTenantID
		for i := range o.Users {
			u := &o.Users[i]
			switch u.Username {
			case idp.UserAmit:
				u.Groups = []string{groupLendingRM}
			case idp.UserPriya:
				u.Groups = []string{groupCreditOffer}
			case idp.UserLeo:
				u.Groups = []string{groupLendingRM}
				u.Disabled = false
			}
		}
	})
}

// readPolicy reads bank.yaml from path, or from the first candidate that
// exists when path is "".
func readPolicy(path string) ([]byte, string, error) {
	paths := policyCandidates
	if path != "" {
		paths = []string{path}
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err == nil {
			return b, filepath.Base(p), nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, "", fmt.Errorf("demo: reading the policy: %w", err)
		}
	}
	return nil, "", fmt.Errorf("%w (looked for %v)", errPolicyNotFound, paths)
}

// loadPolicy compiles the bank policy for one service. The file names the
// real Entra issuer, https://login.microsoftonline.com/{tenant}/v2.0; the
// embedded provider's issuer is a loopback URL, so the demo substitutes it.
// Against the real tenant the file is used unchanged.
func loadPolicy(raw []byte, name, issuer string, optFns ...func(*rbac.Options)) (*rbac.Policy, error) {
	if !bytes.Contains(raw, []byte(bankEntraIssuer)) {
		return nil, fmt.Errorf("demo: %s does not declare the issuer %s", name, bankEntraIssuer)
	}
	raw = bytes.ReplaceAll(raw, []byte(bankEntraIssuer), []byte(issuer))
	optFns = append([]func(*rbac.Options){func(o *rbac.Options) { o.Name = name }}, optFns...)
	return rbac.ParsePolicy(raw, optFns...)
}

// tokenOptions points a token flow at the embedded provider (its
// self-signed certificate) and at the service's audit sink.
func tokenOptions(p *idp.Provider, audit slog.Handler) token.Options {
	return token.Options{HTTPClient: p.HTTPClient(), Audit: audit}
}
