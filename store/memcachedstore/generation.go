package memcachedstore

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionkit/sessions/store"
)

// Clear (store.Clearer) needs no listing of keys: the store keeps a
// generation number in an item of its own, every value carries the
// generation it was written in, and a value of an older generation reads
// as missing. Loads fetch the value and the generation in one get of two
// keys. A conditional write keeps the generation of the value it
// replaces (so a write of a session loaded before a Clear stays ended); a
// new value (SaveIf with version 0, Save) gets the current generation, as
// this Store last read it, read again first when that is older than
// genMaxAge.

// genMaxAge is how long a Store stamps new values with the generation it
// last read before it reads it again.
const genMaxAge = time.Second

// A genCache is the generation a Store last read or wrote, never going
// back: a generation item that memcached dropped (it is read at every
// load, so it stays at the head of the LRU; a restart drops every
// session with it) cannot bring older values back in this process.
type genCache struct {
	gen atomic.Uint64
	at  atomic.Int64 // Unix nanoseconds of the last read; 0 for never
}

// see records gen as read now.
func (c *genCache) see(gen uint64) uint64 {
	for {
		old := c.gen.Load()
		if gen <= old {
			c.at.Store(time.Now().UnixNano())
			return old
		}
		if c.gen.CompareAndSwap(old, gen) {
			c.at.Store(time.Now().UnixNano())
			return gen
		}
	}
}

// genKey is the server key of the generation item: not one that
// serverKey returns for any key (those that start with "#sha256:" go on
// with 43 base64url characters, no ':').
func (s *Store) genKey() string {
	sum := sha256.Sum256([]byte(s.prefix))
	return hashedPrefix + "generation:" + base64.RawURLEncoding.EncodeToString(sum[:12])
}

// parseGen reads the generation item, 0 when it is missing.
func parseGen(it *memcache.Item) uint64 {
	if it == nil {
		return 0
	}
	n, _ := strconv.ParseUint(string(it.Value), 10, 64)
	return n
}

// get reads the item under the server key k and the generation, in one
// round trip, and returns the item (nil when missing) and the current
// generation.
func (s *Store) get(k string) (*memcache.Item, uint64, error) {
	gk := s.genKey()
	items, err := s.client.GetMulti([]string{k, gk})
	if err != nil {
		return nil, 0, err
	}
	return items[k], s.gens.see(parseGen(items[gk])), nil
}

// currentGen returns the generation to stamp a new value with: the one
// last read, or read now when that is older than genMaxAge.
func (s *Store) currentGen() (uint64, error) {
	if at := s.gens.at.Load(); at != 0 && time.Since(time.Unix(0, at)) < genMaxAge {
		return s.gens.gen.Load(), nil
	}
	it, err := s.client.Get(s.genKey())
	if err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
		return 0, err
	}
	return s.gens.see(parseGen(it)), nil
}

// Clear ends every record of the store (store.Clearer), in one round trip
// (two the first time): it moves the store to the next generation, and
// every value written before reads as missing from then on. It ends the
// records of every Store on the server with the same namespace
// (WithNamespace): for the sessions manager, of every application that
// shares the server and the namespace, whatever its key prefix.
func (s *Store) Clear(ctx context.Context) error {
	return s.run(ctx, "clear", func() error {
		gk := s.genKey()
		n, err := s.client.Increment(gk, 1)
		if errors.Is(err, memcache.ErrCacheMiss) {
			// No generation yet (or memcached dropped it): start after
			// the last one this Store knows.
			n = s.gens.gen.Load() + 1
			err = s.client.Add(&memcache.Item{Key: gk, Value: []byte(strconv.FormatUint(n, 10))})
			if errors.Is(err, memcache.ErrNotStored) {
				n, err = s.client.Increment(gk, 1) // another Clear added it
			}
		}
		if err != nil {
			return err
		}
		s.gens.see(n)
		return nil
	})
}

// SameGeneration reports whether no Clear came between the writes that
// returned versions a and b (store.Clearer): the low bits of a write ID
// are those of its generation. Versions of values written by earlier
// versions of this package (CAS ids) are of the first generation.
func (s *Store) SameGeneration(a, b store.Version) bool {
	return genOf(uint64(a)) == genOf(uint64(b))
}

func genOf(v uint64) uint64 {
	if v&idBit == 0 {
		return 0
	}
	return v & genMask
}
