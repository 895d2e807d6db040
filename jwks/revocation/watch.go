package revocation

import (
	"context"
	"log/slog"
	"sync"

	"github.com/idbridge/idbridge"
)

// watch is one open stream (or any long-lived use of a token) to end when
// its token is revoked.
type watch struct {
	c    *idbridge.Claims
	end  func(error)
	keys []key
}

// watchers indexes open streams by each identifier of their token, so a
// new entry finds the streams it ends with one map lookup.
type watchers struct {
	mu sync.Mutex
	by map[key]map[*watch]struct{} // guarded by mu
}

// WatchStream implements grpcauth.StreamWatcher: the guard's gRPC server
// calls it for each stream it admits (ServerOptions.StreamWatchers), and
// end is called with the [*RevokedError] as soon as an entry matching the
// stream's token reaches this list — through Revoke here, or Merge from
// another replica — so the stream ends with Unauthenticated within the
// propagation time. It costs a few map inserts per stream and no
// goroutine; stop removes the watch.
func (l *List) WatchStream(ctx context.Context, c *idbridge.Claims, end func(error)) (stop func()) {
	if c == nil || end == nil {
		return nil
	}
	w := &watch{c: c, end: end}
	for i, k := range [...]key{
		{kToken, "", c.ID}, {kToken, "", c.UTI}, {kSession, "", c.SessionID},
		{kEntra, c.TenantID, c.ObjectID}, {kSubject, c.Issuer, c.Subject},
		// Token and Session entries scoped to the token's issuer.
		{kToken, c.Issuer, c.ID}, {kToken, c.Issuer, c.UTI}, {kSession, c.Issuer, c.SessionID},
	} {
		if k.b != "" && (i < 3 || k.a != "") {
			w.keys = append(w.keys, k)
		}
	}
	if len(w.keys) == 0 {
		return nil
	}
	l.w.mu.Lock()
	if l.w.by == nil {
		l.w.by = map[key]map[*watch]struct{}{}
	}
	for _, k := range w.keys {
		set := l.w.by[k]
		if set == nil {
			set = map[*watch]struct{}{}
			l.w.by[k] = set
		}
		set[w] = struct{}{}
	}
	l.w.mu.Unlock()
	// An entry that arrived between admission and this watch.
	if k := l.Lookup(c); k != None {
		l.endStream(ctx, w, k)
	}
	return func() {
		l.w.mu.Lock()
		defer l.w.mu.Unlock()
		for _, k := range w.keys {
			if set := l.w.by[k]; set != nil {
				delete(set, w)
				if len(set) == 0 {
					delete(l.w.by, k)
				}
			}
		}
	}
}

// notifyStreams ends the open streams whose token the new entry e (under
// key k) revokes.
func (l *List) notifyStreams(e Entry, k key) {
	l.w.mu.Lock()
	var hit []*watch
	for w := range l.w.by[k] {
		hit = append(hit, w)
	}
	l.w.mu.Unlock()
	for _, w := range hit {
		if e.Kind == Subject && !w.c.IssuedAt.IsZero() && w.c.IssuedAt.Unix() > e.At.Unix() {
			continue // issued after the revocation: a new sign-in
		}
		l.endStream(context.Background(), w, e.Kind)
	}
}

func (l *List) endStream(ctx context.Context, w *watch, k Kind) {
	if l.audit.Enabled(ctx) {
		ev := rejected(w.c, k)
		ev.Attrs = append(ev.Attrs, slog.String("stream", "ended"))
		l.audit.Emit(ctx, ev)
	}
	w.end(errFor(k))
}
