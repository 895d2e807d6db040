package token

import (
	"errors"
	"log/slog"
	"time"

	"github.com/idbridge/idbridge/internal/reason"
)

// warn logs a failed fetch for operators, who need to see an IdP that
// throttles or fails before the tokens run out, audit or not.
func (e *entry) warn(prev *state, now time.Time, err error, failures int, retry time.Duration) {
	attrs := []slog.Attr{
		slog.String("reason", reason.Of(err)),
		slog.Int("failures", failures),
		slog.Duration("retry_in", retry),
		slog.String("error", err.Error()),
	}
	var oe *Error
	if errors.As(err, &oe) {
		attrs = append(attrs, slog.Int("status", oe.StatusCode))
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
	msg := "token: renewal failed; no valid token to serve"
	if prev != nil && now.Before(prev.expireAt) {
		msg = "token: renewal failed; serving the current token meanwhile"
		attrs = append(attrs, slog.Time("valid_until", prev.expireAt))
	}
	e.o.Logger.LogAttrs(e.ctx, slog.LevelWarn, msg, attrs...)
}
