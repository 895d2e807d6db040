package token

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestBareSourcesAreAudited: ClientCredentials and Refresh used without a
// Cache record each token request themselves; under a Cache that audits,
// the Cache's event is the only one. No event carries a token or secret.
func TestBareSourcesAreAudited(t *testing.T) {
	access := fakeJWT(map[string]any{"iss": "https://login.microsoftonline.com/t1/v2.0", "tid": "t1", "azp": "lending-api", "uti": "uti-77"})
	idp := newFakeIdP(t, func(_ int, form url.Values, _ http.Header) (int, map[string]string, string) {
		if form.Get("refresh_token") == "rt-revoked-9d2" {
			return 400, nil, `{"error":"invalid_grant","error_description":"AADSTS700082: The refresh token has expired due to inactivity."}`
		}
		return 200, nil, `{"token_type":"Bearer","expires_in":3599,"access_token":"` + access + `","refresh_token":"rt-rotated-41c"}`
	})
	var buf bytes.Buffer
	audited := func(o *Options) { o.Audit = slog.NewJSONHandler(&buf, nil) }
	c := Client{ID: "lending-api", TokenURL: idp.URL(), Auth: ClientSecretPost("cc-secret-6a1")}
	ctx := context.Background()

	cc, err := NewClientCredentials(c, []string{"api://core/.default"}, audited)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = cc.Token(ctx)
	store := NewMemoryStore()
	_ = store.Store(ctx, "amit", "rt-live-5b8")
	rf, err := NewRefresh(c, store, "amit", nil, func(o *RefreshOptions) { audited(&o.Options) })
	if err != nil {
		t.Fatal(err)
	}
	_, _ = rf.Token(ctx)
	_ = store.Store(ctx, "amit", "rt-revoked-9d2")
	_, _ = rf.Token(ctx)
	// Under an auditing Cache: one event per request, the Cache's.
	cached, err := NewCachedClientCredentials(c, []string{"api://core/.default"}, func(o *CachedOptions) { audited(&o.Options) })
	if err != nil {
		t.Fatal(err)
	}
	_, _ = cached.Token(ctx)
	cached.Close()

	var got []string
	for line := range strings.Lines(buf.String()) {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		got = append(got, ev["event"].(string)+":"+str(ev["reason"]))
		if ev["outcome"] == "success" && (ev["token_id"] == nil || ev["azp"] != "lending-api") {
			t.Errorf("success lacks the token's identity: %v", ev)
		}
	}
	want := []string{"token.issued:", "token.refreshed:", "token.refresh_failed:" + string(ErrSignInRequired.Reason()), "token.issued:"}
	if !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for _, secret := range []string{access, "uti-77", "cc-secret-6a1", "rt-live-5b8", "rt-revoked-9d2", "rt-rotated-41c"} {
		if strings.Contains(buf.String(), secret) {
			t.Fatalf("audit carries %q:\n%s", secret, buf.String())
		}
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
