package memcachedstore

import "sync"

// casCacheSize bounds the number of entries of a casCache.
const casCacheSize = 4096

// A casCache remembers, for the versions LoadVersion returned, the CAS id
// and the deadline of the item it read, so that SaveIf with such a version
// is a single cas. An entry is used once. A missing entry costs SaveIf a
// gets first; the cache never decides whether a write happens, the cas
// does. (CAS ids start again from 1 when memcached restarts, which loses
// every item; a remembered CAS id could only match again if its key were
// written anew and got the same id, and the sessions manager writes new
// sessions under new random keys.)
type casCache struct {
	mu sync.Mutex
	m  map[casKey]casEntry
}

type casKey struct {
	key string // the server key
	id  uint64 // the write ID
}

type casEntry struct {
	cas      uint64
	deadline int64  // Unix nanoseconds
	gen      uint64 // the generation of the value read
}

// put remembers e for the write id under key. When the cache is full it
// forgets an entry first, whichever the map yields first.
func (c *casCache) put(key string, id uint64, e casEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[casKey]casEntry)
	}
	if len(c.m) >= casCacheSize {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[casKey{key, id}] = e
}

// take returns and forgets the entry for the write id under key.
func (c *casCache) take(key string, id uint64) (casEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := casKey{key, id}
	e, ok := c.m[k]
	if ok {
		delete(c.m, k)
	}
	return e, ok
}
