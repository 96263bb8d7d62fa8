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
// gets. The version is the ID of the write that stored the record, kept in
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
		it, err := s.client.Get(k)
		if err != nil {
			return ignoreMiss(err)
		}
		h, data, live := decodeLive(it.Value, time.Now())
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
		s.cas.put(k, h.id, casEntry{cas: it.CasID, deadline: h.deadline})
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
// Round trips: version 0 is an add. A version that this Store's LoadVersion
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
	// Encoded here, a copy: the round trip may outlive this call (see run).
	id := newWriteID()
	it := &memcache.Item{Key: k}
	exp, live := expiration(expiresAt, time.Now())
	if live {
		it.Value, it.Expiration = encode(data, expiresAt, id), exp
	} else {
		// Memcached reads a negative expiration as expired at once.
		it.Value, it.Expiration = encode(nil, expiresAt, id), -1
	}
	err := s.run(ctx, "save if", func() error {
		var err error
		if version == 0 {
			err = s.add(it)
		} else {
			err = s.replace(it, uint64(version))
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

// add stores it if memcached holds no live record under its key: an add,
// and if memcached still holds an item whose deadline has passed, a gets
// and a cas that replace it.
func (s *Store) add(it *memcache.Item) error {
	for range maxAddTries {
		err := s.client.Add(it)
		if !errors.Is(err, memcache.ErrNotStored) {
			return err
		}
		old, err := s.client.Get(it.Key)
		if errors.Is(err, memcache.ErrCacheMiss) {
			continue // dropped since the add: add again
		}
		if err != nil {
			return err
		}
		if _, _, live := decodeLive(old.Value, time.Now()); live {
			return store.ErrConflict
		}
		if err := checkCAS(old.CasID); err != nil {
			return err
		}
		it.CasID = old.CasID
		err = s.client.CompareAndSwap(it)
		if errors.Is(err, memcache.ErrCacheMiss) || errors.Is(err, memcache.ErrNotStored) {
			continue
		}
		return conflict(err)
	}
	return fmt.Errorf("%w: the expired item was dropped and rewritten %d times", store.ErrConflict, maxAddTries)
}

// replace stores it if the live item under its key has version v: a cas
// with the CAS id LoadVersion read, or a gets then a cas when the Store has
// none.
func (s *Store) replace(it *memcache.Item, v uint64) error {
	e, ok := s.cas.take(it.Key, v)
	if !ok {
		old, err := s.client.Get(it.Key)
		if errors.Is(err, memcache.ErrCacheMiss) {
			return store.ErrConflict
		}
		if err != nil {
			return err
		}
		h, _, valid := decode(old.Value)
		// A format 1 value has no write ID: its version is its CAS id.
		if !valid || (h.id != v && (h.id != 0 || old.CasID != v)) {
			return store.ErrConflict
		}
		if err := checkCAS(old.CasID); err != nil {
			return err
		}
		e = casEntry{cas: old.CasID, deadline: h.deadline}
	}
	// The item had version v and this deadline when its CAS id was e.cas;
	// the cas succeeds only if it has not changed since.
	if !(header{deadline: e.deadline}).live(time.Now()) {
		return store.ErrConflict
	}
	it.CasID = e.cas
	return conflict(s.client.CompareAndSwap(it))
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
