package mongostore

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sessionkit/sessions/internal/cleanup"
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

// DeleteExpired removes every expired record and reports how many it
// removed. Servers with TTL indexes do this on their own about once a
// minute; this does it now.
func (s *Store) DeleteExpired(ctx context.Context) (int, error) {
	if err := s.check("delete expired"); err != nil {
		return 0, err
	}
	return deleteExpired(ctx, s.coll, s.now())
}

// deleteExpired removes the documents of coll that expired at now.
func deleteExpired(ctx context.Context, coll *mongo.Collection, now time.Time) (int, error) {
	filter := bson.D{{Key: "expiresAt", Value: bson.D{{Key: "$lte", Value: ceilMilli(now)}}}}
	res, err := coll.DeleteMany(ctx, filter)
	if err != nil {
		return 0, wrap(ctx, "delete expired", err)
	}
	return int(res.DeletedCount), nil
}

// startCleaner starts the background cleanup of coll, which reports its
// failures to logger. It holds no reference to the Store.
func startCleaner(coll *mongo.Collection, interval time.Duration, logger *slog.Logger) *cleanup.Cleaner {
	return cleanup.Start(interval, func(ctx context.Context) error {
		_, err := deleteExpired(ctx, coll, time.Now())
		return err
	}, func(ctx context.Context, err error) {
		logger.WarnContext(ctx, "mongostore: background cleanup failed", "error", err)
	})
}
