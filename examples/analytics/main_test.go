package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/idbridge/idbridge/examples/internal/localidp"
	"github.com/idbridge/idbridge/federation"
	"github.com/idbridge/idbridge/integration/idp"
)

// TestAnalytics runs the app in local mode (embedded provider, fake STS)
// and calls it over gRPC: unary and streaming methods with and without
// permission, the open health service, the service's own AWS role for S3,
// and the role a user's direct AWS access would get.
func TestAnalytics(t *testing.T) {
	// Local mode sets the IRSA variables as the EKS webhook would;
	// t.Setenv restores them afterwards.
	t.Setenv(federation.EnvTokenFile, "")
	t.Setenv(federation.EnvRoleARN, "")
	app, err := localidp.RunTest(t, run, "-addr", "127.0.0.1:0", "-issuer=", "-policy", "../policies/bank.yaml", "-bucket=")
	if err != nil {
		t.Fatal(err)
	}
	cc, err := grpc.NewClient(app.URL, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	tokens := map[string]string{}
	for _, u := range localidp.Users {
		if tokens[u], err = app.IdP.UserToken(t.Context(), u, idp.ResourceLending+"/Loans.Read"); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name, method, user string
		want               codes.Code
		check              func(t *testing.T, got []*structpb.Struct)
	}{
		{"RM reads the loan book", "LoanBook", idp.UserAmit, codes.OK, func(t *testing.T, got []*structpb.Struct) {
			f := got[0].GetFields()
			if f["loans"].GetNumberValue() != 3 || f["caller"].GetStringValue() != idp.AmitObjectID {
				t.Errorf("LoanBook = %v", got[0])
			}
		}},
		{"RM streams the loans", "WatchLoans", idp.UserAmit, codes.OK, func(t *testing.T, got []*structpb.Struct) {
			if len(got) != 3 {
				t.Errorf("WatchLoans sent %d messages, want 3", len(got))
			}
		}},
		{"export uses the service's own role", "Export", idp.UserAmit, codes.OK, func(t *testing.T, got []*structpb.Struct) {
			f := got[0].GetFields()
			exp, err := time.Parse(time.RFC3339, f["credentials_expire"].GetStringValue())
			if f["aws_role"].GetStringValue() != localidp.AnalyticsRoleARN || err != nil || !exp.After(time.Now()) {
				t.Errorf("Export = %v", got[0])
			}
		}},
		{"RM's own AWS role comes from the policy", "MyAWSRole", idp.UserAmit, codes.OK, func(t *testing.T, got []*structpb.Struct) {
			f := got[0].GetFields()
			if f["role_arn"].GetStringValue() != "arn:aws:iam::111122223333:role/Loan_ReadOnly" || f["granted_by"].GetStringValue() != "rm-view" {
				t.Errorf("MyAWSRole = %v", got[0])
			}
		}},
		{"credit officer without MFA must step up", "LoanBook", idp.UserPriya, codes.Unauthenticated, nil},
		{"credit officer has no AWS role without MFA", "MyAWSRole", idp.UserPriya, codes.PermissionDenied, nil},
		{"leaver is refused", "LoanBook", idp.UserLeo, codes.PermissionDenied, nil},
		{"leaver is refused a stream", "WatchLoans", idp.UserLeo, codes.PermissionDenied, nil},
		{"no token", "LoanBook", "", codes.Unauthenticated, nil},
		{"no token, stream", "WatchLoans", "", codes.Unauthenticated, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := invoke(t, cc, tc.method, tokens[tc.user])
			if status.Code(err) != tc.want {
				t.Fatalf("%s: %v, want %s", tc.method, err, tc.want)
			}
			if tc.check != nil {
				tc.check(t, got)
			}
		})
	}

	t.Run("health needs no token", func(t *testing.T) {
		resp, err := healthpb.NewHealthClient(cc).Check(t.Context(), &healthpb.HealthCheckRequest{})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health: %v, %v", resp, err)
		}
	})

	// STS only ever saw the service principal's token.
	log := app.Stderr.String()
	if !strings.Contains(log, `"event":"sts.assumed"`) || !strings.Contains(log, `"sub":"`+localidp.AnalyticsServiceID+`"`) {
		t.Error("no sts.assumed event for the analytics service principal")
	}
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, `"event":"sts.`) && strings.Contains(line, idp.AmitObjectID) {
			t.Errorf("a user's token reached STS: %s", line)
		}
	}
	app.CheckNoSecrets(t, tokens[idp.UserAmit], tokens[idp.UserPriya], tokens[idp.UserLeo])
}

// invoke calls a Reports method with token ("" for none) and returns the
// messages received.
func invoke(t *testing.T, cc *grpc.ClientConn, method, token string) ([]*structpb.Struct, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	full := "/" + serviceName + "/" + method
	if method != "WatchLoans" {
		out := new(structpb.Struct)
		if err := cc.Invoke(ctx, full, &emptypb.Empty{}, out); err != nil {
			return nil, err
		}
		return []*structpb.Struct{out}, nil
	}
	st, err := cc.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, full)
	if err != nil {
		return nil, err
	}
	if err := st.SendMsg(&emptypb.Empty{}); err != nil {
		return nil, err
	}
	if err := st.CloseSend(); err != nil {
		return nil, err
	}
	var got []*structpb.Struct
	for {
		m := new(structpb.Struct)
		err := st.RecvMsg(m)
		if errors.Is(err, io.EOF) {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		got = append(got, m)
	}
}
