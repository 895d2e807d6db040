package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/federation"
	"github.com/idbridge/idbridge/middleware"
)

// serviceName is the gRPC service of reports.proto. The service is
// written by hand with protobuf's well-known types, so no protoc is
// needed; reports.proto documents it for clients (grpcurl -proto).
const serviceName = "bank.analytics.v1.Reports"

// reports serves the loan book to people holding loan:read, and exports it
// to the analytics bucket with the service's own AWS identity.
type reports struct {
	log     *slog.Logger
	creds   aws.CredentialsProvider // the service's own role (IRSA), never a user's
	roleARN string
	s3      *s3.Client // nil without a bucket
	bucket  string
}

// AuthRequirements implements grpcauth.MethodRequirements: each method
// declares what it needs; anything else is closed.
func (*reports) AuthRequirements(fullMethod string) ([]middleware.Requirement, bool) {
	switch strings.TrimPrefix(fullMethod, "/"+serviceName+"/") {
	case "LoanBook", "WatchLoans", "Export":
		return []middleware.Requirement{middleware.Require("loan:read")}, true
	case "MyAWSRole":
		return []middleware.Requirement{middleware.Authenticated()}, true
	}
	return nil, false
}

var loanBook = []any{
	map[string]any{"loan": "L-1001", "customer": "C-2231", "outstanding": 250000, "status": "performing"},
	map[string]any{"loan": "L-1002", "customer": "C-2232", "outstanding": 480000, "status": "performing"},
	map[string]any{"loan": "L-1003", "customer": "C-2240", "outstanding": 120000, "status": "watch"},
}

// LoanBook summarises the loan book for the caller.
func (r *reports) LoanBook(ctx context.Context) (*structpb.Struct, error) {
	p, _ := middleware.FromContext(ctx)
	total := 0
	for _, l := range loanBook {
		total += l.(map[string]any)["outstanding"].(int)
	}
	return newStruct(map[string]any{"loans": len(loanBook), "outstanding": total,
		"caller": p.Claims.ObjectID, "roles": strs(p.Decision.Roles())})
}

// WatchLoans streams the loans, one message each (the stream interceptor
// guards it like the unary methods).
func (r *reports) WatchLoans(stream grpc.ServerStream) error {
	for _, l := range loanBook {
		m, err := newStruct(l.(map[string]any))
		if err != nil {
			return err
		}
		if err := stream.SendMsg(m); err != nil {
			return err
		}
	}
	return nil
}

// Export writes the loan book to the analytics bucket as the analytics
// service: the S3 client signs with credentials of the service's own IAM
// role, obtained with its own web identity token (IRSA). The caller's token
// never leaves this API.
func (r *reports) Export(ctx context.Context) (*structpb.Struct, error) {
	p, _ := middleware.FromContext(ctx)
	creds, err := r.creds.Retrieve(ctx)
	if err != nil {
		r.log.Error("no AWS credentials for the export", "reason", idbridge.ReasonOf(err), "err", err)
		return nil, status.Error(codes.Unavailable, "AWS credentials unavailable")
	}
	key := fmt.Sprintf("exports/loan-book-%s.json", time.Now().UTC().Format("20060102T150405Z"))
	if r.s3 != nil {
		raw, _ := json.Marshal(loanBook)
		_, err := r.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: &r.bucket, Key: &key,
			Body: bytes.NewReader(raw), ContentType: aws.String("application/json")})
		if err != nil {
			r.log.Error("export failed", "bucket", r.bucket, "err", err)
			return nil, status.Error(codes.Unavailable, "export failed")
		}
	}
	return newStruct(map[string]any{"aws_role": r.roleARN, "credentials_expire": creds.Expires.UTC().Format(time.RFC3339),
		"bucket": r.bucket, "key": key, "written": r.s3 != nil, "requested_by": p.Claims.ObjectID})
}

// MyAWSRole answers which IAM role the bank policy maps the caller to for
// their own AWS access (Lending_RM → Loan_ReadOnly). This API does not
// assume it: STS must see the user's ID token, which the web app the user
// signed in to holds, not the access token this API received (its aud is
// this API). The web app does, with the same decision:
//
//	role, err := federation.RoleFor(policy.Decide(idClaims), idClaims, "")
//	creds, err := federation.NewProvider(stsClient, role.ARN, userSession, role.Options)
func (r *reports) MyAWSRole(ctx context.Context) (*structpb.Struct, error) {
	p, _ := middleware.FromContext(ctx)
	role, err := federation.RoleFor(p.Decision, p.Claims, "")
	if err != nil {
		return nil, status.Error(codes.PermissionDenied, string(idbridge.ReasonOf(err)))
	}
	return newStruct(map[string]any{"role_arn": role.ARN, "session_name": role.SessionName,
		"duration": role.Duration.String(), "granted_by": role.Mapping})
}

// reportsDesc is what protoc would generate from reports.proto. Each
// handler decodes the request, then runs the interceptors (the guard)
// before the method, exactly as generated code does.
var reportsDesc = grpc.ServiceDesc{
	ServiceName: serviceName,
	HandlerType: (*any)(nil),
	Methods:     []grpc.MethodDesc{unary("LoanBook", (*reports).LoanBook), unary("Export", (*reports).Export), unary("MyAWSRole", (*reports).MyAWSRole)},
	Streams: []grpc.StreamDesc{{StreamName: "WatchLoans", ServerStreams: true,
		Handler: func(srv any, stream grpc.ServerStream) error {
			if err := stream.RecvMsg(new(emptypb.Empty)); err != nil {
				return err
			}
			return srv.(*reports).WatchLoans(stream)
		}}},
}

func unary(name string, method func(*reports, context.Context) (*structpb.Struct, error)) grpc.MethodDesc {
	return grpc.MethodDesc{MethodName: name, Handler: func(srv any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
		in := new(emptypb.Empty)
		if err := dec(in); err != nil {
			return nil, err
		}
		h := func(ctx context.Context, _ any) (any, error) { return method(srv.(*reports), ctx) }
		if icpt == nil {
			return h(ctx, in)
		}
		return icpt(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/" + serviceName + "/" + name}, h)
	}}
}

func newStruct(m map[string]any) (*structpb.Struct, error) {
	s, err := structpb.NewStruct(m)
	if err != nil {
		return nil, status.Error(codes.Internal, "encoding the answer")
	}
	return s, nil
}

// strs converts for structpb, which takes []any, not []string.
func strs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
