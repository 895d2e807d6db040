package token

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func newTestDevice(t *testing.T, clock *fakeClock, script []string) (*Device, *fakeIdP, *[]time.Duration) {
	t.Helper()
	idp := newFakeIdP(t, func(n int, form url.Values, _ http.Header) (int, map[string]string, string) {
		if form.Get("grant_type") == "" { // device authorization request
			return 200, nil, `{"device_code":"DEV-SECRET","user_code":"ABCD-EFGH","verification_uri":"https://idp.example/device","expires_in":900,"interval":2,"message":"Go to https://idp.example/device and enter ABCD-EFGH"}`
		}
		step := script[min(n-2, len(script)-1)]
		switch step {
		case "ok":
			return 200, nil, `{"access_token":"at","token_type":"Bearer","expires_in":3600,"refresh_token":"rt"}`
		case "503":
			return 503, nil, "busy"
		}
		return 400, nil, `{"error":"` + step + `"}`
	})
	d, err := NewDevice(Client{ID: "bank-cli", TokenURL: idp.URL()}, idp.srv.URL+"/devicecode", []string{"openid", "offline_access"},
		func(o *Options) { o.Now = clock.Now })
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	d.after = func(d time.Duration) <-chan time.Time {
		waits = append(waits, d)
		clock.Advance(d)
		ch := make(chan time.Time, 1)
		ch <- clock.Now()
		return ch
	}
	return d, idp, &waits
}

func TestDeviceFlow(t *testing.T) {
	tests := []struct {
		name      string
		script    []string
		want      error
		wantWaits []time.Duration
	}{
		{"approved after pending", []string{"authorization_pending", "authorization_pending", "ok"}, nil,
			[]time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second}},
		{"slow_down adds five seconds", []string{"slow_down", "slow_down", "ok"}, nil,
			[]time.Duration{2 * time.Second, 7 * time.Second, 12 * time.Second}},
		{"brief outage", []string{"503", "ok"}, nil, []time.Duration{2 * time.Second, 4 * time.Second}},
		{"declined", []string{"access_denied"}, ErrRejected, nil},
		{"expired", []string{"expired_token"}, ErrSignInRequired, nil},
		{"never approved", []string{"authorization_pending"}, ErrSignInRequired, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			d, idp, waits := newTestDevice(t, clock, tt.script)
			dc, err := d.Start(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if dc.UserCode != "ABCD-EFGH" || dc.Interval != 2*time.Second || !strings.Contains(dc.Message, "ABCD-EFGH") {
				t.Fatalf("device code %+v", dc)
			}
			if s := fmt.Sprintf("%v %+v", dc, *dc); strings.Contains(s, "DEV-SECRET") {
				t.Fatalf("device code printed: %s", s)
			}
			if f := idp.form(0); f.Get("client_id") != "bank-cli" || f.Get("scope") != "openid offline_access" {
				t.Fatalf("device authorization form %v", f)
			}
			tok, err := d.Poll(context.Background(), dc)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil || tok.RefreshToken != "rt" {
				t.Fatalf("Poll = %v, %v", tok, err)
			}
			if f := idp.form(1); f.Get("device_code") != "DEV-SECRET" || f.Get("grant_type") != "urn:ietf:params:oauth:grant-type:device_code" {
				t.Fatalf("poll form %v", f)
			}
			if len(*waits) != len(tt.wantWaits) {
				t.Fatalf("waits %v, want %v", *waits, tt.wantWaits)
			}
			for i := range tt.wantWaits {
				if (*waits)[i] != tt.wantWaits[i] {
					t.Fatalf("waits %v, want %v", *waits, tt.wantWaits)
				}
			}
		})
	}
}

func TestDevicePollHonoursContext(t *testing.T) {
	clock := newFakeClock()
	d, _, _ := newTestDevice(t, clock, []string{"authorization_pending"})
	dc, _ := d.Start(context.Background())
	d.after = func(time.Duration) <-chan time.Time { return nil } // never fires
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Poll(ctx, dc); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestDeviceStartErrors(t *testing.T) {
	idp := newFakeIdP(t, func(int, url.Values, http.Header) (int, map[string]string, string) {
		return 400, nil, `{"error":"invalid_client"}`
	})
	d, _ := NewDevice(Client{ID: "x", TokenURL: idp.URL()}, idp.srv.URL+"/devicecode", nil)
	if _, err := d.Start(context.Background()); !errors.Is(err, ErrRejected) {
		t.Fatalf("err = %v", err)
	}
	idp.respond = func(int, url.Values, http.Header) (int, map[string]string, string) {
		return 200, nil, `{"user_code":"x"}`
	}
	if _, err := d.Start(context.Background()); !errors.Is(err, ErrIdPUnavailable) {
		t.Fatalf("incomplete response: %v", err)
	}
}

// TestDevicePollHonoursRetryAfter: a throttled poll waits at least as long
// as the server's Retry-After.
func TestDevicePollHonoursRetryAfter(t *testing.T) {
	clock := newFakeClock()
	d, idp, waits := newTestDevice(t, clock, nil)
	idp.respond = func(n int, form url.Values, _ http.Header) (int, map[string]string, string) {
		switch {
		case form.Get("grant_type") == "":
			return 200, nil, `{"device_code":"D","user_code":"U","verification_uri":"https://idp.example/device","expires_in":900,"interval":2}`
		case n == 2:
			return 429, map[string]string{"Retry-After": "30"}, `{"error":"temporarily_unavailable"}`
		}
		return 200, nil, okToken("at", 3600)
	}
	dc, err := d.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Poll(context.Background(), dc); err != nil {
		t.Fatal(err)
	}
	if len(*waits) != 2 || (*waits)[1] < 30*time.Second {
		t.Fatalf("waits %v; want the second at least the 30 s Retry-After", *waits)
	}
}
