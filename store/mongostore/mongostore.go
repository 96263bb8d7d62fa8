// Package mongostore keeps sessions in a MongoDB collection, using
// go.mongodb.org/mongo-driver/v2.
//
// Each session is one document:
//
//	{_id: key, data: BinData, expiresAt: ISODate, version: NumberLong}
//
// New creates a TTL index on expiresAt (expireAfterSeconds: 0), so the
// server's TTL monitor removes expired documents. The monitor runs about
// once a minute, so every read and every conditional write also filters on
// expiresAt: an expired session is never returned or overwritten as if it
// were live, whether or not its document is still there.
//
// Servers without TTL indexes answer the index request with NotImplemented.
// FerretDB is one of them: it has no TTL monitor. On such a server the store
// falls back to a background cleanup that deletes expired documents every
// minute (see WithCleanupInterval). DeleteExpired does the same on demand
// on any server.
//
// The Store implements store.Versioned: version is a random non-zero number
// that every Save and SaveIf replaces, and SaveIf makes its write
// conditional with a filter on it (see SaveIf). Documents written by
// earlier versions of this package have no version field; they are read as
// one fixed version until their next write.
//
// FerretDB v1 runs an update as a read followed by a separate write, so two
// conditional writes can both succeed. On FerretDB (detected with
// buildInfo) the Store therefore serializes its writes to each key within
// the process; writes from several processes to one session are not
// protected there. MongoDB needs no such help.
//
// BSON dates hold milliseconds. The store rounds deadlines up to the next
// millisecond when saving and compares them with the current time rounded
// the same way, so a session is never returned after its deadline and is
// hidden at most one millisecond early.
//
// A document is limited to 16 MiB; Save reports larger records with
// store.ErrTooLarge.
package mongostore

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sessionkit/sessions/internal/cleanup"
	"github.com/sessionkit/sessions/internal/option"
	"github.com/sessionkit/sessions/store"
)

// maxDocumentSize is MongoDB's limit on the size of one BSON document.
const maxDocumentSize = 16 << 20

// Store keeps sessions in a MongoDB collection. It implements store.Store,
// store.Versioned, store.Toucher, store.LoadToucher, store.ExpiredDeleter,
// store.Scanner, store.OwnerIndex (in a second collection, named after
// coll with "_owners") and store.MultiLoader, and is safe for concurrent
// use.
type Store struct {
	coll     *mongo.Collection
	owners   *mongo.Collection // the owner index entries (ownerindex.go)
	ttlIndex bool              // the server removes expired documents itself
	cleaner  *cleanup.Cleaner  // nil unless the store cleans up itself
	now      func() time.Time  // the clock; tests replace it
	closed   atomic.Bool

	// locks serializes the writes to each key on FerretDB, whose updates
	// are not atomic (see ferretdb.go); nil elsewhere.
	locks *writeLocker
}

// Interface checks.
var (
	_ store.Store          = (*Store)(nil)
	_ store.Versioned      = (*Store)(nil)
	_ store.Toucher        = (*Store)(nil)
	_ store.LoadToucher    = (*Store)(nil)
	_ store.ExpiredDeleter = (*Store)(nil)
	_ store.Scanner        = (*Store)(nil)
	_ store.OwnerIndex     = (*Store)(nil)
	_ store.MultiLoader    = (*Store)(nil)
)

// record is the document stored for one session.
type record struct {
	Key       string    `bson:"_id"`
	Data      []byte    `bson:"data"`
	ExpiresAt time.Time `bson:"expiresAt"`
	Version   int64     `bson:"version"`
}

// dataOnly is the projection of a record that Load returns.
var dataOnly = bson.D{{Key: "_id", Value: 0}, {Key: "data", Value: 1}}

// New returns a Store that keeps sessions in coll. It creates the TTL index
// on expiresAt, or, where the server does not support TTL indexes, starts a
// background cleanup. Close stops it; so does the garbage collector, once
// the Store is unreachable. Close does not disconnect the client.
func New(ctx context.Context, coll *mongo.Collection, opts ...Option) (*Store, error) {
	if coll == nil {
		return nil, errors.New("mongostore: nil collection")
	}
	cfg := config{cleanupInterval: DefaultCleanupInterval}
	if err := option.Apply(&cfg, opts); err != nil {
		return nil, fmt.Errorf("mongostore: %w", err)
	}
	ferret, err := isFerretDB(ctx, coll)
	if err != nil {
		return nil, err
	}
	ttl, err := ensureTTLIndex(ctx, coll)
	if err != nil {
		return nil, err
	}
	owners := ownersOf(coll)
	if err := ensureOwnerIndexes(ctx, owners, ttl); err != nil {
		return nil, err
	}
	s := &Store{coll: coll, owners: owners, ttlIndex: ttl, now: time.Now}
	if ferret {
		s.locks = &writeLocker{namespace: coll.Database().Name() + "." + coll.Name()}
	}
	if !ttl {
		locks := s.locks // the cleanup holds the collection and locks, never s
		s.cleaner = cleanup.Start(s, cleanup.Task{
			Store:    "mongostore",
			Interval: cfg.cleanupInterval,
			Logger:   cfg.logger,
			Clean: func(ctx context.Context) (int, error) {
				n, err := deleteExpired(ctx, coll, locks, time.Now())
				if err == nil {
					err = deleteExpiredEntries(ctx, owners, time.Now())
				}
				return n, err
			},
		})
	}
	return s, nil
}

// Load returns the data stored under key, if it has not expired.
func (s *Store) Load(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.check("load"); err != nil {
		return nil, false, err
	}
	opts := options.FindOne().SetProjection(dataOnly)
	res := s.coll.FindOne(ctx, live(key, s.now()), opts)
	var doc record
	found, err := decode(ctx, "load", res, &doc)
	return doc.Data, found, err
}

// Save stores data under key until expiresAt, replacing any record and
// giving it a new version. A deadline that has already passed deletes the
// record instead.
func (s *Store) Save(ctx context.Context, key string, data []byte, expiresAt time.Time) error {
	if err := s.check("save"); err != nil {
		return err
	}
	wl, err := s.locks.lock(ctx, "save", key)
	if err != nil {
		return err
	}
	defer s.locks.unlock(key, wl)
	deadline := ceilMilli(expiresAt)
	if !deadline.After(ceilMilli(s.now())) {
		return s.delete(ctx, "save", key)
	}
	doc, err := newRecord(key, data, deadline)
	if err != nil {
		return fmt.Errorf("mongostore: save: %w", err)
	}
	upsert := options.Replace().SetUpsert(true)
	_, err = s.coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: key}}, doc, upsert)
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
	if err := s.check("delete"); err != nil {
		return err
	}
	wl, err := s.locks.lock(ctx, "delete", key)
	if err != nil {
		return err
	}
	defer s.locks.unlock(key, wl)
	return s.delete(ctx, "delete", key)
}

func (s *Store) delete(ctx context.Context, op, key string) error {
	if _, err := s.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: key}}); err != nil {
		return wrap(ctx, op, err)
	}
	return nil
}

// Close stops the background cleanup, if any, and makes every later call
// fail with an error wrapping store.ErrClosed. It does not disconnect the
// client. Close is idempotent and returns nil.
func (s *Store) Close() error {
	s.closed.Store(true)
	s.cleaner.Stop()
	return nil
}

// check returns the error that ends a call to op on a closed store.
func (s *Store) check(op string) error {
	if s.closed.Load() {
		return fmt.Errorf("mongostore: %s: %w", op, store.ErrClosed)
	}
	return nil
}

// newRecord returns the document for a new write of data under key, with
// a new version, or an error wrapping store.ErrTooLarge.
func newRecord(key string, data []byte, deadline time.Time) (record, error) {
	if n := documentSize(key, data); n > maxDocumentSize {
		return record{}, fmt.Errorf("document of %d bytes exceeds %d: %w", n, maxDocumentSize, store.ErrTooLarge)
	}
	if data == nil {
		data = []byte{}
	}
	return record{Key: key, Data: data, ExpiresAt: deadline, Version: int64(newVersion())}, nil
}

// live is the filter that matches the record under key if it has not
// expired at now.
func live(key string, now time.Time) bson.D {
	return bson.D{
		{Key: "_id", Value: key},
		{Key: "expiresAt", Value: bson.D{{Key: "$gt", Value: ceilMilli(now)}}},
	}
}

// decode reads a single result into doc and reports whether there was
// one. A found record's Data is never nil.
func decode(ctx context.Context, op string, res *mongo.SingleResult, doc *record) (bool, error) {
	if err := res.Decode(doc); err != nil {
		if errors.Is(err, mongo.ErrNoDocuments) {
			return false, nil
		}
		return false, wrap(ctx, op, err)
	}
	if doc.Data == nil {
		doc.Data = []byte{}
	}
	return true, nil
}

// documentSize is the size of the BSON encoding of a record.
func documentSize(key string, data []byte) int {
	const (
		frame     = 4 + 1                        // length, terminator
		id        = 1 + 4 + 4 + 1                // type, "_id\x00", length, terminator
		binary    = 1 + 5 + 4 + 1                // type, "data\x00", length, subtype
		expiresAt = 1 + len("expiresAt") + 1 + 8 // type, name, int64
		version   = 1 + len("version") + 1 + 8   // type, name, int64
	)
	return frame + id + len(key) + binary + len(data) + expiresAt + version
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
