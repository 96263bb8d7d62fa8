package memstore

import (
	"context"
	"fmt"
	"time"

	"github.com/sessionkit/sessions/internal/unixtime"
	"github.com/sessionkit/sessions/store"
)

// LoadVersion returns a copy of the record stored under key and its
// version. With a non-zero touch it also moves the record's expiry to
// touch in the same critical section and reports Touched; a touch that is
// not in the future returns the record and removes it. Expires is the
// record's expiry after the load. A missing or
// expired record is not found and left alone.
func (s *Store) LoadVersion(ctx context.Context, key string, touch time.Time) (store.Loaded, error) {
	l, data, err := s.loadVersion(ctx, key, touch)
	if l.Version != 0 {
		l.Data = bytesOf(data)
	}
	return l, err
}

// loadVersion is LoadVersion with the record's data as the stored string.
func (s *Store) loadVersion(ctx context.Context, key string, touch time.Time) (store.Loaded, string, error) {
	if err := s.check(ctx, "load version"); err != nil {
		return store.Loaded{}, "", err
	}
	sh := s.shard(key)
	var (
		e  entry
		ok bool
	)
	exp := int64(0)
	if touch.IsZero() {
		sh.mu.RLock()
		e, ok = sh.live(key, now())
		sh.mu.RUnlock()
		exp = e.exp
	} else {
		exp = unixtime.Nano(touch)
		sh.mu.Lock()
		e, ok = sh.touch(key, exp, now())
		sh.mu.Unlock()
	}
	if !ok {
		return store.Loaded{}, "", nil
	}
	return store.Loaded{Version: e.ver, Touched: !touch.IsZero(), Expires: time.Unix(0, exp)}, e.data, nil
}

// SaveIf stores a copy of data under key until expiresAt, as a new
// version, if the live record under key has the given version (for the
// zero version: if there is no live record). A deadline that has passed
// removes the record and returns 0. A mismatch changes nothing and returns
// an error wrapping store.ErrConflict.
func (s *Store) SaveIf(ctx context.Context, key string, data []byte, expiresAt time.Time, version store.Version) (store.Version, error) {
	if err := s.check(ctx, "save if"); err != nil {
		return 0, err
	}
	return s.saveIf(key, stringOf(data), expiresAt, version)
}

// saveIf is SaveIf with the record's data as the string to store.
func (s *Store) saveIf(key, data string, expiresAt time.Time, version store.Version) (store.Version, error) {
	e := entry{data: data, exp: unixtime.Nano(expiresAt)}
	t := now()
	sh := s.shard(key)
	sh.mu.Lock()
	cur, _ := sh.live(key, t)
	if cur.ver != version {
		sh.mu.Unlock()
		return 0, fmt.Errorf("memstore: save if version %d: %w", version, store.ErrConflict)
	}
	v := sh.save(key, e, t)
	sh.mu.Unlock()
	return v, nil
}
