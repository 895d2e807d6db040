package grpcauth

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/middleware/internal/guardcore"
)

// ErrStreamTokenExpired ends a gRPC stream whose token expired while it
// ran (exp plus the validator's leeway, or iat plus its MaxAge). It wraps
// jwks.ErrExpired, so its
// reason class is expired and the caller gets Unauthenticated with
// error="invalid_token".
var ErrStreamTokenExpired = fmt.Errorf("grpcauth: the stream's token expired: %w", jwks.ErrExpired)

// errStreamEnded is the cause of a watcher's end(nil).
var errStreamEnded = reason.New(reason.Forbidden, "grpcauth: stream ended by a watcher")

// StreamWatcher ends admitted gRPC streams early on a signal of its own,
// such as a revocation list learning that the caller left. The guard calls
// WatchStream once for each stream it admits, before the handler runs,
// with the stream's context, the verified claims of its token, and end,
// which cancels that context with cause. The first end, of any watcher or
// of token expiry, wins; the call ends with the status the cause's reason
// class picks, as a rejection at admission would: revoked gives
// Unauthenticated with error="invalid_token", insufficient_role or
// forbidden PermissionDenied; end(nil) ends the stream as forbidden.
// WatchStream must not block, and end may be called from any goroutine,
// at most once being useful. It returns stop, which the guard calls when
// the stream ends, to release what the watch holds. It runs on the request
// path, so it should cost a map insert, not a goroutine.
//
// It takes claims rather than a middleware.Principal so that a package
// below middleware (a revocation list in jwks) can implement it without
// importing middleware or gRPC.
type StreamWatcher interface {
	WatchStream(ctx context.Context, c *idbridge.Claims, end func(cause error)) (stop func())
}

// StreamWatcherFunc adapts a function to [StreamWatcher].
type StreamWatcherFunc func(ctx context.Context, c *idbridge.Claims, end func(cause error)) (stop func())

// WatchStream calls f.
func (f StreamWatcherFunc) WatchStream(ctx context.Context, c *idbridge.Claims, end func(cause error)) func() {
	return f(ctx, c, end)
}

// watchedStream is an admitted stream with its own context, cancelled with
// a cause when the token expires or a watcher ends the stream. Once ended,
// SendMsg and RecvMsg fail with the status the cause gives, so a handler
// that does not watch Context() still stops at its next message.
type watchedStream struct {
	grpc.ServerStream
	ctx    context.Context
	cancel context.CancelCauseFunc
	core   guardcore.Guard

	mu     sync.Mutex
	cause  error // set once, by the first end
	timer  *time.Timer
	stops  []func()
	status error // the status error of cause, built once
}

// watch returns the stream the handler gets: ss with ctx, and, unless
// expiry and watchers are both off, a context that ends with the token.
// claims are nil on a SkipAuth method.
func (s *Server) watch(ss grpc.ServerStream, ctx context.Context, claims *idbridge.Claims) (grpc.ServerStream, *watchedStream) {
	var deadline time.Time
	if s.streamExpiry && claims != nil {
		deadline = s.core.ValidUntil(claims)
	}
	if deadline.IsZero() && (len(s.watchers) == 0 || claims == nil) {
		return &serverStream{ServerStream: ss, ctx: ctx}, nil
	}
	w := &watchedStream{ServerStream: ss, core: s.core}
	w.ctx, w.cancel = context.WithCancelCause(ctx)
	if !deadline.IsZero() {
		w.timer = time.AfterFunc(deadline.Sub(s.core.Now()), w.expire)
	}
	for _, wt := range s.watchers {
		if stop := wt.WatchStream(w.ctx, claims, w.end); stop != nil {
			w.stops = append(w.stops, stop)
		}
	}
	return w, w
}

func (w *watchedStream) expire() { w.end(ErrStreamTokenExpired) }

// end cancels the stream's context with cause; the first cause wins.
func (w *watchedStream) end(cause error) {
	if cause == nil {
		cause = errStreamEnded
	}
	w.mu.Lock()
	if w.cause != nil {
		w.mu.Unlock()
		return
	}
	w.cause = cause
	w.mu.Unlock()
	w.cancel(cause)
}

// release stops the timer and the watchers once the handler has returned.
func (w *watchedStream) release() {
	if w.timer != nil {
		w.timer.Stop()
	}
	for _, stop := range w.stops {
		stop()
	}
	w.cancel(context.Canceled)
}

// ended returns the status error of the cause that ended the stream, or
// nil while it runs (or when the client or server cancelled it).
func (w *watchedStream) ended() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cause == nil {
		return nil
	}
	if w.status == nil {
		e := w.core.Ended(w.cause)
		if c := w.core.Challenge(e); c != "" {
			w.ServerStream.SetTrailer(metadata.Pairs("www-authenticate", c))
		}
		w.status = statusOf(w.core, e)
	}
	return w.status
}

func (w *watchedStream) Context() context.Context { return w.ctx }

func (w *watchedStream) SendMsg(m any) error {
	if err := w.ended(); err != nil {
		return err
	}
	return w.ServerStream.SendMsg(m)
}

func (w *watchedStream) RecvMsg(m any) error {
	if err := w.ended(); err != nil {
		return err
	}
	err := w.ServerStream.RecvMsg(m)
	if e := w.ended(); e != nil {
		// The message arrived after the token expired: it is not handed on.
		return e
	}
	return err
}

// result is what the interceptor returns: the handler's error, unless the
// stream was ended, whose status then stands whatever the handler made of
// its cancelled context.
func (w *watchedStream) result(err error) error {
	if e := w.ended(); e != nil {
		return e
	}
	return err
}
