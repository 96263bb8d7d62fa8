package cleanup

import (
	"context"
	"sync"
	"sync/atomic"
)

// Reporters are the functions registered with a store's ReportExpired
// (store.ExpiredReporter), which its cleanup calls with each expired
// record it removes. The cleanup holds them, never the store. The zero
// value is ready to use.
type Reporters struct {
	active atomic.Bool // some function is registered
	mu     sync.RWMutex
	next   int
	fns    map[int]func(ctx context.Context, key string, data []byte)
}

// Register adds fn and returns the function that removes it; after that
// returns, fn is not called again. It implements ReportExpired.
func (r *Reporters) Register(fn func(ctx context.Context, key string, data []byte)) (stop func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fns == nil {
		r.fns = map[int]func(context.Context, string, []byte){}
	}
	id := r.next
	r.next++
	r.fns[id] = fn
	r.active.Store(true)
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(r.fns, id)
		r.active.Store(len(r.fns) > 0)
	}
}

// Active reports whether a function is registered: a cleanup collects
// what it removes only then.
func (r *Reporters) Active() bool { return r.active.Load() }

// Report calls the registered functions with the expired record under key
// that the cleanup removed. data is passed as it is: the caller hands
// each function its own copy or none of its own.
func (r *Reporters) Report(ctx context.Context, key string, data []byte) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, fn := range r.fns {
		fn(ctx, key, data)
	}
}
