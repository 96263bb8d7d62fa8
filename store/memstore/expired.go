package memstore

import (
	"context"
	"fmt"
)

// DeleteExpired removes every expired record and returns how many it
// removed. It checks ctx between shards.
func (s *Store) DeleteExpired(ctx context.Context) (int, error) {
	if err := s.check(ctx, "delete expired"); err != nil {
		return 0, err
	}
	n, err := sweep(ctx, s.shards)
	if err != nil {
		return n, fmt.Errorf("memstore: delete expired: %w", err)
	}
	return n, nil
}

// sweep removes the expired records of every shard, locking one shard at a
// time, and returns how many it removed. It stops early when ctx is done.
func sweep(ctx context.Context, shards []shard) (int, error) {
	n := 0
	for i := range shards {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		sh := &shards[i]
		t := now()
		sh.mu.Lock()
		n += sh.removeExpired(t)
		sh.mu.Unlock()
	}
	return n, nil
}
