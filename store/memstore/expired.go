package memstore

import (
	"context"
	"fmt"
	"unsafe"

	"github.com/sessionkit/sessions/internal/cleanup"
)

// DeleteExpired removes every expired record and returns how many it
// removed. It checks ctx between shards.
func (s *Store) DeleteExpired(ctx context.Context) (int, error) {
	if err := s.check(ctx, "delete expired"); err != nil {
		return 0, err
	}
	n, err := sweep(ctx, s.shards, s.rep)
	if err != nil {
		return n, fmt.Errorf("memstore: delete expired: %w", err)
	}
	return n, nil
}

// sweep removes the expired records of every shard, locking one shard at a
// time, and returns how many it removed, reporting them to rep. It stops
// early when ctx is done.
func sweep(ctx context.Context, shards []shard, rep *cleanup.Reporters) (int, error) {
	n := 0
	var removed []expiredRecord
	for i := range shards {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		sh := &shards[i]
		t := now()
		removed = removed[:0]
		var collect func(key string, e entry)
		if rep.Active() {
			collect = func(key string, e entry) { removed = append(removed, expiredRecord{key, e.data}) }
		}
		sh.mu.Lock()
		n += sh.removeExpired(t, collect)
		sh.mu.Unlock()
		for _, e := range removed {
			rep.Report(ctx, e.key, unsafe.Slice(unsafe.StringData(e.data), len(e.data)))
		}
	}
	return n, nil
}
