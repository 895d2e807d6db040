package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	goredis "github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/federation"
	"github.com/idbridge/idbridge/federation/ststest"
	"github.com/idbridge/idbridge/integration/idp"
	"github.com/idbridge/idbridge/integration/redistest"
	"github.com/idbridge/idbridge/jwks/revocation"
	rediss "github.com/idbridge/idbridge/jwks/revocation/redis"
	"github.com/idbridge/idbridge/jwks/revocation/ssf"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/middleware/grpcauth"
)

// The governance system's SSF transmitter and where the lending API
// receives its events (the public name behind the load balancer).
const (
	governanceIssuer = "https://iga.bank.example"
	ssfAudience      = "https://lending.bank.example/ssf/events"
)

// replicaList is what a replica needs of its revocation list: the guard
// checks it and has it watch open streams, the SSF receiver revokes
// through it.
type replicaList interface {
	revocation.Checker
	ssf.Revoker
	grpcauth.StreamWatcher
}

// leaverRevoked is step 8: the tokens a leaver already holds are refused
// by every replica within a second, without waiting for them to expire.
func (s *story) leaverRevoked(ctx context.Context) error {
	s.step(8, "Leaver, revoked everywhere within a second: a shared signal and a revocation list shared by replicas")
	// Rewind to this morning: Leo is still a relationship manager.
	if err := s.idp.EnableUser(idp.UserLeo); err != nil {
		return err
	}
	if err := s.idp.SetGroups(idp.UserLeo, []string{groupLendingRM}); err != nil {
		return err
	}
	rs, err := s.startReplicas(ctx)
	if err != nil {
		return err
	}
	leo, amit, err := s.leoAtWork(ctx, rs)
	if err != nil {
		return err
	}
	// 9:05: HR marks Leo a leaver.
	if err := s.governanceRevokesLeo(ctx, rs); err != nil {
		return err
	}
	if err := s.leoRefused(ctx, rs, leo); err != nil {
		return err
	}
	if _, err := s.expect(ctx, amit, http.MethodGet, rs.r2, "/loans/L-1001", http.StatusOK); err != nil {
		return err
	}
	s.say("Amit, who did not leave, is unaffected")
	return nil
}

// replicas are the two replicas of the lending API in step 8 and the
// governance system that feeds their revocation lists.
type replicas struct {
	r1, r2  *api
	two     replicaList             // replica 2's list
	arrived <-chan revocation.Entry // receives an entry when replica 2 has it
	gov     *governance             // pushes its events to replica 1
}

// startReplicas starts the governance system and two replicas of the
// lending API, each checking its own copy of the revocation list; replica
// 1 receives the governance system's SSF events.
func (s *story) startReplicas(ctx context.Context) (*replicas, error) {
	one, two, arrived, err := s.revocationLists(ctx)
	if err != nil {
		return nil, err
	}
	gov, err := startGovernance()
	if err != nil {
		return nil, err
	}
	s.onClose(gov.close)
	rcv, err := ssf.NewReceiver(one, func(o *ssf.Options) {
		o.Issuer, o.JWKSURL, o.Audience = governanceIssuer, gov.jwksURL, ssfAudience
		o.EntraTenantID = bankTenantID // governance names users by Entra object ID
	})
	if err != nil {
		return nil, err
	}
	s.onClose(func() { rcv.Close() })
	r1, err := s.startAPI("lending-api-1", func(mux *http.ServeMux, g *middleware.Guard) {
		lendingRoutes(mux, g)
		mux.Handle("POST /ssf/events", rcv) // SSF push delivery, RFC 8935
	}, func(c *apiConfig) { c.revocations = one })
	if err != nil {
		return nil, err
	}
	r2, err := s.startAPI("lending-api-2", lendingRoutes, func(c *apiConfig) { c.revocations = two })
	if err != nil {
		return nil, err
	}
	s.say("two replicas of the lending API, each checking its copy of the list after validation, before the policy")
	return &replicas{r1: r1, r2: r2, two: two, arrived: arrived, gov: gov}, nil
}

// leaver is what Leo holds before he leaves: a session with both
// replicas, an open analytics stream and access to AWS.
type leaver struct {
	sess        *session
	streamEnded <-chan error // receives the error his stream ends with
	aws         *federation.Provider
	sts         *ststest.Server
}

// leoAtWork signs Leo in at 9:00 and shows what his token gets him on both
// replicas, on the analytics stream and at AWS. It also returns Amit's
// session with a client for the replicas.
func (s *story) leoAtWork(ctx context.Context, rs *replicas) (*leaver, *session, error) {
	leo, leoID, err := s.signInAs(ctx, idp.UserLeo, idp.LeoPassword)
	if err != nil {
		return nil, nil, err
	}
	if leo.client, err = replicaClient(leo, rs.r1, rs.r2); err != nil {
		return nil, nil, err
	}
	amit := *s.amit
	if amit.client, err = replicaClient(&amit, rs.r1, rs.r2); err != nil {
		return nil, nil, err
	}
	s.say("Leo signs in at 9:00 and holds a valid access token")
	if err := s.expectOnReplicas(ctx, leo, rs, "/loans/L-1001", http.StatusOK); err != nil {
		return nil, nil, err
	}
	grpcAddr, err := s.startAnalyticsGRPC(rs.two)
	if err != nil {
		return nil, nil, err
	}
	loan, streamEnded, err := openWatch(ctx, leo, grpcAddr)
	if err != nil {
		return nil, nil, err
	}
	s.say("Leo opens the analytics stream WatchLoans (gRPC, replica 2's list) → first update for %s", loan)
	aws, sts, err := s.leoAWS(leo, leoID, rs.two)
	if err != nil {
		return nil, nil, err
	}
	if err := s.showCredentials(ctx, sts, aws, "Leo's AWS access: his ID token →"); err != nil {
		return nil, nil, err
	}
	return &leaver{sess: leo, streamEnded: streamEnded, aws: aws, sts: sts}, &amit, nil
}

// governanceRevokesLeo is 9:05: HR marks Leo a leaver; governance disables
// his account and pushes a RISC account-disabled event to the lending API.
// It returns once replica 2 has the revocation too.
func (s *story) governanceRevokesLeo(ctx context.Context, rs *replicas) error {
	if err := s.idp.DisableUser(idp.UserLeo); err != nil {
		return err
	}
	set, err := rs.gov.accountDisabled(bankTenantID, idp.LeoObjectID)
	if err != nil {
		return err
	}
	start := time.Now()
	resp, err := http.Post(rs.r1.url+"/ssf/events", "application/secevent+jwt", strings.NewReader(set))
	if err != nil {
		return err
	}
	resp.Body.Close()
	s.say("governance disables Leo and pushes RISC account-disabled (a signed SET) to lending-api-1 → %s", resp.Status)
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("%w: SSF delivery: %s", errUnexpected, resp.Status)
	}
	select {
	case <-rs.arrived:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.say("lending-api-2 has the revocation %s after the event was sent", time.Since(start).Round(100*time.Microsecond))
	return nil
}

// leoRefused shows that what Leo holds stops working: both replicas
// refuse his unexpired token, his open stream ends, and his token source
// refuses to get new AWS credentials.
func (s *story) leoRefused(ctx context.Context, rs *replicas, leo *leaver) error {
	if err := s.expectOnReplicas(ctx, leo.sess, rs, "/loans/L-1001", http.StatusUnauthorized); err != nil {
		return err
	}
	s.say("Leo's token has not expired: it is refused because he was revoked after it was issued")
	select {
	case err := <-leo.streamEnded:
		if status.Code(err) != codes.Unauthenticated {
			return fmt.Errorf("%w: Leo's stream ended with %v", errUnexpected, err)
		}
		s.say("his open analytics stream has ended: %s", status.Convert(err).Message())
	case <-ctx.Done():
		return fmt.Errorf("%w: Leo's stream did not end: %v", errUnexpected, ctx.Err())
	}
	leo.aws.Invalidate() // drop the cached credentials: the next Retrieve must ask STS
	if _, err := leo.aws.Retrieve(ctx); !errors.Is(err, revocation.ErrRevoked) {
		return fmt.Errorf("%w: Leo's AWS credentials after the revocation: %v", errUnexpected, err)
	}
	s.say("no new AWS credentials for Leo: his token source refuses before STS is called (%d STS calls in all)", len(leo.sts.Requests()))
	return nil
}

// expectOnReplicas calls path on replica 1, then replica 2, as sess's user
// and checks that both answer want.
func (s *story) expectOnReplicas(ctx context.Context, sess *session, rs *replicas, path string, want int) error {
	for _, r := range []*api{rs.r1, rs.r2} {
		if _, err := s.expect(ctx, sess, http.MethodGet, r, path, want); err != nil {
			return err
		}
	}
	return nil
}

// leoAWS is Leo's federation provider for the role the policy grants him,
// over a token source that refuses once the list has him revoked.
func (s *story) leoAWS(leo *session, claims *idbridge.Claims, list replicaList) (*federation.Provider, *ststest.Server, error) {
	sts := ststest.NewServer(func(o *ststest.Options) { o.HTTPClient = s.idp.HTTPClient() })
	s.onClose(sts.Close)
	sts.AddOIDCProvider(ststest.OIDCProvider{URL: s.idp.Issuer(), JWKSURL: s.idp.JWKSURL(), ClientIDs: []string{idp.ClientLendingWeb}})
	role, err := federation.RoleFor(s.policy.Decide(claims), claims, "")
	if err != nil {
		return nil, nil, err
	}
	sts.AddRole(ststest.Role{ARN: role.ARN, Trust: []ststest.Condition{
		{Op: ststest.StringEquals, Key: ststest.ClaimKey(s.idp.Issuer(), "sub"), Values: []string{claims.Subject}},
	}})
	role.SessionTags, role.SourceIdentity = nil, "" // as in step 4
	p, err := federation.NewProvider(sts.Client(), role.ARN, revocation.Source(leo.tokens, list, claims), role.Options,
		func(o *federation.Options) { o.Audit = s.auditFor("lending-web") })
	if err != nil {
		return nil, nil, err
	}
	s.onClose(func() { p.Close() })
	return p, sts, nil
}

// revocationLists returns the two replicas' lists and a channel that
// receives an entry when the second replica has it. With redis-server
// installed each replica has its own list synchronized through a Redis
// started for the demo; without it both share one in-memory list.
func (s *story) revocationLists(ctx context.Context) (one, two replicaList, arrived <-chan revocation.Entry, err error) {
	ch := make(chan revocation.Entry, 16)
	notify := func(e revocation.Entry) {
		select {
		case ch <- e:
		default:
		}
	}
	dir, err := os.MkdirTemp("", "idbridge-demo-redis-")
	if err != nil {
		return nil, nil, nil, err
	}
	srv, err := redistest.NewServer(dir)
	if err != nil {
		os.RemoveAll(dir)
		if !errors.Is(err, redistest.ErrNotInstalled) {
			return nil, nil, nil, err
		}
		s.say("redis-server is not installed: skipping Redis, both replicas share one in-memory list (apt-get install redis-server to see them synchronize)")
		l, err := revocation.New(func(o *revocation.Options) {
			o.Audit = s.auditFor("lending-api")
			o.OnRevoke = notify
		})
		return l, l, ch, err
	}
	s.onClose(func() { srv.Stop(); os.RemoveAll(dir) })
	s.say("Redis: a redis-server for the demo on %s holds the list; each replica keeps a local copy", srv.Addr)
	newList := func(name string, applied func(revocation.Entry)) (*rediss.List, error) {
		c := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
		l, err := rediss.New(c, func(o *rediss.Options) {
			o.Audit = s.auditFor(name)
			o.Applied = applied
		})
		if err != nil {
			c.Close()
			return nil, err
		}
		s.onClose(func() { l.Close(); c.Close() })
		return l, l.WaitReady(ctx)
	}
	l1, err := newList("lending-api-1", nil)
	if err != nil {
		return nil, nil, nil, err
	}
	l2, err := newList("lending-api-2", notify)
	if err != nil {
		return nil, nil, nil, err
	}
	return l1, l2, ch, nil
}

// replicaClient is sess's HTTP client for the two replicas: the
// transport attaches the token only to their hosts, and does not retry a
// 401 with a new token, so each call shows what the token he holds gets.
func replicaClient(sess *session, r1, r2 *api) (*http.Client, error) {
	tr, err := middleware.NewTransport(sess.tokens, func(o *middleware.TransportOptions) {
		o.Hosts = []string{r1.host, r2.host}
		o.DisableRetry = true
	})
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}, nil
}

// governance is the bank's identity governance system as an SSF
// transmitter: its signing key and its JWKS on a loopback port. Its SETs
// are minted with golang-jwt, as another vendor's code would.
type governance struct {
	key     *ecdsa.PrivateKey
	jwksURL string
	srv     *http.Server
}

func startGovernance() (*governance, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	pt, err := key.PublicKey.Bytes()
	if err != nil {
		return nil, err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	doc := fmt.Sprintf(`{"keys":[{"kty":"EC","crv":"P-256","use":"sig","kid":"iga-1","x":%q,"y":%q}]}`, b64(pt[1:33]), b64(pt[33:]))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g := &governance{key: key, jwksURL: "http://" + ln.Addr().String() + "/jwks.json"}
	g.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, doc)
	})}
	go g.srv.Serve(ln)
	return g, nil
}

func (g *governance) close() { g.srv.Close() }

// accountDisabled mints a RISC account-disabled SET for an Entra user.
func (g *governance) accountDisabled(tenantID, objectID string) (string, error) {
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"iss": governanceIssuer, "aud": ssfAudience, "iat": time.Now().Unix(),
		"jti": base64.RawURLEncoding.EncodeToString(jti),
		"sub_id": map[string]any{
			"format": "complex",
			"user":   map[string]any{"format": "opaque", "id": objectID},
			"tenant": map[string]any{"format": "opaque", "id": tenantID},
		},
		"events": map[string]any{ssf.AccountDisabled: map[string]any{"reason": "leaver"}},
	})
	t.Header["typ"], t.Header["kid"] = "secevent+jwt", "iga-1"
	return t.SignedString(g.key)
}
