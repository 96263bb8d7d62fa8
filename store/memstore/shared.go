package memstore

import (
	"context"
	"time"
	"unsafe"

	"github.com/sessionkit/sessions/store"
)

// LoadVersionShared is LoadVersion without the copy: Data is the store's
// own immutable bytes, which the caller must not modify. The sessions
// manager uses it, since it only reads what it loads; it saves a copy of
// every record on every request.
func (s *Store) LoadVersionShared(ctx context.Context, key string, touch time.Time) (store.Loaded, error) {
	l, data, err := s.loadVersion(ctx, key, touch)
	if err != nil || data == "" {
		if l.Version != 0 {
			l.Data = []byte{}
		}
		return l, err
	}
	l.Data = unsafe.Slice(unsafe.StringData(data), len(data))
	return l, nil
}

// SaveIfShared is SaveIf without the copy: the store keeps data itself,
// which the caller must never modify again. The sessions manager uses it,
// since it builds a new record for every write and only reads it after.
func (s *Store) SaveIfShared(ctx context.Context, key string, data []byte, expiresAt time.Time, version store.Version) (store.Version, error) {
	if err := s.check(ctx, "save if"); err != nil {
		return 0, err
	}
	return s.saveIf(key, unsafe.String(unsafe.SliceData(data), len(data)), expiresAt, version)
}
