package token

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestExpiryCountsFromRequestSent: the IdP answers 1.6 s after the request
// left (a starved goroutine, a slow network); every flow's token must
// expire expires_in after the request was sent, not after the answer was
// read, or a 3-second token is handed out 1.6 s past the issuer's expiry.
func TestExpiryCountsFromRequestSent(t *testing.T) {
	const delay = 1600 * time.Millisecond
	tests := []struct {
		name  string
		fetch func(t *testing.T, c Client, o func(*Options)) (*Token, error)
	}{
		{"client credentials", func(t *testing.T, c Client, o func(*Options)) (*Token, error) {
			cc, err := NewClientCredentials(c, []string{"api://core/.default"}, o)
			if err != nil {
				t.Fatal(err)
			}
			return cc.Token(context.Background())
		}},
		{"refresh", func(t *testing.T, c Client, o func(*Options)) (*Token, error) {
			store := NewMemoryStore()
			store.Store(context.Background(), "amit", "rt-0")
			r, err := NewRefresh(c, store, "amit", nil, func(r *RefreshOptions) { o(&r.Options) })
			if err != nil {
				t.Fatal(err)
			}
			return r.Token(context.Background())
		}},
		{"on-behalf-of", func(t *testing.T, c Client, o func(*Options)) (*Token, error) {
			x, err := NewOnBehalfOf(c, func(x *ExchangeOptions) { o(&x.Options) })
			if err != nil {
				t.Fatal(err)
			}
			defer x.Close()
			return x.Token(context.Background(), "user-token", []string{"api://core/Loans.Read"})
		}},
		{"token exchange", func(t *testing.T, c Client, o func(*Options)) (*Token, error) {
			x, err := NewTokenExchange(c, func(x *ExchangeOptions) { o(&x.Options) })
			if err != nil {
				t.Fatal(err)
			}
			defer x.Close()
			return x.Token(context.Background(), "subject-token", []string{"loans"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			sent := clock.Now()
			idp := newFakeIdP(t, func(int, url.Values, http.Header) (int, map[string]string, string) {
				clock.Advance(delay)
				return 200, nil, `{"access_token":"at","token_type":"Bearer","expires_in":3,"refresh_in":2,"ext_expires_in":"4"}`
			})
			c := Client{ID: "lending-api", TokenURL: idp.URL(), Auth: ClientSecretPost("s")}
			tok, err := tt.fetch(t, c, func(o *Options) { o.Now = clock.Now })
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []struct {
				name     string
				got      time.Time
				lifetime time.Duration
			}{{"Expiry", tok.Expiry, 3 * time.Second}, {"RefreshAt", tok.RefreshAt, 2 * time.Second}, {"ExtExpiry", tok.ExtExpiry, 4 * time.Second}} {
				if want := sent.Add(f.lifetime); !f.got.Equal(want) {
					t.Errorf("%s = sent+%v, want sent+%v", f.name, f.got.Sub(sent), f.lifetime)
				}
			}
		})
	}
}

// TestDevicePollExpiryCountsFromRequestSent covers the device flow, whose
// polls go through the same parser.
func TestDevicePollExpiryCountsFromRequestSent(t *testing.T) {
	clock := newFakeClock()
	d, idp, _ := newTestDevice(t, clock, []string{"ok"})
	dc, err := d.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var sent time.Time
	idp.mu.Lock()
	idp.respond = func(int, url.Values, http.Header) (int, map[string]string, string) {
		sent = clock.Now()
		clock.Advance(1600 * time.Millisecond)
		return 200, nil, `{"access_token":"at","token_type":"Bearer","expires_in":3600}`
	}
	idp.mu.Unlock()
	tok, err := d.Poll(context.Background(), dc)
	if err != nil {
		t.Fatal(err)
	}
	if want := sent.Add(time.Hour); !tok.Expiry.Equal(want) {
		t.Errorf("Expiry = sent+%v, want sent+1h", tok.Expiry.Sub(sent))
	}
}

// TestCacheNeverServesPastIssuerExpiry: through a Cache, a slow answer
// leaves less of the token's life, and the Cache stops handing it out
// before the issuer's expiry, counted from the request.
func TestCacheNeverServesPastIssuerExpiry(t *testing.T) {
	clock := newFakeClock()
	var sent time.Time
	idp := newFakeIdP(t, func(int, url.Values, http.Header) (int, map[string]string, string) {
		sent = clock.Now()
		clock.Advance(1600 * time.Millisecond)
		return 200, nil, okToken("at", 3)
	})
	c, err := NewCachedClientCredentials(Client{ID: "svc", TokenURL: idp.URL(), Auth: ClientSecretPost("s")},
		[]string{"api://core/.default"}, func(o *CachedOptions) { o.Now = clock.Now })
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tok, err := c.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	issuerExpiry := sent.Add(3 * time.Second)
	if !tok.Expiry.Equal(issuerExpiry) {
		t.Fatalf("Expiry = sent+%v, want sent+3s", tok.Expiry.Sub(sent))
	}
	// Just before the issuer's expiry, within the margin, the cached token
	// is no longer served: the Cache fetches again.
	clock.Advance(issuerExpiry.Sub(clock.Now()) - 10*time.Millisecond)
	if _, err := c.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := idp.count(); n != 2 {
		t.Fatalf("%d token requests, want 2 (the token was served within its margin of the issuer's expiry)", n)
	}
}
