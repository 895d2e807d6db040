// Package audit writes idbridge's audit events: one structured record per
// issuance, validation or decision, with the stable names the root package
// publishes (idbridge.Event*, idbridge.Field*; the schema is in AUDIT.md).
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
	"sync/atomic"
	"time"

	"github.com/idbridge/idbridge"
)

// Event names: the published ones, under the short names the packages use.
const (
	TokenValidated     = idbridge.EventTokenValidated
	TokenRejected      = idbridge.EventTokenRejected
	AuthzAllowed       = idbridge.EventAuthzAllowed
	AuthzDenied        = idbridge.EventAuthzDenied
	TokenIssued        = idbridge.EventTokenIssued
	TokenRefreshed     = idbridge.EventTokenRefreshed
	TokenRefreshFailed = idbridge.EventTokenRefreshFailed
	SignInFailed       = idbridge.EventSignInFailed
	STSAssumed         = idbridge.EventSTSAssumed
	STSFailed          = idbridge.EventSTSFailed
	JWKSRefreshed      = idbridge.EventJWKSRefreshed
	JWKSRefreshFailed  = idbridge.EventJWKSRefreshFailed
	PolicyReloaded     = idbridge.EventPolicyReloaded
	RevocationAdded    = idbridge.EventRevocationAdded
	DirectoryLogin     = idbridge.EventDirectoryLogin
	GroupsResolved     = idbridge.EventGroupsResolved
)

// Outcomes.
const (
	Success = idbridge.OutcomeSuccess
	Failure = idbridge.OutcomeFailure
)

// Event is one audit record. Empty fields are left out of the output.
type Event struct {
	Name       string          // event
	Outcome    string          // outcome: Success or Failure
	Reason     idbridge.Reason // reason class on failure
	Issuer     string          // iss
	TenantID   string          // tid
	Subject    string          // sub
	ObjectID   string          // oid
	Client     string          // azp or appid
	KeyID      string          // kid
	Algorithm  string          // alg
	TokenID    string          // token_id: see TokenID; never the token itself
	Roles      []string
	Permission string
	Route      string
	Method     string
	RemoteAddr string
	Duration   time.Duration // duration_ms
	// Attrs carries event-specific fields (for example role_arn for STS),
	// named by the idbridge.Field* constants. Callers must not put secrets
	// here.
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

// SpanIDs returns the W3C trace and span IDs (hex) of the span in ctx, or
// "" when there is none.
type SpanIDs func(ctx context.Context) (traceID, spanID string)

// spanIDs is set once by the OpenTelemetry package (middleware/telemetry)
// when a service links it; the core packages do not import OpenTelemetry.
var spanIDs atomic.Pointer[SpanIDs]

// SetSpanIDs makes every event carry trace_id and span_id read by f.
func SetSpanIDs(f SpanIDs) { spanIDs.Store(&f) }

// Emit records e. Successes are logged at Info, failures at Warn, except a
// request that carried no credential at all (reason "missing"): anonymous
// traffic is normal and is logged at Info.
func (l *Logger) Emit(ctx context.Context, e Event) {
	if !l.Enabled(ctx) {
		return
	}
	level := slog.LevelInfo
	if e.Outcome == Failure && e.Reason != idbridge.ReasonMissing {
		level = slog.LevelWarn
	}
	r := slog.NewRecord(time.Now(), level, e.Name, 0)
	r.AddAttrs(slog.String(idbridge.FieldEvent, e.Name))
	add := func(k, v string) {
		if v != "" {
			r.AddAttrs(slog.String(k, v))
		}
	}
	add(idbridge.FieldOutcome, e.Outcome)
	add(idbridge.FieldReason, string(e.Reason))
	add(idbridge.FieldIssuer, e.Issuer)
	add(idbridge.FieldTenantID, e.TenantID)
	add(idbridge.FieldSubject, e.Subject)
	add(idbridge.FieldObjectID, e.ObjectID)
	add(idbridge.FieldClient, e.Client)
	add(idbridge.FieldKeyID, e.KeyID)
	add(idbridge.FieldAlgorithm, e.Algorithm)
	add(idbridge.FieldTokenID, e.TokenID)
	if len(e.Roles) > 0 {
		r.AddAttrs(slog.Any(idbridge.FieldRoles, e.Roles))
	}
	add(idbridge.FieldPermission, e.Permission)
	add(idbridge.FieldRoute, e.Route)
	add(idbridge.FieldMethod, e.Method)
	add(idbridge.FieldRemoteAddr, e.RemoteAddr)
	if e.Duration > 0 {
		r.AddAttrs(slog.Float64(idbridge.FieldDuration, float64(e.Duration.Microseconds())/1000))
	}
	r.AddAttrs(slog.Int(idbridge.FieldSchemaVersion, idbridge.AuditSchemaVersion))
	if f := spanIDs.Load(); f != nil && ctx != nil {
		tid, sid := (*f)(ctx)
		add(idbridge.FieldTraceID, tid)
		add(idbridge.FieldSpanID, sid)
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
