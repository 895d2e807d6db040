package main

import (
	"context"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/idbridge/idbridge/integration/idp"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/revocation"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/grpcauth"
	"github.com/idbridge/idbridge/rbac"
)

// watchLoans is the analytics API's gRPC server stream of loan-book
// changes, as examples/analytics serves it: one update, then open until
// the client or the guard ends it.
const watchLoans = "/bank.analytics.v1.Reports/WatchLoans"

var watchDesc = grpc.ServiceDesc{
	ServiceName: "bank.analytics.v1.Reports",
	HandlerType: (*any)(nil),
	Streams: []grpc.StreamDesc{{StreamName: "WatchLoans", ServerStreams: true, Handler: func(_ any, ss grpc.ServerStream) error {
		var req structpb.Struct
		if err := ss.RecvMsg(&req); err != nil {
			return err
		}
		update, err := structpb.NewStruct(map[string]any{"loan": "L-1001", "status": "approved"})
		if err != nil {
			return err
		}
		if err := ss.SendMsg(update); err != nil {
			return err
		}
		<-ss.Context().Done()
		return ss.Context().Err()
	}}},
}

// startAnalyticsGRPC serves WatchLoans behind the gRPC guard of an
// analytics replica that shares the revocation list: checked after
// validation, and watching each open stream.
func (s *story) startAnalyticsGRPC(list replicaList) (addr string, err error) {
	p := s.idp
	audit := s.auditFor("analytics-grpc")
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: p.Issuer(), JWKSURL: p.JWKSURL()}}
		o.Audiences = []string{idp.LendingAppID}
		o.Algorithms = []string{"RS256"}
		o.Tenants = []string{bankTenantID}
		o.HTTPClient = p.HTTPClient()
		o.Audit = audit
	})
	if err != nil {
		return "", err
	}
	s.onClose(func() { v.Close() })
	pol, err := loadPolicy(s.policyRaw, s.policyName, p.Issuer(), func(o *rbac.Options) { o.Audit = audit })
	if err != nil {
		return "", err
	}
	g, err := middleware.New(revocation.NewValidator(v, list), func(o *middleware.Options) {
		o.Policy = pol
		o.Realm = "analytics-grpc"
		o.Audit = audit
	})
	if err != nil {
		return "", err
	}
	gs, err := grpcauth.NewServer(g, func(o *grpcauth.ServerOptions) {
		o.Methods = map[string][]middleware.Requirement{watchLoans: {middleware.Require("loan:read")}}
		o.StreamWatchers = []grpcauth.StreamWatcher{list}
	})
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := grpc.NewServer(grpc.ChainStreamInterceptor(gs.StreamServerInterceptor()))
	srv.RegisterService(&watchDesc, struct{}{})
	go srv.Serve(ln)
	s.onClose(srv.Stop)
	return ln.Addr().String(), nil
}

// openWatch opens WatchLoans as sess and returns the first update's loan
// and a channel that receives the error the stream ends with.
func openWatch(ctx context.Context, sess *session, addr string) (string, <-chan error, error) {
	creds, err := grpcauth.NewPerRPCCredentials(sess.tokens)
	if err != nil {
		return "", nil, err
	}
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(creds))
	if err != nil {
		return "", nil, err
	}
	st, err := cc.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, watchLoans)
	if err != nil {
		cc.Close()
		return "", nil, err
	}
	if err := st.SendMsg(&structpb.Struct{}); err != nil {
		cc.Close()
		return "", nil, err
	}
	if err := st.CloseSend(); err != nil {
		cc.Close()
		return "", nil, err
	}
	var first structpb.Struct
	if err := st.RecvMsg(&first); err != nil {
		cc.Close()
		return "", nil, err
	}
	ended := make(chan error, 1)
	go func() {
		defer cc.Close()
		var m structpb.Struct
		for {
			if err := st.RecvMsg(&m); err != nil {
				ended <- err
				return
			}
		}
	}()
	return first.Fields["loan"].GetStringValue(), ended, nil
}
