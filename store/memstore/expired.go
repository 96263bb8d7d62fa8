package memstore

import (
	"context"
	"fmt"

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
// time, and returns how many it removed. It stops early when ctx is done.
// While rep has a function it sweeps with reports instead (see
// ReportExpired).
func sweep(ctx context.Context, shards []shard, rep *cleanup.Reporters) (int, error) {
	if reported := rep.Sweep(); reported != nil {
		return reported(ctx)
	}
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
