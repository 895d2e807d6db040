package jwks

// This file records token.validated and token.rejected.

import (
	"context"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/audit"
	"github.com/idbridge/idbridge/internal/reason"
)

// The cache field of audit events, shared (Emit only reads them).
var (
	cacheHitAttrs  = []slog.Attr{slog.String(idbridge.FieldCache, "hit")}
	cacheMissAttrs = []slog.Attr{slog.String(idbridge.FieldCache, "miss")}
)

// cutField shortens s to at most n bytes at a character boundary, marking
// the cut with "…".
func cutField(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func (v *Validator) emit(ctx context.Context, c *idbridge.Claims, err error, cs cacheUse, d time.Duration) {
	e := audit.Event{Name: audit.TokenValidated, Outcome: audit.Success, Duration: d}
	switch cs {
	case cacheHit:
		e.Attrs = cacheHitAttrs
	case cacheMiss:
		e.Attrs = cacheMissAttrs
	}
	if err != nil {
		e.Name, e.Outcome, e.Reason = audit.TokenRejected, audit.Failure, reason.Of(err)
	}
	if c != nil {
		e.Issuer, e.KeyID, e.Algorithm = c.Issuer, c.Header.KeyID, c.Header.Algorithm
		if err != nil {
			// Unverified: cut, so a 16 KiB token cannot become a 16 KiB
			// log line.
			e.Issuer, e.KeyID, e.Algorithm = cutField(c.Issuer, 256), cutField(c.Header.KeyID, 128), cutField(c.Header.Algorithm, 32)
		}
		if err == nil {
			// Identity fields only for verified tokens: an unverified payload
			// is attacker-controlled.
			e.TenantID, e.Subject, e.ObjectID, e.Client = c.TenantID, c.Subject, c.ObjectID, c.Client()
			e.Roles = c.Roles
			id := c.ID
			if id == "" {
				id = c.UTI
			}
			e.TokenID = audit.TokenID(id)
		}
	}
	v.audit.Emit(ctx, e)
}
