package revocation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/revocation"
)

const (
	tid      = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	leoOID   = "7b2c1e8a-4f3d-4a9e-9c61-0e5d2f1a3b44"
	amitOID  = "3f0e9a1c-5b7d-4c2e-8a19-6d4f2b0c7e55"
	entraIss = "https://login.microsoftonline.com/" + tid + "/v2.0"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time                { return c.t }
func (c *clock) add(d time.Duration)           { c.t = c.t.Add(d) }
func newClock() *clock                         { return &clock{time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)} }
func (c *clock) ago(d time.Duration) time.Time { return c.t.Add(-d) }

// entraToken is the shape of an Entra v2 access token's identifying claims.
func entraToken(oid string, iat time.Time) *idbridge.Claims {
	return &idbridge.Claims{
		Issuer: entraIss, Subject: "pairwise-" + oid[:8], Audience: []string{"6e74172b-be56-4843-9ff4-e66a39bb12e3"},
		TenantID: tid, ObjectID: oid, UTI: "uti-" + oid[:8] + iat.Format("150405"), SessionID: "sid-" + oid[:8],
		IssuedAt: iat, ExpiresAt: iat.Add(75 * time.Minute), Version: "2.0", Scopes: []string{"Loans.Read"},
	}
}

func newList(t *testing.T, c *clock, fns ...func(*revocation.Options)) *revocation.List {
	t.Helper()
	l, err := revocation.New(append([]func(*revocation.Options){func(o *revocation.Options) { o.Now = c.now }}, fns...)...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLookup(t *testing.T) {
	c := newClock()
	before := c.ago(10 * time.Minute)
	leo := entraToken(leoOID, before)
	tests := []struct {
		name  string
		entry revocation.Entry
		token *idbridge.Claims
		want  revocation.Kind
	}{
		{"entra user, token issued before", revocation.EntraUser(tid, leoOID), leo, revocation.Subject},
		{"entra user in upper case", revocation.EntraUser(strings.ToUpper(tid), strings.ToUpper(leoOID)), leo, revocation.Subject},
		{"entra user, other user", revocation.EntraUser(tid, leoOID), entraToken(amitOID, before), revocation.None},
		{"entra user, other tenant", revocation.EntraUser("0b3c8f1e-2d4a-4e6b-9f70-1a2b3c4d5e6f", leoOID), leo, revocation.None},
		{"entra user, re-hired: token issued after", revocation.Entry{Kind: revocation.Subject, TenantID: tid, ObjectID: leoOID, At: before.Add(-time.Hour)}, leo, revocation.None},
		{"entra user, same second counts as before", revocation.Entry{Kind: revocation.Subject, TenantID: tid, ObjectID: leoOID, At: before}, leo, revocation.Subject},
		{"entra user, next second is after", revocation.Entry{Kind: revocation.Subject, TenantID: tid, ObjectID: leoOID, At: before.Add(-time.Millisecond)}, leo, revocation.None},
		{"entra user, token without iat", revocation.EntraUser(tid, leoOID), &idbridge.Claims{TenantID: tid, ObjectID: leoOID}, revocation.Subject},
		{"iss+sub", revocation.IssuerSubject(entraIss, leo.Subject), leo, revocation.Subject},
		{"iss+sub, other issuer", revocation.IssuerSubject("https://accounts.google.com", leo.Subject), leo, revocation.None},
		{"token by uti", revocation.TokenID(leo.UTI), leo, revocation.Token},
		{"token by jti", revocation.TokenID("jti-1"), &idbridge.Claims{ID: "jti-1", Subject: "x"}, revocation.Token},
		{"token, re-issued token passes", revocation.TokenID(leo.UTI), entraToken(leoOID, c.ago(time.Minute)), revocation.None},
		{"session", revocation.SessionID(leo.SessionID), leo, revocation.Session},
		{"session, token issued after still refused", revocation.Entry{Kind: revocation.Session, ID: leo.SessionID, At: c.ago(time.Hour)}, leo, revocation.Session},
		{"token id is not a session id", revocation.SessionID(leo.UTI), leo, revocation.None},
		// jti and sid are unique per issuer only: an entry scoped to one
		// issuer never refuses another issuer's token with the same value.
		{"token of its issuer", revocation.IssuerToken(entraIss, leo.UTI), leo, revocation.Token},
		{"session of its issuer", revocation.IssuerSession(entraIss, leo.SessionID), leo, revocation.Session},
		{"token of another issuer", revocation.IssuerToken("https://accounts.google.com", leo.UTI), leo, revocation.None},
		{"session of another issuer", revocation.IssuerSession("https://accounts.google.com", leo.SessionID), leo, revocation.None},
		{"session of the v1 issuer, v2 token", revocation.IssuerSession("https://sts.windows.net/"+tid+"/", leo.SessionID), leo, revocation.None},
		{"scoped token, token without iss", revocation.IssuerToken(entraIss, "jti-1"), &idbridge.Claims{ID: "jti-1", Subject: "x"}, revocation.None},
		{"scoped session, token without iss", revocation.IssuerSession(entraIss, "s1"), &idbridge.Claims{SessionID: "s1"}, revocation.None},
		{"scoped token id is not a session id", revocation.IssuerSession(entraIss, leo.UTI), leo, revocation.None},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stored revocation.Entry
			l := newList(t, c, func(o *revocation.Options) { o.OnRevoke = func(e revocation.Entry) { stored = e } })
			if err := l.Revoke(context.Background(), tt.entry); err != nil {
				t.Fatal(err)
			}
			if got := l.Lookup(tt.token); got != tt.want {
				t.Errorf("Lookup = %v, want %v", got, tt.want)
			}
			// What OnRevoke passes to caches' Forget matches as Lookup does.
			if got := stored.Matches(tt.token); got != (tt.want != revocation.None) {
				t.Errorf("Matches = %v, want %v", got, tt.want != revocation.None)
			}
			err := l.Check(context.Background(), tt.token)
			if tt.want == revocation.None {
				if err != nil {
					t.Errorf("Check = %v", err)
				}
				return
			}
			var re *revocation.RevokedError
			if !errors.Is(err, revocation.ErrRevoked) || !errors.As(err, &re) || re.Kind != tt.want || idbridge.ReasonOf(err) != "revoked" {
				t.Errorf("Check = %v (reason %q), want revoked %v", err, idbridge.ReasonOf(err), tt.want)
			}
		})
	}
}

func TestEmptyAndNil(t *testing.T) {
	l := newList(t, newClock())
	if l.Lookup(nil) != revocation.None || l.Lookup(&idbridge.Claims{}) != revocation.None || l.Check(context.Background(), nil) != nil {
		t.Fatal("an empty list revoked something")
	}
	if err := l.Revoke(context.Background(), revocation.TokenID("x")); err != nil {
		t.Fatal(err)
	}
	if l.Lookup(&idbridge.Claims{}) != revocation.None {
		t.Fatal("claims without identifiers matched")
	}
}

func TestExpiry(t *testing.T) {
	c := newClock()
	l := newList(t, c, func(o *revocation.Options) { o.MaxTokenLifetime = time.Hour })
	ctx := context.Background()
	sid := revocation.SessionID("s1")
	if err := l.Revoke(ctx, sid); err != nil {
		t.Fatal(err)
	}
	tok := &idbridge.Claims{SessionID: "s1", IssuedAt: c.t}
	c.add(time.Hour + jwks.MaxLeeway - time.Second)
	if l.Lookup(tok) != revocation.Session {
		t.Fatal("entry gone before every token it matches expired")
	}
	c.add(time.Second)
	if l.Lookup(tok) != revocation.None {
		t.Fatal("entry still matches after max token lifetime + leeway")
	}
	if n := len(l.Entries()); n != 0 {
		t.Fatalf("Entries lists %d expired entries", n)
	}
	// The next Revoke prunes (at most once a minute).
	if err := l.Revoke(ctx, revocation.SessionID("s2")); err != nil {
		t.Fatal(err)
	}
	if l.Len() != 1 {
		t.Fatalf("Len = %d after prune, want 1", l.Len())
	}
	// A revocation so old that nothing it matches is valid is not stored.
	if err := l.Revoke(ctx, revocation.Entry{Kind: revocation.Token, ID: "old", At: c.ago(2 * time.Hour)}); err != nil || l.Len() != 1 {
		t.Fatalf("old revocation: err %v, Len %d", err, l.Len())
	}
}

func TestLaterRevocationWins(t *testing.T) {
	c := newClock()
	l := newList(t, c)
	ctx := context.Background()
	tok := entraToken(leoOID, c.ago(time.Minute))
	early := revocation.Entry{Kind: revocation.Subject, TenantID: tid, ObjectID: leoOID, At: c.ago(time.Hour)}
	late := revocation.Entry{Kind: revocation.Subject, TenantID: tid, ObjectID: leoOID, At: c.t}
	for _, order := range [][]revocation.Entry{{early, late}, {late, early}} {
		l := newList(t, c)
		for _, e := range order {
			if err := l.Revoke(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		if l.Lookup(tok) != revocation.Subject {
			t.Fatal("an earlier revocation replaced a later one")
		}
	}
	_ = l
}

func TestInvalidEntries(t *testing.T) {
	c := newClock()
	long := strings.Repeat("a", revocation.MaxFieldLen+1)
	bad := []revocation.Entry{
		{},
		{Kind: 9, ID: "x"},
		revocation.EntraUser(tid, ""),
		revocation.EntraUser("", leoOID),
		revocation.IssuerSubject(entraIss, ""),
		revocation.IssuerSubject("", "sub"),
		{Kind: revocation.Subject, Issuer: entraIss, Subject: "s", TenantID: tid, ObjectID: leoOID},
		{Kind: revocation.Subject, TenantID: tid, ObjectID: leoOID, ID: "x"},
		revocation.TokenID(""),
		revocation.SessionID(""),
		{Kind: revocation.Token, ID: "x", Subject: "s"},
		revocation.TokenID(long),
		revocation.SessionID("a\nb"),
		revocation.IssuerToken(entraIss, ""),
		revocation.IssuerSession(entraIss, ""),
		revocation.IssuerSession("a\nb", "s"),
		{Kind: revocation.Session, Issuer: entraIss, ID: "s", TenantID: tid},
		revocation.IssuerSubject(entraIss, "bad\xff"),
		{Kind: revocation.Token, ID: "x", At: c.t.Add(time.Hour)},
	}
	l := newList(t, c)
	for i, e := range bad {
		err := l.Revoke(context.Background(), e)
		if !errors.Is(err, revocation.ErrInvalidEntry) || idbridge.ReasonOf(err) != "malformed" {
			t.Errorf("%d: Revoke = %v, want ErrInvalidEntry", i, err)
		}
		if strings.Contains(err.Error(), long) || strings.Contains(err.Error(), "a\nb") {
			t.Errorf("%d: error quotes the input", i)
		}
	}
	if l.Len() != 0 {
		t.Fatalf("%d malformed entries stored", l.Len())
	}
}

// Revocations land while requests are checked; run with -race.
func TestConcurrent(t *testing.T) {
	c := newClock()
	l := newList(t, c)
	ctx := context.Background()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 5000 {
			if err := l.Revoke(ctx, revocation.TokenID(id(i))); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	tok := entraToken(leoOID, c.ago(time.Minute))
	for range 5000 {
		if l.Lookup(tok) != revocation.None {
			t.Fatal("revoked a token that is not in the list")
		}
	}
	<-done
	for i := range 5000 {
		if l.Lookup(&idbridge.Claims{ID: id(i)}) != revocation.Token {
			t.Fatalf("entry %d lost", i)
		}
	}
}

func TestAudit(t *testing.T) {
	c := newClock()
	var buf bytes.Buffer
	l := newList(t, c, func(o *revocation.Options) { o.Audit = slog.NewJSONHandler(&buf, nil) })
	ctx := context.Background()
	leo := entraToken(leoOID, c.ago(time.Minute))
	leo.ID = "secret-jti-value"
	must(t, l.Revoke(ctx, revocation.EntraUser(tid, leoOID)))
	must(t, l.Revoke(ctx, revocation.TokenID("secret-jti-value")))
	must(t, l.Revoke(ctx, revocation.SessionID("secret-sid-value")))
	if err := l.Check(ctx, leo); err == nil {
		t.Fatal("not revoked")
	}
	var events []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		must(t, json.Unmarshal([]byte(line), &m))
		events = append(events, m)
	}
	want := []struct{ event, kind string }{
		{"revocation.added", "subject"}, {"revocation.added", "token"}, {"revocation.added", "session"}, {"token.rejected", "token"},
	}
	if len(events) != len(want) {
		t.Fatalf("%d events: %s", len(events), buf.String())
	}
	for i, w := range want {
		if events[i]["event"] != w.event || events[i]["revocation"] != w.kind {
			t.Errorf("event %d = %v, want %s %s", i, events[i], w.event, w.kind)
		}
	}
	if events[0]["oid"] != leoOID || events[3]["reason"] != "revoked" || events[3]["oid"] != leoOID || events[3]["token_id"] == nil {
		t.Errorf("events lack identities: %s", buf.String())
	}
	if strings.Contains(buf.String(), "secret-") {
		t.Errorf("audit carries a token or session id: %s", buf.String())
	}
}

func TestEntriesRoundTrip(t *testing.T) {
	c := newClock()
	l := newList(t, c)
	ctx := context.Background()
	in := []revocation.Entry{
		revocation.EntraUser(tid, leoOID), revocation.IssuerSubject(entraIss, "s"), revocation.TokenID("t"), revocation.SessionID("s"),
		revocation.IssuerToken(entraIss, "t2"), revocation.IssuerSession(entraIss, "s2"),
	}
	for _, e := range in {
		must(t, l.Revoke(ctx, e))
	}
	b, err := json.Marshal(l.Entries())
	must(t, err)
	var out []revocation.Entry
	must(t, json.Unmarshal(b, &out))
	l2 := newList(t, c)
	for _, e := range out {
		if _, err := l2.Merge(e); err != nil {
			t.Fatal(err)
		}
	}
	if l2.Len() != len(in) {
		t.Fatalf("round trip kept %d of %d entries: %s", l2.Len(), len(in), b)
	}
	if l2.Lookup(entraToken(leoOID, c.ago(time.Minute))) == revocation.None {
		t.Fatal("merged list does not revoke")
	}
}

// Growing past the filter's capacity and pruning both rebuild the filter;
// every entry must still be found.
func TestManyEntries(t *testing.T) {
	c := newClock()
	l := newList(t, c, func(o *revocation.Options) { o.MaxTokenLifetime = time.Hour })
	ctx := context.Background()
	const n = 20000
	for i := range n {
		must(t, l.Revoke(ctx, revocation.TokenID(id(i))))
		if i == n/2 {
			c.add(40 * time.Minute)
		}
	}
	for i := range n {
		if l.Lookup(&idbridge.Claims{ID: id(i)}) != revocation.Token {
			t.Fatalf("entry %d lost", i)
		}
	}
	c.add(30 * time.Minute)
	l.Prune()
	if l.Len() != n-n/2-1 {
		t.Fatalf("Len after prune = %d", l.Len())
	}
	if l.Lookup(&idbridge.Claims{ID: id(0)}) != revocation.None || l.Lookup(&idbridge.Claims{ID: id(n - 1)}) != revocation.Token {
		t.Fatal("prune dropped the wrong entries")
	}
}

func id(i int) string { return fmt.Sprintf("tok-%06d", i) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// An entry with an empty identifier matches no token, not every token
// without that claim.
func TestMatchesNeedsIdentifiers(t *testing.T) {
	bare := &idbridge.Claims{Issuer: entraIss}
	for _, e := range []revocation.Entry{
		{}, {Kind: revocation.Token}, {Kind: revocation.Session},
		{Kind: revocation.Subject}, {Kind: revocation.Subject, Issuer: entraIss},
		{Kind: revocation.Subject, TenantID: tid}, {Kind: 9, ID: "x"},
	} {
		if e.Matches(bare) || e.Matches(&idbridge.Claims{}) || e.Matches(nil) {
			t.Errorf("%#v matches a token without identifiers", e)
		}
	}
	if revocation.TokenID("x").Matches(nil) {
		t.Error("matches nil claims")
	}
}
