// Package cleanup runs a store's deletion of expired records in the
// background, for the stores whose backend does not drop them by itself,
// and logs what it does: every store that cleans up does so through
// [Start], at the same default interval, with the same log lines.
package cleanup

import (
	"context"
	"log/slog"
	"runtime"
	"time"

	"github.com/sessionkit/sessions/internal/option"
)

// DefaultInterval is the default cleanup interval of every store: the
// DefaultCleanupInterval each store package exports. A minute matches the
// TTL monitor of MongoDB, so expired records linger about as long in every
// store; a store whose pass is costly says so in its WithCleanupInterval
// (fsstore reads the header of every file).
const DefaultInterval = time.Minute

// A Task is the background cleanup of one store.
type Task struct {
	// Store names the store package; it starts every log message.
	Store string
	// Interval is the time between two runs; zero or less means no
	// background cleanup.
	Interval time.Duration
	// Logger receives the log lines; nil means slog.Default().
	Logger *slog.Logger
	// Attrs are added to every log line, such as the directory of a
	// filesystem store.
	Attrs []slog.Attr
	// Clean deletes the expired records and returns how many it deleted.
	// It must stop early when its context is done, and must not hold the
	// store that starts the Task (see Start).
	Clean func(ctx context.Context) (int, error)
}

// A Cleaner runs a Task until Stop.
type Cleaner struct {
	cancel    context.CancelFunc
	done      chan struct{}
	forgotten runtime.Cleanup // Stop, for a store dropped without Close
}

// Start runs t.Clean every t.Interval in a new goroutine, until Stop or
// until the store st becomes unreachable: so a store dropped without Close
// still stops its goroutine, provided t.Clean holds only what the store
// shares with it, never st itself. Start returns nil, and starts
// nothing, when t.Interval is zero or less; Stop of a nil Cleaner does
// nothing.
//
// A run that deletes records logs how many at level Debug ("removed");
// a run that fails logs the error at level Warn ("error"), since the next
// run retries. Errors caused by Stop interrupting a run are not logged.
func Start[S any](st *S, t Task) *Cleaner {
	if t.Interval <= 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cleaner{cancel: cancel, done: make(chan struct{})}
	go c.loop(ctx, t, option.Logger(t.Logger))
	c.forgotten = runtime.AddCleanup(st, (*Cleaner).stop, c)
	return c
}

// loop runs t every t.Interval until ctx is done.
func (c *Cleaner) loop(ctx context.Context, t Task, logger *slog.Logger) {
	defer close(c.done)
	tick := time.NewTicker(t.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		t.run(ctx, logger)
	}
}

// run runs the task once and logs the outcome.
func (t *Task) run(ctx context.Context, logger *slog.Logger) {
	n, err := t.Clean(ctx)
	attrs := t.Attrs[:len(t.Attrs):len(t.Attrs)] // appends copy
	switch {
	case err != nil:
		if ctx.Err() == nil { // not Stop interrupting the run
			logger.LogAttrs(ctx, slog.LevelWarn, t.Store+": background cleanup failed", append(attrs, slog.Any("error", err))...)
		}
	case n > 0:
		logger.LogAttrs(ctx, slog.LevelDebug, t.Store+": removed expired records", append(attrs, slog.Int("removed", n))...)
	}
}

// Stop ends the goroutine, interrupting a run in progress, and waits for
// it to return. It may be called more than once, and on a nil Cleaner.
func (c *Cleaner) Stop() {
	if c == nil {
		return
	}
	c.forgotten.Stop() // stopped: nothing left for the runtime to stop
	c.stop()
}

func (c *Cleaner) stop() {
	c.cancel()
	<-c.done
}
