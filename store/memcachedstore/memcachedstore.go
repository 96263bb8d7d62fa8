// Package memcachedstore keeps sessions in memcached through a gomemcache
// client.
//
// Memcached's own expiry has whole-second granularity, so every value
// carries a header with the record's exact deadline, checked on every read
// and every conditional write, and memcached is told to keep the item a few
// seconds longer. Keys that memcached would reject (empty, too long,
// spaces, control bytes) are hashed into legal ones.
//
// The Store implements store.Versioned: the version of a record is a random
// ID that each write puts in the header, and conditional writes use
// memcached's add and cas (see SaveIf). It does not implement store.Toucher
// or store.LoadToucher: memcached's touch cannot move the deadline kept in
// the value, and rewriting the value would change the record's version.
// The sessions manager slides idle timeouts by rewriting records when due.
// Nor does it implement store.Scanner: memcached cannot list its keys, so
// sessions.Manager.Rekey is unsupported on it (keep previous encryption
// keys for the session lifetime instead). It implements store.Clearer
// instead, with a generation number (see Clear), so that
// sessions.Manager.RevokeAll works on it.
//
// It keeps the sessions manager's owner indexes itself (store.OwnerIndex,
// store.IndexAddLister): each is an append-only log in one item, so a
// login adds to it with one append whatever the owner's sessions. One
// item holds about 17,000 live sessions of one owner at memcached's
// default item size limit of 1 MB (memcached -I raises it); past that,
// binding one more session to the owner fails with an error wrapping
// store.ErrTooLarge.
//
// Gomemcache takes no context, so every call runs its round trips in a
// goroutine of its own and returns as soon as ctx ends; the abandoned
// round trips finish in the background within the client's Timeout.
package memcachedstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionkit/sessions/store"
)

// Store is a store.Store backed by memcached. It also implements
// store.Versioned. It is safe for concurrent use.
type Store struct {
	client *memcache.Client
	prefix string // WithNamespace
	closed atomic.Bool
	cas    casCache // CAS ids of the versions LoadVersion returned
	gens   genCache // the generation this Store last read (Clear)
}

// Interface checks.
var (
	_ store.Store          = (*Store)(nil)
	_ store.Versioned      = (*Store)(nil)
	_ store.Clearer        = (*Store)(nil)
	_ store.OwnerIndex     = (*Store)(nil)
	_ store.IndexAddLister = (*Store)(nil)
	_ store.MultiLoader    = (*Store)(nil)
)

// New returns a Store that uses client. The client stays the caller's:
// Close does not close it. The store does no background work, and the
// sessions manager prefixes its keys itself (sessions.WithKeyPrefix),
// which keeps the sessions of several applications apart on one server;
// give each its own namespace too (WithNamespace) when one of them may
// call Clear (sessions.Manager.RevokeAll).
func New(client *memcache.Client, opts ...Option) (*Store, error) {
	if client == nil {
		return nil, errors.New("memcachedstore: nil client")
	}
	s := &Store{client: client}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	return s, nil
}

// An Option configures a Store. A nil Option is ignored.
type Option func(*Store)

// WithNamespace keeps the Store's items apart from those of Stores with
// other namespaces on the same server: ns goes in front of every key (a
// key that gets too long or holds bytes memcached rejects is hashed, as
// always), and Clear ends only the records of Stores with this namespace.
// Without it, Clear ends the records of every Store on the server that
// has none.
func WithNamespace(ns string) Option { return func(s *Store) { s.prefix = ns } }

// Load returns the record stored under key, one get (of the record and
// the generation, see Clear).
func (s *Store) Load(ctx context.Context, key string) ([]byte, bool, error) {
	var data []byte
	var found bool
	err := s.run(ctx, "load", func() error {
		it, gen, err := s.get(s.serverKey(key))
		if err != nil || it == nil {
			return err
		}
		_, data, found = decodeLive(it.Value, time.Now(), gen)
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return data, found, nil
}

// Save stores data under key until expiresAt, one set (and, at most once
// a second, a get of the generation first: see Clear). An expiresAt that
// is not in the future deletes the record instead. A value bigger than the
// server's item size limit (memcached -I) gives an error wrapping
// store.ErrTooLarge.
func (s *Store) Save(ctx context.Context, key string, data []byte, expiresAt time.Time) error {
	k := s.serverKey(key)
	value, _ := encode(data, expiresAt, 0) // a copy: the round trip may outlive this call
	return s.run(ctx, "save", func() error {
		exp, ok := expiration(expiresAt, time.Now())
		if !ok {
			return ignoreMiss(s.client.Delete(k))
		}
		gen, err := s.currentGen()
		if err != nil {
			return err
		}
		stamp(value, gen)
		return tooLarge(s.client.Set(&memcache.Item{Key: k, Value: value, Expiration: exp}))
	})
}

// Delete removes the record stored under key, one delete.
func (s *Store) Delete(ctx context.Context, key string) error {
	return s.run(ctx, "delete", func() error {
		return ignoreMiss(s.client.Delete(s.serverKey(key)))
	})
}

// Close makes every later call fail with an error wrapping
// store.ErrClosed. The Store has no background work, and the client stays
// open. Close is idempotent and returns nil.
func (s *Store) Close() error {
	s.closed.Store(true)
	return nil
}

// run calls op and names the operation in any error. Op cannot be
// interrupted, so it runs in a goroutine of its own: when ctx ends first,
// run returns ctx's error at once and op finishes in the background, within
// the client's Timeout, its outcome dropped (a write may still land, as
// with any store once the command is sent). So op must not read memory the
// caller may change after run returns, and the caller must read what op
// writes only when run returns nil.
func (s *Store) run(ctx context.Context, name string, op func() error) error {
	err := ctx.Err()
	if err == nil && s.closed.Load() {
		err = store.ErrClosed
	}
	if err == nil {
		done := make(chan error, 1)
		go func() { done <- op() }()
		select {
		case err = <-done:
		case <-ctx.Done():
		}
		if cerr := ctx.Err(); cerr != nil {
			err = errors.Join(cerr, err)
		}
	}
	if err != nil {
		return fmt.Errorf("memcachedstore: %s: %w", name, err)
	}
	return nil
}

// ignoreMiss turns memcache.ErrCacheMiss into nil.
func ignoreMiss(err error) error {
	if errors.Is(err, memcache.ErrCacheMiss) {
		return nil
	}
	return err
}

// tooLarge adds store.ErrTooLarge to the error of a write that memcached
// refused for the size of the item. Gomemcache has no error value for it.
func tooLarge(err error) error {
	if err != nil && strings.Contains(err.Error(), "object too large") {
		return fmt.Errorf("%w: %w", store.ErrTooLarge, err)
	}
	return err
}
