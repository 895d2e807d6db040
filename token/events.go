package token

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/idbridge/idbridge/internal/audit"
)

// describe fills the identifying fields of an audit event from the access
// token's claims, read without verification: they only label the event.
// The token itself is represented by the hash of its jti or uti.
func describe(ev *audit.Event, tok *Token) {
	parts := strings.Split(tok.AccessToken, ".")
	if len(parts) != 3 || len(parts[1]) > 64<<10 {
		return
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return
	}
	var c struct {
		Iss   string `json:"iss"`
		Tid   string `json:"tid"`
		Sub   string `json:"sub"`
		Oid   string `json:"oid"`
		Azp   string `json:"azp"`
		AppID string `json:"appid"`
		CID   string `json:"client_id"`
		Jti   string `json:"jti"`
		Uti   string `json:"uti"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return
	}
	ev.Issuer, ev.TenantID, ev.Subject, ev.ObjectID = c.Iss, c.Tid, c.Sub, c.Oid
	ev.Client = firstNonEmpty(c.Azp, c.AppID, c.CID)
	ev.TokenID = audit.TokenID(firstNonEmpty(c.Jti, c.Uti))
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
