package memstore

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionkit/sessions/internal/unixtime"
	"github.com/sessionkit/sessions/store"
)

// indexShards is how many locks the owner indexes are spread over.
const indexShards = 16

// indexes holds the owner indexes (store.OwnerIndex): per key, a map from
// session ID to its entry, in shards each behind its own lock. An add or a
// remove costs the same however many entries an index has; entries past
// their deadline go when an index has doubled since it was last pruned,
// when it is listed, and in the background cleanup.
type indexes struct {
	seed   maphash.Seed
	shards [indexShards]indexShard
}

type indexShard struct {
	mu sync.Mutex
	m  map[string]*ownerSet
}

// An ownerSet is one owner index.
type ownerSet struct {
	entries map[string]indexEntry
	pruneAt int // prune entries past their deadline when the set reaches this size
}

type indexEntry struct{ deadline, added int64 }

// minPruneAt is the size below which a set is never pruned on an add.
const minPruneAt = 16

// lazyIndexes holds the indexes, created by the first IndexAdd. It
// keeps them in an atomic.Value, and the background cleanup reaches them
// through an interface (indexSweeper): nothing in a Store's type names
// their type, so a program that never adds to an owner index links none
// of their code.
type lazyIndexes struct {
	once sync.Once
	x    atomic.Value // *indexes, once created
}

type indexSweeper interface {
	sweepIndexes(ctx context.Context) (int, error)
}

// get returns the indexes, creating them on the first call.
func (l *lazyIndexes) get() *indexes {
	l.once.Do(func() { l.x.Store(newIndexes()) })
	return l.x.Load().(*indexes)
}

// load returns the indexes, or nil before the first IndexAdd.
func (l *lazyIndexes) load() *indexes {
	x, _ := l.x.Load().(*indexes)
	return x
}

// sweep sweeps the indexes, if there are any (see indexes.sweepIndexes).
func (l *lazyIndexes) sweep(ctx context.Context) (int, error) {
	if sw, ok := l.x.Load().(indexSweeper); ok {
		return sw.sweepIndexes(ctx)
	}
	return 0, nil
}

func newIndexes() *indexes {
	x := &indexes{seed: maphash.MakeSeed()}
	for i := range x.shards {
		x.shards[i].m = make(map[string]*ownerSet)
	}
	return x
}

func (x *indexes) shard(key string) *indexShard {
	return &x.shards[maphash.String(x.seed, key)%indexShards]
}

var _ store.IndexAddLister = (*Store)(nil)

// IndexAdd adds e to the owner index under key, replacing the entry with
// the same ID (store.OwnerIndex).
func (s *Store) IndexAdd(ctx context.Context, key string, e store.IndexEntry) error {
	if err := s.check(ctx, "index add"); err != nil {
		return err
	}
	s.indexAdd(key, e, false)
	return nil
}

// IndexAddList adds e to the owner index under key as IndexAdd does, and
// returns its live entries under the same lock (store.IndexAddLister):
// always listed.
func (s *Store) IndexAddList(ctx context.Context, key string, e store.IndexEntry) ([]store.IndexEntry, bool, error) {
	if err := s.check(ctx, "index add"); err != nil {
		return nil, false, err
	}
	return s.indexAdd(key, e, true), true, nil
}

// indexAdd adds e to the index under key, unless its deadline has passed,
// and with list returns the index's live entries (never nil).
func (s *Store) indexAdd(key string, e store.IndexEntry, list bool) []store.IndexEntry {
	t := now()
	deadline := unixtime.Nano(e.Deadline)
	if deadline <= t && !list {
		return nil
	}
	sh := s.indexes.get().shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	set := sh.m[key]
	if deadline > t {
		if set == nil {
			set = &ownerSet{entries: make(map[string]indexEntry), pruneAt: minPruneAt}
			sh.m[key] = set
		}
		set.entries[e.ID] = indexEntry{deadline: deadline, added: e.Added.UnixNano()}
		if len(set.entries) >= set.pruneAt {
			set.prune(t)
		}
	}
	if !list {
		return nil
	}
	if set == nil {
		return []store.IndexEntry{}
	}
	return set.live(t)
}

// live returns the entries of set before their deadline at t.
func (set *ownerSet) live(t int64) []store.IndexEntry {
	list := make([]store.IndexEntry, 0, len(set.entries))
	for id, e := range set.entries {
		if e.deadline > t {
			list = append(list, store.IndexEntry{ID: id, Deadline: time.Unix(0, e.deadline), Added: time.Unix(0, e.added)})
		}
	}
	return list
}

// prune drops the entries past their deadline at t, and sets the size of
// the next prune to twice what is left.
func (set *ownerSet) prune(t int64) {
	for id, e := range set.entries {
		if e.deadline <= t {
			delete(set.entries, id)
		}
	}
	set.pruneAt = max(minPruneAt, 2*len(set.entries))
}

// IndexRemove removes the entries with ids from the owner index under key
// (store.OwnerIndex).
func (s *Store) IndexRemove(ctx context.Context, key string, ids ...string) error {
	if err := s.check(ctx, "index remove"); err != nil {
		return err
	}
	x := s.indexes.load()
	if x == nil {
		return nil // no index yet
	}
	sh := x.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	set := sh.m[key]
	if set == nil {
		return nil
	}
	for _, id := range ids {
		delete(set.entries, id)
	}
	if len(set.entries) == 0 {
		delete(sh.m, key)
	}
	return nil
}

// IndexList returns the live entries of the owner index under key
// (store.OwnerIndex), and forgets the others.
func (s *Store) IndexList(ctx context.Context, key string) ([]store.IndexEntry, error) {
	if err := s.check(ctx, "index list"); err != nil {
		return nil, err
	}
	x := s.indexes.load()
	if x == nil {
		return nil, nil // no index yet
	}
	t := now()
	sh := x.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	set := sh.m[key]
	if set == nil {
		return nil, nil
	}
	set.prune(t)
	if len(set.entries) == 0 {
		delete(sh.m, key)
		return nil, nil
	}
	return set.live(t), nil
}

// sweepIndexes drops the entries past their deadline of every index, and
// the indexes left empty, one shard at a time. It returns how many entries
// it dropped.
func (x *indexes) sweepIndexes(ctx context.Context) (int, error) {
	n := 0
	for i := range x.shards {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		sh := &x.shards[i]
		t := now()
		sh.mu.Lock()
		for key, set := range sh.m {
			before := len(set.entries)
			set.prune(t)
			n += before - len(set.entries)
			if len(set.entries) == 0 {
				delete(sh.m, key)
			}
		}
		sh.mu.Unlock()
	}
	return n, nil
}

// LoadVersions returns the records stored under keys, as LoadVersion
// without a touch returns each (store.MultiLoader).
func (s *Store) LoadVersions(ctx context.Context, keys []string) ([]store.Loaded, error) {
	if err := s.check(ctx, "load versions"); err != nil {
		return nil, err
	}
	t := now()
	out := make([]store.Loaded, len(keys))
	for i, key := range keys {
		sh := s.shard(key)
		sh.mu.RLock()
		e, ok := sh.live(key, t)
		sh.mu.RUnlock()
		if ok {
			out[i] = store.Loaded{Data: bytesOf(e.data), Version: e.ver, Expires: time.Unix(0, e.exp)}
		}
	}
	return out, nil
}
