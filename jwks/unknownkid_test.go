package jwks_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/idbridge/idbridge/internal/benchcpu"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
)

// memIdP serves a jwkstest server's JWKS through an in-memory transport and
// records when each JWKS request arrived. Key sets inside a synctest bubble
// use it: the bubble's clock cannot advance while a goroutine waits on a
// real socket. The body and headers are the server's own.
type memIdP struct {
	*jwkstest.Server
	mu      sync.Mutex
	fetches []time.Time
	misses  []time.Time // fetches caused by unknown kids (sent with no-cache)
	held    []byte      // JWKS served instead of the server's while not nil
	latency time.Duration
}

// hold keeps serving the current JWKS until publish, so that keys added
// meanwhile (Rotate) are not yet published.
func (m *memIdP) hold() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.held = m.JWKS()
}

func (m *memIdP) publish() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.held = nil
}

// newMemIdP must be called outside the bubble: the jwkstest server listens
// on a real socket, which is never touched from inside.
func newMemIdP(t *testing.T) *memIdP { return &memIdP{Server: jwkstest.Start(t)} }

func (m *memIdP) client() *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		m.mu.Lock()
		m.fetches = append(m.fetches, time.Now())
		if r.Header.Get("Cache-Control") == "no-cache" {
			m.misses = append(m.misses, time.Now())
		}
		body, latency := m.held, m.latency
		m.mu.Unlock()
		time.Sleep(latency)
		if body == nil {
			body = m.JWKS()
		}
		return &http.Response{
			StatusCode: http.StatusOK,
			Header:     http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"max-age=3600"}},
			Body:       io.NopCloser(bytes.NewReader(body)),
			Request:    r,
		}, nil
	})}
}

// keySet returns a key set of m's JWKS, fetched through m; call Close
// inside the bubble.
func (m *memIdP) keySet(t *testing.T, optFns ...func(*jwks.KeySetOptions)) *jwks.RemoteKeySet {
	t.Helper()
	ks, err := jwks.NewKeySet(context.Background(), m.JWKSURL(), append([]func(*jwks.KeySetOptions){
		func(o *jwks.KeySetOptions) { o.HTTPClient = m.client() }}, optFns...)...)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func (m *memIdP) times() []time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]time.Time(nil), m.fetches...)
}

func (m *memIdP) missTimes() []time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]time.Time(nil), m.misses...)
}

func (m *memIdP) validator(t *testing.T) *jwks.Validator {
	t.Helper()
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: m.Issuer(), JWKSURL: m.JWKSURL()}}
		o.Audiences = []string{"api://orders"}
		o.Algorithms = []string{"RS256"}
		o.HTTPClient = m.client()
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (m *memIdP) mint() string { return m.Mint(map[string]any{"aud": "api://orders"}) }

func (m *memIdP) forged(kid string) string {
	return m.MintWithHeader(map[string]any{"kid": kid}, map[string]any{"aud": "api://orders"})
}

// TestRotationPickedUp: a clean rotation is picked up by the first token
// of the new key, wherever it falls — at start-up, right after a background
// refresh, right after a bogus kid or a flood of one — within
// UnknownKIDInterval (1 s), by a token that waits instead of failing.
func TestRotationPickedUp(t *testing.T) {
	tests := []struct {
		name    string
		before  func(t *testing.T, m *memIdP, v *jwks.Validator)
		fetches int // JWKS requests in all, the rotation's included
	}{
		{"at start-up", func(*testing.T, *memIdP, *jwks.Validator) {}, 2},
		{"after a background refresh", func(t *testing.T, m *memIdP, v *jwks.Validator) {
			time.Sleep(90 * time.Minute) // max-age=3600: one refresh
			synctest.Wait()
			if n := len(m.times()); n != 2 {
				t.Fatalf("%d fetches after 90 minutes, want 2", n)
			}
		}, 3},
		{"after one bogus kid", func(t *testing.T, m *memIdP, v *jwks.Validator) {
			if _, err := v.Validate(context.Background(), m.forged("bogus")); !errors.Is(err, jwks.ErrUnknownKey) {
				t.Fatalf("bogus kid: %v", err)
			}
		}, 3},
		{"after 10,000 tokens of one bogus kid", func(t *testing.T, m *memIdP, v *jwks.Validator) {
			tok := m.forged("bogus")
			for range 10_000 {
				if _, err := v.Validate(context.Background(), tok); !errors.Is(err, jwks.ErrUnknownKey) {
					t.Fatalf("bogus kid: %v", err)
				}
			}
		}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMemIdP(t)
			synctest.Test(t, func(t *testing.T) {
				v := m.validator(t)
				defer v.Close()
				if err := v.Ready(context.Background()); err != nil {
					t.Fatal(err)
				}
				tt.before(t, m, v)
				kid := m.Rotate(false)
				rotated := time.Now()
				// 32 callers at once, as under load: none fails.
				var wg sync.WaitGroup
				var failed atomic.Int32
				for range 32 {
					wg.Go(func() {
						c, err := v.Validate(context.Background(), m.mint())
						if err != nil || c.Header.KeyID != kid {
							failed.Add(1)
						}
					})
				}
				wg.Wait()
				if n := failed.Load(); n != 0 {
					t.Fatalf("%d of 32 tokens of the new key refused", n)
				}
				if d := time.Since(rotated); d > jwks.DefaultUnknownKIDInterval {
					t.Fatalf("new key picked up after %v", d)
				}
				if n := len(m.times()); n != tt.fetches {
					t.Fatalf("%d JWKS fetches, want %d", n, tt.fetches)
				}
			})
		})
	}
}

// TestUnknownKIDFloodBudget: two hours of fresh random kids, 40 a second,
// sustained or in bursts timed to let the back-off reset, cost at most one
// fetch a second and 60 an hour; a real rotation in the middle of the flood
// is picked up within 5 s.
func TestUnknownKIDFloodBudget(t *testing.T) {
	tests := []struct {
		name   string
		active func(elapsed time.Duration) bool
	}{
		{"sustained", func(time.Duration) bool { return true }},
		{"5 min on, 4 min off", func(d time.Duration) bool { return d%(9*time.Minute) < 5*time.Minute }},
		{"20 s on, 4 min off", func(d time.Duration) bool { return d%(260*time.Second) < 20*time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMemIdP(t)
			synctest.Test(t, func(t *testing.T) { floodBudget(t, m, tt.active) })
		})
	}
}

func floodBudget(t *testing.T, m *memIdP, active func(time.Duration) bool) {
	ks := m.keySet(t)
	defer ks.Close()
	start := time.Now()
	end := start.Add(2 * time.Hour)
	var wg sync.WaitGroup
	var wrong atomic.Int32
	for g := range 4 {
		wg.Go(func() {
			for i := 0; time.Now().Before(end); i++ {
				if active(time.Since(start)) {
					if _, err := ks.Key(context.Background(), fmt.Sprintf("forged-%d-%d", g, i), ""); !errors.Is(err, jwks.ErrUnknownKey) {
						wrong.Add(1)
					}
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
	time.Sleep(50 * time.Minute)
	// Worst case: rotate just after an unknown-kid fetch, when the back-off
	// is longest.
	for n := len(m.missTimes()); len(m.missTimes()) == n; {
		time.Sleep(10 * time.Millisecond)
	}
	kid := m.Rotate(false)
	rotated := time.Now()
	for {
		if _, err := ks.Key(context.Background(), kid, ""); err == nil {
			break
		} else if !errors.Is(err, jwks.ErrUnknownKey) {
			t.Fatalf("new kid during the flood: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	pickedUp := time.Since(rotated)
	wg.Wait()
	if n := wrong.Load(); n != 0 {
		t.Fatalf("%d forged kids not refused as unknown_key", n)
	}
	if pickedUp > 5*time.Second {
		t.Errorf("rotation during the flood picked up after %v, want <= 5s", pickedUp)
	}
	misses := m.missTimes()
	for i := 1; i < len(misses); i++ {
		if d := misses[i].Sub(misses[i-1]); d < time.Second {
			t.Errorf("unknown-kid fetches %d and %d only %v apart", i-1, i, d)
		}
	}
	// The flood's cost: unknown-kid fetches, less the one that published
	// the rotated key (the first and background loads are not counted).
	flood := withoutFirstAfter(misses, rotated)
	most := 0
	for i := range flood {
		n := 0
		for _, u := range flood[i:] {
			if u.Sub(flood[i]) < time.Hour {
				n++
			}
		}
		most = max(most, n)
	}
	if most > 60 {
		t.Errorf("forged kids cost %d fetches within one hour, want <= 60", most)
	}
	times := m.times()
	t.Logf("2 h: %d fetches (%d for unknown kids), at most %d in an hour; rotation picked up after %v",
		len(times), len(misses), most, pickedUp)
}

// withoutFirstAfter returns times without the first one at or after t.
func withoutFirstAfter(times []time.Time, t time.Time) []time.Time {
	for i, u := range times {
		if !u.Before(t) {
			return append(append([]time.Time(nil), times[:i]...), times[i+1:]...)
		}
	}
	return times
}

// BenchmarkUnknownKID is the cost of a token whose kid a refresh did not
// find (the negative cache): what each token of a flood of one forged kid
// costs, with no fetch. The key set's clock stands still, so that the kid
// stays within its absence window (a few seconds) for the whole run.
func BenchmarkUnknownKID(b *testing.B) {
	srv := jwkstest.Start(b)
	m := &memIdP{Server: srv}
	now := time.Now()
	ks, err := jwks.NewKeySet(context.Background(), m.JWKSURL(), func(o *jwks.KeySetOptions) {
		o.HTTPClient = m.client()
		o.Now = func() time.Time { return now }
	})
	if err != nil {
		b.Fatal(err)
	}
	defer ks.Close()
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: m.Issuer(), Keys: ks}}
		o.Audiences = []string{"api://orders"}
		o.Algorithms = []string{"RS256"}
	})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	tok := m.forged("forged")
	if _, err := v.Validate(context.Background(), tok); !errors.Is(err, jwks.ErrUnknownKey) {
		b.Fatal(err)
	}
	n := len(m.times())
	b.Run("Key", func(b *testing.B) {
		b.ReportAllocs()
		reportCPU := benchcpu.Start(b)
		for b.Loop() {
			if _, err := ks.Key(context.Background(), "forged", ""); err == nil {
				b.Fatal("forged kid found")
			}
		}
		reportCPU()
	})
	b.Run("Validate", func(b *testing.B) {
		b.ReportAllocs()
		reportCPU := benchcpu.Start(b)
		for b.Loop() {
			if _, err := v.Validate(context.Background(), tok); err == nil {
				b.Fatal("forged token accepted")
			}
		}
		reportCPU()
	})
	b.Run("ValidateParallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := v.Validate(context.Background(), tok); err == nil {
					b.Error("forged token accepted")
					return
				}
			}
		})
	})
	if got := len(m.times()); got != n {
		b.Fatalf("%d fetches during the benchmark", got-n)
	}
}

// TestUnknownKIDRepeatedForgeries: an attacker who sends each forged kid
// twice passes for a rotation, which the hourly budget does not stop; the
// documented bound still holds: one fetch per 4 s at most once the
// back-off has grown, never two within 1 s.
func TestUnknownKIDRepeatedForgeries(t *testing.T) {
	m := newMemIdP(t)
	synctest.Test(t, func(t *testing.T) {
		ks := m.keySet(t)
		defer ks.Close()
		end := time.Now().Add(time.Hour)
		for i := 0; time.Now().Before(end); i++ {
			kid := fmt.Sprint("forged-", i)
			for range 2 {
				if _, err := ks.Key(context.Background(), kid, ""); !errors.Is(err, jwks.ErrUnknownKey) {
					t.Fatalf("forged kid: %v", err)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		misses := m.missTimes()
		for i := 1; i < len(misses); i++ {
			if d := misses[i].Sub(misses[i-1]); d < time.Second {
				t.Fatalf("unknown-kid fetches %d and %d only %v apart", i-1, i, d)
			}
		}
		if n := len(misses); n > 900+10 {
			t.Fatalf("an hour of repeated forged kids cost %d fetches, want about 900 at most", n)
		}
		t.Logf("an hour of forged kids sent twice each: %d fetches", len(misses))
	})
}

// maxAbsent mirrors the package's bound on how long a kid that a fetch
// did not find is refused without a fetch.
const maxAbsent = 30 * time.Second

// TestKidSeenBeforePublished: tokens of a kid arrive before the IdP
// publishes it (a clock race at a rotation, or an attacker guessing the
// next kid such as key-3). Once published, the key is accepted within as
// long as it had been missing, at least 4 s and at most 30 s: a fetch that
// missed it silences the kid no longer than that. Meanwhile the kid costs
// fetches after 4, 8, 16 s and then one per 30 s, never two within 1 s.
func TestKidSeenBeforePublished(t *testing.T) {
	tests := []struct {
		name  string
		delay time.Duration // from the first token to the publication
		every time.Duration // between two tokens of the kid
		flood bool          // 20 random forged kids a second meanwhile
	}{
		{"clock race, published 200 ms later", 200 * time.Millisecond, 10 * time.Millisecond, false},
		{"published 2 s later", 2 * time.Second, 100 * time.Millisecond, false},
		{"published 10 s later", 10 * time.Second, 100 * time.Millisecond, false},
		{"guessed kid, published 45 s later", 45 * time.Second, 100 * time.Millisecond, false},
		{"guessed kid, published 10 min later", 10 * time.Minute, time.Second, false},
		{"guessed kid, published 2 h later", 2 * time.Hour, time.Second, false},
		{"clock race amid random forged kids", 200 * time.Millisecond, 100 * time.Millisecond, true},
		{"published 45 s later amid random forged kids", 45 * time.Second, 100 * time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inBubble(t, func(t *testing.T, m *memIdP) {
				ks := m.keySet(t)
				defer ks.Close()
				m.hold()
				kid := m.Rotate(false)
				start := time.Now()
				done := make(chan struct{})
				var wg sync.WaitGroup
				if tt.flood {
					wg.Go(func() {
						for i := 0; ; i++ {
							select {
							case <-done:
								return
							case <-time.After(50 * time.Millisecond):
							}
							if _, err := ks.Key(context.Background(), fmt.Sprint("random-", i), ""); !errors.Is(err, jwks.ErrUnknownKey) {
								t.Errorf("random forged kid: %v", err)
							}
						}
					})
				}
				refused := refusedAfterPublishing(t, ks, m, kid, start.Add(tt.delay), tt.every, maxAbsent+time.Minute)
				close(done)
				wg.Wait()
				bound := min(max(tt.delay, 4*time.Second), maxAbsent) + tt.every
				if tt.flood {
					bound += 4 * time.Second // the wait of a repeated kid after other kids' fetches
				}
				if refused > bound {
					t.Errorf("published key refused for %v, want <= %v", refused, bound)
				}
				misses := m.missTimes()
				checkApart(t, misses)
				// 0, 4, 8, 16 and 32 s, then one per 30 s (and a little more).
				if most := 5 + int(tt.delay/maxAbsent) + 1; !tt.flood && len(misses) > most {
					t.Errorf("%d fetches for the kid, want <= %d", len(misses), most)
				}
				t.Logf("published %v after the first token: refused %v after publication, %d fetches", tt.delay, refused, len(misses))
			})
		})
	}
}

// TestKidPublishedByBackgroundRefresh: a background refresh that publishes
// a kid known absent makes it valid at once, without an unknown-kid fetch.
func TestKidPublishedByBackgroundRefresh(t *testing.T) {
	inBubble(t, func(t *testing.T, m *memIdP) {
		ks := m.keySet(t, func(o *jwks.KeySetOptions) {
			o.MinRefreshInterval, o.MaxRefreshInterval = 20*time.Second, 20*time.Second
		})
		defer ks.Close()
		m.hold()
		kid := m.Rotate(false)
		// A minute of tokens: the kid is now refused for 30 s after each
		// fetch that misses it, background refreshes included, so that
		// with one every 20 s it no longer causes fetches of its own.
		for end := time.Now().Add(time.Minute); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
			if _, err := ks.Key(context.Background(), kid, ""); !errors.Is(err, jwks.ErrUnknownKey) {
				t.Fatalf("kid not yet published: %v", err)
			}
		}
		// Publish right after a fetch missed it, when it is refused longest.
		for n := len(m.times()); len(m.times()) == n; time.Sleep(100 * time.Millisecond) {
			if _, err := ks.Key(context.Background(), kid, ""); !errors.Is(err, jwks.ErrUnknownKey) {
				t.Fatalf("kid not yet published: %v", err)
			}
		}
		synctest.Wait()
		m.publish()
		published, misses, fetches := time.Now(), len(m.missTimes()), len(m.times())
		for {
			if _, err := ks.Key(context.Background(), kid, ""); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if n := len(m.missTimes()); n != misses {
			t.Errorf("%d unknown-kid fetches after the publication, want 0", n-misses)
		}
		if n := len(m.times()); n != fetches+1 {
			t.Errorf("%d fetches after the publication, want the 1 background refresh", n-fetches)
		}
		if d := time.Since(published); d > 20*time.Second+100*time.Millisecond {
			t.Errorf("published key accepted %v after the publication, want within the 20 s refresh period", d)
		}
	})
}

// TestUnknownKIDOneForgedKid: an hour of one forged kid, 100 tokens a
// second, costs one fetch per 30 s once its absence window has grown, far
// under the documented bound of one per 4 s for repeated kids. Amid 50
// random forged kids a second, which evict it from the table now and then
// (each eviction starts its window again from 4 s), the documented bounds
// still hold: one fetch per 4 s for it, 60 an hour for the random ones,
// never two within 1 s.
func TestUnknownKIDOneForgedKid(t *testing.T) {
	tests := []struct {
		name    string
		random  bool          // random kids between the forged kid's tokens
		senders int           // goroutines sending the forged kid
		latency time.Duration // of a JWKS fetch
	}{
		{"alone", false, 1, 0},
		// Tokens arrive while the kid's fetch is in flight.
		{"from 4 senders, fetches take 300 ms", false, 4, 300 * time.Millisecond},
		{"amid random kids", true, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inBubble(t, func(t *testing.T, m *memIdP) {
				m.latency = tt.latency
				ks := m.keySet(t)
				defer ks.Close()
				end := time.Now().Add(time.Hour)
				var wg sync.WaitGroup
				for range tt.senders {
					wg.Go(func() {
						for i := 0; time.Now().Before(end); i++ {
							kid := "key-3"
							if tt.random && i%2 == 1 {
								kid = fmt.Sprint("random-", i)
							}
							if _, err := ks.Key(context.Background(), kid, ""); !errors.Is(err, jwks.ErrUnknownKey) {
								t.Errorf("forged kid: %v", err)
								return
							}
							time.Sleep(10 * time.Millisecond)
						}
					})
				}
				wg.Wait()
				misses := m.missTimes()
				checkApart(t, misses)
				most := 5 + int(time.Hour/maxAbsent) + 2 // +2: a background refresh, timed at random
				if tt.random {
					most = int(time.Hour/(4*time.Second)) + 60
				}
				if len(misses) > most {
					t.Errorf("an hour of one forged kid cost %d fetches, want <= %d", len(misses), most)
				}
				t.Logf("an hour: %d fetches", len(misses))
			})
		})
	}
}

// checkApart fails if two unknown-kid fetches were less than
// UnknownKIDInterval apart.
func checkApart(t *testing.T, misses []time.Time) {
	t.Helper()
	for i := 1; i < len(misses); i++ {
		if d := misses[i].Sub(misses[i-1]); d < jwks.DefaultUnknownKIDInterval {
			t.Errorf("unknown-kid fetches %d and %d only %v apart", i-1, i, d)
		}
	}
}

// inBubble runs fn in a synctest bubble with a fresh memIdP, started
// outside it.
func inBubble(t *testing.T, fn func(t *testing.T, m *memIdP)) {
	m := newMemIdP(t)
	synctest.Test(t, func(t *testing.T) { fn(t, m) })
}

// TestUnknownKIDAttackPatterns: an hour of forged kids sent in the
// patterns that play the kid table against the fetch limits (two kids in
// turn, each kid twice, a pool larger than the table sent over and over,
// one persistent kid amid a pool) never costs more than the documented
// bound for repeated kids (one fetch per 4 s) plus the hourly budget of
// kids seen once, nor two fetches within UnknownKIDInterval.
func TestUnknownKIDAttackPatterns(t *testing.T) {
	tests := []struct {
		name string
		kid  func(i int) string
	}{
		{"two kids in turn", func(i int) string { return fmt.Sprint("k", i%2) }},
		{"each kid twice", func(i int) string { return fmt.Sprint("k", i/2) }},
		{"pool of 3000 over and over", func(i int) string { return fmt.Sprint("k", i%3000) }},
		{"pool of 100 over and over", func(i int) string { return fmt.Sprint("k", i%100) }},
		{"one kid amid a pool of 5000", func(i int) string {
			if i%2 == 0 {
				return "key-3"
			}
			return fmt.Sprint("k", (i/2)%5000)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inBubble(t, func(t *testing.T, m *memIdP) {
				ks := m.keySet(t)
				defer ks.Close()
				end := time.Now().Add(time.Hour)
				for i := 0; time.Now().Before(end); i++ {
					if _, err := ks.Key(context.Background(), tt.kid(i), ""); !errors.Is(err, jwks.ErrUnknownKey) {
						t.Fatalf("forged kid: %v", err)
					}
					time.Sleep(10 * time.Millisecond)
				}
				misses := m.missTimes()
				checkApart(t, misses)
				if most := int(time.Hour/(4*time.Second)) + 60; len(misses) > most {
					t.Errorf("an hour cost %d fetches, want <= %d", len(misses), most)
				}
				t.Logf("an hour: %d fetches", len(misses))
			})
		})
	}
}

// TestKidAmidHugeFlood: a real kid that makes up less than 1/2048 of the
// unknown kids (here one token every 5 s amid 2,000 distinct forged kids
// a second) is evicted from the kid table between its tokens, so it is
// never a repeated kid; it is picked up by the next refresh the forged
// kids cause, at most the 2-minute back-off after publication, as the
// package documentation says (not the 34 s of a kid that is remembered).
func TestKidAmidHugeFlood(t *testing.T) {
	inBubble(t, func(t *testing.T, m *memIdP) {
		ks := m.keySet(t)
		defer ks.Close()
		m.hold()
		kid := m.Rotate(false)
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				case <-time.After(10 * time.Millisecond):
				}
				for j := range 20 {
					if _, err := ks.Key(context.Background(), fmt.Sprint("random-", i, "-", j), ""); !errors.Is(err, jwks.ErrUnknownKey) {
						t.Errorf("random forged kid: %v", err)
						return
					}
				}
			}
		})
		// Published once the back-off is at its cap.
		refused := refusedAfterPublishing(t, ks, m, kid, time.Now().Add(5*time.Minute), 5*time.Second, time.Hour)
		close(done)
		wg.Wait()
		checkApart(t, m.missTimes())
		if bound := 2*time.Minute + 6*time.Second; refused > bound { // + a token interval and a wait
			t.Errorf("published key refused for %v amid the flood, want <= %v", refused, bound)
		}
		t.Logf("refused %v after publication, %d fetches", refused, len(m.missTimes()))
	})
}

// refusedAfterPublishing asks ks for kid every interval, publishes m's key
// at publishAt, and returns how long the key was still refused after that.
// It fails the test on any error other than an unknown key, or when the
// key is still refused giveUp after it was published.
func refusedAfterPublishing(t *testing.T, ks *jwks.RemoteKeySet, m *memIdP, kid string, publishAt time.Time, every, giveUp time.Duration) time.Duration {
	t.Helper()
	var published time.Time
	for {
		if published.IsZero() && !time.Now().Before(publishAt) {
			m.publish()
			published = time.Now()
		}
		_, err := ks.Key(context.Background(), kid, "")
		if err == nil {
			return time.Since(published)
		}
		if !errors.Is(err, jwks.ErrUnknownKey) {
			t.Fatalf("kid not yet published: %v", err)
		}
		if !published.IsZero() && time.Since(published) > giveUp {
			t.Fatalf("published key still refused after %v", giveUp)
		}
		time.Sleep(every)
	}
}
