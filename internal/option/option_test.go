package option

import (
	"testing"
	"time"
)

func TestApplyIgnoresNil(t *testing.T) {
	type opts struct{ A, B int }
	o := New([]func(*opts){nil, func(o *opts) { o.A = 1 }, nil, func(o *opts) { o.B = o.A + 1 }})
	if o != (opts{1, 2}) {
		t.Fatalf("New = %+v", o)
	}
}

func TestDefault(t *testing.T) {
	s := ""
	Default(&s, "x")
	n := 3
	Default(&n, 7)
	if s != "x" || n != 3 {
		t.Fatalf("Default: %q %d", s, n)
	}
}

func TestLimit(t *testing.T) {
	for _, tt := range []struct {
		in, def, max, want time.Duration
		on                 bool
	}{
		{0, time.Minute, time.Hour, time.Minute, true},
		{-1, time.Minute, time.Hour, 0, false},
		{2 * time.Hour, time.Minute, time.Hour, time.Hour, true},
		{2 * time.Hour, time.Minute, 0, 2 * time.Hour, true},
		{time.Second, time.Minute, time.Hour, time.Second, true},
		{0, 0, time.Hour, 0, false},
	} {
		v := tt.in
		if on := Limit(&v, tt.def, tt.max); v != tt.want || on != tt.on {
			t.Errorf("Limit(%v, %v, %v) = %v, %v; want %v, %v", tt.in, tt.def, tt.max, v, on, tt.want, tt.on)
		}
	}
	f := 1.5
	if Limit(&f, 0.2, 1); f != 1 {
		t.Errorf("float clamp: %v", f)
	}
}

func TestClampAndPositive(t *testing.T) {
	f := -0.5
	Clamp(&f, 0, 1)
	d := -time.Second
	Positive(&d, 30*time.Second)
	if f != 0 || d != 30*time.Second {
		t.Fatalf("Clamp %v Positive %v", f, d)
	}
}
