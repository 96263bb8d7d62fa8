package memstore

import (
	"context"
	"time"

	"github.com/sessionkit/sessions/internal/unixtime"
)

// Touch moves the expiry of a live record to expiresAt without copying its
// data. A missing or expired record is left alone.
func (s *Store) Touch(ctx context.Context, key string, expiresAt time.Time) error {
	if err := s.check(ctx, "touch"); err != nil {
		return err
	}
	sh := s.shard(key)
	sh.mu.Lock()
	sh.touch(key, unixtime.Nano(expiresAt), now())
	sh.mu.Unlock()
	return nil
}

// LoadAndTouch returns a copy of the record stored under key and moves its
// expiry to expiresAt, in one critical section. A missing or expired record
// is not found and left alone.
func (s *Store) LoadAndTouch(ctx context.Context, key string, expiresAt time.Time) ([]byte, bool, error) {
	if err := s.check(ctx, "load and touch"); err != nil {
		return nil, false, err
	}
	sh := s.shard(key)
	sh.mu.Lock()
	e, ok := sh.touch(key, unixtime.Nano(expiresAt), now())
	sh.mu.Unlock()
	if !ok {
		return nil, false, nil
	}
	return bytesOf(e.data), true, nil
}

// touch sets the expiry of the live record under key to exp, keeping its
// version, removing it when exp is not after t, and returns the record as
// it was. The caller holds the write lock.
func (sh *shard) touch(key string, exp, t int64) (entry, bool) {
	e, ok := sh.live(key, t)
	if !ok {
		return entry{}, false
	}
	if exp <= t {
		delete(sh.m, key)
		return e, true
	}
	sh.m[key] = entry{data: e.data, exp: exp, ver: e.ver}
	sh.minExp = min(sh.minExp, exp)
	return e, true
}
