package memcachedstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionkit/sessions/store"
)

// An owner index (store.OwnerIndex) is a log of adds and removes in one
// item: an add or a remove appends records to it (memcached's append, one
// round trip, whatever the item's size), a list reads it with one get and
// replays it. The first add creates the item with memcached's add, which
// fails if the item exists: an add that created it knows the whole index,
// its entry alone, so IndexAddList lists without reading it. The log is
// rewritten with only its live entries (a cas, which a racing append makes
// fail, and then the rewrite waits for another time) when a list finds it
// mostly dead records, and when an append finds it full (memcached refuses
// to grow an item past its limit, 1 MB by default: see appendLog). One
// item holds about 17,000 live entries at the default limit (61 bytes
// each with the manager's IDs); an add that finds it full of live entries
// fails with an error wrapping store.ErrTooLarge, and a remove that finds
// it full rewrites it without the removed entries. The item never expires
// on its own (an append cannot move an expiry); a rewrite that leaves it
// empty removes it, and a log of fewer than 64 dead records stays until
// memcached evicts it.
//
//	record: op ('+' or '-') | ID length (1 byte) | ID | for '+': deadline,
//	        time added (Unix ns, 8 bytes each, big endian)

// indexKey is the server key of the index under key: hashed, since it
// holds a NUL byte, which no key of the manager's has.
func (s *Store) indexKey(key string) string {
	return s.serverKey(key + "\x00index")
}

func appendAdd(dst []byte, e store.IndexEntry) []byte {
	dst = append(dst, '+', byte(len(e.ID)))
	dst = append(dst, e.ID...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.Deadline.UnixNano()))
	return binary.BigEndian.AppendUint64(dst, uint64(e.Added.UnixNano()))
}

func appendRemove(dst []byte, id string) []byte {
	dst = append(dst, '-', byte(len(id)))
	return append(dst, id...)
}

// replay returns the entries a log leaves, by ID, and how many records it
// holds; a damaged tail is ignored.
func replay(log []byte) (map[string]store.IndexEntry, int) {
	entries := map[string]store.IndexEntry{}
	n := 0
	for len(log) >= 2 {
		op, l := log[0], int(log[1])
		if len(log) < 2+l {
			break
		}
		id := string(log[2 : 2+l])
		log = log[2+l:]
		n++
		switch op {
		case '-':
			delete(entries, id)
		case '+':
			if len(log) < 16 {
				return entries, n
			}
			entries[id] = store.IndexEntry{
				ID:       id,
				Deadline: time.Unix(0, int64(binary.BigEndian.Uint64(log))),
				Added:    time.Unix(0, int64(binary.BigEndian.Uint64(log[8:]))),
			}
			log = log[16:]
		default:
			return entries, n
		}
	}
	return entries, n
}

// IndexAdd appends e to the index under key (store.OwnerIndex): one round
// trip, two when the index is new.
func (s *Store) IndexAdd(ctx context.Context, key string, e store.IndexEntry) error {
	_, err := s.indexAdd(ctx, key, e)
	return err
}

// IndexAddList appends e to the index under key as IndexAdd does
// (store.IndexAddLister). It lists the index only when the index was
// empty: the append found no item, and the add that created it holds e
// alone (two round trips, as IndexAdd's). After an append to an index
// that has entries, listed is false: the caller reads it.
func (s *Store) IndexAddList(ctx context.Context, key string, e store.IndexEntry) ([]store.IndexEntry, bool, error) {
	created, err := s.indexAdd(ctx, key, e)
	if err != nil || !created {
		return nil, false, err
	}
	return []store.IndexEntry{e}, true, nil
}

// indexAdd is IndexAdd; it reports whether the add created the index,
// which then holds e alone.
func (s *Store) indexAdd(ctx context.Context, key string, e store.IndexEntry) (bool, error) {
	const op = "index add"
	if len(e.ID) > 255 {
		return false, fmt.Errorf("memcachedstore: %s: ID of %d bytes", op, len(e.ID))
	}
	if !e.Deadline.After(time.Now()) {
		return false, ctx.Err()
	}
	k := s.indexKey(key)
	rec := appendAdd(nil, e)
	var created bool
	err := s.run(ctx, op, func() (err error) {
		created, err = s.appendLog(k, rec)
		return err
	})
	if err != nil {
		return false, err // created may be written yet: see run
	}
	return created, nil
}

// appendLog appends rec to the log under k, creating it if needed and
// rewriting it first if it is full. It reports whether it created the
// log, which then holds rec alone.
//
// Memcached answers an append with NOT_STORED both when there is no item
// and when the item would outgrow the size limit; an add that finds the
// item tells them apart. So: an append (one round trip), then an add when
// the append is refused (two: the log was empty), then, when the add
// finds a log, another append (three: a racing add created the log), and
// when that one is refused too the log is full: it is rewritten with its
// live entries and the append tried again.
func (s *Store) appendLog(k string, rec []byte) (bool, error) {
	compacted := false
	for range maxAddTries {
		err := s.client.Append(&memcache.Item{Key: k, Value: rec})
		if !errors.Is(err, memcache.ErrNotStored) {
			return false, tooLarge(err)
		}
		err = s.client.Add(&memcache.Item{Key: k, Value: rec})
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, memcache.ErrNotStored) {
			return false, tooLarge(err)
		}
		err = s.client.Append(&memcache.Item{Key: k, Value: rec})
		if !errors.Is(err, memcache.ErrNotStored) {
			return false, tooLarge(err)
		}
		// Refused twice with a log there: it is full.
		if compacted {
			return false, fmt.Errorf("the owner index's item is full of live entries: %w", store.ErrTooLarge)
		}
		switch err := s.compact(k, nil, nil); {
		case err == nil:
			compacted = true
		case !errors.Is(err, memcache.ErrCASConflict):
			return false, tooLarge(err)
		}
	}
	return false, fmt.Errorf("the owner index keeps changing: %w", store.ErrConflict)
}

// compact rewrites the log under k (it as read, or read now) with only
// its live entries, less those with IDs in drop, conditionally on its CAS
// id; a log left empty is removed, and no log is no error. A racing
// append makes it fail with memcache.ErrCASConflict.
func (s *Store) compact(k string, it *memcache.Item, drop []string) error {
	if it == nil {
		var err error
		if it, err = s.client.Get(k); err != nil {
			return ignoreMiss(err)
		}
	}
	entries, _ := replay(it.Value)
	for _, id := range drop {
		delete(entries, id)
	}
	now := time.Now()
	var log []byte
	for _, e := range entries {
		if now.Before(e.Deadline) {
			log = appendAdd(log, e)
		}
	}
	it.Value = log
	if len(log) == 0 {
		it.Value, it.Expiration = []byte{0}, -1 // stored expired: removed
	}
	err := s.client.CompareAndSwap(it)
	if errors.Is(err, memcache.ErrNotStored) {
		return nil // gone meanwhile
	}
	return err
}

// IndexRemove appends a remove record for each of ids to the index under
// key (store.OwnerIndex): one round trip. When memcached refuses the
// append (there is no log, or it is full) it reads the log and, if there
// is one, rewrites it without the removed entries instead.
func (s *Store) IndexRemove(ctx context.Context, key string, ids ...string) error {
	var rec []byte
	for _, id := range ids {
		if len(id) > 255 {
			return fmt.Errorf("memcachedstore: index remove: ID of %d bytes", len(id))
		}
		rec = appendRemove(rec, id)
	}
	if len(rec) == 0 {
		return ctx.Err()
	}
	k := s.indexKey(key)
	return s.run(ctx, "index remove", func() error {
		for range maxAddTries {
			err := s.client.Append(&memcache.Item{Key: k, Value: rec})
			if !errors.Is(err, memcache.ErrNotStored) {
				return tooLarge(err)
			}
			if err := s.compact(k, nil, ids); !errors.Is(err, memcache.ErrCASConflict) {
				return tooLarge(err)
			}
		}
		return fmt.Errorf("the owner index keeps changing: %w", store.ErrConflict)
	})
}

// IndexList reads the index under key with one get (store.OwnerIndex),
// and rewrites its log when it is mostly dead records.
func (s *Store) IndexList(ctx context.Context, key string) ([]store.IndexEntry, error) {
	k := s.indexKey(key)
	var list []store.IndexEntry
	err := s.run(ctx, "index list", func() error {
		it, err := s.client.Get(k)
		if err != nil {
			return ignoreMiss(err)
		}
		entries, records := replay(it.Value)
		now := time.Now()
		live := 0
		for _, e := range entries {
			if now.Before(e.Deadline) {
				list = append(list, e)
				live++
			}
		}
		if records > 2*live+64 {
			if err := s.compact(k, it, nil); err != nil && !errors.Is(err, memcache.ErrCASConflict) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}

// LoadVersions reads the records under keys and the generation (see
// Clear) with one get of many keys (one round trip per server;
// store.MultiLoader).
func (s *Store) LoadVersions(ctx context.Context, keys []string) ([]store.Loaded, error) {
	server := make([]string, len(keys))
	for i, k := range keys {
		server[i] = s.serverKey(k)
	}
	out := make([]store.Loaded, len(keys))
	err := s.run(ctx, "load versions", func() error {
		gk := s.genKey()
		items, err := s.client.GetMulti(append(server[:len(server):len(server)], gk))
		if err != nil {
			return err
		}
		gen := s.gens.see(parseGen(items[gk]))
		now := time.Now()
		for i, k := range server {
			it := items[k]
			if it == nil {
				continue
			}
			h, data, live := decodeLive(it.Value, now, gen)
			if !live {
				continue
			}
			if err := checkCAS(it.CasID); err != nil {
				return err
			}
			v := store.Version(h.id)
			if h.id == 0 {
				v = store.Version(it.CasID)
			}
			out[i] = store.Loaded{Data: bytes.Clone(data), Version: v}
			if out[i].Data == nil {
				out[i].Data = []byte{}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
