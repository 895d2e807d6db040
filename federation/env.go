package federation

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/token"
)

// The environment variables of EKS IAM roles for service accounts (IRSA),
// which the EKS pod identity webhook sets, as every AWS SDK reads them.
const (
	EnvTokenFile   = "AWS_WEB_IDENTITY_TOKEN_FILE"
	EnvRoleARN     = "AWS_ROLE_ARN"
	EnvSessionName = "AWS_ROLE_SESSION_NAME"
)

// FromEnvironment returns a Provider for the workload's own AWS access: the
// service account token in AWS_WEB_IDENTITY_TOKEN_FILE exchanged for the
// role AWS_ROLE_ARN, with the session name AWS_ROLE_SESSION_NAME when set
// (else derived from the token's sub, system:serviceaccount:<ns>:<name>).
// The options may override any of that.
//
// This is the service's identity, for its own S3 buckets and queues — never
// a user's token. The file is read again when Kubernetes rotates it
// (through [token.FileAssertion]), so a long-running pod keeps working.
// It fails with idbridge.ErrInvalidOptions naming the variable that is missing,
// and Retrieve does so naming the path when the file is not there. Close
// the Provider when done.
func FromEnvironment(client stscreds.AssumeRoleWithWebIdentityAPIClient, optFns ...func(*Options)) (*Provider, error) {
	file, roleARN := os.Getenv(EnvTokenFile), os.Getenv(EnvRoleARN)
	if file == "" {
		return nil, fmt.Errorf("federation: %w: %s is not set (is the pod's service account annotated with eks.amazonaws.com/role-arn?)", idbridge.ErrInvalidOptions, EnvTokenFile)
	}
	if roleARN == "" {
		return nil, fmt.Errorf("federation: %w: %s is not set", idbridge.ErrInvalidOptions, EnvRoleARN)
	}
	fns := make([]func(*Options), 0, len(optFns)+1)
	if name := os.Getenv(EnvSessionName); name != "" {
		fns = append(fns, func(o *Options) { o.RoleSessionName = name })
	}
	fns = append(fns, optFns...)
	a, err := newAssumer(client, roleARN, fns)
	if err != nil {
		return nil, err
	}
	fa, err := token.NewFileAssertion(file, func(to *token.FileAssertionOptions) { to.Now = a.o.Now })
	if err != nil {
		return nil, fmt.Errorf("federation: %w: %w", idbridge.ErrInvalidOptions, err)
	}
	a.fetch = func(ctx context.Context) (string, error) {
		s, err := fa.Assertion(ctx)
		if err != nil && errors.Is(err, idbridge.ErrInvalidOptions) {
			// A file that is not there is the deployment's mistake, not
			// the IdP's: retries will not fix it.
			return "", &Error{Err: idbridge.ErrInvalidOptions, RoleARN: roleARN, Detail: EnvTokenFile + ": " + scrub(err.Error(), 300), Cause: err}
		}
		if err != nil {
			return "", &Error{Err: ErrTokenSource, RoleARN: roleARN, Detail: scrub(err.Error(), 300), Cause: err}
		}
		return s, nil
	}
	return a.provider()
}
