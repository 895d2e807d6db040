package ldap

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/audit"
	"github.com/idbridge/idbridge/internal/reason"
)

// auditUser is the user name an event records: the directory's spelling
// when the user was found, else the name given, but only one that could
// name an account (a hostile name is left out, not logged).
func auditUser(username string, c *idbridge.Claims) string {
	if c != nil && c.PreferredUsername != "" {
		return c.PreferredUsername
	}
	if checkUsername(username) != nil {
		return ""
	}
	return strings.ToValidUTF8(username, "")
}

func (d *Directory) event(name, username string, c *idbridge.Claims, err error, dur time.Duration, attrs ...slog.Attr) audit.Event {
	ev := audit.Event{Name: name, Outcome: audit.Success, Duration: dur}
	if err != nil {
		ev.Outcome, ev.Reason = audit.Failure, reason.Of(err)
		if ev.Reason == "" {
			ev.Reason = reason.IdPUnavailable
		}
	}
	if c != nil {
		ev.Issuer, ev.Subject, ev.ObjectID = c.Issuer, c.Subject, c.ObjectID
	}
	if u := auditUser(username, c); u != "" {
		ev.Attrs = append(ev.Attrs, slog.String(idbridge.FieldUser, u))
	}
	ev.Attrs = append(ev.Attrs, slog.String(idbridge.FieldURL, d.url))
	ev.Attrs = append(ev.Attrs, attrs...)
	return ev
}

// emitLogin records one Authenticate; the password never reaches it.
func (d *Directory) emitLogin(ctx context.Context, username string, c *idbridge.Claims, err error, dur time.Duration) {
	if !d.audit.Enabled(ctx) {
		return
	}
	var attrs []slog.Attr
	if c != nil {
		attrs = append(attrs, slog.Int(idbridge.FieldGroups, len(c.Groups)))
	}
	d.audit.Emit(ctx, d.event(audit.DirectoryLogin, username, c, err, dur, attrs...))
}

// emitGroups records one read of a user's groups from the directory.
func (d *Directory) emitGroups(ctx context.Context, username string, c *idbridge.Claims, n int, err error, dur time.Duration) {
	if !d.audit.Enabled(ctx) {
		return
	}
	attrs := []slog.Attr{slog.String(idbridge.FieldSource, "ldap")}
	if err == nil {
		attrs = append(attrs, slog.Int(idbridge.FieldGroups, n))
	}
	if username == "" && c != nil {
		username = claimString(c, d.opts.UserClaim)
	}
	d.audit.Emit(ctx, d.event(audit.GroupsResolved, username, c, err, dur, attrs...))
}
