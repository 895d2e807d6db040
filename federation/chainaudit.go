package federation

import (
	"context"
	"errors"
	"log/slog"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/audit"
	"github.com/idbridge/idbridge/internal/reason"
)

// AuditAssumeRole wraps the STS client of a chained hop (see
// [Role.AssumeRoleOptions]) so that each AssumeRole call records sts.assumed
// or sts.failed to h, like the web identity hop: role_arn, session_name,
// source_identity, assumed_role_arn, request_id, access_key_id and
// expiration, or STS's error_code. The secret key and session token are
// never written. h nil returns client unchanged.
//
//	chained := sts.New(sts.Options{Region: region, Credentials: entry})
//	p := stscreds.NewAssumeRoleProvider(federation.AuditAssumeRole(chained, h), r.ARN, r.AssumeRoleOptions)
func AuditAssumeRole(client stscreds.AssumeRoleAPIClient, h slog.Handler) stscreds.AssumeRoleAPIClient {
	if h == nil {
		return client
	}
	return &auditedAssumeRole{client: client, log: audit.New(h)}
}

type auditedAssumeRole struct {
	client stscreds.AssumeRoleAPIClient
	log    *audit.Logger
}

func (a *auditedAssumeRole) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	start := time.Now()
	out, err := a.client.AssumeRole(ctx, in, optFns...)
	if a.log.Enabled(ctx) {
		a.log.Emit(ctx, chainEvent(in, out, err, time.Since(start)))
	}
	return out, err
}

func chainEvent(in *sts.AssumeRoleInput, out *sts.AssumeRoleOutput, err error, d time.Duration) audit.Event {
	ev := audit.Event{Name: audit.STSAssumed, Outcome: audit.Success, Duration: d}
	str := func(k string, v *string) {
		if v != nil && *v != "" {
			ev.Attrs = append(ev.Attrs, slog.String(k, *v))
		}
	}
	if in != nil {
		str(idbridge.FieldRoleARN, in.RoleArn)
		str(idbridge.FieldSessionName, in.RoleSessionName)
		str(idbridge.FieldSourceIdentity, in.SourceIdentity)
	}
	if err != nil {
		ev.Name, ev.Outcome = audit.STSFailed, audit.Failure
		var ae smithy.APIError
		code := ""
		if errors.As(err, &ae) {
			code = ae.ErrorCode()
			ev.Attrs = append(ev.Attrs, slog.String(idbridge.FieldErrorCode, code))
		}
		switch code {
		case "AccessDenied", "AccessDeniedException", "ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "SignatureDoesNotMatch":
			ev.Reason = reason.Forbidden
		case "":
			ev.Reason = reason.IdPUnavailable
		default:
			ev.Reason = reason.Of(err)
			if ev.Reason == "" {
				ev.Reason = reason.Malformed
			}
		}
		return ev
	}
	if out != nil {
		if out.AssumedRoleUser != nil {
			str(idbridge.FieldAssumedRoleARN, out.AssumedRoleUser.Arn)
		}
		if id, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); ok {
			ev.Attrs = append(ev.Attrs, slog.String(idbridge.FieldRequestID, id))
		}
		if c := out.Credentials; c != nil {
			str(idbridge.FieldAccessKeyID, c.AccessKeyId)
			if c.Expiration != nil {
				ev.Attrs = append(ev.Attrs, slog.Time(idbridge.FieldExpiration, c.Expiration.UTC()))
			}
		}
	}
	return ev
}
