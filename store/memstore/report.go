package memstore

import (
	"context"
	"unsafe"

	"github.com/sessionkit/sessions/internal/cleanup"
	"github.com/sessionkit/sessions/store"
)

var _ store.ExpiredReporter = (*Store)(nil)

// ReportExpired implements store.ExpiredReporter: fn is called with the
// key and a copy of the data of each record the background cleanup or
// DeleteExpired removes, after removing it, until stop is called. Records
// evicted to make room (WithMaxEntries) or removed by a save into a full
// shard are not reported.
func (s *Store) ReportExpired(fn func(ctx context.Context, key string, data []byte)) (stop func()) {
	shards, rep := s.shards, s.rep
	return rep.Register(func(ctx context.Context, key string, data []byte) {
		fn(ctx, key, bytesOf(string(data)))
	}, func(ctx context.Context) (int, error) {
		return sweepReported(ctx, shards, rep)
	})
}

// sweepReported is sweep while rep has a function: it reports each record
// it removes, after unlocking its shard. Only ReportExpired reaches it.
func sweepReported(ctx context.Context, shards []shard, rep *cleanup.Reporters) (int, error) {
	n := 0
	var removed []expiredRecord
	for i := range shards {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		sh := &shards[i]
		t := now()
		sh.mu.Lock()
		removed = sh.appendExpired(removed[:0], t)
		n += sh.removeExpired(t)
		sh.mu.Unlock()
		for _, e := range removed {
			rep.Report(ctx, e.key, unsafe.Slice(unsafe.StringData(e.data), len(e.data)))
		}
	}
	return n, nil
}

// An expiredRecord is a record a sweep removed, for the reporters.
type expiredRecord struct {
	key  string
	data string
}

// appendExpired appends the records expired at t to removed, for
// removeExpired to remove. The caller holds the write lock.
func (sh *shard) appendExpired(removed []expiredRecord, t int64) []expiredRecord {
	if t < sh.minExp {
		return removed
	}
	for k, e := range sh.m {
		if e.expired(t) {
			removed = append(removed, expiredRecord{k, e.data})
		}
	}
	return removed
}
