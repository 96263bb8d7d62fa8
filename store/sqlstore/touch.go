package sqlstore

import (
	"context"
	"time"
)

// Touch moves the expiry of the record under key to expiresAt without
// rewriting its data. A missing or expired record is left alone.
func (s *sqlStore) Touch(ctx context.Context, key string, expiresAt time.Time) error {
	if err := s.check("touch", key); err != nil {
		return err
	}
	return s.exec(ctx, "touch", s.q.touch, micros(expiresAt), key, micros(s.now()))
}

// LoadAndTouch returns the data stored under key and moves its expiry to
// expiresAt, in one UPDATE ... RETURNING statement. A missing or expired
// record is reported as not found and left alone.
func (s returningStore) LoadAndTouch(ctx context.Context, key string, expiresAt time.Time) ([]byte, bool, error) {
	if err := s.check("load and touch", key); err != nil {
		return nil, false, err
	}
	return s.loadRow(ctx, "load and touch", s.q.loadAndTouch, micros(expiresAt), key, micros(s.now()))
}
