package sqlstore

import (
	"context"
	"fmt"

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
