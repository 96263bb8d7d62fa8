package fsstore

import (
	"context"
	"time"
)

// cleaner is the goroutine that deletes expired files in the background.
type cleaner struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// startCleaner starts a goroutine that cleans dir at every interval.
func startCleaner(dir string, interval time.Duration) *cleaner {
	ctx, cancel := context.WithCancel(context.Background())
	c := &cleaner{cancel: cancel, done: make(chan struct{})}
	go c.run(ctx, dir, interval)
	return c
}

func (c *cleaner) run(ctx context.Context, dir string, interval time.Duration) {
	defer close(c.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			// Errors are left for the next round: files may come and go
			// under other processes sharing the directory.
			_, _ = deleteExpired(ctx, dir)
		}
	}
}

// stop stops the goroutine, interrupting a cleanup in progress, and waits
// for it to end. It may be called more than once.
func (c *cleaner) stop() {
	c.cancel()
	<-c.done
}
