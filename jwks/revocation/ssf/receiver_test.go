package ssf_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/idbridge/idbridge/jwks/revocation"
	"github.com/idbridge/idbridge/jwks/revocation/ssf"
)

var now = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

type fixture struct {
	tr   *transmitter
	list *revocation.List
	rcv  *ssf.Receiver
	url  string
}

func newFixture(t *testing.T, fns ...func(*ssf.Options)) *fixture {
	t.Helper()
	tr := newTransmitter(t, now)
	list, err := revocation.New(func(o *revocation.Options) { o.Now = func() time.Time { return now } })
	if err != nil {
		t.Fatal(err)
	}
	rcv, err := ssf.NewReceiver(list, append([]func(*ssf.Options){func(o *ssf.Options) {
		o.Issuer, o.JWKSURL, o.Audience = transmitterIss, tr.jwksURL(), receiverAud
		o.HTTPClient = tr.srv.Client()
		o.EntraTenantID = tid
		o.Now = func() time.Time { return now }
	}}, fns...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rcv.Close() })
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	return &fixture{tr: tr, list: list, rcv: rcv, url: srv.URL + "/ssf/events"}
}

// post delivers body as RFC 8935 says and returns the status and the
// error code of a 400.
func (f *fixture) post(t *testing.T, body, contentType string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.url, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusAccepted {
		return resp.StatusCode, ""
	}
	var e struct{ Err, Description string }
	if err := json.Unmarshal(b, &e); err != nil || e.Err == "" || e.Description == "" {
		t.Fatalf("status %d with body %q: not an RFC 8935 error", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type %q", ct)
	}
	return resp.StatusCode, e.Err
}

const setType = "application/secevent+jwt"

func TestEventsRevoke(t *testing.T) {
	leoSub := issSub("https://login.example", "leo")
	tests := []struct {
		name    string
		alg     string
		event   string
		payload map[string]any
		claims  map[string]any
		want    []revocation.Entry
	}{
		{"session-revoked, complex user+session, RS256: the user's issuer's session", "rsa", ssf.SessionRevoked,
			map[string]any{"subject": map[string]any{"format": "complex", "user": leoSub, "session": opaque("sess-1")}, "event_timestamp": now.Add(-time.Minute).Unix()},
			nil, []revocation.Entry{{Kind: revocation.Session, Issuer: "https://login.example", ID: "sess-1", At: now.Add(-time.Minute)}}},
		{"session-revoked, complex opaque Entra user+session: the tenant's sessions", "rsa", ssf.SessionRevoked,
			map[string]any{"subject": map[string]any{"format": "complex", "user": opaque(leoOID), "session": opaque("sess-1")}},
			nil, []revocation.Entry{
				{Kind: revocation.Session, Issuer: "https://login.microsoftonline.com/" + tid + "/v2.0", ID: "sess-1", At: now},
				{Kind: revocation.Session, Issuer: "https://sts.windows.net/" + tid + "/", ID: "sess-1", At: now}}}, // sorted by issuer
		{"account-disabled, complex session only: the tenant's sessions", "rsa", ssf.AccountDisabled,
			map[string]any{"subject": map[string]any{"format": "complex", "session": opaque("sess-2")}},
			nil, []revocation.Entry{
				{Kind: revocation.Session, Issuer: "https://login.microsoftonline.com/" + tid + "/v2.0", ID: "sess-2", At: now},
				{Kind: revocation.Session, Issuer: "https://sts.windows.net/" + tid + "/", ID: "sess-2", At: now}}},
		{"iss_sub of the tenant's v1.0 issuer", "rsa", ssf.AccountDisabled,
			map[string]any{"subject": issSub("https://sts.windows.net/"+tid+"/", "leo-v1-sub")}, nil,
			[]revocation.Entry{{Kind: revocation.Subject, Issuer: "https://sts.windows.net/" + tid + "/", Subject: "leo-v1-sub", At: now}}},
		{"session-revoked, user only, ES256", "ec", ssf.SessionRevoked,
			map[string]any{"subject": leoSub}, nil,
			[]revocation.Entry{{Kind: revocation.Subject, Issuer: "https://login.example", Subject: "leo", At: now}}},
		{"credential-change update", "rsa", ssf.CredentialChange,
			map[string]any{"subject": leoSub, "change_type": "update", "credential_type": "password"}, nil,
			[]revocation.Entry{{Kind: revocation.Subject, Issuer: "https://login.example", Subject: "leo", At: now}}},
		{"credential-change create revokes nothing", "rsa", ssf.CredentialChange,
			map[string]any{"subject": leoSub, "change_type": "create", "credential_type": "fido2-roaming"}, nil, nil},
		{"account-disabled, opaque Entra object ID", "ec", ssf.AccountDisabled,
			map[string]any{"subject": opaque(leoOID), "reason": "hijacking"}, nil,
			[]revocation.Entry{{Kind: revocation.Subject, TenantID: tid, ObjectID: leoOID, At: now}}},
		{"account-purged, subject in sub_id (SSF 1.0)", "rsa", ssf.AccountPurged,
			map[string]any{}, map[string]any{"sub_id": leoSub},
			[]revocation.Entry{{Kind: revocation.Subject, Issuer: "https://login.example", Subject: "leo", At: now}}},
		{"sessions-revoked, complex with the receiver's opaque tenant", "rsa", ssf.SessionsRevoked,
			map[string]any{"subject": map[string]any{"format": "complex", "user": opaque(leoOID), "tenant": opaque(strings.ToUpper(tid))}}, nil,
			[]revocation.Entry{{Kind: revocation.Subject, TenantID: tid, ObjectID: leoOID, At: now}}},
		{"aliases", "rsa", ssf.AccountDisabled,
			map[string]any{"subject": map[string]any{"format": "aliases", "identifiers": []any{map[string]any{"format": "email", "email": "leo@bank.example"}, opaque(leoOID)}}}, nil,
			[]revocation.Entry{{Kind: revocation.Subject, TenantID: tid, ObjectID: leoOID, At: now}}},
		{"email without Resolve: acknowledged, nothing revoked", "rsa", ssf.AccountDisabled,
			map[string]any{"subject": map[string]any{"format": "email", "email": "leo@bank.example"}}, nil, nil},
		{"unknown event: acknowledged, ignored", "rsa", "https://schemas.openid.net/secevent/caep/event-type/assurance-level-change",
			map[string]any{"subject": leoSub, "current_level": "nist-aal2"}, nil, nil},
		{"future event_timestamp is clamped to now", "rsa", ssf.SessionRevoked,
			map[string]any{"subject": leoSub, "event_timestamp": now.Add(time.Hour).Unix()}, nil,
			[]revocation.Entry{{Kind: revocation.Subject, Issuer: "https://login.example", Subject: "leo", At: now}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The receiver acts for login.example when the event names
			// its users, else for the Entra tenant's issuers (the default).
			f := newFixture(t, func(o *ssf.Options) {
				if strings.Contains(fmt.Sprint(tt.payload, tt.claims), "https://login.example") {
					o.SubjectIssuers = []string{"https://login.example"}
				}
			})
			set := f.tr.sign(t, tt.alg, f.tr.set(tt.event, tt.payload, tt.claims), nil)
			if code, err := f.post(t, set, setType); code != http.StatusAccepted {
				t.Fatalf("status %d %s", code, err)
			}
			got := f.list.Entries()
			slices.SortFunc(got, func(a, b revocation.Entry) int { return strings.Compare(a.Issuer, b.Issuer) })
			if len(got) != len(tt.want) {
				t.Fatalf("entries %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i].Kind != tt.want[i].Kind || got[i].ID != tt.want[i].ID || got[i].Issuer != tt.want[i].Issuer ||
					got[i].Subject != tt.want[i].Subject || got[i].TenantID != tt.want[i].TenantID ||
					got[i].ObjectID != tt.want[i].ObjectID || !got[i].At.Equal(tt.want[i].At) {
					t.Errorf("entry %+v, want %+v", got[i], tt.want[i])
				}
			}
		})
	}
}

// Every bad SET is answered as RFC 8935 says and revokes nothing.
func TestBadInputNeverRevokes(t *testing.T) {
	entraIss := "https://login.microsoftonline.com/" + tid + "/v2.0"
	leo := map[string]any{"subject": issSub(entraIss, "leo-sub")} // a user of the receiver's tenant
	other := newForger(t, now)
	type mk func(f *fixture) string
	sign := func(c func(tr *transmitter) jwt.MapClaims, header map[string]any) mk {
		return func(f *fixture) string { return f.tr.sign(t, "rsa", c(f.tr), header) }
	}
	plain := func(override map[string]any) func(tr *transmitter) jwt.MapClaims {
		return func(tr *transmitter) jwt.MapClaims { return tr.set(ssf.AccountDisabled, leo, override) }
	}
	withSubject := func(s any) func(tr *transmitter) jwt.MapClaims {
		return func(tr *transmitter) jwt.MapClaims {
			return tr.set(ssf.AccountDisabled, map[string]any{"subject": s}, nil)
		}
	}
	tests := []struct {
		name     string
		body     mk
		ct       string
		wantCode int
		wantErr  string
	}{
		{"wrong issuer", sign(plain(map[string]any{"iss": "https://evil.example"}), nil), setType, 400, "invalid_issuer"},
		{"wrong audience", sign(plain(map[string]any{"aud": "https://other-api.example"}), nil), setType, 400, "invalid_audience"},
		{"typ JWT (an access token)", sign(plain(nil), map[string]any{"typ": "JWT"}), setType, 400, "invalid_request"},
		{"no typ", sign(plain(nil), map[string]any{"typ": nil}), setType, 400, "invalid_request"},
		{"signed by another key", func(f *fixture) string { return other.sign(t, "rsa", f.tr.set(ssf.AccountDisabled, leo, nil), nil) }, setType, 400, "invalid_key"},
		{"ES256 by another key", func(f *fixture) string { return other.sign(t, "ec", f.tr.set(ssf.AccountDisabled, leo, nil), nil) }, setType, 400, "invalid_key"},
		{"unknown kid", sign(plain(nil), map[string]any{"kid": "nope"}), setType, 400, "invalid_key"},
		{"alg none", func(f *fixture) string {
			s, _ := jwt.NewWithClaims(jwt.SigningMethodNone, f.tr.set(ssf.AccountDisabled, leo, nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
			return s
		}, setType, 400, "invalid_key"},
		{"HS256 with the public key", func(f *fixture) string {
			s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, f.tr.set(ssf.AccountDisabled, leo, nil)).SignedString([]byte("secret"))
			return s
		}, setType, 400, "invalid_key"},
		{"iat too old", sign(plain(map[string]any{"iat": now.Add(-3 * time.Hour).Unix()}), nil), setType, 400, "invalid_request"},
		{"iat ahead", sign(plain(map[string]any{"iat": now.Add(time.Hour).Unix()}), nil), setType, 400, "invalid_request"},
		{"no iat", sign(plain(map[string]any{"iat": nil}), nil), setType, 400, "invalid_request"},
		{"no jti", sign(plain(map[string]any{"jti": nil}), nil), setType, 400, "invalid_request"},
		{"no events", sign(plain(map[string]any{"events": nil}), nil), setType, 400, "invalid_request"},
		{"events not an object", sign(plain(map[string]any{"events": []string{ssf.AccountDisabled}}), nil), setType, 400, "invalid_request"},
		{"event payload not an object", sign(plain(map[string]any{"events": map[string]any{ssf.AccountDisabled: "leo"}}), nil), setType, 400, "invalid_request"},
		{"no subject", sign(withSubject(nil), nil), setType, 400, "invalid_request"},
		{"subject without format", sign(withSubject(map[string]any{"iss": "x", "sub": "y"}), nil), setType, 400, "invalid_request"},
		{"iss_sub without sub", sign(withSubject(map[string]any{"format": "iss_sub", "iss": "x"}), nil), setType, 400, "invalid_request"},
		{"iss_sub with number sub", sign(withSubject(map[string]any{"format": "iss_sub", "iss": "x", "sub": 7}), nil), setType, 400, "invalid_request"},
		{"email without @", sign(withSubject(map[string]any{"format": "email", "email": "leo"}), nil), setType, 400, "invalid_request"},
		{"complex with nothing", sign(withSubject(map[string]any{"format": "complex"}), nil), setType, 400, "invalid_request"},
		{"nested complex", sign(withSubject(map[string]any{"format": "complex", "user": map[string]any{"format": "complex", "user": opaque("x")}}), nil), setType, 400, "invalid_request"},
		// A transmitter trusted for Options.EntraTenantID's users revokes
		// no user of another tenant the API may also accept.
		{"complex subject naming another tenant", sign(withSubject(map[string]any{"format": "complex", "user": opaque(leoOID), "tenant": opaque("0b3c8f1e-2d4a-4e6b-9f70-1a2b3c4d5e6f")}), nil), setType, 400, "invalid_request"},
		{"aliases naming another tenant", sign(withSubject(map[string]any{"format": "complex", "tenant": opaque("0b3c8f1e-2d4a-4e6b-9f70-1a2b3c4d5e6f"), "user": map[string]any{"format": "aliases", "identifiers": []any{opaque(leoOID)}}}), nil), setType, 400, "invalid_request"},
		// A transmitter trusted for the tenant's users names a user or a
		// session of another issuer: refused, nothing revoked.
		{"iss_sub of another issuer", sign(withSubject(issSub("https://accounts.google.com", "leo")), nil), setType, 400, "invalid_request"},
		{"iss_sub of another Entra tenant", sign(withSubject(issSub("https://login.microsoftonline.com/0b3c8f1e-2d4a-4e6b-9f70-1a2b3c4d5e6f/v2.0", "x")), nil), setType, 400, "invalid_request"},
		{"iss_sub issuer in other case", sign(withSubject(issSub(strings.ToUpper(entraIss), "leo-sub")), nil), setType, 400, "invalid_request"},
		{"iss_sub issuer with a trailing slash", sign(withSubject(issSub(entraIss+"/", "leo-sub")), nil), setType, 400, "invalid_request"},
		{"iss_sub issuer as a template", sign(withSubject(issSub("https://login.microsoftonline.com/{tenantid}/v2.0", "leo-sub")), nil), setType, 400, "invalid_request"},
		{"aliases with a foreign iss_sub", sign(withSubject(map[string]any{"format": "aliases", "identifiers": []any{opaque(leoOID), issSub("https://accounts.google.com", "leo")}}), nil), setType, 400, "invalid_request"},
		{"complex foreign iss_sub user", sign(withSubject(map[string]any{"format": "complex", "user": issSub("https://accounts.google.com", "leo")}), nil), setType, 400, "invalid_request"},
		{"session of a foreign iss_sub user", sign(func(tr *transmitter) jwt.MapClaims {
			return tr.set(ssf.SessionRevoked, map[string]any{"subject": map[string]any{"format": "complex", "user": issSub("https://accounts.google.com", "leo"), "session": opaque("sess-1")}}, nil)
		}, nil), setType, 400, "invalid_request"},
		{"foreign iss_sub in sub_id", sign(func(tr *transmitter) jwt.MapClaims {
			return tr.set(ssf.AccountPurged, map[string]any{}, map[string]any{"sub_id": issSub("https://accounts.google.com", "leo")})
		}, nil), setType, 400, "invalid_request"},
		{"opaque id with a control character", sign(withSubject(opaque("a\nb")), nil), setType, 400, "invalid_request"},
		{"opaque id too long", sign(withSubject(opaque(strings.Repeat("x", 2000))), nil), setType, 400, "invalid_request"},
		{"credential-change without change_type", sign(func(tr *transmitter) jwt.MapClaims { return tr.set(ssf.CredentialChange, leo, nil) }, nil), setType, 400, "invalid_request"},
		{"one good event and one bad", sign(plain(map[string]any{"events": map[string]any{ssf.AccountDisabled: leo, ssf.AccountPurged: map[string]any{"subject": map[string]any{"format": "iss_sub"}}}}), nil), setType, 400, "invalid_request"},
		{"wrong Content-Type", sign(plain(nil), nil), "application/json", 400, "invalid_request"},
		{"huge body", func(*fixture) string { return strings.Repeat("a", 1<<20) }, setType, 400, "invalid_request"},
		{"not a JWS", func(*fixture) string { return "hello" }, setType, 400, "invalid_request"},
		{"JWE (five parts)", func(*fixture) string { return "a.b.c.d.e" }, setType, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			code, errCode := f.post(t, tt.body(f), tt.ct)
			if code != tt.wantCode || errCode != tt.wantErr {
				t.Errorf("got %d %q, want %d %q", code, errCode, tt.wantCode, tt.wantErr)
			}
			if n := f.list.Len(); n != 0 {
				t.Errorf("a refused SET revoked %d entries", n)
			}
		})
	}
}

// TestSubjectIssuersDenyByDefault: a receiver told of no issuer it acts
// for (no Options.SubjectIssuers, no EntraTenantID) revokes no iss_sub
// subject and no session, whatever issuer they name.
func TestSubjectIssuersDenyByDefault(t *testing.T) {
	session := func(user map[string]any) map[string]any {
		s := map[string]any{"format": "complex", "session": opaque("sess-1")}
		if user != nil {
			s["user"] = user
		}
		return map[string]any{"subject": s}
	}
	for _, tt := range []struct {
		name    string
		event   string
		payload map[string]any
		fns     []func(*ssf.Options)
	}{
		{"iss_sub of any issuer", ssf.AccountDisabled, map[string]any{"subject": issSub("https://login.example", "leo")}, nil},
		{"iss_sub of the transmitter itself", ssf.AccountDisabled, map[string]any{"subject": issSub(transmitterIss, "leo")}, nil},
		{"session without a user", ssf.SessionRevoked, session(nil), nil},
		{"session with an opaque user", ssf.SessionRevoked, session(opaque(leoOID)), nil},
		{"session with an iss_sub user", ssf.SessionRevoked, session(issSub("https://login.example", "leo")), nil},
		{"account-disabled with only a session", ssf.AccountDisabled, session(nil), nil},
		{"a tenant that is no tenant ID gives no default issuer", ssf.AccountDisabled,
			map[string]any{"subject": issSub("https://login.microsoftonline.com/{tenantid}/v2.0", "leo")},
			[]func(*ssf.Options){func(o *ssf.Options) { o.EntraTenantID = "common" }}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, append([]func(*ssf.Options){func(o *ssf.Options) { o.EntraTenantID = "" }}, tt.fns...)...)
			code, errCode := f.post(t, f.tr.sign(t, "rsa", f.tr.set(tt.event, tt.payload, nil), nil), setType)
			if code != http.StatusBadRequest || errCode != "invalid_request" {
				t.Errorf("got %d %q, want 400 invalid_request", code, errCode)
			}
			if n := f.list.Len(); n != 0 {
				t.Errorf("revoked %d entries", n)
			}
		})
	}
}

func TestReplayedJTI(t *testing.T) {
	f := newFixture(t)
	set := f.tr.sign(t, "ec", f.tr.set(ssf.AccountDisabled, map[string]any{"subject": opaque(leoOID)}, nil), nil)
	if code, _ := f.post(t, set, setType); code != http.StatusAccepted {
		t.Fatalf("first delivery: %d", code)
	}
	if code, err := f.post(t, set, setType); code != 400 || err != "invalid_request" {
		t.Fatalf("replay: %d %s", code, err)
	}
}

func TestAuthenticateAndMethod(t *testing.T) {
	f := newFixture(t, func(o *ssf.Options) {
		o.Authenticate = func(r *http.Request) error {
			if r.Header.Get("Authorization") != "Bearer transmitter-secret" {
				return errors.New("no")
			}
			return nil
		}
	})
	set := f.tr.sign(t, "rsa", f.tr.set(ssf.AccountDisabled, map[string]any{"subject": opaque(leoOID)}, nil), nil)
	if code, err := f.post(t, set, setType); code != 401 || err != "authentication_failed" {
		t.Fatalf("unauthenticated: %d %s", code, err)
	}
	req, _ := http.NewRequest(http.MethodPost, f.url, strings.NewReader(set))
	req.Header.Set("Content-Type", setType)
	req.Header.Set("Authorization", "Bearer transmitter-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("authenticated: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	resp, err = http.Get(f.url)
	if err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	if f.list.Len() != 1 {
		t.Fatalf("%d entries", f.list.Len())
	}
}

func TestResolve(t *testing.T) {
	f := newFixture(t, func(o *ssf.Options) {
		o.Resolve = func(_ context.Context, s ssf.Subject) ([]revocation.Entry, error) {
			if s.Format == "email" && s.Email == "leo@bank.example" {
				return []revocation.Entry{revocation.EntraUser(tid, leoOID)}, nil
			}
			return nil, errors.New("directory down")
		}
	})
	ok := f.tr.sign(t, "rsa", f.tr.set(ssf.AccountDisabled, map[string]any{"subject": map[string]any{"format": "email", "email": "leo@bank.example"}}, nil), nil)
	if code, _ := f.post(t, ok, setType); code != http.StatusAccepted || f.list.Len() != 1 {
		t.Fatalf("resolved: %d, %d entries", code, f.list.Len())
	}
	fail := f.tr.sign(t, "rsa", f.tr.set(ssf.AccountDisabled, map[string]any{"subject": map[string]any{"format": "email", "email": "amit@bank.example"}}, nil), nil)
	if code, err := f.post(t, fail, setType); code != http.StatusServiceUnavailable || err != "temporarily_unavailable" {
		t.Fatalf("resolver down: %d %s", code, err)
	}
}

// A Revoke failure answers 503 and forgets the jti, so the transmitter's
// retry is processed.
func TestRevokeFailureAllowsRetry(t *testing.T) {
	tr := newTransmitter(t, now)
	fail := true
	list := revokerFunc(func(ctx context.Context, e revocation.Entry) error {
		if fail {
			return errors.New("store down")
		}
		return nil
	})
	rcv, err := ssf.NewReceiver(list, func(o *ssf.Options) {
		o.Issuer, o.JWKSURL, o.Audience, o.HTTPClient, o.EntraTenantID = transmitterIss, tr.jwksURL(), receiverAud, tr.srv.Client(), tid
		o.Now = func() time.Time { return now }
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	f := &fixture{tr: tr, url: srv.URL}
	set := tr.sign(t, "rsa", tr.set(ssf.AccountDisabled, map[string]any{"subject": opaque(leoOID)}, nil), nil)
	if code, err := f.post(t, set, setType); code != http.StatusServiceUnavailable {
		t.Fatalf("store down: %d %s", code, err)
	}
	fail = false
	if code, err := f.post(t, set, setType); code != http.StatusAccepted {
		t.Fatalf("retry: %d %s", code, err)
	}
}

type revokerFunc func(context.Context, revocation.Entry) error

func (f revokerFunc) Revoke(ctx context.Context, e revocation.Entry) error { return f(ctx, e) }

func TestNewReceiverOptions(t *testing.T) {
	list, _ := revocation.New()
	for name, fn := range map[string]func(*ssf.Options){
		"no issuer":   func(o *ssf.Options) { o.Audience, o.JWKSURL = receiverAud, "https://x/jwks" },
		"no audience": func(o *ssf.Options) { o.Issuer, o.JWKSURL = transmitterIss, "https://x/jwks" },
		"no keys":     func(o *ssf.Options) { o.Issuer, o.Audience = transmitterIss, receiverAud },
		"HS256": func(o *ssf.Options) {
			o.Issuer, o.Audience, o.JWKSURL, o.Algorithms = transmitterIss, receiverAud, "https://x/jwks", []string{"HS256"}
		},
		"empty subject issuer": func(o *ssf.Options) {
			o.Issuer, o.Audience, o.JWKSURL, o.SubjectIssuers = transmitterIss, receiverAud, "https://x/jwks", []string{""}
		},
		"negative age": func(o *ssf.Options) {
			o.Issuer, o.Audience, o.JWKSURL, o.MaxAge = transmitterIss, receiverAud, "https://x/jwks", -1
		},
	} {
		if _, err := ssf.NewReceiver(list, fn); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := ssf.NewReceiver(nil, func(o *ssf.Options) { o.Issuer, o.Audience, o.JWKSURL = transmitterIss, receiverAud, "https://x/jwks" }); err == nil {
		t.Error("nil list accepted")
	}
}
