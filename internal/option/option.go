// Package option holds the defaulting and clamping rules every idbridge
// constructor applies to its options, so that sibling knobs mean the same
// thing everywhere: a zero value means "the default", a negative
// duration, size or count means "off", and a value past its bound is
// clamped to the bound rather than refused.
//
// Apply holds the other half of the contract: option functions edit a
// copy of the defaults, and a nil one is ignored.
package option

import "cmp"

// Number is what Limit and Clamp work on: integers, floats and
// time.Duration.
type Number interface {
	~int | ~int32 | ~int64 | ~float64
}

// Apply calls each non-nil fn on o, in order.
func Apply[O any](o *O, fns []func(*O)) {
	for _, fn := range fns {
		if fn != nil {
			fn(o)
		}
	}
}

// New returns a zero O edited by fns (nil ones ignored).
func New[O any](fns []func(*O)) O {
	var o O
	Apply(&o, fns)
	return o
}

// Default sets *v to d when *v is the zero value.
func Default[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// Limit applies the zero/negative rule to a TTL, timeout, size or count:
// zero becomes def, negative becomes 0 ("off"), and a positive value is
// clamped to max when max is positive. It reports whether the knob is on
// (the result is positive).
func Limit[T Number](v *T, def, max T) (on bool) {
	switch {
	case *v == 0:
		*v = def
	case *v < 0:
		*v = 0
	}
	if max > 0 && *v > max {
		*v = max
	}
	return *v > 0
}

// Clamp bounds *v to [lo, hi].
func Clamp[T cmp.Ordered](v *T, lo, hi T) {
	*v = min(max(*v, lo), hi)
}

// Positive sets *v to def unless it is positive: for a knob that cannot
// be turned off (a timeout without which a request could hang forever, a
// minimum backoff).
func Positive[T Number](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}
