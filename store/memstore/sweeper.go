package memstore

import (
	"context"
	"sync"
	"time"
)

// sweeper is the goroutine that removes expired records in the background.
type sweeper struct {
	quit chan struct{}
	done chan struct{}
	once sync.Once
}

// startSweeper starts a goroutine that sweeps shards at every interval.
func startSweeper(shards []shard, interval time.Duration) *sweeper {
	w := &sweeper{quit: make(chan struct{}), done: make(chan struct{})}
	go w.run(shards, interval)
	return w
}

func (w *sweeper) run(shards []shard, interval time.Duration) {
	defer close(w.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-w.quit:
			return
		case <-tick.C:
			_, _ = sweep(context.Background(), shards)
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
