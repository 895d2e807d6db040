package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/idbridge/idbridge/internal/backoff"
	"github.com/idbridge/idbridge/jwks/revocation"
)

// run keeps the local copy in step with Redis until Close: subscribe, store
// what was queued, load everything, then apply messages; on any failure
// start over after a back-off.
func (l *List) run(ctx context.Context) {
	defer close(l.done)
	retry := backoff.Policy{Min: 100 * time.Millisecond, Max: maxBackoff}
	failures := 0 // in a row, since the last full load
	everReady := false
	for ctx.Err() == nil {
		loaded, err := l.session(ctx, &everReady)
		if ctx.Err() != nil {
			break
		}
		if loaded {
			failures = 0
		}
		failures++
		wait := retry.Step(failures)
		if everReady {
			l.setState(ErrDisconnected)
		}
		l.log.Warn("revocation list: Redis unreachable; enforcing the last copy", "error", err, "retry_in", wait.String())
		l.updateStaleness()
		if !sleep(ctx, wait) {
			break
		}
	}
	l.mu.Lock()
	if l.ps != nil {
		_ = l.ps.Close()
		l.ps = nil
	}
	l.mu.Unlock()
}

// session runs one subscription until it fails or ctx ends. loaded says
// whether it got as far as loading the list (so the back-off starts small
// again).
func (l *List) session(ctx context.Context, everReady *bool) (loaded bool, err error) {
	ps := l.c.Subscribe(ctx)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		_ = ps.Close()
		return false, errClosed
	}
	l.ps = ps
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		if l.ps == ps {
			l.ps = nil
		}
		l.mu.Unlock()
		_ = ps.Close()
	}()

	cctx, cancel := context.WithTimeout(ctx, l.timeout)
	err = ps.Subscribe(cctx, l.ch)
	if err == nil {
		// The subscription must be confirmed before loading, or a
		// revocation published in between would be missed.
		_, err = ps.ReceiveTimeout(cctx, l.timeout)
	}
	cancel()
	if err != nil {
		return false, fmt.Errorf("subscribe: %w", err)
	}
	if err := l.flush(ctx); err != nil {
		return false, fmt.Errorf("store queued revocations: %w", err)
	}
	n, err := l.load(ctx)
	if err != nil {
		return false, fmt.Errorf("load: %w", err)
	}
	l.touch()
	if *everReady {
		l.log.Info("revocation list: Redis reachable again; copy reloaded", "entries", n)
	}
	*everReady = true
	l.setState(nil)

	for ctx.Err() == nil {
		msg, err := ps.ReceiveTimeout(ctx, l.interval)
		switch {
		case err == nil:
		case isTimeout(err):
			// Idle: ask for a pong, so a dead connection shows up within
			// one more interval.
			pctx, cancel := context.WithTimeout(ctx, l.timeout)
			err = ps.Ping(pctx)
			cancel()
			if err != nil {
				return true, fmt.Errorf("ping: %w", err)
			}
		default:
			return true, fmt.Errorf("receive: %w", err)
		}
		switch m := msg.(type) {
		case *goredis.Message:
			l.touch()
			l.apply(m.Payload, "message")
		case *goredis.Pong:
			l.touch()
		}
		if l.hasPending() {
			if err := l.flush(ctx); err != nil {
				return true, fmt.Errorf("store queued revocations: %w", err)
			}
		}
		l.updateStaleness()
	}
	return true, nil
}

// load reads every stored entry that has not expired into the local copy.
func (l *List) load(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 4*l.timeout)
	defer cancel()
	members, err := l.c.ZRangeByScore(ctx, l.key, &goredis.ZRangeBy{
		Min: strconv.FormatInt(l.now().UnixMilli(), 10), Max: "+inf",
	}).Result()
	if err != nil {
		return 0, err
	}
	for _, m := range members {
		l.apply(m, "stored entry")
	}
	return len(members), nil
}

// apply merges one JSON entry into the local copy. A malformed one (never
// written by this package) is logged without its content and skipped.
func (l *List) apply(payload, what string) {
	var e revocation.Entry
	if err := json.Unmarshal([]byte(payload), &e); err != nil {
		l.log.Warn("revocation list: skipped a "+what+" that is not an entry", "error", errors.Unwrap(err))
		return
	}
	e, err := l.local.Merge(e)
	if err != nil {
		l.log.Warn("revocation list: skipped a malformed "+what, "error", err)
		return
	}
	if l.applied != nil {
		l.applied(e)
	}
}

// flush stores the queued revocations; on failure they stay queued.
func (l *List) flush(ctx context.Context) error {
	l.mu.Lock()
	batch := l.pending
	l.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	if err := l.store(ctx, batch); err != nil {
		return err
	}
	l.mu.Lock()
	l.pending = l.pending[len(batch):]
	l.mu.Unlock()
	l.log.Info("revocation list: stored revocations queued during the outage", "count", len(batch))
	return nil
}

func (l *List) hasPending() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pending) > 0
}

func (l *List) touch() {
	l.mu.Lock()
	l.contact = l.now()
	l.mu.Unlock()
	l.updateStaleness()
}

// updateStaleness flips fail-closed on or off. It runs on every pass of the
// loop, at least once per HealthInterval or back-off step.
func (l *List) updateStaleness() {
	if l.staleAfter <= 0 {
		return
	}
	l.mu.Lock()
	stale := l.contact.IsZero() || l.now().Sub(l.contact) > l.staleAfter
	l.mu.Unlock()
	if l.failClosed.Swap(stale) != stale && stale {
		l.log.Error("revocation list: copy older than MaxStaleness; refusing every token until Redis is back")
	}
}

func (l *List) setState(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state == err {
		return
	}
	l.state = err
	close(l.changed)
	l.changed = make(chan struct{})
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// sleep waits d or until ctx ends, and reports whether it waited in full.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
