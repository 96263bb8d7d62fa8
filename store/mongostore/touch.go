package mongostore

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/sessionkit/sessions/store"
)

// Touch moves the expiry of the record under key to expiresAt without
// rewriting its data. A missing or expired record is left alone.
func (s *Store) Touch(ctx context.Context, key string, expiresAt time.Time) error {
	if s.closed.Load() {
		return fmt.Errorf("mongostore: touch: %w", store.ErrClosed)
	}
	if _, err := s.coll.UpdateOne(ctx, live(key, s.now()), setExpiry(expiresAt)); err != nil {
		return wrap(ctx, "touch", err)
	}
	return nil
}

// LoadAndTouch returns the data stored under key and moves its expiry to
// expiresAt, in one round trip. A missing or expired record is reported as
// not found and left alone.
func (s *Store) LoadAndTouch(ctx context.Context, key string, expiresAt time.Time) ([]byte, bool, error) {
	if s.closed.Load() {
		return nil, false, fmt.Errorf("mongostore: load and touch: %w", store.ErrClosed)
	}
	// No projection: FerretDB rejects one in findAndModify, and it would
	// only spare the key and the expiry.
	res := s.coll.FindOneAndUpdate(ctx, live(key, s.now()), setExpiry(expiresAt))
	return decodeData(ctx, "load and touch", res)
}

func setExpiry(expiresAt time.Time) bson.D {
	return bson.D{{Key: "$set", Value: bson.D{{Key: "expiresAt", Value: ceilMilli(expiresAt)}}}}
}
