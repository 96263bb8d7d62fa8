package mongostore

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Touch moves the expiry of the record under key to expiresAt without
// rewriting its data or changing its version. A missing or expired record
// is left alone; an expiresAt that is not in the future leaves the record
// expired.
func (s *Store) Touch(ctx context.Context, key string, expiresAt time.Time) error {
	if err := s.check("touch"); err != nil {
		return err
	}
	wl, err := s.locks.lock(ctx, "touch", key)
	if err != nil {
		return err
	}
	defer s.locks.unlock(key, wl)
	if _, err := s.coll.UpdateOne(ctx, live(key, s.now()), setExpiry(expiresAt)); err != nil {
		return wrap(ctx, "touch", err)
	}
	return nil
}

// LoadAndTouch returns the data stored under key and moves its expiry to
// expiresAt, in one round trip (findAndModify). A missing or expired record
// is reported as not found and left alone. An expiresAt that is not in the
// future returns the record and leaves it expired.
func (s *Store) LoadAndTouch(ctx context.Context, key string, expiresAt time.Time) ([]byte, bool, error) {
	if err := s.check("load and touch"); err != nil {
		return nil, false, err
	}
	var doc record
	found, err := s.loadAndTouch(ctx, "load and touch", key, expiresAt, &doc)
	return doc.Data, found, err
}

// loadAndTouch reads the live record under key into doc and moves its
// expiry to expiresAt, in one findAndModify.
func (s *Store) loadAndTouch(ctx context.Context, op, key string, expiresAt time.Time, doc *record) (bool, error) {
	wl, err := s.locks.lock(ctx, op, key)
	if err != nil {
		return false, err
	}
	defer s.locks.unlock(key, wl)
	// No projection: FerretDB rejects one in findAndModify, and it would
	// only spare the key and the expiry.
	res := s.coll.FindOneAndUpdate(ctx, live(key, s.now()), setExpiry(expiresAt))
	return decode(ctx, op, res, doc)
}

func setExpiry(expiresAt time.Time) bson.D {
	return bson.D{{Key: "$set", Value: bson.D{{Key: "expiresAt", Value: ceilMilli(expiresAt)}}}}
}
