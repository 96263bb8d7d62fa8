package sqlstore

import (
	"context"
	"time"
)

// Touch moves the expiry of the record under key to expiresAt without
// rewriting its data or changing its version. A missing or expired record
// is left alone.
func (s *Store) Touch(ctx context.Context, key string, expiresAt time.Time) error {
	if err := s.check("touch", key); err != nil {
		return err
	}
	return s.exec(ctx, "touch", s.q.touch, micros(expiresAt), key, micros(s.now()))
}
