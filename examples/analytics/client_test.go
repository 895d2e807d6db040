package main

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/idbridge/idbridge/examples/internal/localidp"
	"github.com/idbridge/idbridge/federation"
	"github.com/idbridge/idbridge/integration/idp"
	"github.com/idbridge/idbridge/middleware/grpcauth"
	"github.com/idbridge/idbridge/token"
)

// TestAnalyticsSDKClient calls the locally running app the way a Go
// service would: the SDK's PerRPCCredentials with its retrying
// interceptors, over plaintext to loopback, which it allows without any
// option.
func TestAnalyticsSDKClient(t *testing.T) {
	t.Setenv(federation.EnvTokenFile, "")
	t.Setenv(federation.EnvRoleARN, "")
	app, err := localidp.RunTest(t, run, "-addr", "127.0.0.1:0", "-issuer=", "-policy", "../policies/bank.yaml", "-bucket=")
	if err != nil {
		t.Fatal(err)
	}
	amit := token.SourceFunc(func(ctx context.Context) (*token.Token, error) {
		tok, err := app.IdP.UserToken(ctx, idp.UserAmit, idp.ResourceLending+"/Loans.Read")
		return &token.Token{AccessToken: tok, TokenType: "Bearer"}, err
	})
	cache, err := token.NewCache(amit)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := grpcauth.NewPerRPCCredentials(cache)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := grpc.NewClient(app.URL, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(creds),
		grpc.WithChainUnaryInterceptor(creds.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(creds.StreamClientInterceptor()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	out := new(structpb.Struct)
	if err := cc.Invoke(ctx, "/"+serviceName+"/LoanBook", &emptypb.Empty{}, out); err != nil {
		t.Fatalf("LoanBook: %v", err)
	}
	if out.GetFields()["caller"].GetStringValue() != idp.AmitObjectID {
		t.Errorf("LoanBook = %v", out)
	}
	st, err := cc.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, "/"+serviceName+"/WatchLoans")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SendMsg(&emptypb.Empty{}); err != nil {
		t.Fatal(err)
	}
	if err := st.CloseSend(); err != nil {
		t.Fatal(err)
	}
	n := 0
	for err = st.RecvMsg(new(structpb.Struct)); err == nil; err = st.RecvMsg(new(structpb.Struct)) {
		n++
	}
	if n != 3 || !errors.Is(err, io.EOF) {
		t.Errorf("WatchLoans sent %d messages and ended with %v, want 3 and EOF", n, err)
	}
}
