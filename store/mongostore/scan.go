package mongostore

import (
	"context"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Scan lists the keys of live documents with prefix, at most limit of
// them, in _id order (store.Scanner): each call is one find on the _id
// index, from the prefix or from the last key returned, which the cursor
// holds. Strings compare byte by byte (the collection must not have a
// default collation), so the keys with a prefix are one range and the
// prefix needs no pattern.
func (s *Store) Scan(ctx context.Context, prefix, cursor string, limit int) ([]string, string, error) {
	if err := s.check("scan"); err != nil {
		return nil, "", err
	}
	limit = max(limit, 1)
	from := bson.E{Key: "$gte", Value: prefix}
	if cursor != "" {
		after, ok := strings.CutPrefix(cursor, "k")
		if !ok || !strings.HasPrefix(after, prefix) {
			return nil, "", fmt.Errorf("mongostore: scan: malformed cursor %q", cursor)
		}
		from = bson.E{Key: "$gt", Value: after}
	}
	filter := bson.D{
		{Key: "_id", Value: bson.D{from}},
		{Key: "expiresAt", Value: bson.D{{Key: "$gt", Value: ceilMilli(s.now())}}},
	}
	find := options.Find().
		SetProjection(bson.D{{Key: "_id", Value: 1}}).
		SetSort(bson.D{{Key: "_id", Value: 1}}).
		SetLimit(int64(limit))
	var docs []struct {
		Key string `bson:"_id"`
	}
	cur, err := s.coll.Find(ctx, filter, find)
	if err == nil {
		err = cur.All(ctx, &docs)
	}
	if err != nil {
		return nil, "", wrap(ctx, "scan", err)
	}
	keys := make([]string, 0, len(docs))
	for _, d := range docs {
		if !strings.HasPrefix(d.Key, prefix) {
			return keys, "", nil // past the prefix's range: done
		}
		keys = append(keys, d.Key)
	}
	if len(docs) < limit {
		return keys, "", nil
	}
	// The cursor is "k" and the last key, so that it is never "", which
	// ends a scan, even after the key "".
	return keys, "k" + keys[len(keys)-1], nil
}
