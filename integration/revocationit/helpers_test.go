package revocationit

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/integration/redistest"
	"github.com/idbridge/idbridge/jwks/revocation"
	rediss "github.com/idbridge/idbridge/jwks/revocation/redis"
)

const (
	tid      = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	leoOID   = "7b2c1e8a-4f3d-4a9e-9c61-0e5d2f1a3b44"
	amitOID  = "3f0e9a1c-5b7d-4c2e-8a19-6d4f2b0c7e55"
	entraIss = "https://login.microsoftonline.com/" + tid + "/v2.0"
)

// wait bounds every wait for an event, generously for a loaded CI runner;
// the tests wait for events, never for time.
const wait = 30 * time.Second

func entraToken(oid string, iat time.Time) *idbridge.Claims {
	return &idbridge.Claims{
		Issuer: entraIss, Subject: "pairwise-" + oid[:8], TenantID: tid, ObjectID: oid,
		UTI: "uti-" + oid[:8], SessionID: "sid-" + oid[:8], IssuedAt: iat, ExpiresAt: iat.Add(time.Hour),
	}
}

// replica is one "replica" of a service: its own Redis client and list,
// with a channel of the entries it applied from Redis and one of the
// operational messages it logged.
type replica struct {
	*rediss.List
	applied chan revocation.Entry
	logs    chan string
}

func newReplica(t *testing.T, srv *redistest.Server, fns ...func(*rediss.Options)) *replica {
	t.Helper()
	client := goredis.NewClient(&goredis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { client.Close() })
	r := &replica{applied: make(chan revocation.Entry, 4096), logs: make(chan string, 1024)}
	l, err := rediss.New(client, append([]func(*rediss.Options){func(o *rediss.Options) {
		o.Logger = slog.New(&chanHandler{ch: r.logs})
		o.HealthInterval = 200 * time.Millisecond
		o.Applied = func(e revocation.Entry) {
			select {
			case r.applied <- e:
			default:
			}
		}
	}}, fns...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	r.List = l
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := l.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return r
}

// awaitApplied waits until the replica applied an entry matching match.
func (r *replica) awaitApplied(t *testing.T, match func(revocation.Entry) bool) {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case e := <-r.applied:
			if match(e) {
				return
			}
		case <-timeout:
			t.Fatal("entry never reached the replica")
		}
	}
}

// awaitLog waits until the replica logged a message containing s.
func (r *replica) awaitLog(t *testing.T, s string) {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case m := <-r.logs:
			if strings.Contains(m, s) {
				return
			}
		case <-timeout:
			t.Fatalf("never logged %q", s)
		}
	}
}

func isOID(oid string) func(revocation.Entry) bool {
	return func(e revocation.Entry) bool { return e.ObjectID == oid }
}

type chanHandler struct {
	mu sync.Mutex
	ch chan string
}

func (h *chanHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *chanHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case h.ch <- r.Message:
	default:
	}
	return nil
}
func (h *chanHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *chanHandler) WithGroup(string) slog.Handler      { return h }

// clock is a settable clock safe for the lists' goroutines.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}
