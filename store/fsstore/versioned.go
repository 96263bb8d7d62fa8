package fsstore

import (
	"context"
	"fmt"
	"time"

	"github.com/sessionkit/sessions/store"
)

// LoadVersion returns the record stored under key and its version, read
// from the file's header. It never moves the expiry, whatever touch says,
// and so never reports Touched: a file store can move an expiry only by
// rewriting the file, which costs more than the read. Use Touch for that.
func (s *Store) LoadVersion(ctx context.Context, key string, touch time.Time) (store.Loaded, error) {
	if err := s.check(ctx, "load version"); err != nil {
		return store.Loaded{}, err
	}
	rec, ok, err := readLive(s.d.locate(key).file)
	if err != nil {
		return store.Loaded{}, fmt.Errorf("fsstore: load version: %w", err)
	}
	if !ok {
		return store.Loaded{}, nil
	}
	return store.Loaded{Data: rec.data, Version: rec.ver}, nil
}

// SaveIf writes data under key until expiresAt, as a new version, if the
// live record under key has the given version (for the zero version: if
// there is no live record). A deadline that has passed removes the record
// and returns 0. A mismatch changes nothing and returns an error wrapping
// store.ErrConflict.
//
// The version check and the replacement of the file happen under the
// shard's advisory lock, so SaveIf is safe against other processes sharing
// the directory. The new file is written before the check, so a conflict
// costs a wasted write.
func (s *Store) SaveIf(ctx context.Context, key string, data []byte, expiresAt time.Time, version store.Version) (store.Version, error) {
	if err := s.check(ctx, "save if"); err != nil {
		return 0, err
	}
	v, err := s.d.write(ctx, key, data, expiresAt, true, version)
	if err != nil {
		return 0, fmt.Errorf("fsstore: save if: %w", err)
	}
	return v, nil
}
