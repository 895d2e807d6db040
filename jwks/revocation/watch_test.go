package revocation_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/jwks/revocation"
)

func TestWatchStream(t *testing.T) {
	c := newClock()
	ctx := context.Background()
	leo := entraToken(leoOID, c.ago(time.Minute))
	tests := []struct {
		name   string
		revoke func(l *revocation.List) error
		want   revocation.Kind // None: the stream goes on
	}{
		{"user revoked", func(l *revocation.List) error { return l.Revoke(ctx, revocation.EntraUser(tid, leoOID)) }, revocation.Subject},
		{"user revoked on another replica (Merge)", func(l *revocation.List) error {
			_, err := l.Merge(revocation.EntraUser(tid, leoOID))
			return err
		}, revocation.Subject},
		{"by iss+sub", func(l *revocation.List) error {
			return l.Revoke(ctx, revocation.IssuerSubject(leo.Issuer, leo.Subject))
		}, revocation.Subject},
		{"session", func(l *revocation.List) error { return l.Revoke(ctx, revocation.SessionID(leo.SessionID)) }, revocation.Session},
		{"token", func(l *revocation.List) error { return l.Revoke(ctx, revocation.TokenID(leo.UTI)) }, revocation.Token},
		{"session of its issuer", func(l *revocation.List) error {
			return l.Revoke(ctx, revocation.IssuerSession(leo.Issuer, leo.SessionID))
		}, revocation.Session},
		{"token of its issuer", func(l *revocation.List) error { return l.Revoke(ctx, revocation.IssuerToken(leo.Issuer, leo.UTI)) }, revocation.Token},
		{"session of another issuer", func(l *revocation.List) error {
			return l.Revoke(ctx, revocation.IssuerSession("https://accounts.google.com", leo.SessionID))
		}, revocation.None},
		{"another user", func(l *revocation.List) error { return l.Revoke(ctx, revocation.EntraUser(tid, amitOID)) }, revocation.None},
		{"revoked before the token was issued", func(l *revocation.List) error {
			return l.Revoke(ctx, revocation.Entry{Kind: revocation.Subject, TenantID: tid, ObjectID: leoOID, At: c.ago(time.Hour)})
		}, revocation.None},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newList(t, c)
			ended := make(chan error, 2)
			stop := l.WatchStream(ctx, leo, func(err error) { ended <- err })
			defer stop()
			must(t, tt.revoke(l))
			select {
			case err := <-ended:
				var re *revocation.RevokedError
				if tt.want == revocation.None || !errors.As(err, &re) || re.Kind != tt.want {
					t.Fatalf("ended with %v, want kind %v", err, tt.want)
				}
			default:
				if tt.want != revocation.None {
					t.Fatal("stream not ended")
				}
			}
		})
	}
}

func TestWatchStreamStopAndAlreadyRevoked(t *testing.T) {
	c := newClock()
	ctx := context.Background()
	l := newList(t, c)
	leo := entraToken(leoOID, c.ago(time.Minute))
	calls := 0
	stop := l.WatchStream(ctx, leo, func(error) { calls++ })
	stop()
	must(t, l.Revoke(ctx, revocation.EntraUser(tid, leoOID)))
	if calls != 0 {
		t.Fatal("a stopped watch was ended")
	}
	// Revoked between admission and the watch: ended at once.
	stop = l.WatchStream(ctx, leo, func(error) { calls++ })
	defer stop()
	if calls != 1 {
		t.Fatalf("already revoked stream: %d ends", calls)
	}
	if l.WatchStream(ctx, &idbridge.Claims{}, func(error) {}) != nil || l.WatchStream(ctx, nil, nil) != nil {
		t.Fatal("a watch without identifiers")
	}
}
