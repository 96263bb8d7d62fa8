package redisstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/rueidis"

	"github.com/sessionkit/sessions/store"
)

// An owner index (store.OwnerIndex) is two Redis keys in one hash slot:
// a sorted set of the IDs scored by their deadline (Unix ms), to find the
// entries past their deadline, and a hash from ID to the entry's deadline
// and time added (Unix ns, 8 bytes each, big endian). Their names wrap
// the index key in braces, a hash tag, so that they never start with the
// prefix of a scan and always share a slot in a Cluster:
// "{key}z" and "{key}h". Each call is one Lua script, so one round trip
// (IndexAddList's adds and returns the hash: store.IndexAddLister); an add
// removes up to 100 entries past their deadline, a list all of them, and
// both keys expire with the latest deadline.
func (s *Store) indexKeys(key string) (string, string) {
	tag := "{" + s.prefix + key + "}"
	return tag + "z", tag + "h"
}

// indexAdd is the script of IndexAdd, on KEYS[1] (the sorted set) and
// KEYS[2] (the hash):
//
//	ARGV[1]  the ID
//	ARGV[2]  its deadline, Unix ms
//	ARGV[3]  the hash's value: deadline and added, Unix ns
//	ARGV[4]  now, Unix ms
var indexAdd = script{
	src:  indexAddSrc + "return 1\n",
	sha1: "bbb4f951f964e8f97b02d80300fd0701b08697dd",
}

// indexAddSrc is the add both scripts make: it drops up to 100 entries
// past their deadline, adds the entry, and moves both keys' expiry to the
// last deadline.
const indexAddSrc = `local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[4], 'LIMIT', 0, 100)
if #old > 0 then
  redis.call('ZREM', KEYS[1], unpack(old))
  redis.call('HDEL', KEYS[2], unpack(old))
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
redis.call('PEXPIREAT', KEYS[2], last[2])
`

// indexAddList is the script of IndexAddList: indexAdd's, and then the
// hash, in the same atomic step.
var indexAddList = script{
	src:  indexAddSrc + "return redis.call('HGETALL', KEYS[2])\n",
	sha1: "4cc528be89240dc0db73034c5c02fc80d6e683dc",
}

// indexRemove is the script of IndexRemove: ARGV are the IDs.
var indexRemove = script{
	src: `for i = 1, #ARGV, 1000 do
  local ids = {unpack(ARGV, i, math.min(i + 999, #ARGV))}
  redis.call('ZREM', KEYS[1], unpack(ids))
  redis.call('HDEL', KEYS[2], unpack(ids))
end
return 1
`,
	sha1: "589996f9e580c40e8c30e4cc19e8711539f0167a",
}

// indexList is the script of IndexList: it removes the entries past their
// deadline (ARGV[1], now in Unix ms) and returns the hash.
var indexList = script{
	src: `local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for i = 1, #old, 1000 do
  local ids = {unpack(old, i, math.min(i + 999, #old))}
  redis.call('ZREM', KEYS[1], unpack(ids))
  redis.call('HDEL', KEYS[2], unpack(ids))
end
return redis.call('HGETALL', KEYS[2])
`,
	sha1: "2c011d6169220ccf3a86731937c97e5786a4364d",
}

// exec2 runs the script sc on the two keys of an index, as a write.
func (s *Store) exec2(ctx context.Context, sc script, z, h string, args ...string) (rueidis.RedisResult, error) {
	c := s.client
	res, err := s.write(ctx, c.B().Evalsha().Sha1(sc.sha1).Numkeys(2).Key(z, h).Arg(args...).Build())
	if rerr, ok := rueidis.IsRedisErr(res.Error()); ok && rerr.IsNoScript() {
		res, err = s.write(ctx, c.B().Eval().Script(sc.src).Numkeys(2).Key(z, h).Arg(args...).Build())
	}
	return res, err
}

var _ store.IndexAddLister = (*Store)(nil)

// IndexAdd adds e to the owner index under key (store.OwnerIndex), in one
// script.
func (s *Store) IndexAdd(ctx context.Context, key string, e store.IndexEntry) error {
	_, _, err := s.indexAdd(ctx, key, e, false)
	return err
}

// IndexAddList adds e to the owner index under key and returns its live
// entries (store.IndexAddLister), in one script: always listed, but for an
// entry whose deadline has passed, which is not added.
func (s *Store) IndexAddList(ctx context.Context, key string, e store.IndexEntry) ([]store.IndexEntry, bool, error) {
	return s.indexAdd(ctx, key, e, true)
}

// indexAdd adds e to the index under key with the script indexAdd, or
// with list indexAddList, whose entries it returns.
func (s *Store) indexAdd(ctx context.Context, key string, e store.IndexEntry, list bool) ([]store.IndexEntry, bool, error) {
	const op = "index add"
	if err := s.check(op); err != nil {
		return nil, false, err
	}
	now := time.Now()
	if !e.Deadline.After(now) {
		return nil, false, nil
	}
	var v [16]byte
	binary.BigEndian.PutUint64(v[:], uint64(e.Deadline.UnixNano()))
	binary.BigEndian.PutUint64(v[8:], uint64(e.Added.UnixNano()))
	sc := indexAdd
	if list {
		sc = indexAddList
	}
	z, h := s.indexKeys(key)
	res, rerr := s.exec2(ctx, sc, z, h, e.ID, strconv.FormatInt(e.Deadline.UnixMilli()+1, 10), string(v[:]), strconv.FormatInt(now.UnixMilli(), 10))
	if err := res.Error(); err != nil {
		return nil, false, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	if err := s.replicaErr(rerr, op); err != nil {
		return nil, false, err
	}
	if !list {
		return nil, false, nil
	}
	m, err := res.AsStrMap()
	if err != nil {
		return nil, false, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	return entriesOf(m, now), true, nil
}

// IndexRemove removes ids from the owner index under key
// (store.OwnerIndex), in one script.
func (s *Store) IndexRemove(ctx context.Context, key string, ids ...string) error {
	const op = "index remove"
	if err := s.check(op); err != nil {
		return err
	}
	if len(ids) == 0 {
		return ctx.Err()
	}
	z, h := s.indexKeys(key)
	res, rerr := s.exec2(ctx, indexRemove, z, h, ids...)
	if err := res.Error(); err != nil {
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	return s.replicaErr(rerr, op)
}

// IndexList returns the live entries of the owner index under key
// (store.OwnerIndex), removing the others, in one script.
func (s *Store) IndexList(ctx context.Context, key string) ([]store.IndexEntry, error) {
	const op = "index list"
	if err := s.check(op); err != nil {
		return nil, err
	}
	z, h := s.indexKeys(key)
	now := time.Now()
	res, _ := s.exec2(ctx, indexList, z, h, strconv.FormatInt(now.UnixMilli(), 10))
	m, err := res.AsStrMap()
	if err != nil {
		return nil, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	return entriesOf(m, now), nil
}

// entriesOf returns the entries of an index's hash m whose deadline is
// after now.
func entriesOf(m map[string]string, now time.Time) []store.IndexEntry {
	list := make([]store.IndexEntry, 0, len(m))
	for id, v := range m {
		if len(v) != 16 {
			continue
		}
		e := store.IndexEntry{
			ID:       id,
			Deadline: time.Unix(0, int64(binary.BigEndian.Uint64([]byte(v[:8])))),
			Added:    time.Unix(0, int64(binary.BigEndian.Uint64([]byte(v[8:])))),
		}
		if now.Before(e.Deadline) {
			list = append(list, e)
		}
	}
	return list
}

// LoadVersions reads the records under keys and their expiries, a GET
// and a PTTL for each key, pipelined: one round trip (one per node of a
// Cluster; store.MultiLoader). It reads the server, never the client
// cache. Expires is exact to the millisecond and the time the round trip
// took.
func (s *Store) LoadVersions(ctx context.Context, keys []string) ([]store.Loaded, error) {
	const op = "load versions"
	if err := s.check(op); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	if len(keys) == 0 {
		return []store.Loaded{}, nil
	}
	cmds := make(rueidis.Commands, 0, 2*len(keys))
	for _, k := range keys {
		cmds = append(cmds,
			s.client.B().Get().Key(s.prefix+k).Build(),
			s.client.B().Pttl().Key(s.prefix+k).Build())
	}
	sent := time.Now()
	res := s.client.DoMulti(ctx, cmds...)
	out := make([]store.Loaded, len(keys))
	for i := range keys {
		l, err := loaded(res[2*i], false, op)
		if err != nil {
			return nil, err
		}
		if !l.Found() {
			continue
		}
		ttl, err := res[2*i+1].AsInt64()
		if err != nil {
			return nil, fmt.Errorf("redisstore: %s: %w", op, err)
		}
		if ttl >= 0 { // -1: no expiry (a record written outside the store)
			// The key lives through the millisecond PXAT names (see pxat).
			l.Expires = sent.Add(time.Duration(ttl+1) * time.Millisecond)
		}
		out[i] = l
	}
	return out, nil
}
