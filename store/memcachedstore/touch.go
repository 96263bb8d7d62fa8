package memcachedstore

import (
	"context"
	"errors"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

// Touch moves the expiry of the record under key to expiresAt. A missing
// or expired record is left alone; an expiresAt that is not in the future
// deletes the record.
//
// The exact expiry lives in the value's header, which memcached's touch
// command cannot change, so Touch costs what loadAndTouch does: two round
// trips (gets, then cas), the record travelling both ways.
func (s *Store) Touch(ctx context.Context, key string, expiresAt time.Time) error {
	_, _, err := s.loadAndTouch(ctx, key, expiresAt)
	return err
}

// loadAndTouch returns the record under key and moves its expiry to
// expiresAt, in two round trips: gets, then cas with the new expiry in the
// header and in memcached's expiration. A missing or expired record is not
// created or revived; an expiresAt that is not in the future deletes the
// record and reports it as not found.
//
// When a concurrent Save, Touch or Delete changes the record between the
// two round trips, the cas fails and that other write stands, as if it had
// come right after this call: the record read is still returned.
func (s *Store) loadAndTouch(ctx context.Context, key string, expiresAt time.Time) ([]byte, bool, error) {
	k := s.serverKey(key)
	var data []byte
	var found bool
	err := run(ctx, "touch", func() error {
		exp, ok := expiration(expiresAt, time.Now())
		if !ok {
			return ignoreMiss(s.client.Delete(k))
		}
		it, err := s.client.Get(k)
		if err != nil {
			return ignoreMiss(err)
		}
		d, live := decode(it.Value, time.Now())
		if !live {
			return nil
		}
		putDeadline(it.Value, expiresAt)
		it.Expiration = exp
		err = s.client.CompareAndSwap(it)
		if err != nil && !errors.Is(err, memcache.ErrCASConflict) &&
			!errors.Is(err, memcache.ErrNotStored) && !errors.Is(err, memcache.ErrCacheMiss) {
			return err
		}
		data, found = d, true
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return data, found, nil
}
