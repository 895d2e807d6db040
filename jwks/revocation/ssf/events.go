package ssf

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/idbridge/idbridge/internal/reason"
)

// Event types this package acts on (CAEP 1.0 and RISC 1.0). Others are
// acknowledged and ignored.
const (
	SessionRevoked   = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
	CredentialChange = "https://schemas.openid.net/secevent/caep/event-type/credential-change"
	AccountDisabled  = "https://schemas.openid.net/secevent/risc/event-type/account-disabled"
	AccountPurged    = "https://schemas.openid.net/secevent/risc/event-type/account-purged"
	SessionsRevoked  = "https://schemas.openid.net/secevent/risc/event-type/sessions-revoked"
)

// ErrEvents: the events claim is missing, not an object of objects, or a
// known event lacks what its definition requires.
var ErrEvents = reason.New(reason.Malformed, "ssf: malformed events")

// maxEvents bounds the events of one SET; RFC 8417 expects one, SSF uses
// one per SET.
const maxEvents = 8

// Event is one member of a SET's events claim.
type Event struct {
	Type string // the event type URI
	// Subject is the event's subject: its own subject member, or else the
	// SET's sub_id claim. Nil when neither is present.
	Subject *Subject
	// Timestamp is event_timestamp (CAEP), zero when absent.
	Timestamp time.Time
	// ChangeType is credential-change's change_type.
	ChangeType string
}

// known reports whether the receiver acts on this event type.
func known(typ string) bool {
	switch typ {
	case SessionRevoked, CredentialChange, AccountDisabled, AccountPurged, SessionsRevoked:
		return true
	}
	return false
}

// ParseEvents reads a SET's events claim (RFC 8417 §2.2), with subID the
// raw sub_id claim (nil when absent). Known events are checked in full;
// for unknown ones only the type is kept.
func ParseEvents(events, subID []byte) ([]Event, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(events, &m); err != nil || m == nil {
		return nil, fmt.Errorf("%w: events is not a JSON object", ErrEvents)
	}
	if len(m) == 0 || len(m) > maxEvents {
		return nil, fmt.Errorf("%w: %d events (want 1 to %d)", ErrEvents, len(m), maxEvents)
	}
	var top *Subject
	if subID != nil {
		s, err := ParseSubject(subID)
		if err != nil {
			return nil, fmt.Errorf("sub_id: %w", err)
		}
		top = &s
	}
	out := make([]Event, 0, len(m))
	for typ, raw := range m {
		var payload map[string]json.RawMessage
		if err := json.Unmarshal(raw, &payload); err != nil || payload == nil {
			return nil, fmt.Errorf("%w: an event payload is not a JSON object", ErrEvents)
		}
		ev := Event{Type: typ, Subject: top}
		if !known(typ) {
			out = append(out, ev)
			continue
		}
		if raw, ok := payload["subject"]; ok {
			s, err := ParseSubject(raw)
			if err != nil {
				return nil, fmt.Errorf("event subject: %w", err)
			}
			ev.Subject = &s
		}
		if ev.Subject == nil {
			return nil, fmt.Errorf("%w: event without subject", ErrEvents)
		}
		if raw, ok := payload["event_timestamp"]; ok {
			var ts int64
			if err := json.Unmarshal(raw, &ts); err != nil || ts <= 0 {
				return nil, fmt.Errorf("%w: event_timestamp is not a positive NumericDate", ErrEvents)
			}
			ev.Timestamp = time.Unix(ts, 0)
		}
		if typ == CredentialChange {
			if err := json.Unmarshal(payload["change_type"], &ev.ChangeType); err != nil || ev.ChangeType == "" {
				return nil, fmt.Errorf("%w: credential-change without change_type", ErrEvents)
			}
		}
		out = append(out, ev)
	}
	return out, nil
}
