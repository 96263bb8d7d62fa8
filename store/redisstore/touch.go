package redisstore

import (
	"context"
	"fmt"
	"time"
)

// Touch moves the expiry of the record under key to expiresAt without
// rewriting its data (PEXPIREAT), and never creates a missing record. An
// expiresAt that is not in the future deletes the record.
func (s *Store) Touch(ctx context.Context, key string, expiresAt time.Time) error {
	if err := s.check("touch"); err != nil {
		return err
	}
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
// expiresAt in one command (GETEX key PXAT ms, Redis 6.2 or newer). A
// missing record is not created. An expiresAt that is not in the future
// deletes the record and reports it as not found.
func (s *Store) LoadAndTouch(ctx context.Context, key string, expiresAt time.Time) ([]byte, bool, error) {
	if err := s.check("load and touch"); err != nil {
		return nil, false, err
	}
	if !expiresAt.After(time.Now()) {
		return nil, false, s.del(ctx, key, "load and touch")
	}
	cmd := s.client.B().Getex().Key(s.prefix + key).
		PxatMillisecondsTimestamp(pxat(expiresAt)).
		Build().ToRetryable()
	return value(s.client.Do(ctx, cmd), "load and touch")
}
