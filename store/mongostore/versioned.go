package mongostore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sessionkit/sessions/store"
)

// legacyVersion is the version of a document written before documents had
// one (it has no version field). newVersion never returns it.
const legacyVersion store.Version = 1

// newVersion returns a random version, neither 0 nor legacyVersion.
func newVersion() store.Version {
	for {
		if v := store.Version(rand.Uint64()); v != 0 && v != legacyVersion {
			return v
		}
	}
}

// dataAndVersion is the projection of a record that LoadVersion returns.
var dataAndVersion = bson.D{{Key: "_id", Value: 0}, {Key: "data", Value: 1}, {Key: "version", Value: 1}}

// LoadVersion returns the record stored under key with its version, in one
// round trip: a find, or with a non-zero touch a findAndModify that also
// moves the record's expiry to touch, which it reports as Touched, with the
// new expiry as Expires. A touch
// that is not in the future returns the record and leaves it expired.
func (s *Store) LoadVersion(ctx context.Context, key string, touch time.Time) (store.Loaded, error) {
	if err := s.check("load version"); err != nil {
		return store.Loaded{}, err
	}
	var doc record
	var found bool
	var err error
	if touch.IsZero() {
		res := s.coll.FindOne(ctx, live(key, s.now()), options.FindOne().SetProjection(dataAndVersion))
		found, err = decode(ctx, "load version", res, &doc)
	} else {
		found, err = s.loadAndTouch(ctx, "load version", key, touch, &doc)
	}
	if err != nil || !found {
		return store.Loaded{}, err
	}
	v := store.Version(doc.Version)
	if v == 0 {
		v = legacyVersion
	}
	l := store.Loaded{Data: doc.Data, Version: v}
	if !touch.IsZero() {
		l.Touched, l.Expires = true, ceilMilli(touch) // as setExpiry stores it
	}
	return l, nil
}

// SaveIf stores data under key until expiresAt, giving the record a new
// random version, if the live record under key has the given version, or,
// for version 0, if there is no live record. A conflict writes nothing and
// returns an error wrapping store.ErrConflict. One round trip:
//
//   - version v: a replaceOne filtered on _id, version v and an expiresAt
//     still in the future; no match is a conflict.
//   - version 0: an insertOne; where a document is there already (a
//     duplicate key error), a replaceOne with upsert, filtered on _id and
//     an expiresAt that has passed, which replaces an expired document;
//     a live document makes it fail with a duplicate key error, which is
//     the conflict. Over an existing document that is two round trips.
//
// An expiresAt that is not in the future deletes the record if the version
// matches (a deleteOne with the same filter), and returns 0; for version 0
// there is nothing to delete and SaveIf only checks that no live record
// exists.
func (s *Store) SaveIf(ctx context.Context, key string, data []byte, expiresAt time.Time, version store.Version) (store.Version, error) {
	if err := s.check("save if"); err != nil {
		return 0, err
	}
	wl, err := s.locks.lock(ctx, "save if", key)
	if err != nil {
		return 0, err
	}
	defer s.locks.unlock(key, wl)
	now := s.now()
	deadline := ceilMilli(expiresAt)
	if !deadline.After(ceilMilli(now)) {
		return 0, s.deleteIf(ctx, key, version, now)
	}
	doc, err := newRecord(key, data, deadline)
	if err != nil {
		return 0, fmt.Errorf("mongostore: save if: %w", err)
	}
	if version == 0 {
		// An insert where no document is (a new session: one round
		// trip, which costs FerretDB no scan of the collection, unlike
		// an upsert), else the upsert over an expired document.
		_, err = s.coll.InsertOne(ctx, doc)
		if mongo.IsDuplicateKeyError(err) {
			expired := bson.D{
				{Key: "_id", Value: key},
				{Key: "expiresAt", Value: bson.D{{Key: "$lte", Value: ceilMilli(now)}}},
			}
			_, err = s.coll.ReplaceOne(ctx, expired, doc, options.Replace().SetUpsert(true))
			if mongo.IsDuplicateKeyError(err) {
				return 0, conflict("a live record exists")
			}
		}
	} else {
		var res *mongo.UpdateResult
		res, err = s.coll.ReplaceOne(ctx, matching(key, version, now), doc)
		if err == nil && res.MatchedCount == 0 {
			return 0, conflict("no live record has the version")
		}
	}
	if err != nil {
		return 0, wrap(ctx, "save if", err)
	}
	return store.Version(doc.Version), nil
}

// deleteIf deletes the live record under key if it has the given version.
// For version 0 it checks that there is no live record.
func (s *Store) deleteIf(ctx context.Context, key string, version store.Version, now time.Time) error {
	if version == 0 {
		res := s.coll.FindOne(ctx, live(key, now), options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}}))
		switch err := res.Err(); {
		case err == nil:
			return conflict("a live record exists")
		case errors.Is(err, mongo.ErrNoDocuments):
			return nil
		default:
			return wrap(ctx, "save if", err)
		}
	}
	res, err := s.coll.DeleteOne(ctx, matching(key, version, now))
	if err != nil {
		return wrap(ctx, "save if", err)
	}
	if res.DeletedCount == 0 {
		return conflict("no live record has the version")
	}
	return nil
}

// matching is the filter that matches the record under key if it has not
// expired at now and has the given version.
func matching(key string, version store.Version, now time.Time) bson.D {
	if version == legacyVersion {
		return append(live(key, now), bson.E{Key: "version", Value: bson.D{{Key: "$exists", Value: false}}})
	}
	return append(live(key, now), bson.E{Key: "version", Value: int64(version)})
}

func conflict(why string) error {
	return fmt.Errorf("mongostore: save if: %w: %s", store.ErrConflict, why)
}
