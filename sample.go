package idbridge

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// SampleAudit returns a handler that writes to h every audit event except
// the successes of the two per-request events, token.validated and
// authz.allowed, of which it writes the first and then one in n, each with
// [FieldSampled] = n so that a SIEM can scale counts back. Every failure and
// every other event is written. n <= 1 returns h unchanged.
//
// Use it where an API's success volume drowns the audit store; handlers that
// count (middleware/telemetry) should sit before it so they see every event.
func SampleAudit(h slog.Handler, n int) slog.Handler {
	if n <= 1 || h == nil {
		return h
	}
	return &sampler{h: h, n: uint64(n), seen: new(atomic.Uint64)}
}

type sampler struct {
	h    slog.Handler
	n    uint64
	seen *atomic.Uint64 // shared by the handlers WithAttrs derives
}

func (s *sampler) Enabled(ctx context.Context, l slog.Level) bool { return s.h.Enabled(ctx, l) }

func (s *sampler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelInfo && (r.Message == EventTokenValidated || r.Message == EventAuthzAllowed) {
		if (s.seen.Add(1)-1)%s.n != 0 {
			return nil
		}
		r = r.Clone()
		r.AddAttrs(slog.Int(FieldSampled, int(s.n)))
	}
	return s.h.Handle(ctx, r)
}

func (s *sampler) WithAttrs(as []slog.Attr) slog.Handler {
	return &sampler{h: s.h.WithAttrs(as), n: s.n, seen: s.seen}
}

func (s *sampler) WithGroup(name string) slog.Handler {
	return &sampler{h: s.h.WithGroup(name), n: s.n, seen: s.seen}
}
