// Package memstore keeps session records in the memory of the process: the
// default store of a sessions.Manager.
//
// Records live in up to 64 shards, each a map behind its own read-write
// lock, so goroutines handling different sessions rarely wait for each
// other. Bytes are copied on the way in and on the way out. Expiry is
// enforced on read; a background cleanup frees expired records (see
// [WithCleanupInterval]), and [WithMaxEntries] bounds the number of records.
// Every write gives its record a new version; SaveIf compares versions,
// and LoadVersion moves an expiry, within one critical section of the
// record's shard.
//
// Records do not survive a restart and are not shared between processes:
// use another store when the application runs more than one instance.
package memstore

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/sessionkit/sessions/internal/cleanup"
	"github.com/sessionkit/sessions/internal/option"
	"github.com/sessionkit/sessions/internal/unixtime"
	"github.com/sessionkit/sessions/store"
)

// Store is an in-memory store.Store. It also implements store.Versioned,
// store.Toucher, store.LoadToucher, store.ExpiredDeleter,
// store.ExpiredReporter, store.Scanner, store.OwnerIndex and
// store.MultiLoader. Create it with New and stop it with Close; all
// methods are safe for concurrent use.
type Store struct {
	shards  []shard
	mask    uint64
	seed    maphash.Seed
	indexes *lazyIndexes // the owner indexes (store.OwnerIndex)
	closed  atomic.Bool
	cleaner *cleanup.Cleaner // nil when background cleanup is off
	// rep are the functions ReportExpired registered.
	rep *cleanup.Reporters
}

// Interface checks.
var (
	_ store.Store          = (*Store)(nil)
	_ store.Versioned      = (*Store)(nil)
	_ store.Toucher        = (*Store)(nil)
	_ store.LoadToucher    = (*Store)(nil)
	_ store.ExpiredDeleter = (*Store)(nil)
	_ store.Scanner        = (*Store)(nil)
	_ store.OwnerIndex     = (*Store)(nil)
	_ store.MultiLoader    = (*Store)(nil)
)

// New returns an empty store and starts its background cleanup. It fails
// only when an option has an invalid value.
func New(opts ...Option) (*Store, error) {
	cfg := config{cleanupInterval: DefaultCleanupInterval}
	if err := option.Apply(&cfg, opts); err != nil {
		return nil, fmt.Errorf("memstore: %w", err)
	}
	n := shardCount(cfg.maxEntries)
	s := &Store{
		shards:  make([]shard, n),
		mask:    uint64(n - 1),
		seed:    maphash.MakeSeed(),
		rep:     &cleanup.Reporters{},
		indexes: &lazyIndexes{},
	}
	for i := range s.shards {
		s.shards[i].init(shardCapacity(cfg.maxEntries, n, i))
	}
	shards, rep, indexes := s.shards, s.rep, s.indexes // the cleanup holds these, never s
	s.cleaner = cleanup.Start(s, cleanup.Task{
		Store:    "memstore",
		Interval: cfg.cleanupInterval,
		Logger:   cfg.logger,
		Clean: func(ctx context.Context) (int, error) {
			n, err := sweep(ctx, shards, rep)
			if err == nil {
				_, err = indexes.sweep(ctx) // through an interface: see lazyIndexes
			}
			return n, err
		},
	})
	return s, nil
}

// Load returns a copy of the record stored under key.
func (s *Store) Load(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.check(ctx, "load"); err != nil {
		return nil, false, err
	}
	sh := s.shard(key)
	sh.mu.RLock()
	e, ok := sh.m[key]
	sh.mu.RUnlock()
	// e.data is a string, never modified, so it is copied outside the lock.
	if !ok || e.expired(now()) {
		return nil, false, nil
	}
	return bytesOf(e.data), true, nil
}

// Save stores a copy of data under key until expiresAt, as a new version.
// A deadline that has passed removes the record.
func (s *Store) Save(ctx context.Context, key string, data []byte, expiresAt time.Time) error {
	if err := s.check(ctx, "save"); err != nil {
		return err
	}
	e := entry{data: stringOf(data), exp: unixtime.Nano(expiresAt)}
	t := now()
	sh := s.shard(key)
	sh.mu.Lock()
	sh.save(key, e, t)
	sh.mu.Unlock()
	return nil
}

// Delete removes the record stored under key, if any.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.check(ctx, "delete"); err != nil {
		return err
	}
	sh := s.shard(key)
	sh.mu.Lock()
	delete(sh.m, key)
	sh.mu.Unlock()
	return nil
}

// Len reports how many records the store holds, counting expired records
// that the background cleanup has not removed yet.
func (s *Store) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}

// Close stops the background cleanup. Calls made after Close return an
// error wrapping store.ErrClosed. Close is idempotent and always returns
// nil.
func (s *Store) Close() error {
	s.closed.Store(true)
	s.cleaner.Stop()
	return nil
}

// check returns the error that ends a call to op before it starts, if any.
func (s *Store) check(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %s: %w", op, err)
	}
	if s.closed.Load() {
		return fmt.Errorf("memstore: %s: %w", op, store.ErrClosed)
	}
	return nil
}

// shard returns the shard that holds key.
func (s *Store) shard(key string) *shard {
	return &s.shards[maphash.String(s.seed, key)&s.mask]
}

// stringOf returns a copy of b as a string: one allocation, without
// zeroing, and unlike a conversion no call into the runtime.
func stringOf(b []byte) string {
	c := make([]byte, len(b))
	copy(c, b)
	return unsafe.String(unsafe.SliceData(c), len(c))
}

// bytesOf returns a copy of s, never nil. (The compiler turns this make
// and copy into one allocation without zeroing.)
func bytesOf(s string) []byte {
	b := make([]byte, len(s))
	copy(b, s)
	return b
}
