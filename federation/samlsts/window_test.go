package samlsts

import (
	"testing"
	"time"
)

// The refresh window means what token.Renewal.RefreshWindow means.
func TestWindow(t *testing.T) {
	for _, tt := range []struct {
		set, life, want time.Duration
	}{
		{0, time.Hour, 6 * time.Minute},        // a tenth of the session
		{0, 20 * time.Minute, 5 * time.Minute}, // at least 5 minutes
		{0, 4 * time.Minute, 2 * time.Minute},  // at most half the session
		{10 * time.Minute, time.Hour, 10 * time.Minute},
		{time.Hour, time.Hour, 30 * time.Minute},
		{0, -time.Minute, 0},
	} {
		r := &retriever{o: Options{RefreshWindow: tt.set}}
		if got := r.window(tt.life); got != tt.want {
			t.Errorf("RefreshWindow %v, session %v: window %v, want %v", tt.set, tt.life, got, tt.want)
		}
	}
	r := &retriever{o: Options{RefreshJitter: 1}}
	for range 100 {
		if w := r.window(time.Hour); w < 6*time.Minute || w > 12*time.Minute {
			t.Fatalf("jittered window %v", w)
		}
	}
}
