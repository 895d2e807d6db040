package token

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
)

// warn logs a failed fetch for operators, who need to see an IdP that
// throttles or fails before the tokens run out, audit or not.
func (e *entry) warn(prev *state, now time.Time, err error, failures int, retry time.Duration) {
	attrs := errorAttrs(err, slog.Int("failures", failures), slog.Duration("retry_in", retry))
	msg := "token: renewal failed; no valid token to serve"
	if prev != nil && now.Before(prev.expireAt) {
		msg = "token: renewal failed; serving the current token meanwhile"
		attrs = append(attrs, slog.Time("valid_until", prev.expireAt))
	}
	e.o.Logger.LogAttrs(e.ctx, slog.LevelWarn, msg, attrs...)
}

// warnIntrospection logs an introspection the server did not answer
// usefully: until it does, no opaque token can be validated.
func warnIntrospection(ctx context.Context, l *slog.Logger, err error) {
	if l == nil || reason.Of(err) != reason.IdPUnavailable || errors.Is(err, idbridge.ErrClosed) {
		return
	}
	l.LogAttrs(ctx, slog.LevelWarn, "token: introspection failed; tokens cannot be validated", errorAttrs(err)...)
}

// errorAttrs describes err for the log: its class and text (which carry no
// secret), and what the server said in an OAuth error response.
func errorAttrs(err error, extra ...slog.Attr) []slog.Attr {
	attrs := append([]slog.Attr{slog.String("reason", string(reason.Of(err)))}, extra...)
	attrs = append(attrs, slog.String("error", err.Error()))
	var oe *Error
	if errors.As(err, &oe) {
		attrs = append(attrs, slog.Int("status", oe.Status))
		if oe.Code != "" {
			attrs = append(attrs, slog.String("error_code", oe.Code))
		}
		if oe.RetryAfter > 0 {
			attrs = append(attrs, slog.Duration("retry_after", oe.RetryAfter))
		}
		if oe.TraceID != "" {
			attrs = append(attrs, slog.String("trace_id", oe.TraceID))
		}
	}
	return attrs
}
