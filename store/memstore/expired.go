package memstore

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
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

// sweeper is the goroutine that removes expired records in the background.
// It holds the shards, never the Store, so that a Store dropped without
// Close can be collected and stop it.
type sweeper struct {
	quit chan struct{}
	done chan struct{}
	once sync.Once
}

// startSweeper starts a goroutine that sweeps shards at every interval and
// logs what it removed to logger.
func startSweeper(shards []shard, interval time.Duration, logger *slog.Logger) *sweeper {
	w := &sweeper{quit: make(chan struct{}), done: make(chan struct{})}
	go w.run(shards, interval, logger)
	return w
}

func (w *sweeper) run(shards []shard, interval time.Duration, logger *slog.Logger) {
	defer close(w.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	ctx := context.Background()
	for {
		select {
		case <-w.quit:
			return
		case <-tick.C:
			if n, _ := sweep(ctx, shards); n > 0 {
				logger.LogAttrs(ctx, slog.LevelDebug, "memstore: removed expired records", slog.Int("removed", n))
			}
		}
	}
}

// stop stops the goroutine and waits for it to end. It may be called more
// than once.
func (w *sweeper) stop() {
	w.once.Do(func() { close(w.quit) })
	<-w.done
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
