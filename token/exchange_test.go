package token

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idbridge/idbridge"
)

func newTestExchange(t *testing.T, obo bool, clock *fakeClock, optFns ...func(*ExchangeOptions)) (*Exchange, *fakeIdP) {
	t.Helper()
	idp := newFakeIdP(t, func(n int, form url.Values, _ http.Header) (int, map[string]string, string) {
		if strings.HasPrefix(form.Get("assertion")+form.Get("subject_token"), "revoked") {
			return 400, nil, `{"error":"invalid_grant","error_description":"AADSTS50013: Assertion failed signature validation."}`
		}
		return 200, nil, okToken(fmt.Sprint("downstream-", n), 3600)
	})
	fns := append([]func(*ExchangeOptions){func(o *ExchangeOptions) { o.Now = clock.Now }}, optFns...)
	c := Client{ID: "lending-api", TokenURL: idp.URL(), Auth: ClientSecretPost("s")}
	var x *Exchange
	var err error
	if obo {
		x, err = NewOnBehalfOf(c, fns...)
	} else {
		x, err = NewTokenExchange(c, fns...)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close(); requireNoLeak(t) })
	return x, idp
}

func TestOnBehalfOf(t *testing.T) {
	clock := newFakeClock()
	x, idp := newTestExchange(t, true, clock)
	ctx := context.Background()
	scopes := []string{"api://core/Accounts.Read", "api://core/Loans.Read"}
	a1, err := x.Token(ctx, "user-token-amit", scopes)
	if err != nil {
		t.Fatal(err)
	}
	f := idp.form(0)
	for k, want := range map[string]string{
		"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "requested_token_use": "on_behalf_of",
		"assertion": "user-token-amit", "scope": "api://core/Accounts.Read api://core/Loans.Read", "client_id": "lending-api",
	} {
		if f.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, f.Get(k), want)
		}
	}
	// Same token, same scopes in another order: cached.
	a2, _ := x.Token(ctx, "user-token-amit", []string{scopes[1], scopes[0], scopes[1]})
	// Another user, or another scope set: new requests.
	p, _ := x.Token(ctx, "user-token-priya", scopes)
	a3, _ := x.Token(ctx, "user-token-amit", scopes[:1])
	if a1 != a2 || a1 == p || a1 == a3 || idp.count() != 3 {
		t.Fatalf("cache keys wrong: %d requests", idp.count())
	}
	src := x.Source("user-token-amit", scopes)
	if tok, _ := src.Token(ctx); tok != a1 {
		t.Fatal("Source does not share the cache")
	}
	if _, err := x.Token(ctx, "revoked-token", scopes); !errors.Is(err, ErrSignInRequired) {
		t.Fatalf("revoked: %v", err)
	}
	if _, err := x.Token(ctx, "", scopes); !errors.Is(err, idbridge.ErrInvalidOptions) {
		t.Fatalf("empty subject: %v", err)
	}
	for _, k := range mapsKeys(x) {
		if strings.Contains(k, "user-token") {
			t.Fatalf("cache key holds the token: %s", k)
		}
	}
}

func mapsKeys(x *Exchange) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	var ks []string
	for k := range x.entries {
		ks = append(ks, fmt.Sprintf("%x|%s", k.sum, k.scope))
	}
	return ks
}

func TestTokenExchangeRFC8693(t *testing.T) {
	clock := newFakeClock()
	x, idp := newTestExchange(t, false, clock, func(o *ExchangeOptions) { o.Params = url.Values{"audience": {"api://core"}} })
	if _, err := x.Token(context.Background(), "incoming", nil); err != nil {
		t.Fatal(err)
	}
	f := idp.form(0)
	for k, want := range map[string]string{
		"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "subject_token": "incoming",
		"subject_token_type": TokenTypeAccessToken, "audience": "api://core",
	} {
		if f.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, f.Get(k), want)
		}
	}
	if f.Has("scope") {
		t.Error("empty scope sent")
	}
}

func TestExchangeSingleFlightAndEviction(t *testing.T) {
	clock := newFakeClock()
	x, idp := newTestExchange(t, true, clock, func(o *ExchangeOptions) { o.MaxEntries = 3 })
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() { x.Token(context.Background(), "hot", nil) })
	}
	wg.Wait()
	if idp.count() != 1 {
		t.Fatalf("%d requests for one key", idp.count())
	}
	for i := range 10 {
		if _, err := x.Token(context.Background(), fmt.Sprint("user-", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(mapsKeys(x)); n > 3 {
		t.Fatalf("%d entries, max 3", n)
	}
	clock.Advance(2 * time.Hour)
	if _, err := x.Token(context.Background(), "user-9", nil); err != nil {
		t.Fatal(err)
	}
}

func TestExchangeClosed(t *testing.T) {
	clock := newFakeClock()
	x, _ := newTestExchange(t, true, clock)
	x.Close()
	if _, err := x.Token(context.Background(), "t", nil); !errors.Is(err, idbridge.ErrClosed) {
		t.Fatalf("err = %v", err)
	}
	if _, err := NewOnBehalfOf(Client{ID: "public", TokenURL: "https://idp.example/t"}); !errors.Is(err, idbridge.ErrInvalidOptions) {
		t.Fatalf("public client OBO: %v", err)
	}
}

func TestExchangeRefusesHugeSubjectToken(t *testing.T) {
	clock := newFakeClock()
	x, idp := newTestExchange(t, true, clock)
	if _, err := x.Token(context.Background(), strings.Repeat("a", maxSubjectToken+1), nil); !errors.Is(err, idbridge.ErrInvalidOptions) {
		t.Fatalf("err = %v", err)
	}
	if idp.count() != 0 || len(mapsKeys(x)) != 0 {
		t.Fatal("a huge subject token was sent or kept")
	}
}

func TestScopeSet(t *testing.T) {
	for _, tt := range []struct {
		in   []string
		want string
	}{
		{nil, ""}, {[]string{"a"}, "a"}, {[]string{"a", "b"}, "a b"}, {[]string{"b", "a"}, "a b"},
		{[]string{"b", "a", "b"}, "a b"}, {[]string{"a", "a"}, "a"},
	} {
		in := slices.Clone(tt.in)
		if got := scopeSet(in); got != tt.want || !slices.Equal(in, tt.in) {
			t.Errorf("scopeSet(%v) = %q (input now %v), want %q", tt.in, got, in, tt.want)
		}
	}
}
