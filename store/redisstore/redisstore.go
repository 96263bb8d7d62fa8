// Package redisstore keeps sessions in Redis through a rueidis client.
//
// It works with a standalone, Cluster or Sentinel client alike: every call
// is a single-key command or a script on one key, so hash slots never
// matter. Records are Redis strings whose expiry is set with PXAT, so Redis
// itself enforces it to the millisecond. Each string holds an 8-byte version
// followed by the data (see store.Versioned). LoadAndTouch and LoadVersion
// with a touch use GETEX and need Redis 6.2 or newer; SaveIf runs a Lua
// script with EVALSHA. With WithReplicas, every write also waits for
// replicas (WAIT, in the same round trip), so that an acknowledged save
// survives the loss of the master. With WithClientCache, reads are served
// from rueidis' server-assisted client-side cache, within a stated
// staleness bound.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/sessionkit/sessions/internal/option"
	"github.com/sessionkit/sessions/store"
)

// minBulkLimit is the smallest proto-max-bulk-len Redis accepts.
const minBulkLimit = 1 << 20

// Store is a store.Store backed by Redis. It also implements
// store.Versioned, store.Toucher, store.LoadToucher and store.Scanner. It
// is safe for concurrent use.
type Store struct {
	client rueidis.Client
	prefix string       // tests only (see config)
	cache  *clientCache // nil without WithClientCache
	closed atomic.Bool

	// WithReplicas: every write waits for replicas replicas, at most
	// waitMillis ms (WAIT's timeout argument); replicas 0 waits for none.
	replicas   int64
	waitMillis int64
	waitFor    time.Duration // the timeout as given, for errors
}

var (
	_ store.Store       = (*Store)(nil)
	_ store.Versioned   = (*Store)(nil)
	_ store.Toucher     = (*Store)(nil)
	_ store.LoadToucher = (*Store)(nil)
	_ store.Scanner     = (*Store)(nil)
	_ store.OwnerIndex  = (*Store)(nil)
	_ store.MultiLoader = (*Store)(nil)
)

// New returns a Store that uses client: a standalone, Cluster or Sentinel
// client. The client stays the caller's to close. New does no I/O; it
// fails when client is nil or an option is invalid.
func New(client rueidis.Client, opts ...Option) (*Store, error) {
	if client == nil {
		return nil, errors.New("redisstore: client is nil")
	}
	var cfg config
	if err := option.Apply(&cfg, opts); err != nil {
		return nil, fmt.Errorf("redisstore: %w", err)
	}
	return &Store{
		client:     client,
		prefix:     cfg.prefix,
		cache:      newClientCache(cfg.cacheTTL),
		replicas:   int64(cfg.replicas),
		waitMillis: max(cfg.replicaTimeout.Milliseconds(), 1),
		waitFor:    cfg.replicaTimeout,
	}, nil
}

// Load returns the record stored under key (GET; with WithClientCache,
// from the local cache when it holds it).
func (s *Store) Load(ctx context.Context, key string) ([]byte, bool, error) {
	const op = "load"
	if err := s.check(op); err != nil {
		return nil, false, err
	}
	res, touched := s.read(ctx, key, time.Time{})
	l, err := loaded(res, touched, op)
	return l.Data, l.Found(), err
}

// Save stores data under key until expiresAt, as a new version (SET key
// value PXAT ms). The command is idempotent, so the client may retry it. A
// value longer than the server's proto-max-bulk-len (512 MB by default)
// gives an error wrapping store.ErrTooLarge. With WithReplicas, Save
// returns once the replicas have the record, or an error wrapping
// ErrNotReplicated, and is not retried (it travels with its WAIT).
//
// An expiresAt that is not in the future deletes the record instead (DEL).
// Redis 7 deletes a key set with a past PXAT too, but rejects a PXAT at or
// before the Unix epoch, such as the zero time.Time's; DEL does what is
// meant on every server.
func (s *Store) Save(ctx context.Context, key string, data []byte, expiresAt time.Time) error {
	if err := s.check("save"); err != nil {
		return err
	}
	defer s.cache.markWritten(key)
	if !expiresAt.After(time.Now()) {
		return s.del(ctx, key, "save")
	}
	v := record(newVersion(), data)
	cmd := s.client.B().Set().Key(s.prefix + key).
		// A copy, not rueidis.BinaryString: when ctx ends first, Do returns
		// while the command still waits to be written, and the caller may
		// then change data.
		Value(v).
		PxatMillisecondsTimestamp(pxat(expiresAt)).
		Build().ToRetryable()
	res, err := s.write(ctx, pin(cmd, len(v)))
	if err := writeErr(res.Error(), "save"); err != nil {
		return err
	}
	return s.replicaErr(err, "save")
}

// Delete removes the record stored under key (DEL). With WithReplicas, it
// returns once the replicas have deleted it too, or an error wrapping
// ErrNotReplicated.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.check("delete"); err != nil {
		return err
	}
	defer s.cache.markWritten(key)
	return s.del(ctx, key, "delete")
}

// Close marks the store closed: later calls return an error wrapping
// store.ErrClosed. The Store has no background work, and Close never
// closes the client, which stays the caller's; entries already in the
// client's cache stay there until they expire. Calling Close again does
// nothing.
func (s *Store) Close() error {
	s.closed.Store(true)
	s.cache.clear()
	return nil
}

// check returns the error for op on a closed store, or nil.
func (s *Store) check(op string) error {
	if s.closed.Load() {
		return fmt.Errorf("redisstore: %s: %w", op, store.ErrClosed)
	}
	return nil
}

// del removes key for op (DEL), which names the caller in errors.
func (s *Store) del(ctx context.Context, key, op string) error {
	cmd := s.client.B().Del().Key(s.prefix + key).Build().ToRetryable()
	res, err := s.write(ctx, cmd)
	if err := res.Error(); err != nil {
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	return s.replicaErr(err, op)
}

// pin pins cmd when the longest value it carries, n bytes, is long.
//
// Redis may refuse a value of proto-max-bulk-len or more before reading all
// of it, and rueidis then recycles the command while still writing it (a
// data race). A pinned command is never recycled.
func pin(cmd rueidis.Completed, n int) rueidis.Completed {
	if n >= minBulkLimit {
		return cmd.Pin()
	}
	return cmd
}

// writeErr wraps the error of a command that sent a record for op, mapping
// Redis's answer to a value over proto-max-bulk-len to store.ErrTooLarge.
func writeErr(err error, op string) error {
	if rerr, ok := rueidis.IsRedisErr(err); ok && strings.Contains(rerr.Error(), "invalid bulk length") {
		return fmt.Errorf("redisstore: %s: %w: %w", op, store.ErrTooLarge, err)
	}
	if err != nil {
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	return nil
}

// pxat returns the PXAT argument for a record that must be gone at t.
// Redis keeps a key through the whole millisecond its expiry names (it
// expires when now > PXAT), so the argument is the millisecond before t:
// the record is never visible at or after t, and disappears at most 1 ms
// early when t has a fraction of a millisecond. Redis rejects a PXAT below
// 1, so earlier times give 1, which is just as past.
func pxat(t time.Time) int64 {
	return max(t.UnixMilli()-1, 1)
}
