package mongostore

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sessionkit/sessions/store"
)

// The owner indexes (store.OwnerIndex) are documents of a second
// collection, named after the store's with "_owners": one per entry, with
// the index key (o), the ID (i), the deadline (a date, which a TTL index
// expires where the server has TTL indexes, and exact, in Unix ns) and
// the time added (Unix ns).
// Its _id is the index key, a space and the ID, so that an add is one
// upsert; an index on o serves the lists.
type indexDoc struct {
	ID       string    `bson:"_id"`
	Owner    string    `bson:"o"`
	Entry    string    `bson:"i"`
	Deadline time.Time `bson:"deadline"` // for the TTL index and the queries (ms)
	Exact    int64     `bson:"exact"`    // the deadline in Unix ns
	Added    int64     `bson:"added"`
}

// ownersSuffix follows the collection's name in the name of the
// collection of owner index entries.
const ownersSuffix = "_owners"

// ownersOf returns the collection of owner index entries of coll.
func ownersOf(coll *mongo.Collection) *mongo.Collection {
	return coll.Database().Collection(coll.Name() + ownersSuffix)
}

// ensureOwnerIndexes creates the indexes of the owners collection: on o,
// and a TTL index on deadline where the server has TTL indexes.
func ensureOwnerIndexes(ctx context.Context, owners *mongo.Collection, ttl bool) error {
	models := []mongo.IndexModel{{Keys: bson.D{{Key: "o", Value: 1}}}}
	if ttl {
		models = append(models, mongo.IndexModel{
			Keys:    bson.D{{Key: "deadline", Value: 1}},
			Options: options.Index().SetExpireAfterSeconds(0),
		})
	}
	if _, err := owners.Indexes().CreateMany(ctx, models); err != nil {
		return wrap(ctx, "create owner indexes", err)
	}
	return nil
}

// IndexAdd upserts the document of e in the owner index under key
// (store.OwnerIndex).
func (s *Store) IndexAdd(ctx context.Context, key string, e store.IndexEntry) error {
	if err := s.check("index add"); err != nil {
		return err
	}
	if !e.Deadline.After(s.now()) {
		return nil
	}
	doc := indexDoc{ID: key + " " + e.ID, Owner: key, Entry: e.ID, Deadline: ceilMilli(e.Deadline), Exact: e.Deadline.UnixNano(), Added: e.Added.UnixNano()}
	// An insert, and a replace for an ID the index has: an upsert costs
	// FerretDB a scan of the collection.
	_, err := s.owners.InsertOne(ctx, doc)
	if mongo.IsDuplicateKeyError(err) {
		_, err = s.owners.ReplaceOne(ctx, bson.D{{Key: "_id", Value: doc.ID}}, doc)
	}
	if err != nil {
		return wrap(ctx, "index add", err)
	}
	return nil
}

// IndexRemove deletes the documents of ids from the owner index under key
// (store.OwnerIndex), with one deleteMany.
func (s *Store) IndexRemove(ctx context.Context, key string, ids ...string) error {
	if err := s.check("index remove"); err != nil {
		return err
	}
	if len(ids) == 0 {
		return ctx.Err()
	}
	docIDs := make(bson.A, len(ids))
	for i, id := range ids {
		docIDs[i] = key + " " + id
	}
	if _, err := s.owners.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: docIDs}}}}); err != nil {
		return wrap(ctx, "index remove", err)
	}
	return nil
}

// IndexList returns the documents of the owner index under key whose
// deadline has not passed (store.OwnerIndex), in one reply. Those past
// their deadline go with the TTL index, or the cleanup.
func (s *Store) IndexList(ctx context.Context, key string) ([]store.IndexEntry, error) {
	if err := s.check("index list"); err != nil {
		return nil, err
	}
	filter := bson.D{
		{Key: "o", Value: key},
		{Key: "deadline", Value: bson.D{{Key: "$gt", Value: ceilMilli(s.now())}}},
	}
	cur, err := s.owners.Find(ctx, filter, options.Find().SetBatchSize(100000))
	if err != nil {
		return nil, wrap(ctx, "index list", err)
	}
	var docs []indexDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, wrap(ctx, "index list", err)
	}
	list := make([]store.IndexEntry, 0, len(docs))
	for _, d := range docs {
		if !s.now().Before(time.Unix(0, d.Exact)) {
			continue
		}
		list = append(list, store.IndexEntry{ID: d.Entry, Deadline: time.Unix(0, d.Exact), Added: time.Unix(0, d.Added)})
	}
	return list, nil
}

// loadBatch is how many records one find of LoadVersions reads.
const loadBatch = 500

// LoadVersions reads the live records under keys and their expiries, with
// one find per 500 keys (store.MultiLoader).
func (s *Store) LoadVersions(ctx context.Context, keys []string) ([]store.Loaded, error) {
	if err := s.check("load versions"); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, wrap(ctx, "load versions", err)
	}
	found := make(map[string]record, len(keys))
	for rest := keys; len(rest) > 0; {
		batch := rest[:min(len(rest), loadBatch)]
		rest = rest[len(batch):]
		ids := make(bson.A, len(batch))
		for i, k := range batch {
			ids[i] = k
		}
		filter := bson.D{
			{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}},
			{Key: "expiresAt", Value: bson.D{{Key: "$gt", Value: ceilMilli(s.now())}}},
		}
		cur, err := s.coll.Find(ctx, filter, options.Find().SetBatchSize(int32(len(batch))))
		if err != nil {
			return nil, wrap(ctx, "load versions", err)
		}
		var docs []record
		if err := cur.All(ctx, &docs); err != nil {
			return nil, wrap(ctx, "load versions", err)
		}
		for _, d := range docs {
			found[d.Key] = d
		}
	}
	out := make([]store.Loaded, len(keys))
	for i, k := range keys {
		d, ok := found[k]
		if !ok {
			continue
		}
		v := store.Version(d.Version)
		if v == 0 {
			v = legacyVersion
		}
		out[i] = store.Loaded{Data: append([]byte{}, d.Data...), Version: v, Expires: d.ExpiresAt}
	}
	return out, nil
}

// deleteExpiredEntries removes the owner index entries past their
// deadline, for servers without TTL indexes.
func deleteExpiredEntries(ctx context.Context, owners *mongo.Collection, now time.Time) error {
	_, err := owners.DeleteMany(ctx, bson.D{{Key: "deadline", Value: bson.D{{Key: "$lte", Value: ceilMilli(now)}}}})
	if err != nil {
		return wrap(ctx, "delete expired owner index entries", err)
	}
	return nil
}
