package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/rueidis"
)

// Touch moves the expiry of the record under key to expiresAt without
// rewriting its data or changing its version (PEXPIREAT), and never creates
// a missing record. An expiresAt that is not in the future deletes the
// record.
func (s *Store) Touch(ctx context.Context, key string, expiresAt time.Time) error {
	if err := s.check("touch"); err != nil {
		return err
	}
	defer s.cache.markWritten(key)
	if !expiresAt.After(time.Now()) {
		return s.del(ctx, key, "touch")
	}
	cmd := s.client.B().Pexpireat().Key(s.prefix + key).
		MillisecondsTimestamp(pxat(expiresAt)).
		Build().ToRetryable()
	if err := s.client.Do(ctx, cmd).Error(); err != nil {
		return fmt.Errorf("redisstore: touch: %w", err)
	}
	return nil
}

// LoadAndTouch returns the record under key and moves its expiry to
// expiresAt in one command (GETEX key PXAT ms, Redis 6.2 or newer), keeping
// its version. A missing record is not created. An expiresAt that is not in
// the future returns the record as it was and leaves it gone. With
// WithClientCache it still reads from the server: GETEX cannot be cached.
func (s *Store) LoadAndTouch(ctx context.Context, key string, expiresAt time.Time) ([]byte, bool, error) {
	const op = "load and touch"
	if err := s.check(op); err != nil {
		return nil, false, err
	}
	defer s.cache.markWritten(key)
	l, err := loaded(s.client.Do(ctx, s.getex(key, expiresAt)), true, op)
	return l.Data, l.Found(), err
}

// getex returns GETEX key PXAT ms for a record that must be gone at t.
// With a t that is not in the future, Redis 7 returns the value and
// deletes the key. The command sets an absolute expiry, so a retry does the
// same.
func (s *Store) getex(key string, t time.Time) rueidis.Completed {
	return s.client.B().Getex().Key(s.prefix + key).
		PxatMillisecondsTimestamp(pxat(t)).
		Build().ToRetryable()
}
