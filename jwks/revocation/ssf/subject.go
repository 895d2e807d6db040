package ssf

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/idbridge/idbridge/internal/reason"
)

// ErrSubject: a subject identifier that does not follow RFC 9493 (or the
// SSF complex subject): not an object, no format, a required member
// missing or of the wrong type.
var ErrSubject = reason.New(reason.Malformed, "ssf: malformed subject identifier")

// Subject is a subject identifier (RFC 9493), or the complex subject of
// the OpenID Shared Signals Framework. Only the members of its Format are
// set.
type Subject struct {
	Format string // "iss_sub", "email", "opaque", "complex", ...

	Issuer      string // iss_sub: iss
	Subject     string // iss_sub: sub
	Email       string // email
	ID          string // opaque
	PhoneNumber string // phone_number
	URI         string // account ("acct:..."), uri
	URL         string // did

	Identifiers []Subject // aliases: other identifiers of the same subject

	// complex: what the event is about, each a simple identifier.
	User, Session, Tenant, Device, Application, OrgUnit, Group *Subject
}

// maxAliases bounds an aliases list; real ones name a handful.
const maxAliases = 16

// ParseSubject reads one subject identifier. Unknown formats are accepted
// (RFC 9493 lets profiles define more) with only Format set; known formats
// must carry their members as strings.
func ParseSubject(b []byte) (Subject, error) { return parseSubject(b, 0) }

func parseSubject(b []byte, depth int) (Subject, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return Subject{}, fmt.Errorf("%w: not a JSON object", ErrSubject)
	}
	var s Subject
	if err := str(m, "format", &s.Format, true); err != nil {
		return Subject{}, err
	}
	var err error
	switch s.Format {
	case "aliases":
		err = s.parseAliases(m, depth)
	case "complex":
		err = s.parseComplex(m, depth)
	default:
		err = s.parseSimple(m)
	}
	if err != nil {
		return Subject{}, err
	}
	return s, nil
}

// parseSimple reads the members of the one-identifier formats; a format
// it does not know is kept with no member read.
func (s *Subject) parseSimple(m map[string]json.RawMessage) error {
	switch s.Format {
	case "iss_sub":
		return errors.Join(str(m, "iss", &s.Issuer, true), str(m, "sub", &s.Subject, true))
	case "email":
		err := str(m, "email", &s.Email, true)
		if err == nil && !strings.Contains(s.Email, "@") {
			err = fmt.Errorf("%w: email without @", ErrSubject)
		}
		return err
	case "opaque":
		return str(m, "id", &s.ID, true)
	case "phone_number":
		return str(m, "phone_number", &s.PhoneNumber, true)
	case "account":
		err := str(m, "uri", &s.URI, true)
		if err == nil && !strings.HasPrefix(s.URI, "acct:") {
			err = fmt.Errorf("%w: account uri without the acct scheme", ErrSubject)
		}
		return err
	case "uri":
		return str(m, "uri", &s.URI, true)
	case "did":
		return str(m, "url", &s.URL, true)
	}
	return nil
}

// parseAliases reads the identifiers of an aliases subject.
func (s *Subject) parseAliases(m map[string]json.RawMessage, depth int) error {
	if depth > 0 {
		return fmt.Errorf("%w: nested aliases", ErrSubject)
	}
	var ids []json.RawMessage
	if json.Unmarshal(m["identifiers"], &ids) != nil || len(ids) == 0 || len(ids) > maxAliases {
		return fmt.Errorf("%w: aliases needs 1 to %d identifiers", ErrSubject, maxAliases)
	}
	for _, raw := range ids {
		id, err := parseSubject(raw, depth+1)
		if err != nil {
			return err
		}
		s.Identifiers = append(s.Identifiers, id)
	}
	return nil
}

// parseComplex reads the members of a complex subject, at least one.
func (s *Subject) parseComplex(m map[string]json.RawMessage, depth int) error {
	if depth > 0 {
		return fmt.Errorf("%w: nested complex subject", ErrSubject)
	}
	n := 0
	for _, f := range []struct {
		name string
		dst  **Subject
	}{{"user", &s.User}, {"session", &s.Session}, {"tenant", &s.Tenant}, {"device", &s.Device},
		{"application", &s.Application}, {"org_unit", &s.OrgUnit}, {"group", &s.Group}} {
		raw, ok := m[f.name]
		if !ok || string(raw) == "null" {
			continue
		}
		id, err := parseSubject(raw, depth+1)
		if err != nil {
			return fmt.Errorf("complex %s: %w", f.name, err)
		}
		*f.dst = &id
		n++
	}
	if n == 0 {
		return fmt.Errorf("%w: complex subject with no member", ErrSubject)
	}
	return nil
}

// str reads member name of m as a non-empty string into dst.
func str(m map[string]json.RawMessage, name string, dst *string, required bool) error {
	raw, ok := m[name]
	if !ok {
		if required {
			return fmt.Errorf("%w: %s missing", ErrSubject, name)
		}
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil || *dst == "" {
		return fmt.Errorf("%w: %s must be a non-empty string", ErrSubject, name)
	}
	return nil
}
