package backoff

import (
	"net/http"
	"testing"
	"time"
)

func TestStep(t *testing.T) {
	p := Policy{Min: time.Second, Max: 10 * time.Second}
	for _, tt := range []struct {
		failures int
		want     time.Duration
	}{{0, time.Second}, {1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {4, 8 * time.Second}, {5, 10 * time.Second}, {1000, 10 * time.Second}} {
		if got := p.Step(tt.failures); got != tt.want {
			t.Errorf("Step(%d) = %v, want %v", tt.failures, got, tt.want)
		}
	}
	if got := (Policy{Min: 5 * time.Second, Max: time.Second}).Step(3); got != 5*time.Second {
		t.Errorf("Max below Min: Step = %v, want Min", got)
	}
}

func TestDelayJitterAndRetryAfter(t *testing.T) {
	p := Policy{Min: time.Second, Max: time.Minute}
	for failures := 1; failures < 10; failures++ {
		step := p.Step(failures)
		for range 100 {
			if d := p.Delay(failures, 0); d < step/2 || d > step {
				t.Fatalf("Delay(%d) = %v outside [%v, %v]", failures, d, step/2, step)
			}
		}
	}
	if d := p.Delay(1, 30*time.Second); d != 30*time.Second {
		t.Errorf("Retry-After longer than the step: %v", d)
	}
	if d := p.Delay(1, 48*time.Hour); d != MaxRetryAfter {
		t.Errorf("Retry-After is capped: %v", d)
	}
	if d := (Policy{}).Delay(3, 0); d != 0 {
		t.Errorf("zero policy: %v", d)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"  ", 0}, {"0", 0}, {"-5", 0}, {"garbage", 0},
		{"120", 2 * time.Minute}, {" 7 ", 7 * time.Second},
		{"999999999999", MaxRetryAfter},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{now.Add(72 * time.Hour).Format(http.TimeFormat), MaxRetryAfter},
	} {
		if got := RetryAfter(tt.in, now); got != tt.want {
			t.Errorf("RetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
