// Package audit writes idbridge's audit events: one structured record per
// issuance, validation or decision, with stable field names a SIEM can index.
//
// Events go to any slog.Handler (a JSON handler gives one object per line).
// A nil handler disables audit at the cost of one nil check. No field ever
// carries a token, secret or assertion: tokens are identified by TokenID.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"time"
)

// Event names. They are part of the SIEM contract; do not rename.
const (
	TokenValidated     = "token.validated"
	TokenRejected      = "token.rejected"
	AuthzAllowed       = "authz.allowed"
	AuthzDenied        = "authz.denied"
	TokenIssued        = "token.issued"
	TokenRefreshed     = "token.refreshed"
	TokenRefreshFailed = "token.refresh_failed"
	STSAssumed         = "sts.assumed"
	STSFailed          = "sts.failed"
	JWKSRefreshed      = "jwks.refreshed"
	JWKSRefreshFailed  = "jwks.refresh_failed"
	PolicyReloaded     = "policy.reloaded"
	RevocationAdded    = "revocation.added"
)

// Outcomes.
const (
	Success = "success"
	Failure = "failure"
)

// Event is one audit record. Empty fields are left out of the output.
type Event struct {
	Name       string // event
	Outcome    string // outcome: Success or Failure
	Reason     string // reason class (internal/reason) on failure
	Issuer     string // iss
	TenantID   string // tid
	Subject    string // sub
	ObjectID   string // oid
	Client     string // azp or appid
	KeyID      string // kid
	Algorithm  string // alg
	TokenID    string // token_id: see TokenID; never the token itself
	Roles      []string
	Permission string
	Route      string
	Method     string
	RemoteAddr string
	Duration   time.Duration // duration_ms
	// Attrs carries event-specific fields (for example role_arn for STS).
	// Callers must not put secrets here.
	Attrs []slog.Attr
}

// Logger emits events to a slog.Handler. The zero value and a nil *Logger
// are valid and drop every event. A Logger is safe for concurrent use.
type Logger struct {
	h slog.Handler
}

// New returns a Logger writing to h; h may be nil.
func New(h slog.Handler) *Logger { return &Logger{h: h} }

// Enabled reports whether events are recorded, so callers can skip building
// an Event on hot paths.
func (l *Logger) Enabled(ctx context.Context) bool {
	return l != nil && l.h != nil && l.h.Enabled(ctx, slog.LevelInfo)
}

// Emit records e. Successes are logged at Info, failures at Warn.
func (l *Logger) Emit(ctx context.Context, e Event) {
	if !l.Enabled(ctx) {
		return
	}
	level := slog.LevelInfo
	if e.Outcome == Failure {
		level = slog.LevelWarn
	}
	r := slog.NewRecord(time.Now(), level, e.Name, 0)
	r.AddAttrs(slog.String("event", e.Name))
	add := func(k, v string) {
		if v != "" {
			r.AddAttrs(slog.String(k, v))
		}
	}
	add("outcome", e.Outcome)
	add("reason", e.Reason)
	add("iss", e.Issuer)
	add("tid", e.TenantID)
	add("sub", e.Subject)
	add("oid", e.ObjectID)
	add("azp", e.Client)
	add("kid", e.KeyID)
	add("alg", e.Algorithm)
	add("token_id", e.TokenID)
	if len(e.Roles) > 0 {
		r.AddAttrs(slog.Any("roles", e.Roles))
	}
	add("permission", e.Permission)
	add("route", e.Route)
	add("method", e.Method)
	add("remote_addr", e.RemoteAddr)
	if e.Duration > 0 {
		r.AddAttrs(slog.Float64("duration_ms", float64(e.Duration.Microseconds())/1000))
	}
	r.AddAttrs(e.Attrs...)
	_ = l.h.Handle(ctx, r)
}

// TokenID returns a stable, non-reversible identifier for a token: the first
// 16 hex digits of the SHA-256 of its jti (or uti). It returns "" for "".
func TokenID(jti string) string {
	if jti == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(jti))
	return hex.EncodeToString(sum[:8])
}
