package flight

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestGroupMergesConcurrentCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g Group[string, int]
		var calls atomic.Int32
		release := make(chan struct{})
		fn := func() (int, error) {
			calls.Add(1)
			<-release
			return 42, nil
		}
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				v, err := g.Do(context.Background(), "k", fn)
				if v != 42 || err != nil {
					t.Errorf("Do = %d, %v", v, err)
				}
			})
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		if n := calls.Load(); n != 1 {
			t.Fatalf("fn ran %d times, want 1", n)
		}
		// The key is forgotten once the call has returned.
		if v, _ := g.Do(context.Background(), "k", func() (int, error) { return 7, nil }); v != 7 {
			t.Fatalf("second Do = %d, want a new call", v)
		}
	})
}

func TestGroupKeysAreIndependent(t *testing.T) {
	var g Group[int, int]
	for k := range 3 {
		if v, err := g.Do(context.Background(), k, func() (int, error) { return k * 10, nil }); v != k*10 || err != nil {
			t.Fatalf("Do(%d) = %d, %v", k, v, err)
		}
	}
}

func TestCallerContextEndsOnlyItsWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g Group[string, string]
		release := make(chan struct{})
		boom := errors.New("boom")
		fn := func() (string, error) {
			<-release
			return "v", boom
		}
		ctx, cancel := context.WithCancel(context.Background())
		impatient := make(chan error, 1)
		go func() {
			_, err := g.Do(ctx, "k", fn)
			impatient <- err
		}()
		patient := make(chan error, 1)
		go func() {
			v, err := g.Do(context.Background(), "k", fn)
			if v != "v" {
				t.Errorf("patient got %q", v)
			}
			patient <- err
		}()
		synctest.Wait()
		cancel()
		if err := <-impatient; !errors.Is(err, context.Canceled) {
			t.Fatalf("impatient caller: %v, want context.Canceled", err)
		}
		close(release)
		if err := <-patient; !errors.Is(err, boom) {
			t.Fatalf("patient caller: %v, want the call's error", err)
		}
	})
}

func TestDoWithEndedContext(t *testing.T) {
	var g Group[string, int]
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	if _, err := g.Do(ctx, "k", func() (int, error) { ran = true; return 0, nil }); !errors.Is(err, context.Canceled) || ran {
		t.Fatalf("Do with ended ctx: %v, ran %v", err, ran)
	}
}

func TestCloseWaitsAndRefuses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g Group[string, int]
		ctx, cancel := context.WithCancel(context.Background())
		finished := atomic.Bool{}
		go g.Do(context.Background(), "k", func() (int, error) {
			<-ctx.Done()
			time.Sleep(time.Second)
			finished.Store(true)
			return 0, nil
		})
		synctest.Wait()
		cancel()
		g.Close()
		if !finished.Load() {
			t.Fatal("Close returned before the call in flight")
		}
		if _, err := g.Do(context.Background(), "k", func() (int, error) { return 1, nil }); !errors.Is(err, ErrClosed) {
			t.Fatalf("Do after Close: %v", err)
		}
	})
}

func TestCall(t *testing.T) {
	c := NewCall[int]()
	if v, err := c.Result(); v != 0 || err != nil {
		t.Fatalf("Result before Finish = %d, %v", v, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with ended ctx: %v", err)
	}
	c.Finish(3, nil)
	// A finished call wins over an ended context.
	if v, err := c.Wait(ctx); v != 3 || err != nil {
		t.Fatalf("Wait after Finish = %d, %v", v, err)
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Done not closed")
	}
}

// BenchmarkGroupDo measures a call that is merged with others in flight:
// the cost each waiter pays (lock, map lookup, channel wait).
func BenchmarkGroupDo(b *testing.B) {
	var g Group[int, int]
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			_, _ = g.Do(ctx, 1, func() (int, error) { return 1, nil })
		}
	})
}
