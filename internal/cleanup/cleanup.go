// Package cleanup runs a store's deletion of expired records in the
// background, for the stores whose backend does not drop them by itself.
package cleanup

import (
	"context"
	"time"
)

// A Cleaner calls a function at every interval until Stop.
type Cleaner struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Start calls clean every interval in a new goroutine, passing it a context
// that Stop cancels. Errors go to onError, if not nil, unless they come
// from Stop interrupting clean.
func Start(interval time.Duration, clean func(context.Context) error, onError func(context.Context, error)) *Cleaner {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cleaner{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if err := clean(ctx); err != nil && ctx.Err() == nil && onError != nil {
				onError(ctx, err)
			}
		}
	}()
	return c
}

// Stop ends the goroutine, interrupting a cleanup in progress, and waits
// for it to return. It may be called more than once.
func (c *Cleaner) Stop() {
	c.cancel()
	<-c.done
}
