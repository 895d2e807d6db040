package jwks

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/idbridge/idbridge/internal/safeurl"
)

// Ready returns nil once the key set holds keys. Before that it waits for
// the fetch in flight, or starts one (at most one per UnknownKIDInterval),
// until ctx is done; it fails with an error wrapping ErrUnavailable that
// says why the keys could not be loaded. A readiness probe can call it
// with a short deadline: once keys are loaded it costs an atomic load.
func (s *RemoteKeySet) Ready(ctx context.Context) error {
	if s.keys.Load() != nil {
		return nil
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errClosed
	}
	call := s.inflight
	if call == nil {
		if s.lastErr != nil && s.o.Now().Sub(s.lastAttempt) < s.o.UnknownKIDInterval {
			err := s.lastErr
			s.mu.Unlock()
			return fmt.Errorf("%w: keys not loaded: %w", ErrUnavailable, err)
		}
		call = s.startLocked(fetchReady)
	}
	s.mu.Unlock()
	select {
	case <-call.Done():
	case <-ctx.Done():
		return fmt.Errorf("%w: keys not loaded: %w", ErrUnavailable, ctx.Err())
	}
	if s.keys.Load() != nil {
		return nil
	}
	return fmt.Errorf("%w: keys not loaded: %w", ErrUnavailable, call.err())
}

// readier is the optional interface of key sets that can say whether they
// hold keys ([RemoteKeySet] and any custom key set with this method).
type readier interface {
	Ready(ctx context.Context) error
}

// Ready returns nil when the key set of every trusted issuer holds keys, so
// the first request after a deploy neither waits for the IdP nor fails.
// NewValidator starts loading the keys of the key sets it creates at once,
// in the background; Ready waits for them (or retries a failed load) until
// ctx is done, and reports each issuer whose keys are missing, wrapping
// ErrUnavailable. Key sets without a Ready method ([StaticKeySet], those of
// keyfuncset) count as ready. Call it at start-up to load the keys
// eagerly, and from a readiness probe.
func (v *Validator) Ready(ctx context.Context) error {
	entries := make([]*issuerEntry, 0, len(v.exact)+len(v.templates))
	for _, e := range v.exact {
		entries = append(entries, e)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].iss < entries[j].iss })
	entries = append(entries, v.templates...)
	done := map[*RemoteKeySet]error{}
	var errs []error
	for _, e := range entries {
		r, ok := e.keys.(readier)
		if !ok {
			continue
		}
		var err error
		if rs, remote := e.keys.(*RemoteKeySet); remote {
			var seen bool
			if err, seen = done[rs]; !seen {
				err = rs.Ready(ctx)
				done[rs] = err
			}
		} else {
			err = r.Ready(ctx)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("issuer %s: %w", safeurl.String(e.iss), err))
		}
	}
	return errors.Join(errs...)
}
