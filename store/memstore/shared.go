package memstore

import (
	"context"
	"time"
	"unsafe"

	"github.com/sessionkit/sessions/internal/fastpath"
	"github.com/sessionkit/sessions/store"
)

// The sessions manager loads and saves through the uncopied paths: it
// only reads what it loads, and builds a new record for every write that
// it never modifies after.
func init() {
	fastpath.Register(func(st store.Store) (fastpath.Paths, bool) {
		s, ok := st.(*Store)
		if !ok {
			return fastpath.Paths{}, false
		}
		return fastpath.Paths{LoadVersion: s.loadVersionShared, SaveIf: s.saveIfShared, NoWait: true}, true
	})
}

// loadVersionShared is LoadVersion without the copy: Data is the store's
// own immutable bytes, which the caller must not modify.
func (s *Store) loadVersionShared(ctx context.Context, key string, touch time.Time) (store.Loaded, error) {
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

// saveIfShared is SaveIf without the copy: the store keeps data itself,
// which the caller must never modify again.
func (s *Store) saveIfShared(ctx context.Context, key string, data []byte, expiresAt time.Time, version store.Version) (store.Version, error) {
	if err := s.check(ctx, "save if"); err != nil {
		return 0, err
	}
	return s.saveIf(key, unsafe.String(unsafe.SliceData(data), len(data)), expiresAt, version)
}
