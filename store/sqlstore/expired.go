package sqlstore

import (
	"context"
	"fmt"

	"github.com/sessionkit/sessions/store"
)

// deleteBatch is how many rows one statement of DeleteExpired removes.
const deleteBatch = 1000

// DeleteExpired removes every expired row, in batches of a thousand, and
// reports how many it removed. Rows that expire while it runs are left for
// the next call.
func (s *Store) DeleteExpired(ctx context.Context) (int, error) {
	if s.closed.Load() {
		return 0, fmt.Errorf("sqlstore: delete expired: %w", store.ErrClosed)
	}
	return s.deleteExpired(ctx)
}

// deleteExpired is DeleteExpired, for the Store and its background cleanup.
func (t *table) deleteExpired(ctx context.Context) (int, error) {
	now := micros(t.now())
	total := 0
	for {
		res, err := t.db.ExecContext(ctx, t.q.deleteExpired, now, t.batch)
		if err != nil {
			return total, wrap(ctx, "delete expired", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, wrap(ctx, "delete expired", err)
		}
		total += int(n)
		if n < int64(t.batch) {
			break
		}
	}
	// The owner index entries past their deadline, not counted: they
	// are not records.
	for {
		res, err := t.db.ExecContext(ctx, t.q.indexExpired, now, t.batch)
		if err != nil {
			return total, wrap(ctx, "delete expired owner index entries", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, wrap(ctx, "delete expired owner index entries", err)
		}
		if n < int64(t.batch) {
			return total, nil
		}
	}
}
