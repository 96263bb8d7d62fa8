package memstore

import (
	"context"

	"github.com/sessionkit/sessions/store"
)

var _ store.ExpiredReporter = (*Store)(nil)

// ReportExpired implements store.ExpiredReporter: fn is called with the
// key and a copy of the data of each record the background cleanup or
// DeleteExpired removes, after removing it, until stop is called. Records
// evicted to make room (WithMaxEntries) or removed by a save into a full
// shard are not reported.
func (s *Store) ReportExpired(fn func(ctx context.Context, key string, data []byte)) (stop func()) {
	return s.rep.Register(func(ctx context.Context, key string, data []byte) {
		fn(ctx, key, bytesOf(string(data)))
	})
}

// An expiredRecord is a record a sweep removed, for the reporters.
type expiredRecord struct {
	key  string
	data string
}
