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
// gets. The version is the item's CAS id, which memcached changes on every
// write. touch is ignored and Touched is always false: memcached's touch
// cannot move the deadline kept in the value, and a rewrite would change
// the version.
//
// A server with CAS disabled (memcached -C) reports CAS id 0, and
// LoadVersion then fails.
func (s *Store) LoadVersion(ctx context.Context, key string, _ time.Time) (store.Loaded, error) {
	var l store.Loaded
	err := s.run(ctx, "load version", func() error {
		it, err := s.client.Get(s.serverKey(key))
		if err != nil {
			return ignoreMiss(err)
		}
		data, _, live := decode(it.Value, time.Now())
		if !live {
			return nil
		}
		if err := checkCAS(it.CasID); err != nil {
			return err
		}
		l = store.Loaded{Data: data, Version: store.Version(it.CasID)}
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
// An expiresAt that is not in the future stores the item already expired,
// which removes the record, and returns 0.
//
// Version 0 is memcached's add, and a version from LoadVersion (a CAS id)
// its cas: one round trip each. Memcached does not say which CAS id a write
// gave the item (the meta protocol's ms can, but gomemcache does not speak
// it), so the version SaveIf returns is a random ID of the write, kept in
// the value's header with the top bit set so it is never a CAS id. A SaveIf
// with such a version takes two round trips: a gets, to check the header
// and learn the CAS id, then a cas. The sessions manager loads a session
// with LoadVersion in every request, so its saves take one.
//
// Expiry: reads check the exact deadline in the header, and so does every
// insert. When memcached still holds an expired item, add fails; SaveIf
// then reads the item and replaces it with cas, two more round trips that
// only happen within the 2 seconds after a record expired. A CAS id is the
// one exception: memcached accepts it until it drops the item, so a SaveIf
// with a CAS id loaded before the deadline can still write for up to 2
// seconds after the deadline (between 0 and 2 s, depending on where the
// deadline falls in memcached's one-second clock) and conflicts from then
// on. A SaveIf with a write ID checks the deadline exactly.
//
// CAS ids count up from 1 again when memcached restarts. The restart loses
// every item, so an old CAS id can only match again if the same key is
// written anew and happens to get the same id; the sessions manager writes
// new sessions under new random keys.
func (s *Store) SaveIf(ctx context.Context, key string, data []byte, expiresAt time.Time, version store.Version) (store.Version, error) {
	k := s.serverKey(key)
	var saved store.Version
	err := s.run(ctx, "save if", func() error {
		id := newWriteID()
		it := &memcache.Item{Key: k}
		exp, live := expiration(expiresAt, time.Now())
		if live {
			it.Value, it.Expiration = encode(data, expiresAt, id), exp
		} else {
			// Memcached reads a negative expiration as expired at once.
			it.Value, it.Expiration = encode(nil, expiresAt, id), -1
		}
		var err error
		switch v := uint64(version); {
		case v == 0:
			err = s.add(it)
		case v&idBit == 0:
			it.CasID = v
			err = conflict(s.client.CompareAndSwap(it))
		default:
			err = s.swapWrite(it, v)
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
		if _, _, live := decode(old.Value, time.Now()); live {
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

// swapWrite stores it if the live item under its key was stored by the
// write with ID id: a gets, then a cas with the CAS id it read.
func (s *Store) swapWrite(it *memcache.Item, id uint64) error {
	old, err := s.client.Get(it.Key)
	if errors.Is(err, memcache.ErrCacheMiss) {
		return store.ErrConflict
	}
	if err != nil {
		return err
	}
	if _, oldID, live := decode(old.Value, time.Now()); !live || oldID != id {
		return store.ErrConflict
	}
	if err := checkCAS(old.CasID); err != nil {
		return err
	}
	it.CasID = old.CasID
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

// checkCAS returns an error for a CAS id this package cannot use as a
// version: 0, which memcached -C reports, or one with idBit set, which
// would take 2^63 writes.
func checkCAS(id uint64) error {
	if id == 0 || id&idBit != 0 {
		return fmt.Errorf("server returned CAS id %d; conditional writes need CAS (memcached without -C)", id)
	}
	return nil
}
