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
