package token

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idbridge/idbridge"
)

// rotatingIdP accepts each refresh token once and answers with a new one,
// as a rotating IdP does; a reused token gets invalid_grant.
type rotatingIdP struct {
	*fakeIdP
	mu    sync.Mutex
	valid map[string]bool
	n     int
}

func newRotatingIdP(t *testing.T, first string) *rotatingIdP {
	r := &rotatingIdP{valid: map[string]bool{first: true}}
	r.fakeIdP = newFakeIdP(t, func(_ int, form url.Values, _ http.Header) (int, map[string]string, string) {
		r.mu.Lock()
		defer r.mu.Unlock()
		rt := form.Get("refresh_token")
		if form.Get("grant_type") != "refresh_token" || !r.valid[rt] {
			return 400, nil, `{"error":"invalid_grant","error_description":"AADSTS70008: refresh token ` + rt + ` was already used","error_codes":[70008]}`
		}
		delete(r.valid, rt)
		r.n++
		next := fmt.Sprintf("rt-%d", r.n)
		r.valid[next] = true
		return 200, nil, fmt.Sprintf(`{"access_token":"at-%d","token_type":"Bearer","expires_in":3600,"refresh_token":%q}`, r.n, next)
	})
	return r
}

func TestRefreshRotation(t *testing.T) {
	idp := newRotatingIdP(t, "rt-0")
	store := NewMemoryStore()
	ctx := context.Background()
	store.Store(ctx, "amit", "rt-0")
	r, err := NewRefresh(Client{ID: "lending-web", TokenURL: idp.URL(), Auth: ClientSecretBasic("s")}, store, "amit", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		tok, err := r.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if tok.AccessToken != fmt.Sprintf("at-%d", i) || tok.RefreshToken != "" {
			t.Fatalf("token %d = %+v (refresh token must stay in the store)", i, tok)
		}
		if got, _ := store.Load(ctx, "amit"); got.Reveal() != fmt.Sprintf("rt-%d", i) {
			t.Fatalf("store holds %q after refresh %d", got.Reveal(), i)
		}
	}
	// The old refresh token is dead at the IdP.
	store.Store(ctx, "amit", "rt-1")
	_, err = r.Token(ctx)
	if !errors.Is(err, ErrSignInRequired) {
		t.Fatalf("reused refresh token: err = %v", err)
	}
	if strings.Contains(err.Error(), "rt-1") {
		t.Fatalf("error leaks the refresh token: %v", err)
	}
	if got, _ := store.Load(ctx, "amit"); got != "" {
		t.Fatal("dead refresh token not deleted")
	}
	if _, err := r.Token(ctx); !errors.Is(err, ErrSignInRequired) {
		t.Fatalf("empty store: err = %v", err)
	}
}

func TestRefreshConcurrentCallersNeverReuseARefreshToken(t *testing.T) {
	idp := newRotatingIdP(t, "rt-0")
	store := NewMemoryStore()
	store.Store(context.Background(), "k", "rt-0")
	r, _ := NewRefresh(Client{ID: "c", TokenURL: idp.URL()}, store, "k", nil)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			if _, err := r.Token(context.Background()); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent refresh failed: %v", err)
	}
}

func TestRefreshSeedAndScopes(t *testing.T) {
	idp := newRotatingIdP(t, "rt-seed")
	clock := newFakeClock()
	r, _ := NewRefresh(Client{ID: "c", TokenURL: idp.URL()}, nil, "k", []string{"api://lending/Loans.Read"}, func(o *RefreshOptions) { o.Now = clock.Now })
	ctx := context.Background()
	if err := r.Seed(ctx, &Token{AccessToken: "no-rt"}); !errors.Is(err, ErrSignInRequired) {
		t.Fatalf("seed without refresh token: %v", err)
	}
	seed := &Token{AccessToken: "at-seed", Expiry: clock.Now().Add(time.Hour), RefreshToken: "rt-seed"}
	if err := r.Seed(ctx, seed); err != nil {
		t.Fatal(err)
	}
	tok, err := r.Token(ctx)
	if err != nil || tok.AccessToken != "at-seed" || tok.RefreshToken != "" || idp.count() != 0 {
		t.Fatalf("first Token = %+v, %v after %d requests", tok, err, idp.count())
	}
	tok, err = r.Token(ctx)
	if err != nil || tok.AccessToken != "at-1" {
		t.Fatalf("second Token = %+v, %v", tok, err)
	}
	if got := idp.form(0).Get("scope"); got != "api://lending/Loans.Read" {
		t.Fatalf("scope %q", got)
	}
}

type failingStore struct{ MemoryStore }

func (f *failingStore) Store(context.Context, string, Secret) error { return errors.New("disk full") }

func TestRefreshStoreFailureWithholdsToken(t *testing.T) {
	idp := newRotatingIdP(t, "rt-0")
	store := &failingStore{MemoryStore: MemoryStore{m: map[string]Secret{"k": "rt-0"}}}
	r, _ := NewRefresh(Client{ID: "c", TokenURL: idp.URL()}, store, "k", nil)
	if tok, err := r.Token(context.Background()); err == nil || tok != nil {
		t.Fatalf("Token = %v, %v; a rotated token that cannot be stored must not be used", tok, err)
	}
}

func TestRefreshInCacheRefreshesOnce(t *testing.T) {
	idp := newRotatingIdP(t, "rt-0")
	clock := newFakeClock()
	store := NewMemoryStore()
	store.Store(context.Background(), "k", "rt-0")
	r, _ := NewRefresh(Client{ID: "c", TokenURL: idp.URL()}, store, "k", nil, func(o *RefreshOptions) { o.Now = clock.Now })
	c := newTestCache(t, r, clock)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := c.Token(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if idp.count() != 1 {
		t.Fatalf("%d refresh requests, want 1", idp.count())
	}
}

func TestNewRefreshValidates(t *testing.T) {
	if _, err := NewRefresh(Client{ID: "c", TokenURL: "https://x.example/t"}, nil, "", nil); !errors.Is(err, idbridge.ErrInvalidOptions) {
		t.Fatalf("empty key: %v", err)
	}
}

// TestRefreshSkipsSeedAboutToExpire: a seeded token is handed out only while
// it is not about to expire; an aged one is replaced by a refresh.
func TestRefreshSkipsSeedAboutToExpire(t *testing.T) {
	idp := newRotatingIdP(t, "rt-seed")
	clock := newFakeClock()
	r, _ := NewRefresh(Client{ID: "c", TokenURL: idp.URL()}, nil, "k", nil, func(o *RefreshOptions) { o.Now = clock.Now })
	ctx := context.Background()
	if err := r.Seed(ctx, &Token{AccessToken: "at-seed", Expiry: clock.Now().Add(time.Hour), RefreshToken: "rt-seed"}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour - 5*time.Second)
	tok, err := r.Token(ctx)
	if err != nil || tok.AccessToken != "at-1" {
		t.Fatalf("Token = %v, %v; want a refreshed token, not the seed 5 s before expiry", tok, err)
	}
}
