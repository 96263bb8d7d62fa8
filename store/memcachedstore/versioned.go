package memcachedstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionkit/sessions/store"
)

// maxAddTries bounds the add, gets and cas cycles of an insert that keeps
// finding an expired item that vanishes before it can be replaced.
const maxAddTries = 3

// LoadVersion returns the record stored under key with its version, one
// gets (of the record and the generation, see Clear). The version is the ID of the write that stored the record, kept in
// the value's header (for a value written by an earlier version of this
// package, which has none, it is the item's CAS id, and SaveIf with it
// takes two round trips). LoadVersion also remembers the item's CAS id for
// SaveIf.
//
// touch is ignored and Touched is always false: memcached's touch cannot
// move the deadline kept in the value, and a rewrite would change the
// version.
//
// A server with CAS disabled (memcached -C) reports CAS id 0, and
// LoadVersion then fails: SaveIf needs CAS.
func (s *Store) LoadVersion(ctx context.Context, key string, _ time.Time) (store.Loaded, error) {
	k := s.serverKey(key)
	var l store.Loaded
	err := s.run(ctx, "load version", func() error {
		it, gen, err := s.get(k)
		if err != nil || it == nil {
			return err
		}
		h, data, live := decodeLive(it.Value, time.Now(), gen)
		if !live {
			return nil
		}
		if err := checkCAS(it.CasID); err != nil {
			return err
		}
		if h.id == 0 {
			l = store.Loaded{Data: data, Version: store.Version(it.CasID)}
			return nil
		}
		s.cas.put(k, h.id, casEntry{cas: it.CasID, deadline: h.deadline, gen: h.gen})
		l = store.Loaded{Data: data, Version: store.Version(h.id)}
		return nil
	})
	if err != nil {
		return store.Loaded{}, err
	}
	return l, nil
}

// SaveIf stores data under key until expiresAt if the live record under key
// has the given version, or, for version 0, if there is no live record. A
// conflict writes nothing and returns an error wrapping store.ErrConflict.
// The new version is a random ID of this write, the one LoadVersion returns
// until the next write. An expiresAt that is not in the future stores the
// item already expired, which removes the record, and returns 0.
//
// A write with a version keeps the generation of the value it replaces
// (see Clear): a write of a record loaded before a Clear leaves a value
// that reads as missing. Version 0 writes a value of the current
// generation.
//
// Round trips: version 0 is an add (and, at most once a second, a get of
// the generation first). A version that this Store's LoadVersion
// returned is a cas with the CAS id it read. Memcached does not say which
// CAS id a write gave the item (only its meta protocol, which gomemcache
// does not speak, can), so for any other version (one that SaveIf
// returned, one loaded by another Store, or one whose CAS id the Store has
// forgotten: it keeps up to 4096, each for one use) SaveIf first reads the
// item with gets: two round trips. So a LoadVersion then a SaveIf, a
// request's usual pair, costs two round trips in all.
//
// Expiry is exact, to the nanosecond of the header's deadline, although
// memcached keeps items a few seconds longer: a version conflicts once the
// deadline has passed (SaveIf checks the deadline that LoadVersion read, or
// the one gets reads), and version 0 then replaces the item. While
// memcached still holds the expired item that replacement takes three
// round trips (add fails, gets, cas); a conflict with a live record takes
// two (add, gets).
func (s *Store) SaveIf(ctx context.Context, key string, data []byte, expiresAt time.Time, version store.Version) (store.Version, error) {
	k := s.serverKey(key)
	var saved store.Version
	// Encoded here, a copy: the round trip may outlive this call. The
	// write ID and the generation are stamped in the round trip, once
	// the generation is known.
	it := &memcache.Item{Key: k}
	exp, live := expiration(expiresAt, time.Now())
	if live {
		it.Value, _ = encode(data, expiresAt, 0)
		it.Expiration = exp
	} else {
		// Memcached reads a negative expiration as expired at once.
		it.Value, _ = encode(nil, expiresAt, 0)
		it.Expiration = -1
	}
	err := s.run(ctx, "save if", func() error {
		var (
			id  uint64
			err error
		)
		if version == 0 {
			id, err = s.add(it)
		} else {
			id, err = s.replace(it, uint64(version))
		}
		if err != nil {
			return tooLarge(err)
		}
		if live {
			saved = store.Version(id)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return saved, nil
}

// add stores it, stamped with the current generation, if memcached holds
// no live record under its key: an add, and if memcached still holds an
// item whose deadline has passed or whose generation is over, a gets and
// a cas that replace it. It returns the write ID.
func (s *Store) add(it *memcache.Item) (uint64, error) {
	gen, err := s.currentGen()
	if err != nil {
		return 0, err
	}
	id := stamp(it.Value, gen)
	for range maxAddTries {
		err := s.client.Add(it)
		if !errors.Is(err, memcache.ErrNotStored) {
			return id, err
		}
		old, gen, err := s.get(it.Key)
		if err != nil {
			return 0, err
		}
		if old == nil {
			continue // dropped since the add: add again
		}
		if _, _, live := decodeLive(old.Value, time.Now(), gen); live {
			return 0, store.ErrConflict
		}
		if err := checkCAS(old.CasID); err != nil {
			return 0, err
		}
		id = stamp(it.Value, gen)
		it.CasID = old.CasID
		err = s.client.CompareAndSwap(it)
		if errors.Is(err, memcache.ErrCacheMiss) || errors.Is(err, memcache.ErrNotStored) {
			continue
		}
		return id, conflict(err)
	}
	return 0, fmt.Errorf("%w: the expired item was dropped and rewritten %d times", store.ErrConflict, maxAddTries)
}

// replace stores it if the live item under its key has version v: a cas
// with the CAS id LoadVersion read, or a gets then a cas when the Store has
// none. The value keeps the generation of the one it replaces. It returns
// the write ID.
func (s *Store) replace(it *memcache.Item, v uint64) (uint64, error) {
	e, ok := s.cas.take(it.Key, v)
	if !ok {
		old, gen, err := s.get(it.Key)
		if err != nil {
			return 0, err
		}
		if old == nil {
			return 0, store.ErrConflict
		}
		h, _, valid := decode(old.Value)
		// A format 1 value has no write ID: its version is its CAS id.
		if !valid || (h.id != v && (h.id != 0 || old.CasID != v)) || h.gen < gen {
			return 0, store.ErrConflict
		}
		if err := checkCAS(old.CasID); err != nil {
			return 0, err
		}
		e = casEntry{cas: old.CasID, deadline: h.deadline, gen: h.gen}
	}
	// The item had version v and this deadline when its CAS id was e.cas;
	// the cas succeeds only if it has not changed since.
	if !(header{deadline: e.deadline}).live(time.Now()) {
		return 0, store.ErrConflict
	}
	id := stamp(it.Value, e.gen)
	it.CasID = e.cas
	return id, conflict(s.client.CompareAndSwap(it))
}

// conflict turns the errors of a cas whose item changed or went away into
// store.ErrConflict.
func conflict(err error) error {
	if errors.Is(err, memcache.ErrCASConflict) || errors.Is(err, memcache.ErrNotStored) ||
		errors.Is(err, memcache.ErrCacheMiss) {
		return fmt.Errorf("%w: %w", store.ErrConflict, err)
	}
	return err
}

// checkCAS returns an error for a CAS id this package cannot use: 0, which
// memcached -C reports, or one with idBit set, which would take 2^63
// writes.
func checkCAS(id uint64) error {
	if id == 0 || id&idBit != 0 {
		return fmt.Errorf("server returned CAS id %d; conditional writes need CAS (memcached without -C)", id)
	}
	return nil
}
