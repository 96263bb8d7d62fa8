package mongostore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sessionkit/sessions/internal/cleanup"
	"github.com/sessionkit/sessions/store"
)

// maxDocumentSize is MongoDB's limit on the size of one BSON document.
const maxDocumentSize = 16 << 20

// Store keeps sessions in a MongoDB collection. It implements store.Store,
// store.Toucher, store.LoadToucher and store.ExpiredDeleter, and is safe for
// concurrent use.
type Store struct {
	coll      *mongo.Collection
	ttlIndex  bool             // the server removes expired documents itself
	cleaner   *cleanup.Cleaner // nil unless the store cleans up itself
	now       func() time.Time // the clock; tests replace it
	closed    atomic.Bool
	closeOnce sync.Once
}

// Interface checks.
var (
	_ store.Store          = (*Store)(nil)
	_ store.Toucher        = (*Store)(nil)
	_ store.LoadToucher    = (*Store)(nil)
	_ store.ExpiredDeleter = (*Store)(nil)
)

// record is the document stored for one session.
type record struct {
	Key       string    `bson:"_id"`
	Data      []byte    `bson:"data"`
	ExpiresAt time.Time `bson:"expiresAt"`
}

// dataOnly is the projection of a record that reads return.
var dataOnly = bson.D{{Key: "_id", Value: 0}, {Key: "data", Value: 1}}

// New returns a Store that keeps sessions in coll. It creates the TTL index
// on expiresAt, or, where the server does not support TTL indexes, starts a
// background cleanup. Call Close to stop it; Close does not disconnect the
// client.
func New(ctx context.Context, coll *mongo.Collection, opts ...Option) (*Store, error) {
	if coll == nil {
		return nil, errors.New("mongostore: nil collection")
	}
	cfg := config{cleanupInterval: DefaultCleanupInterval}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.cleanupInterval < 0 {
		return nil, fmt.Errorf("mongostore: negative cleanup interval %v", cfg.cleanupInterval)
	}
	s := &Store{coll: coll, now: time.Now}
	ttl, err := ensureTTLIndex(ctx, coll)
	if err != nil {
		return nil, err
	}
	s.ttlIndex = ttl
	if !ttl && cfg.cleanupInterval > 0 {
		s.cleaner = cleanup.Start(cfg.cleanupInterval, func(ctx context.Context) error {
			_, err := s.DeleteExpired(ctx)
			return err
		}, func(ctx context.Context, err error) {
			cmp.Or(cfg.logger, slog.Default()).WarnContext(ctx, "mongostore: background cleanup failed", "err", err)
		})
	}
	return s, nil
}

// Load returns the data stored under key, if it has not expired.
func (s *Store) Load(ctx context.Context, key string) ([]byte, bool, error) {
	if s.closed.Load() {
		return nil, false, fmt.Errorf("mongostore: load: %w", store.ErrClosed)
	}
	opts := options.FindOne().SetProjection(dataOnly)
	res := s.coll.FindOne(ctx, live(key, s.now()), opts)
	return decodeData(ctx, "load", res)
}

// Save stores data under key until expiresAt, replacing any record. A
// deadline that has already passed deletes the record instead.
func (s *Store) Save(ctx context.Context, key string, data []byte, expiresAt time.Time) error {
	if s.closed.Load() {
		return fmt.Errorf("mongostore: save: %w", store.ErrClosed)
	}
	deadline := ceilMilli(expiresAt)
	if !deadline.After(ceilMilli(s.now())) {
		return s.delete(ctx, "save", key)
	}
	if n := documentSize(key, data); n > maxDocumentSize {
		return fmt.Errorf("mongostore: save: document of %d bytes exceeds %d: %w", n, maxDocumentSize, store.ErrTooLarge)
	}
	if data == nil {
		data = []byte{}
	}
	doc := record{Key: key, Data: data, ExpiresAt: deadline}
	upsert := options.Replace().SetUpsert(true)
	_, err := s.coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: key}}, doc, upsert)
	if mongo.IsDuplicateKeyError(err) {
		// A concurrent upsert of the same key inserted first; this
		// attempt now finds the document and replaces it.
		_, err = s.coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: key}}, doc, upsert)
	}
	if err != nil {
		return wrap(ctx, "save", err)
	}
	return nil
}

// Delete removes the record stored under key, if any.
func (s *Store) Delete(ctx context.Context, key string) error {
	if s.closed.Load() {
		return fmt.Errorf("mongostore: delete: %w", store.ErrClosed)
	}
	return s.delete(ctx, "delete", key)
}

func (s *Store) delete(ctx context.Context, op, key string) error {
	if _, err := s.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: key}}); err != nil {
		return wrap(ctx, op, err)
	}
	return nil
}

// Close stops the background cleanup, if any. It does not disconnect the
// client. Calls after Close fail with store.ErrClosed. Close is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.cleaner != nil {
			s.cleaner.Stop()
		}
		s.closed.Store(true)
	})
	return nil
}

// live is the filter that matches the record under key if it has not
// expired at now.
func live(key string, now time.Time) bson.D {
	return bson.D{
		{Key: "_id", Value: key},
		{Key: "expiresAt", Value: bson.D{{Key: "$gt", Value: ceilMilli(now)}}},
	}
}

// decodeData reads the data field of a single result.
func decodeData(ctx context.Context, op string, res *mongo.SingleResult) ([]byte, bool, error) {
	var doc struct {
		Data []byte `bson:"data"`
	}
	if err := res.Decode(&doc); err != nil {
		if errors.Is(err, mongo.ErrNoDocuments) {
			return nil, false, nil
		}
		return nil, false, wrap(ctx, op, err)
	}
	if doc.Data == nil {
		doc.Data = []byte{}
	}
	return doc.Data, true, nil
}

// documentSize is the size of the BSON encoding of a record.
func documentSize(key string, data []byte) int {
	const (
		frame     = 4 + 1                        // length, terminator
		id        = 1 + 4 + 4 + 1                // type, "_id\x00", length, terminator
		binary    = 1 + 5 + 4 + 1                // type, "data\x00", length, subtype
		expiresAt = 1 + len("expiresAt") + 1 + 8 // type, name, int64
	)
	return frame + id + len(key) + binary + len(data) + expiresAt
}

// ceilMilli rounds t up to a whole millisecond, the precision of BSON dates.
func ceilMilli(t time.Time) time.Time {
	r := t.Truncate(time.Millisecond)
	if r.Before(t) {
		r = r.Add(time.Millisecond)
	}
	return r
}

// wrap adds the operation to err and makes sure it wraps ctx.Err() when the
// context ended.
func wrap(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("mongostore: %s: %w: %w", op, cerr, err)
	}
	return fmt.Errorf("mongostore: %s: %w", op, err)
}
