package memstore

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/sessionkit/sessions/store"
)

var _ store.ExpiredReporter = (*Store)(nil)

// reporters are the functions registered with ReportExpired. The cleanup
// holds them, never the Store.
type reporters struct {
	active atomic.Bool // some function is registered: collect what a sweep removes
	mu     sync.RWMutex
	next   int
	fns    map[int]func(ctx context.Context, key string, data []byte)
}

// An expiredRecord is a record a sweep removed, for the reporters.
type expiredRecord struct {
	key  string
	data string
}

// ReportExpired implements store.ExpiredReporter: fn is called with the
// key and a copy of the data of each record the background cleanup or
// DeleteExpired removes, after removing it, until stop is called. Records
// evicted to make room (WithMaxEntries) or removed by a save into a full
// shard are not reported.
func (s *Store) ReportExpired(fn func(ctx context.Context, key string, data []byte)) (stop func()) {
	r := s.rep
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

// report calls the registered functions with the removed records.
func (r *reporters) report(ctx context.Context, removed []expiredRecord) {
	if len(removed) == 0 {
		return
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, e := range removed {
		for _, fn := range r.fns {
			fn(ctx, e.key, bytesOf(e.data))
		}
	}
}
