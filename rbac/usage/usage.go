// Package usage turns idbridge's audit events into access-review evidence:
// for every user and entitlement, when it was last used and by which
// route, so a reviewer certifying access sees which entitlements go
// unused.
//
// The input is the audit log as a slog JSON handler writes it, one object
// per line (see the middleware, rbac and federation audit events). It is
// streamed: memory grows with the number of distinct user × entitlement
// pairs, not with the file, and both that number (Options.MaxPairs) and
// the length of a line (Options.MaxLineBytes) are bounded. A line that is
// not a JSON object, one over the bound, or too many pairs fail the whole
// summary with a typed error naming the line: a report is complete or not
// returned. Lines without an "event" field (other log records in the same
// stream) are counted and skipped.
//
// Entitlements are permissions (authz.allowed and authz.denied, field
// "permission") and AWS roles (sts.assumed and sts.failed, field
// "role_arn"). A user is the issuer and the oid claim, or sub without oid.
package usage

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/idbridge/idbridge/internal/option"
	"github.com/idbridge/idbridge/internal/reason"
)

// Errors. Each is wrapped with the line number; match with errors.Is.
var (
	// ErrMalformed (class malformed): a line that is not an audit event,
	// or a stream that could not be read.
	ErrMalformed = reason.New(reason.Malformed, "usage: malformed audit line")
	// ErrTooLarge (class too_large): a line longer than
	// Options.MaxLineBytes, or more pairs than Options.MaxPairs.
	ErrTooLarge = reason.New(reason.TooLarge, "usage: too large")
)

// Defaults for [Options].
const (
	defaultMaxLineBytes = 1 << 20
	defaultMaxPairs     = 1 << 20
)

// Options bound [Summarize].
type Options struct {
	// MaxLineBytes bounds one line; 0 means 1 MiB.
	MaxLineBytes int
	// MaxPairs bounds the distinct user × entitlement pairs; 0 means
	// 1<<20.
	MaxPairs int
}

// Kinds of entitlement.
const (
	KindPermission = "permission"
	KindAWSRole    = "aws_role"
)

// Use is one user's use of one entitlement.
type Use struct {
	Issuer      string    `json:"iss"`
	User        string    `json:"user"` // oid, or sub
	Kind        string    `json:"kind"`
	Entitlement string    `json:"entitlement"`
	Allowed     int64     `json:"allowed"`
	LastUsed    time.Time `json:"last_used,omitzero"`
	LastRoute   string    `json:"last_route,omitempty"` // "GET /loans/{id}", or the STS call
	Denied      int64     `json:"denied"`
	LastDenied  time.Time `json:"last_denied,omitzero"`
	LastReason  string    `json:"last_reason,omitempty"` // reason class of the last denial
}

// Report is the summary of one audit stream.
type Report struct {
	Lines   int64     `json:"lines"`
	Events  int64     `json:"events"`  // entitlement events counted
	Skipped int64     `json:"skipped"` // lines that are not entitlement events
	From    time.Time `json:"from,omitzero"`
	To      time.Time `json:"to,omitzero"`
	Uses    []Use     `json:"uses"`
}

// line holds the fields read from one event.
type line struct {
	Time       time.Time `json:"time"`
	Event      string    `json:"event"`
	Outcome    string    `json:"outcome"`
	Reason     string    `json:"reason"`
	Issuer     string    `json:"iss"`
	Subject    string    `json:"sub"`
	ObjectID   string    `json:"oid"`
	Permission string    `json:"permission"`
	Route      string    `json:"route"`
	Method     string    `json:"method"`
	RoleARN    string    `json:"role_arn"`
	Algorithm  string    `json:"alg"`
}

// Summarize reads an audit stream to its end.
func Summarize(r io.Reader, o Options) (*Report, error) {
	option.Positive(&o.MaxLineBytes, defaultMaxLineBytes)
	option.Positive(&o.MaxPairs, defaultMaxPairs)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, min(64<<10, o.MaxLineBytes)), o.MaxLineBytes) // cap(buf) would raise the bound
	rep := &Report{}
	uses := map[[4]string]*Use{}
	for sc.Scan() {
		rep.Lines++
		b := sc.Bytes()
		if len(b) == 0 {
			rep.Skipped++
			continue
		}
		var l line
		if err := json.Unmarshal(b, &l); err != nil {
			return nil, fmt.Errorf("%w: line %d: %s", ErrMalformed, rep.Lines, jsonMsg(err))
		}
		kind, ent, route, user := l.entitlement()
		if kind == "" || ent == "" || user == "" {
			rep.Skipped++
			continue
		}
		if l.Time.IsZero() {
			return nil, fmt.Errorf("%w: line %d: %s event without time", ErrMalformed, rep.Lines, l.Event)
		}
		rep.Events++
		if rep.From.IsZero() || l.Time.Before(rep.From) {
			rep.From = l.Time
		}
		if l.Time.After(rep.To) {
			rep.To = l.Time
		}
		k := [4]string{l.Issuer, user, kind, ent}
		u := uses[k]
		if u == nil {
			if len(uses) >= o.MaxPairs {
				return nil, fmt.Errorf("%w: line %d: more than %d user × entitlement pairs", ErrTooLarge, rep.Lines, o.MaxPairs)
			}
			u = &Use{Issuer: l.Issuer, User: user, Kind: kind, Entitlement: ent}
			uses[k] = u
		}
		u.record(&l, route)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%w: line %d longer than %d bytes", ErrTooLarge, rep.Lines+1, o.MaxLineBytes)
		}
		return nil, fmt.Errorf("%w: reading line %d: %w", ErrMalformed, rep.Lines+1, err)
	}
	rep.Uses = make([]Use, 0, len(uses))
	for _, u := range uses {
		rep.Uses = append(rep.Uses, *u)
	}
	slices.SortFunc(rep.Uses, func(a, b Use) int {
		return cmp.Or(cmp.Compare(a.Issuer, b.Issuer), cmp.Compare(a.User, b.User), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Entitlement, b.Entitlement))
	})
	return rep, nil
}

// entitlement returns what an audit event used: the kind and name of the
// entitlement, the route (or STS call) and the user; kind is "" for events
// about no entitlement.
func (l *line) entitlement() (kind, ent, route, user string) {
	switch l.Event {
	case "authz.allowed", "authz.denied":
		kind, ent, route = KindPermission, l.Permission, l.Route
	case "sts.assumed", "sts.failed":
		kind, ent, route = KindAWSRole, l.RoleARN, "sts:AssumeRoleWithWebIdentity"
		if l.Algorithm == "SAML2" {
			route = "sts:AssumeRoleWithSAML"
		}
	}
	return kind, ent, cmp.Or(route, l.Method), cmp.Or(l.ObjectID, l.Subject)
}

// record counts one event for the pair.
func (u *Use) record(l *line, route string) {
	if l.Outcome == "success" {
		u.Allowed++
		if !l.Time.Before(u.LastUsed) {
			u.LastUsed, u.LastRoute = l.Time, route
		}
		return
	}
	u.Denied++
	if !l.Time.Before(u.LastDenied) {
		u.LastDenied, u.LastReason = l.Time, l.Reason
	}
}

// Unused returns the entitlements of all that no event used (allowed),
// sorted: for a policy's permissions, those nobody exercised in the log's
// window.
func (r *Report) Unused(kind string, all []string) []string {
	used := map[string]bool{}
	for _, u := range r.Uses {
		if u.Kind == kind && u.Allowed > 0 {
			used[u.Entitlement] = true
		}
	}
	var out []string
	for _, e := range all {
		if !used[e] {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// jsonMsg keeps a decoding error's position, never the line.
func jsonMsg(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te) && te.Field == "":
		return "not a JSON object"
	case errors.As(err, &te):
		return fmt.Sprintf("field %q: expected %s", te.Field, te.Type)
	}
	return "a field has an unexpected value"
}
