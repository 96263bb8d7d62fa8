package cleanup

import (
	"context"
	"sync"
)

// Reporters are the functions registered with a store's ReportExpired
// (store.ExpiredReporter), which its cleanup calls with each expired
// record it removes. The cleanup holds them, never the store. The zero
// value holds none.
//
// The store hands Register its sweep that reports (it collects what it
// removes and calls Report), and its cleanup and DeleteExpired run the
// sweep Sweep returns, while a function is registered, instead of their
// plain one: the code that collects and reports is reached only through
// Register, so a program whose stores never get a function (no event
// hook) does not link it.
type Reporters struct {
	mu    sync.RWMutex
	fns   []func(ctx context.Context, key string, data []byte) // nil where one stopped
	n     int                                                  // how many are registered
	sweep func(ctx context.Context) (int, error)
}

// Register adds fn and returns the function that removes it; after that
// returns, fn is not called again. sweep is the store's sweep that
// reports to the registered functions, for Sweep to return. It
// implements ReportExpired.
func (r *Reporters) Register(fn func(ctx context.Context, key string, data []byte), sweep func(ctx context.Context) (int, error)) (stop func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sweep = sweep
	i := 0
	for i < len(r.fns) && r.fns[i] != nil {
		i++
	}
	if i == len(r.fns) {
		r.fns = append(r.fns, nil)
	}
	r.fns[i] = fn
	r.n++
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.fns[i] = nil
			r.n--
		})
	}
}

// Sweep returns the sweep given to Register while a function is
// registered, else nil.
func (r *Reporters) Sweep() func(ctx context.Context) (int, error) {
	r.mu.RLock()
	sweep, n := r.sweep, r.n
	r.mu.RUnlock()
	if n == 0 {
		return nil
	}
	return sweep
}

// Report calls the registered functions with the expired record under key
// that the cleanup removed. data is passed as it is: the caller hands
// each function its own copy or none of its own.
func (r *Reporters) Report(ctx context.Context, key string, data []byte) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, fn := range r.fns {
		if fn != nil {
			fn(ctx, key, data)
		}
	}
}
