package reloadcheck

import (
	"errors"
	"testing"

	"github.com/idbridge/idbridge/internal/reason"
)

func TestSet(t *testing.T) {
	var s Set
	errA, errB := errors.New("a"), errors.New("b")
	removeA := s.Add(func(any) error { return errA })
	s.Add(func(c any) error {
		if c != "candidate" {
			t.Errorf("check got %v", c)
		}
		return nil
	})
	removeC := s.Add(func(any) error { return errB })
	if err := s.Run("candidate"); !errors.Is(err, errA) || !errors.Is(err, errB) || err.Error() != "a\nb" {
		t.Fatalf("Run = %v, want a and b in order", err)
	}
	removeA()
	removeA() // idempotent
	if err := s.Run("candidate"); errors.Is(err, errA) || !errors.Is(err, errB) {
		t.Fatalf("Run after removing a = %v", err)
	}
	removeC()
	if err := s.Run("candidate"); err != nil || s.Len() != 1 {
		t.Fatalf("Run = %v with %d checks, want nil with 1", err, s.Len())
	}
}

// TestPanickingCheckRefuses: a check that panics refuses the candidate
// with ErrPanicked (class forbidden); the other checks still run.
func TestPanickingCheckRefuses(t *testing.T) {
	var s Set
	ran := false
	s.Add(func(any) error { panic("boom") })
	s.Add(func(any) error { ran = true; return nil })
	err := s.Run("candidate")
	if !errors.Is(err, ErrPanicked) || reason.Of(err) != reason.Forbidden {
		t.Fatalf("Run = %v (class %q), want ErrPanicked of class forbidden", err, reason.Of(err))
	}
	if !ran {
		t.Error("the check after the panicking one did not run")
	}
}
