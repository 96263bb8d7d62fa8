package memstore

import (
	"math"
	"sync"
	"time"
	"unsafe"

	"github.com/sessionkit/sessions/store"
)

const (
	// maxShards is the number of shards of a store without a bound, and
	// the most any store has. It is a power of two.
	maxShards = 64
	// minShardCapacity is the fewest records a shard of a bounded store
	// holds, so that eviction has some choice.
	minShardCapacity = 8
	// evictionSample is how many records eviction compares.
	evictionSample = 5
	// cacheLine is the size that shards are padded to, so that two shards'
	// locks never share a CPU cache line.
	cacheLine = 64
)

// entry is one record. Its data is a string, a copy that nothing can
// modify, which also keeps the entry at 32 bytes.
type entry struct {
	data string
	exp  int64         // expiry, in Unix nanoseconds
	ver  store.Version // never zero
}

// expired reports whether e has expired at t (Unix nanoseconds).
func (e entry) expired(t int64) bool { return t >= e.exp }

// shardState is the content of a shard.
type shardState struct {
	mu     sync.RWMutex
	m      map[string]entry
	max    int           // most records the shard holds; 0 means no bound
	minExp int64         // no record expires before minExp (a lower bound)
	last   store.Version // the last version given to a record of the shard
}

// shard is a part of the store, with its own lock.
type shard struct {
	shardState
	_ [cacheLine - unsafe.Sizeof(shardState{})%cacheLine]byte
}

func (sh *shard) init(capacity int) {
	sh.m = make(map[string]entry)
	sh.max = capacity
	sh.minExp = math.MaxInt64
}

// save stores e under key as a new version and returns the version, or,
// when e has expired at t, removes the record and returns 0. Saving a new
// key into a full shard first makes room. The caller holds the write lock.
//
// A key always falls in the same shard, and the shard's versions only
// grow, so a key never gets a version twice.
func (sh *shard) save(key string, e entry, t int64) store.Version {
	if e.expired(t) {
		delete(sh.m, key)
		return 0
	}
	if sh.max > 0 && len(sh.m) >= sh.max {
		if _, ok := sh.m[key]; !ok {
			sh.makeRoom(t)
		}
	}
	sh.last++
	e.ver = sh.last
	sh.m[key] = e
	sh.minExp = min(sh.minExp, e.exp)
	return e.ver
}

// live returns the record under key if it has not expired at t. The caller
// holds a lock.
func (sh *shard) live(key string, t int64) (entry, bool) {
	e, ok := sh.m[key]
	if !ok || e.expired(t) {
		return entry{}, false
	}
	return e, true
}

// makeRoom removes the expired records or, if there are none, the record
// that expires first among a sample. Go starts every map iteration at a
// random entry, so the first records of a range form a random sample.
func (sh *shard) makeRoom(t int64) {
	if sh.removeExpired(t) > 0 {
		return
	}
	var victim string
	first, n := int64(math.MaxInt64), 0
	for k, e := range sh.m {
		if n == 0 || e.exp < first {
			victim, first = k, e.exp
		}
		if n++; n == evictionSample {
			break
		}
	}
	delete(sh.m, victim)
}

// removeExpired removes the records expired at t and returns how many it
// removed. The caller holds the write lock. It scans the shard only when
// some record may have expired.
func (sh *shard) removeExpired(t int64) int {
	if t < sh.minExp {
		return 0
	}
	n, next := 0, int64(math.MaxInt64)
	for k, e := range sh.m {
		if e.expired(t) {
			delete(sh.m, k)
			n++
		} else {
			next = min(next, e.exp)
		}
	}
	sh.minExp = next
	return n
}

// shardCount returns how many shards a store with the given bound gets:
// maxShards, halved while a shard would hold fewer than minShardCapacity.
func shardCount(maxEntries int) int {
	n := maxShards
	for maxEntries > 0 && n > 1 && maxEntries/n < minShardCapacity {
		n /= 2
	}
	return n
}

// shardCapacity returns the bound of shard i of n so that the bounds add up
// to maxEntries; 0 means no bound.
func shardCapacity(maxEntries, n, i int) int {
	c := maxEntries / n
	if i < maxEntries%n {
		c++
	}
	return c
}

// now returns the current time in Unix nanoseconds.
func now() int64 { return time.Now().UnixNano() }
