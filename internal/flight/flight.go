// Package flight merges concurrent calls: however many callers ask for the
// same thing while it is being computed, it is computed once and they all
// get the result. Unlike x/sync/singleflight, each caller waits only until
// its own context ends; the call itself goes on for the others, detached
// from every caller's cancellation, so that one caller who gives up does
// not fail the rest.
//
// [Call] is one computation that callers wait on, for owners that keep
// their own bookkeeping under their own lock (token.Cache, jwks key sets);
// [Group] keys calls and starts them, for owners that need nothing more
// (token.Introspector).
package flight

import (
	"context"
	"errors"
	"sync"
)

// ErrClosed is returned by [Group.Do] after [Group.Close]. Callers wrap or
// replace it with their own classed error.
var ErrClosed = errors.New("flight: closed")

// Call is one computation that any number of callers wait on. The zero
// value is not usable: create it with [NewCall].
type Call[V any] struct {
	done chan struct{}
	val  V
	err  error
}

// NewCall returns a call that has not finished.
func NewCall[V any]() *Call[V] { return &Call[V]{done: make(chan struct{})} }

// Finish records the result and releases every waiter. It must be called
// exactly once.
func (c *Call[V]) Finish(v V, err error) {
	c.val, c.err = v, err
	close(c.done)
}

// Done is closed when the call has finished.
func (c *Call[V]) Done() <-chan struct{} { return c.done }

// Result returns the result of a finished call; before Done is closed it
// returns the zero value and nil.
func (c *Call[V]) Result() (V, error) {
	select {
	case <-c.done:
		return c.val, c.err
	default:
		var zero V
		return zero, nil
	}
}

// Wait returns the call's result once it has finished, or ctx.Err() (not
// wrapped) as soon as ctx ends, whichever comes first. A result that is
// already there wins over an ended ctx.
func (c *Call[V]) Wait(ctx context.Context) (V, error) {
	select {
	case <-c.done:
		return c.val, c.err
	default:
	}
	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

// Group merges calls by key. Its zero value is ready to use; it must not be
// copied after first use.
type Group[K comparable, V any] struct {
	mu     sync.Mutex
	calls  map[K]*Call[V] // guarded by mu
	closed bool           // guarded by mu
	wg     sync.WaitGroup
}

// Do returns the result of fn for key. If a call for key is in flight it
// waits for that one instead; otherwise it starts fn in a new goroutine.
// fn runs detached from ctx (it must bound itself), and the key is
// forgotten only after fn has returned, so that fn can publish its result
// (in a cache, say) before a new call for the key may start. Do returns
// early with ctx.Err() when ctx ends, and [ErrClosed] after Close.
func (g *Group[K, V]) Do(ctx context.Context, key K, fn func() (V, error)) (V, error) {
	if err := ctx.Err(); err != nil {
		var zero V
		return zero, err
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		var zero V
		return zero, ErrClosed
	}
	c := g.calls[key]
	if c == nil {
		if g.calls == nil {
			g.calls = map[K]*Call[V]{}
		}
		c = NewCall[V]()
		g.calls[key] = c
		g.wg.Add(1)
		go g.run(key, c, fn)
	}
	g.mu.Unlock()
	return c.Wait(ctx)
}

func (g *Group[K, V]) run(key K, c *Call[V], fn func() (V, error)) {
	defer g.wg.Done()
	v, err := fn()
	g.mu.Lock()
	delete(g.calls, key)
	g.mu.Unlock()
	c.Finish(v, err)
}

// Close makes later calls of Do fail with [ErrClosed] and waits for the
// calls in flight to return. Cancelling them is the owner's job (their
// functions should watch a context the owner cancels before Close).
func (g *Group[K, V]) Close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.wg.Wait()
}
