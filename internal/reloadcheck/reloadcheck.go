// Package reloadcheck lets middleware's guard refuse an rbac policy reload
// that would break it — a route requiring a permission, role or scope the
// new policy no longer declares, or an issuer the validator trusts that it
// drops — without a public method on rbac.Policy whose only user is
// middleware: rbac registers, when it is initialized, how to find a
// policy's checks and its reload lock, as selfaudit's validators do.
package reloadcheck

import (
	"errors"
	"fmt"
	"sync"

	"github.com/idbridge/idbridge/internal/reason"
)

// Check inspects a policy about to replace the current one and returns an
// error to refuse it. candidate answers what the new policy declares
// (rbac.Policy's Declared and TrustsIssuer); it is never swapped in if a
// check refuses it.
type Check func(candidate any) error

// Set is the checks of one policy. The zero Set is empty and ready.
type Set struct {
	mu     sync.Mutex
	next   uint64
	checks []entry
}

type entry struct {
	id uint64
	c  Check
}

// Add registers c and returns the function that removes it again.
func (s *Set) Add(c Check) (remove func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.next
	s.next++
	s.checks = append(s.checks, entry{id, c})
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, e := range s.checks {
			if e.id == id {
				s.checks = append(s.checks[:i], s.checks[i+1:]...)
				return
			}
		}
	}
}

// Len is the number of checks registered.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.checks)
}

// Run runs every check on candidate, in the order they were added, and
// joins their errors.
func (s *Set) Run(candidate any) error {
	s.mu.Lock()
	checks := append([]entry(nil), s.checks...)
	s.mu.Unlock()
	var errs []error
	for _, e := range checks {
		if err := run(e.c, candidate); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ErrPanicked is the refusal of a check that panicked: the reload is
// refused, and recorded as such, instead of taking the process down. Its
// class is that of the guard's own refusals (middleware.ErrMisconfigured).
var ErrPanicked = reason.New(reason.Forbidden, "a policy reload check panicked")

func run(c Check, candidate any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrPanicked, r)
		}
	}()
	return c(candidate)
}

// of is registered by rbac; see Of.
var of func(policy any) (*Set, func(fn func()))

// Register sets the function that finds the checks of a policy and runs a
// function under its reload lock. Call it from an init function.
func Register(fn func(policy any) (checks *Set, locked func(fn func()))) { of = fn }

// Of returns the checks of policy and a function that runs fn while no
// reload of policy can swap a policy in, or nil, nil for a policy that
// does not reload (not an *rbac.Policy).
func Of(policy any) (checks *Set, locked func(fn func())) {
	if of == nil {
		return nil, nil
	}
	return of(policy)
}
