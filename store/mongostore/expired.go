package mongostore

import (
	"context"
	"errors"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// codeNotImplemented is the server error code for a feature the server
// lacks; FerretDB returns it for TTL indexes.
const codeNotImplemented = 238

// ensureTTLIndex creates the TTL index on expiresAt and reports whether the
// server supports it.
func ensureTTLIndex(ctx context.Context, coll *mongo.Collection) (bool, error) {
	_, err := coll.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys:    bson.D{{Key: "expiresAt", Value: 1}},
		Options: options.Index().SetExpireAfterSeconds(0),
	})
	if err == nil {
		return true, nil
	}
	var ce mongo.CommandError
	if errors.As(err, &ce) && (ce.Code == codeNotImplemented || ce.Name == "NotImplemented") {
		return false, nil
	}
	return false, wrap(ctx, "create TTL index", err)
}

// expiredBatch is how many expired documents the cleanup deletes at once
// on FerretDB.
const expiredBatch = 1000

// DeleteExpired removes every expired record and reports how many it
// removed. Servers with TTL indexes do this on their own about once a
// minute; this does it now.
//
// It is one deleteMany. On FerretDB, whose delete reads the matching
// documents before it deletes them by _id, it first finds the expired
// documents, then deletes them while holding the write locks of their keys,
// so that a record this process saves again meanwhile stays: a find and a
// deleteMany per 1000 expired documents.
func (s *Store) DeleteExpired(ctx context.Context) (int, error) {
	if err := s.check("delete expired"); err != nil {
		return 0, err
	}
	n, err := deleteExpired(ctx, s.coll, s.locks, s.now())
	if err == nil {
		err = deleteExpiredEntries(ctx, s.owners, s.now())
	}
	return n, err
}

// deleteExpired removes the documents of coll that expired at now, under
// the write locks of locks if it is not nil.
func deleteExpired(ctx context.Context, coll *mongo.Collection, locks *writeLocker, now time.Time) (int, error) {
	expired := bson.E{Key: "expiresAt", Value: bson.D{{Key: "$lte", Value: ceilMilli(now)}}}
	if locks == nil {
		res, err := coll.DeleteMany(ctx, bson.D{expired})
		if err != nil {
			return 0, wrap(ctx, "delete expired", err)
		}
		return int(res.DeletedCount), nil
	}
	find := options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}).SetLimit(expiredBatch)
	n := 0
	for {
		var docs []struct {
			Key string `bson:"_id"`
		}
		cur, err := coll.Find(ctx, bson.D{expired}, find)
		if err == nil {
			err = cur.All(ctx, &docs)
		}
		if err != nil {
			return n, wrap(ctx, "delete expired", err)
		}
		keys := make([]string, len(docs))
		for i, d := range docs {
			keys[i] = d.Key
		}
		deleted, err := locks.deleteLocked(ctx, coll, keys, expired)
		n += deleted
		if err != nil || len(keys) < expiredBatch || deleted == 0 {
			return n, err
		}
	}
}

// deleteLocked deletes the documents under keys that match expired, while
// holding the write locks of the keys. It takes them in sorted order, so
// two cleanups never wait for each other in a circle.
func (w *writeLocker) deleteLocked(ctx context.Context, coll *mongo.Collection, keys []string, expired bson.E) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	slices.Sort(keys)
	held := make([]*writeLock, 0, len(keys))
	defer func() {
		for i, l := range held {
			w.unlock(keys[i], l)
		}
	}()
	for _, k := range keys {
		l, err := w.lock(ctx, "delete expired", k)
		if err != nil {
			return 0, err
		}
		held = append(held, l)
	}
	filter := bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: keys}}}, expired}
	res, err := coll.DeleteMany(ctx, filter)
	if err != nil {
		return 0, wrap(ctx, "delete expired", err)
	}
	return int(res.DeletedCount), nil
}
