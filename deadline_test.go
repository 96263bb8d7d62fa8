package sessions

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/store/memstore"
)

// waitingStore is a memory store behind a type the manager does not know,
// so its calls are bounded like a network store's.
type waitingStore struct{ store.Store }

func newBoundedManager(t *testing.T, timeout time.Duration) *Manager[struct{ N int }] {
	t.Helper()
	ms, err := memstore.New()
	if err != nil {
		t.Fatal(err)
	}
	m, err := New[struct{ N int }](WithStore(waitingStore{ms}), WithStoreTimeout(timeout))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.Close()
		ms.Close()
	})
	return m
}

// endsAt checks that ctx is not done just before at and is done, with err,
// at at (on the bubble's clock).
func endsAt(t *testing.T, name string, ctx context.Context, at time.Time, want error) {
	t.Helper()
	time.Sleep(time.Until(at) - time.Nanosecond)
	synctest.Wait()
	if err := ctx.Err(); err != nil {
		t.Errorf("%s: done %v early: %v", name, time.Until(at), err)
	}
	time.Sleep(time.Nanosecond)
	synctest.Wait()
	select {
	case <-ctx.Done():
	default:
		t.Fatalf("%s: not done at its deadline", name)
	}
	if err := ctx.Err(); !errors.Is(err, want) {
		t.Errorf("%s: Err = %v, want %v", name, err, want)
	}
}

// Every store call ends at the store timeout, at most one step late and
// never early, whatever its parent context; a parent's earlier deadline
// and a parent's cancellation end it sooner.
func TestStoreContextBoundsEveryParent(t *testing.T) {
	const timeout = 640 * time.Millisecond
	step := timeout / deadlineSteps
	synctest.Test(t, func(t *testing.T) {
		m := newBoundedManager(t, timeout)
		time.Sleep(3 * time.Millisecond) // off the step grid

		for _, c := range []struct {
			name   string
			parent func() context.Context
		}{
			{"background", context.Background},
			{"detached", func() context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				t.Cleanup(cancel)
				return context.WithoutCancel(ctx)
			}},
			{"cancellable", func() context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				t.Cleanup(cancel)
				return ctx
			}},
			{"later deadline", func() context.Context {
				ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
				t.Cleanup(cancel)
				return ctx
			}},
		} {
			start := time.Now()
			ctx, cancel := m.storeContext(c.parent())
			d, ok := ctx.Deadline()
			if !ok || d.Before(start.Add(timeout)) || d.After(start.Add(timeout+step)) {
				t.Errorf("%s: deadline %v after the call, want %v plus at most %v", c.name, d.Sub(start), timeout, step)
			}
			endsAt(t, c.name, ctx, d, context.DeadlineExceeded)
			cancel()
		}

		parent, cancelParent := context.WithTimeout(context.Background(), timeout/2)
		defer cancelParent()
		ctx, cancel := m.storeContext(parent)
		d, _ := ctx.Deadline()
		if want, _ := parent.Deadline(); !d.Equal(want) {
			t.Errorf("earlier parent deadline: %v, want the parent's %v", d, want)
		}
		endsAt(t, "earlier deadline", ctx, d, context.DeadlineExceeded)
		cancel()

		parent, cancelParent = context.WithCancel(context.Background())
		ctx, cancel = m.storeContext(parent)
		defer cancel()
		time.Sleep(time.Millisecond)
		cancelParent()
		synctest.Wait()
		if err := ctx.Err(); !errors.Is(err, context.Canceled) {
			t.Errorf("parent cancelled: store call context %v, want Canceled at once", err)
		}
	})
}

// Calls that cannot be cancelled share a step's channel: the pending
// timers are bounded by the steps in one timeout, and fired steps go.
func TestDeadlineClockSharesAndForgetsSteps(t *testing.T) {
	const timeout = 640 * time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		m := newBoundedManager(t, timeout)
		var first <-chan struct{}
		for i := range 1000 {
			ctx, cancel := m.storeContext(context.Background())
			if i == 0 {
				first = ctx.Done()
			} else if ctx.Done() != first {
				t.Fatalf("call %d at the same instant got a channel of its own", i)
			}
			cancel()
		}
		for range 5 * deadlineSteps {
			m.storeContext(context.Background())
			time.Sleep(timeout / deadlineSteps / 2)
		}
		m.deadlines.(*deadlineClock).mu.Lock()
		pending := len(m.deadlines.(*deadlineClock).ticks)
		m.deadlines.(*deadlineClock).mu.Unlock()
		if pending > deadlineSteps+1 {
			t.Errorf("%d pending steps, want at most %d", pending, deadlineSteps+1)
		}
		time.Sleep(2 * timeout)
		synctest.Wait()
		m.deadlines.(*deadlineClock).mu.Lock()
		pending = len(m.deadlines.(*deadlineClock).ticks)
		m.deadlines.(*deadlineClock).mu.Unlock()
		if pending != 0 {
			t.Errorf("%d steps still pending after their time", pending)
		}
	})
}

// Close ends the calls waiting on the clock and stops its timers; calls
// after Close are still bounded.
func TestDeadlineClockClose(t *testing.T) {
	const timeout = time.Second
	synctest.Test(t, func(t *testing.T) {
		m := newBoundedManager(t, timeout)
		waiting, cancel := m.storeContext(context.Background())
		defer cancel()
		m.Close()
		synctest.Wait()
		if err := waiting.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("call waiting at Close: %v, want DeadlineExceeded", err)
		}
		if n := len(m.deadlines.(*deadlineClock).ticks); n != 0 {
			t.Errorf("%d timers pending after Close", n)
		}
		start := time.Now()
		after, cancel := m.storeContext(context.Background())
		defer cancel()
		d, ok := after.Deadline()
		if !ok || d.Sub(start) != timeout {
			t.Errorf("call after Close: deadline %v, %v; want %v", d.Sub(start), ok, timeout)
		}
		endsAt(t, "after Close", after, d, context.DeadlineExceeded)
	})
}

// A store call under a context that cannot be cancelled costs one small
// allocation, not a timer.
func TestStoreContextAllocations(t *testing.T) {
	m := newBoundedManager(t, time.Minute)
	ctx := context.Background()
	if n := testing.AllocsPerRun(1000, func() {
		_, cancel := m.storeContext(ctx)
		cancel()
	}); n > 1 {
		t.Errorf("%v allocations per store call context, want at most 1", n)
	}
}

// A call's channel closes at the first step end at or after its deadline:
// less than one step late, wherever in a step the deadline falls; the
// clock remembers the latest step for the calls that follow.
func TestDeadlineClockRoundsUpToTheStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const step = 10 * time.Millisecond
		c := newDeadlineClock(deadlineSteps * step)
		defer c.close()
		for _, off := range []time.Duration{0, time.Nanosecond, step / 2, step - time.Nanosecond, step} {
			deadline := c.base.Add(64*step + off)
			tk := c.tick(deadline)
			if late := tk.at.Sub(deadline); late < 0 || late >= step {
				t.Errorf("deadline %v into a step: closes %v after it, want within [0, %v)", off, late, step)
			}
			if l := c.latest.Load(); l != tk {
				t.Errorf("deadline %v into a step: the latest step is %v, want the one just handed out (%v)", off, l.at.Sub(c.base), tk.at.Sub(c.base))
			}
		}
	})
}
