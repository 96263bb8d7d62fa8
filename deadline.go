package sessions

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// deadlineSteps is how finely a deadlineClock divides the store timeout:
// a store call it bounds may run up to 1/deadlineSteps of the timeout
// longer (never shorter).
const deadlineSteps = 64

// A deadlineClock bounds store calls whose context can never be cancelled
// (the detached save after a response, a background context) without a
// timer of their own: calls whose deadlines fall in the same step share
// one channel, closed by one timer when the step ends. A call under a
// context that can be cancelled needs its own channel, and gets
// context.WithDeadline.
type deadlineClock struct {
	base   time.Time     // step n ends at base + n*step (monotonic)
	step   time.Duration // at least a millisecond
	latest atomic.Pointer[deadlineTick]

	mu     sync.Mutex
	ticks  map[int64]*deadlineTick // pending, by step number
	closed bool
}

// A deadlineTick is the end of one step.
type deadlineTick struct {
	n     int64 // step number
	at    time.Time
	done  chan struct{} // closed at at
	timer *time.Timer
}

// A storeClock is a deadlineClock behind an interface. The memory store
// never waits and needs none: only WithStore and WithManagedStore, the
// options of the stores that may, give the config newStoreClock, so a
// memory-only program links none of the clock.
type storeClock interface {
	tick(deadline time.Time) *deadlineTick
	bound(ctx context.Context, deadline time.Time) context.Context
	close()
}

// newStoreClock is the config's newClock for the stores that may wait.
func newStoreClock(timeout time.Duration) storeClock { return newDeadlineClock(timeout) }

func newDeadlineClock(timeout time.Duration) *deadlineClock {
	return &deadlineClock{
		base:  time.Now(),
		step:  max(timeout/deadlineSteps, time.Millisecond),
		ticks: make(map[int64]*deadlineTick),
	}
}

// tick returns the first step end at or after deadline, or nil once the
// clock is closed.
func (c *deadlineClock) tick(deadline time.Time) *deadlineTick {
	n := int64((deadline.Sub(c.base) + c.step - 1) / c.step)
	if t := c.latest.Load(); t != nil && t.n == n {
		return t
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	t := c.ticks[n]
	if t == nil {
		t = &deadlineTick{n: n, at: c.base.Add(time.Duration(n) * c.step), done: make(chan struct{})}
		t.timer = time.AfterFunc(time.Until(t.at), func() { c.fire(t) })
		c.ticks[n] = t
	}
	if l := c.latest.Load(); l == nil || n > l.n {
		c.latest.Store(t)
	}
	return t
}

// bound returns ctx, a context that can never be cancelled, bounded by
// the first step end at or after deadline; nil once the clock is closed.
func (c *deadlineClock) bound(ctx context.Context, deadline time.Time) context.Context {
	if t := c.tick(deadline); t != nil {
		return &tickContext{Context: ctx, t: t}
	}
	return nil
}

func (c *deadlineClock) fire(t *deadlineTick) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ticks[t.n] == t {
		delete(c.ticks, t.n)
		close(t.done)
	}
}

// close stops the pending timers and ends the calls still waiting on them.
func (c *deadlineClock) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	c.latest.Store(nil)
	for n, t := range c.ticks {
		t.timer.Stop()
		delete(c.ticks, n)
		close(t.done)
	}
}

// tickContext is a context that can never be cancelled (its parent's)
// bounded by a deadlineTick.
type tickContext struct {
	context.Context // the parent, for Value; its Done is nil
	t               *deadlineTick
}

func (c *tickContext) Deadline() (time.Time, bool) { return c.t.at, true }

func (c *tickContext) Done() <-chan struct{} { return c.t.done }

func (c *tickContext) Err() error {
	select {
	case <-c.t.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}
