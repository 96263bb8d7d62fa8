// Package memcachedstore keeps sessions in memcached through a gomemcache
// client.
//
// Memcached's own expiry has whole-second granularity, so every value
// carries a 9-byte header with the record's exact expiry, checked on every
// read; memcached is told to keep the item a few seconds longer. Because
// the expiry lives in the value, Touch rewrites it with a
// gets and a cas (two round trips) instead of memcached's touch. Keys that
// memcached would reject (empty, too long, spaces, control bytes) are
// hashed into legal ones.
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
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionkit/sessions/store"
)

// Store is a store.Store backed by memcached. It also implements
// store.Toucher. It is safe for concurrent use.
type Store struct {
	client *memcache.Client
	prefix string
}

var (
	_ store.Store   = (*Store)(nil)
	_ store.Toucher = (*Store)(nil)
)

// New returns a Store that uses client.
func New(client *memcache.Client, opts ...Option) *Store {
	s := &Store{client: client}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Load returns the record stored under key, one get.
func (s *Store) Load(ctx context.Context, key string) ([]byte, bool, error) {
	var data []byte
	var found bool
	err := run(ctx, "load", func() error {
		it, err := s.client.Get(s.serverKey(key))
		if err != nil {
			return ignoreMiss(err)
		}
		data, found = decode(it.Value, time.Now())
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return data, found, nil
}

// Save stores data under key until expiresAt, one set. An expiresAt that
// is not in the future deletes the record instead. A value bigger than the
// server's item size limit (memcached -I) gives an error wrapping
// store.ErrTooLarge.
func (s *Store) Save(ctx context.Context, key string, data []byte, expiresAt time.Time) error {
	k := s.serverKey(key)
	value := encode(data, expiresAt) // a copy: the round trip may outlive this call
	return run(ctx, "save", func() error {
		exp, ok := expiration(expiresAt, time.Now())
		if !ok {
			return ignoreMiss(s.client.Delete(k))
		}
		err := s.client.Set(&memcache.Item{Key: k, Value: value, Expiration: exp})
		if err != nil && strings.Contains(err.Error(), "object too large") {
			return fmt.Errorf("%w: %w", store.ErrTooLarge, err)
		}
		return err
	})
}

// Delete removes the record stored under key, one delete.
func (s *Store) Delete(ctx context.Context, key string) error {
	return run(ctx, "delete", func() error {
		return ignoreMiss(s.client.Delete(s.serverKey(key)))
	})
}

// run calls op and names the operation in any error. Op cannot be
// interrupted, so it runs in a goroutine of its own: when ctx ends first,
// run returns ctx's error at once and op finishes in the background, within
// the client's Timeout, its outcome dropped (a write may still land, as
// with any store once the command is sent). So op must not read memory the
// caller may change after run returns, and the caller must read what op
// writes only when run returns nil.
func run(ctx context.Context, name string, op func() error) error {
	err := ctx.Err()
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
