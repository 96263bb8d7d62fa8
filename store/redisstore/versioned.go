package redisstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/redis/rueidis"

	"github.com/sessionkit/sessions/internal/fastpath"
	"github.com/sessionkit/sessions/store"
)

// The stored format: every record is a Redis string that starts with its
// version, versionLen bytes big-endian, followed by the data. A string that
// is shorter or starts with a zero version was not written by this package
// (for example by a release before versions) and counts as absent.
const versionLen = 8

// newVersion returns a random non-zero version. math/rand/v2's global
// generator is seeded from the operating system's randomness, so two
// processes never share a sequence; with 64 random bits a key never gets a
// version it had before in practice.
func newVersion() store.Version {
	for {
		if v := store.Version(rand.Uint64()); v != 0 {
			return v
		}
	}
}

// encodeVersion returns v as the bytes it is stored as.
func encodeVersion(v store.Version) string {
	var b [versionLen]byte
	binary.BigEndian.PutUint64(b[:], uint64(v))
	return string(b[:])
}

// record returns the stored string for data under version v, a fresh copy
// the caller may no longer change.
func record(v store.Version, data []byte) string {
	var b strings.Builder
	b.Grow(versionLen + len(data))
	b.WriteString(encodeVersion(v))
	b.Write(data)
	return b.String()
}

// loaded turns the reply of GET or GETEX into a Loaded record. The data is
// copied out of the reply, which rueidis hands out as an immutable string.
// touched says whether the command moved the record's expiry.
func loaded(res rueidis.RedisResult, touched bool, op string) (store.Loaded, error) {
	l, err := loadedShared(res, touched, op)
	if l.Data != nil {
		l.Data = bytes.Clone(l.Data) // an empty record stays non-nil
	}
	return l, err
}

// loadedShared is loaded without the copy: Data aliases the reply's
// immutable string.
func loadedShared(res rueidis.RedisResult, touched bool, op string) (store.Loaded, error) {
	s, err := res.ToString()
	if rueidis.IsRedisNil(err) {
		return store.Loaded{}, nil
	}
	if err != nil {
		return store.Loaded{}, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	if len(s) < versionLen {
		return store.Loaded{}, nil
	}
	v := store.Version(binary.BigEndian.Uint64([]byte(s[:versionLen])))
	if v == 0 {
		return store.Loaded{}, nil
	}
	data := unsafe.Slice(unsafe.StringData(s[versionLen:]), len(s)-versionLen)
	if data == nil {
		data = []byte{} // found, and empty
	}
	return store.Loaded{Data: data, Version: v, Touched: touched}, nil
}

// The sessions manager loads through the uncopied path, since it only
// reads what it loads. Its writes go through SaveIf: the command copies
// the data anyway.
func init() {
	fastpath.Register(func(st store.Store) (fastpath.Paths, bool) {
		s, ok := st.(*Store)
		if !ok {
			return fastpath.Paths{}, false
		}
		return fastpath.Paths{LoadVersion: s.loadVersionShared}, true
	})
}

// loadVersionShared is LoadVersion without the copy of the reply: Data
// aliases the immutable string the client received, which the caller must
// not modify.
func (s *Store) loadVersionShared(ctx context.Context, key string, touch time.Time) (store.Loaded, error) {
	const op = "load version"
	if err := s.check(op); err != nil {
		return store.Loaded{}, err
	}
	res, touched := s.read(ctx, key, touch)
	l, err := loadedShared(res, touched, op)
	return withExpiry(l, touch), err
}

// withExpiry sets l.Expires when the load that returned l moved the
// record's expiry to touch.
func withExpiry(l store.Loaded, touch time.Time) store.Loaded {
	if l.Touched {
		l.Expires = time.UnixMilli(pxat(touch) + 1) // see pxat
	}
	return l
}

// read sends the read of key for a load and reports whether it moved the
// record's expiry to touch: GET key, or with a non-zero touch GETEX key
// PXAT ms. With WithClientCache it never touches (see clientCache.read).
func (s *Store) read(ctx context.Context, key string, touch time.Time) (rueidis.RedisResult, bool) {
	if s.cache != nil {
		return s.cache.read(ctx, s.client, key, s.prefix+key), false
	}
	if touch.IsZero() {
		return s.client.Do(ctx, s.client.B().Get().Key(s.prefix+key).Build()), false
	}
	return s.client.Do(ctx, s.getex(key, touch)), true
}

// LoadVersion returns the record stored under key with its version (GET).
// With a non-zero touch it also moves the record's expiry to touch in the
// same command (GETEX key PXAT ms, Redis 6.2 or newer) and reports Touched
// and the new expiry (Expires). A touch that is not in the future returns the record as it was and
// leaves it gone: Redis deletes a key whose GETEX expiry has passed.
//
// With WithClientCache, LoadVersion reads through the cache and never
// touches (Touched is always false), whatever touch says: GETEX cannot be
// cached. With an idle timeout the sessions manager then slides the expiry
// with an occasional rewrite instead, so reads stay local. A version read
// from the cache may be stale; SaveIf checks it on the server, so a stale
// version only costs a conflict, never a lost write.
func (s *Store) LoadVersion(ctx context.Context, key string, touch time.Time) (store.Loaded, error) {
	const op = "load version"
	if err := s.check(op); err != nil {
		return store.Loaded{}, err
	}
	res, touched := s.read(ctx, key, touch)
	l, err := loaded(res, touched, op)
	return withExpiry(l, touch), err
}

// saveIf is the script behind SaveIf, on KEYS[1], the record:
//
//	ARGV[1]  the version the caller expects, encoded, or "" for no record
//	ARGV[2]  the new stored string
//	ARGV[3]  its PXAT, or "" to delete the record instead
//
// It returns 1 when it wrote and 0 on a conflict. Redis expires a key
// before a script reads it, and time stands still while a script runs, so
// an expired record reads as "" here as everywhere.
var saveIf = script{
	src: `local cur = redis.call('GETRANGE', KEYS[1], 0, 7)
if #cur ~= 8 or cur == '\0\0\0\0\0\0\0\0' then cur = '' end
if cur ~= ARGV[1] then return 0 end
if ARGV[3] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
end
return 1
`,
	// The SHA-1 of src, fixed here so that no SHA-1 is computed at run
	// time (Go forbids it in FIPS 140-only mode); a test checks it.
	sha1: "2d26b8259af362da4c74cbdbe8bc2366e6d4a5b5",
}

// SaveIf stores data under key until expiresAt, as a new version, only if
// the live record under key has the given version, or, for the zero
// version, if there is no live record. A conflict writes nothing and
// returns an error wrapping store.ErrConflict. An expiresAt that is not in
// the future deletes the record (if the version matches) and returns 0.
//
// It is one command: EVALSHA of a short Lua script that compares the
// version (GETRANGE) and writes (SET PXAT, or DEL). The first call on a
// server that does not have the script yet takes a second round trip
// (EVAL). It is not retried on a connection failure, since a retried write
// that did happen would report a conflict. A value longer than the
// server's proto-max-bulk-len gives an error wrapping store.ErrTooLarge,
// or the connection's error when Redis closes the connection before the
// client has read its refusal (Save is retried then; SaveIf cannot be).
// With WithReplicas, SaveIf returns once the replicas have the write, or
// an error wrapping ErrNotReplicated (the write itself happened: the
// version it was given is stale).
func (s *Store) SaveIf(ctx context.Context, key string, data []byte, expiresAt time.Time, version store.Version) (store.Version, error) {
	const op = "save if"
	if err := s.check(op); err != nil {
		return 0, err
	}
	// Like a Save, and even after a conflict: a caller that reloads after
	// a conflict reads the record that won from the server.
	defer s.cache.markWritten(key)
	var want, value, at string
	if version != 0 {
		want = encodeVersion(version)
	}
	var next store.Version
	if expiresAt.After(time.Now()) {
		next = newVersion()
		value = record(next, data)
		at = strconv.FormatInt(pxat(expiresAt), 10)
	}
	res, rerr := s.exec(ctx, saveIf, s.prefix+key, want, value, at)
	n, err := res.AsInt64()
	if err != nil {
		return 0, writeErr(err, op)
	}
	if n == 0 {
		return 0, fmt.Errorf("redisstore: %s: %w", op, store.ErrConflict)
	}
	if err := s.replicaErr(rerr, op); err != nil {
		return 0, err
	}
	return next, nil
}

// A script is a Lua script on one key, run with EVALSHA, and with EVAL
// when the server does not know it yet (NOSCRIPT). rueidis.Lua does the
// same, but cannot pin its commands, which a long value needs (see pin).
type script struct {
	src, sha1 string
}

// exec runs the script sc on key with args, as a write (see Store.write).
// Like rueidis.Lua, it never marks the commands retryable.
func (s *Store) exec(ctx context.Context, sc script, key string, args ...string) (rueidis.RedisResult, error) {
	long := 0
	for _, a := range args {
		long = max(long, len(a))
	}
	c := s.client
	res, err := s.write(ctx, pin(c.B().Evalsha().Sha1(sc.sha1).Numkeys(1).Key(key).Arg(args...).Build(), long))
	if rerr, ok := rueidis.IsRedisErr(res.Error()); ok && rerr.IsNoScript() {
		res, err = s.write(ctx, pin(c.B().Eval().Script(sc.src).Numkeys(1).Key(key).Arg(args...).Build(), long))
	}
	return res, err
}
