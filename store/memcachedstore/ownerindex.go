package memcachedstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionkit/sessions/store"
)

// An owner index (store.OwnerIndex) is a log of adds and removes, split
// over indexShards items by a hash of the ID, so that no item nears
// memcached's 1 MB limit: an add or a remove appends one record to one
// item (memcached's append, one round trip, whatever the item's size), a
// list reads every shard with one get of many keys and replays the logs.
// A log is rewritten with only its live entries (a cas, which a racing
// append makes fail, and then the rewrite waits for another time) when a
// list finds it mostly dead records, and when an append finds it full
// (memcached refuses an item over its limit, 1 MB by default), so that no
// log outgrows the server's item limit. The items
// never expire on their own (an append cannot move an expiry); a rewrite
// that leaves a shard empty removes it, and a log of fewer than 64 dead
// records stays until memcached evicts it.
//
//	record: op ('+' or '-') | ID length (1 byte) | ID | for '+': deadline,
//	        time added (Unix ns, 8 bytes each, big endian)
const indexShards = 16

// indexKey is the server key of shard i of the index under key: hashed,
// since it holds a NUL byte, which no key of the manager's has.
func (s *Store) indexKey(key string, i int) string {
	return s.serverKey(key + "\x00index" + strconv.Itoa(i))
}

func shardOf(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % indexShards)
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

// IndexAdd appends e to its shard of the index under key
// (store.OwnerIndex): one round trip, two when the shard is new.
func (s *Store) IndexAdd(ctx context.Context, key string, e store.IndexEntry) error {
	if len(e.ID) > 255 {
		return fmt.Errorf("memcachedstore: index add: ID of %d bytes", len(e.ID))
	}
	if !e.Deadline.After(time.Now()) {
		return ctx.Err()
	}
	k := s.indexKey(key, shardOf(e.ID))
	rec := appendAdd(nil, e)
	return s.run(ctx, "index add", func() error { return s.appendLog(k, rec) })
}

// appendLog appends rec to the log under k, creating it if needed and
// rewriting it first if it is full.
func (s *Store) appendLog(k string, rec []byte) error {
	for range maxAddTries {
		err := s.client.Append(&memcache.Item{Key: k, Value: rec})
		switch {
		case err == nil:
			return nil
		case errors.Is(err, memcache.ErrNotStored): // no log yet
			err = s.client.Add(&memcache.Item{Key: k, Value: rec})
			if !errors.Is(err, memcache.ErrNotStored) { // another add came first: append
				return tooLarge(err)
			}
		case errors.Is(tooLarge(err), store.ErrTooLarge):
			if err := s.compact(k, nil); err != nil && !errors.Is(err, memcache.ErrCASConflict) {
				return tooLarge(err)
			}
		default:
			return err
		}
	}
	return fmt.Errorf("the owner index shard keeps changing: %w", store.ErrConflict)
}

// compact rewrites the log under k (it as read, or read now) with only
// its live entries, conditionally on its CAS id; a log left empty is
// removed. A racing append makes it fail with memcache.ErrCASConflict.
func (s *Store) compact(k string, it *memcache.Item) error {
	if it == nil {
		var err error
		if it, err = s.client.Get(k); err != nil {
			return ignoreMiss(err)
		}
	}
	entries, _ := replay(it.Value)
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

// IndexRemove appends a remove record for each of ids to its shard of the
// index under key (store.OwnerIndex): one round trip per shard.
func (s *Store) IndexRemove(ctx context.Context, key string, ids ...string) error {
	byShard := map[int][]byte{}
	for _, id := range ids {
		if len(id) > 255 {
			return fmt.Errorf("memcachedstore: index remove: ID of %d bytes", len(id))
		}
		i := shardOf(id)
		byShard[i] = appendRemove(byShard[i], id)
	}
	return s.run(ctx, "index remove", func() error {
		for i, rec := range byShard {
			err := s.client.Append(&memcache.Item{Key: s.indexKey(key, i), Value: rec})
			if errors.Is(tooLarge(err), store.ErrTooLarge) {
				if err = s.compact(s.indexKey(key, i), nil); err == nil {
					err = s.client.Append(&memcache.Item{Key: s.indexKey(key, i), Value: rec})
				}
			}
			if err != nil && !errors.Is(err, memcache.ErrNotStored) { // no log, nothing to remove
				return tooLarge(err)
			}
		}
		return nil
	})
}

// IndexList reads every shard of the index under key with one get of
// many keys (store.OwnerIndex), and rewrites the logs that are mostly
// dead records.
func (s *Store) IndexList(ctx context.Context, key string) ([]store.IndexEntry, error) {
	keys := make([]string, indexShards)
	for i := range keys {
		keys[i] = s.indexKey(key, i)
	}
	var list []store.IndexEntry
	err := s.run(ctx, "index list", func() error {
		items, err := s.client.GetMulti(keys)
		if err != nil {
			return err
		}
		now := time.Now()
		for _, k := range keys {
			it := items[k]
			if it == nil {
				continue
			}
			entries, records := replay(it.Value)
			live := 0
			for _, e := range entries {
				if now.Before(e.Deadline) {
					list = append(list, e)
					live++
				}
			}
			if records > 2*live+64 {
				if err := s.compact(k, it); err != nil && !errors.Is(err, memcache.ErrCASConflict) {
					return err
				}
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
