package token

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/idbridge/idbridge/internal/jwt"

	"github.com/idbridge/idbridge/internal/audit"
	"github.com/idbridge/idbridge/internal/reason"
)

// describe fills the identifying fields of an audit event from the access
// token's claims, read without verification: they only label the event.
// The token itself is represented by the hash of its jti or uti.
func describe(ev *audit.Event, tok *Token) {
	if len(tok.AccessToken) > 64<<10 {
		return
	}
	c, err := jwt.Parse(tok.AccessToken) // the one JWT reader
	if err != nil {
		return
	}
	ev.Issuer, ev.TenantID, ev.Subject, ev.ObjectID = c.Issuer, c.TenantID, c.Subject, c.ObjectID
	ev.Client = c.Client() // azp, appid or client_id: idbridge's claim table
	ev.TokenID = audit.TokenID(firstNonEmpty(c.ID, c.UTI))
}

// issued records a token that an interactive flow (a sign-in) obtained.
func issued(ctx context.Context, log *audit.Logger, tok *Token, d time.Duration) {
	if !log.Enabled(ctx) {
		return
	}
	ev := audit.Event{Name: audit.TokenIssued, Outcome: audit.Success, Duration: d}
	describe(&ev, tok)
	log.Emit(ctx, ev)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// sourceAudit records the token requests of a bare source (ClientCredentials,
// Refresh) given Options.Audit. A Cache or Exchange that audits mutes it:
// it records the same requests itself, telling issuance from renewal.
type sourceAudit struct {
	log   *audit.Logger
	muted atomic.Bool
}

func (s *sourceAudit) muteAudit() { s.muted.Store(true) }

// emit records one token request: name on success, token.refresh_failed
// on failure.
func (s *sourceAudit) emit(ctx context.Context, name string, tok *Token, err error, d time.Duration) {
	if s.muted.Load() || !s.log.Enabled(ctx) {
		return
	}
	ev := audit.Event{Name: name, Outcome: audit.Success, Duration: d}
	if err != nil {
		ev.Name, ev.Outcome, ev.Reason = audit.TokenRefreshFailed, audit.Failure, reason.Of(err)
		if ev.Reason == "" {
			ev.Reason = reason.IdPUnavailable
		}
	} else if tok != nil {
		describe(&ev, tok)
	}
	s.log.Emit(ctx, ev)
}
