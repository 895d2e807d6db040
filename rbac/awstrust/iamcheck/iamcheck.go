// Package iamcheck reads IAM roles' trust policies through the IAM API
// (GetRole) and reports where they admit more than the rbac policy grants
// (see rbac/awstrust). It is its own package so that only a program that
// checks AWS links the IAM client.
//
// The caller needs iam:GetRole on the roles. GetRole returns the trust
// policy URL-encoded; it is decoded and read strictly: a document this
// package does not understand fails the whole check (wrapping
// awstrust.ErrUnexpectedDocument) instead of being reported as clean.
package iamcheck

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/rbac/awstrust"
)

// GetRoleAPI is the part of *iam.Client that Check uses.
type GetRoleAPI interface {
	GetRole(ctx context.Context, in *iam.GetRoleInput, optFns ...func(*iam.Options)) (*iam.GetRoleOutput, error)
}

// ErrIAM (class idp_unavailable) wraps a failed IAM call other than a
// missing role.
var ErrIAM = reason.New(reason.IdPUnavailable, "iamcheck: IAM call failed")

var roleNameRe = regexp.MustCompile(`^arn:[a-z-]+:iam::[0-9]{12}:role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})$`)

// Check fetches each role and compares its trust policy with the
// generated one. A role that does not exist is a DriftMissing; any other
// failure stops the check with an error, so a report is complete or not
// returned at all.
func Check(ctx context.Context, client GetRoleAPI, trusts []awstrust.Trust) ([]awstrust.Drift, error) {
	var out []awstrust.Drift
	for _, t := range trusts {
		m := roleNameRe.FindStringSubmatch(t.RoleARN)
		if m == nil {
			return nil, fmt.Errorf("iamcheck: %w: malformed role ARN %q", idbridge.ErrInvalidOptions, t.RoleARN)
		}
		res, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: &m[1]})
		var nse *types.NoSuchEntityException
		switch {
		case errors.As(err, &nse):
			out = append(out, awstrust.Drift{RoleARN: t.RoleARN, Kind: awstrust.DriftMissing, Statement: -1, Detail: "role does not exist"})
			continue
		case err != nil:
			return nil, fmt.Errorf("%w: GetRole %s: %w", ErrIAM, m[1], err)
		}
		if res.Role == nil || res.Role.AssumeRolePolicyDocument == nil {
			return nil, fmt.Errorf("%s: %w: GetRole returned no trust policy", t.RoleARN, awstrust.ErrUnexpectedDocument)
		}
		if res.Role.Arn != nil && *res.Role.Arn != t.RoleARN {
			out = append(out, awstrust.Drift{RoleARN: t.RoleARN, Kind: awstrust.DriftMissing, Statement: -1,
				Detail: fmt.Sprintf("IAM has role %s under that name instead (another path or account)", *res.Role.Arn)})
			continue
		}
		doc, err := awstrust.DecodeDocument(*res.Role.AssumeRolePolicyDocument)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.RoleARN, err)
		}
		ds, err := awstrust.Check(t, doc)
		if err != nil {
			return nil, err
		}
		out = append(out, ds...)
	}
	return out, nil
}
