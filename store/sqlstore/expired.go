package sqlstore

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/sessionkit/sessions/store"
)

// DeleteExpired removes every expired row, in batches of a thousand, and
// reports how many it removed. Rows that expire while it runs are left for
// the next call.
func (s *sqlStore) DeleteExpired(ctx context.Context) (int, error) {
	if s.closed.Load() {
		return 0, fmt.Errorf("sqlstore: delete expired: %w", store.ErrClosed)
	}
	now := micros(s.now())
	total := 0
	for {
		res, err := s.db.ExecContext(ctx, s.q.deleteExpired, now, s.batch)
		if err != nil {
			return total, wrap(ctx, "delete expired", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, wrap(ctx, "delete expired", err)
		}
		total += int(n)
		if n < int64(s.batch) {
			return total, nil
		}
	}
}

// cleaner runs DeleteExpired periodically until stopped.
type cleaner struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func startCleaner(s *sqlStore, interval time.Duration, logger *slog.Logger) *cleaner {
	if logger == nil {
		logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &cleaner{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := s.DeleteExpired(ctx); err != nil && ctx.Err() == nil {
				logger.WarnContext(ctx, "sqlstore: background cleanup failed", "err", err)
			}
		}
	}()
	return c
}

// stop ends the cleanup, interrupting a deletion in progress, and waits for
// it to return.
func (c *cleaner) stop() {
	c.cancel()
	<-c.done
}
