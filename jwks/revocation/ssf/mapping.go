package ssf

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/idbridge/idbridge/jwks/revocation"
)

// entries maps one event to the revocations it calls for. Unknown events
// and credential creation call for none.
func (r *Receiver) entries(ctx context.Context, ev Event, iat time.Time) ([]revocation.Entry, error) {
	if !known(ev.Type) || ev.Type == CredentialChange && ev.ChangeType == "create" {
		return nil, nil
	}
	// The revocation takes effect at the event's time (tokens issued
	// before it are refused), never later than now.
	at := iat
	if !ev.Timestamp.IsZero() {
		at = ev.Timestamp
	}
	if now := r.now(); at.After(now) {
		at = now
	}
	s := *ev.Subject
	var session, user *Subject
	switch {
	case s.Format == "complex":
		session, user = s.Session, s.User
	default:
		user = &s
	}
	var out []revocation.Entry
	if ev.Type == SessionRevoked && session != nil || user == nil && session != nil && session.Format == "opaque" {
		// One session ended: that session's tokens, not the user's others.
		if session.Format != "opaque" {
			return nil, fmt.Errorf("%w: session must be opaque", ErrSubject)
		}
		issuers, err := r.sessionIssuers(user)
		if err != nil {
			return nil, err
		}
		for _, iss := range issuers {
			e := revocation.IssuerSession(iss, session.ID)
			e.At = at
			out = append(out, e)
		}
		return out, nil
	}
	if user == nil {
		return nil, fmt.Errorf("%w: the event names no user", ErrSubject)
	}
	users, err := r.users(ctx, *user, s.Tenant)
	if err != nil {
		return nil, err
	}
	for _, e := range users {
		e.At = at
		out = append(out, e)
	}
	return out, nil
}

// errForeignIssuer refuses an iss_sub subject of an issuer the receiver
// does not act for; it names the option, never the issuer sent.
var errForeignIssuer = errors.New("ssf: the iss_sub issuer is not one this receiver acts for (Options.SubjectIssuers; default: the issuers of Options.EntraTenantID)")

// sessionIssuers returns the issuers a revoked session is scoped to: a sid
// is unique per issuer only. The user's issuer when the event names the
// user by iss_sub, else every issuer the receiver acts for; none refuses.
func (r *Receiver) sessionIssuers(user *Subject) ([]string, error) {
	if user != nil && user.Format == "iss_sub" {
		if !slices.Contains(r.issuers, user.Issuer) {
			return nil, errForeignIssuer
		}
		return []string{user.Issuer}, nil
	}
	if len(r.issuers) == 0 {
		return nil, errors.New("ssf: a session cannot be scoped to an issuer this receiver acts for: set Options.SubjectIssuers or Options.EntraTenantID")
	}
	return r.issuers, nil
}

// users maps a user identifier to subject entries.
func (r *Receiver) users(ctx context.Context, u Subject, tenant *Subject) ([]revocation.Entry, error) {
	switch {
	case u.Format == "iss_sub":
		if !slices.Contains(r.issuers, u.Issuer) {
			return nil, errForeignIssuer
		}
		return []revocation.Entry{revocation.IssuerSubject(u.Issuer, u.Subject)}, nil
	case u.Format == "opaque" && tenant != nil && r.tenant != "" &&
		(tenant.Format != "opaque" || !strings.EqualFold(tenant.ID, r.tenant)):
		// The transmitter speaks for the users of Options.EntraTenantID;
		// naming another tenant would revoke users it does not manage.
		return nil, fmt.Errorf("%w: the tenant is not Options.EntraTenantID", ErrSubject)
	case u.Format == "opaque" && r.tenant != "":
		return []revocation.Entry{revocation.EntraUser(r.tenant, u.ID)}, nil
	case u.Format == "aliases":
		var out []revocation.Entry
		for _, id := range u.Identifiers {
			es, err := r.users(ctx, id, tenant)
			if err != nil {
				return nil, err
			}
			out = append(out, es...)
		}
		return out, nil
	}
	if r.resolve == nil {
		r.log.Warn("ssf: no Options.Resolve for this subject format; event acknowledged, nothing revoked", "format", u.Format)
		return nil, nil
	}
	es, err := r.resolve(ctx, u)
	if err != nil {
		return nil, &setError{status: http.StatusServiceUnavailable, Err: "temporarily_unavailable", Desc: "the subject could not be resolved"}
	}
	return es, nil
}
