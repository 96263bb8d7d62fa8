package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/sessionkit/sessions/internal/cleanup"
	"github.com/sessionkit/sessions/store"
)

// MaxKeyLen is the longest key, in bytes, that a Store accepts.
const MaxKeyLen = 255

// deleteBatch is how many rows one statement of DeleteExpired removes.
const deleteBatch = 1000

// Store keeps sessions in an SQL table. Values returned by New also
// implement store.LoadToucher where the dialect can load and touch in one
// statement (PostgreSQL, SQLite); test for it with a type assertion. A Store
// is safe for concurrent use.
type Store interface {
	store.Store
	store.Toucher
	store.ExpiredDeleter
	// Close stops the background cleanup. It does not close the database.
	// Calls after Close fail with store.ErrClosed. Close is idempotent.
	Close() error
}

// sqlStore is the Store on every dialect.
type sqlStore struct {
	db        *bun.DB
	q         queries
	maxData   int              // largest data Save accepts; 0 means no limit
	batch     int              // rows per DeleteExpired statement
	now       func() time.Time // the clock; tests replace it
	cleaner   *cleanup.Cleaner
	closed    atomic.Bool
	closeOnce sync.Once
}

// returningStore adds LoadAndTouch on dialects with UPDATE ... RETURNING.
type returningStore struct{ *sqlStore }

// Interface checks.
var (
	_ Store             = (*sqlStore)(nil)
	_ Store             = returningStore{}
	_ store.LoadToucher = returningStore{}
)

// New returns a Store that keeps sessions in a table of db, creating the
// table and its index unless WithoutSchemaCreation is given, and starts
// the background cleanup. Call Close to stop it; Close does not close db.
func New(ctx context.Context, db *bun.DB, opts ...Option) (Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: nil database")
	}
	cfg := config{table: DefaultTable, createSchema: true, cleanupInterval: DefaultCleanupInterval}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.cleanupInterval < 0 {
		return nil, fmt.Errorf("sqlstore: negative cleanup interval %v", cfg.cleanupInterval)
	}
	if err := validTable(cfg.table); err != nil {
		return nil, err
	}
	d := db.Dialect().Name()
	q, err := quoter(d)
	if err != nil {
		return nil, err
	}
	if cfg.createSchema {
		if err := createSchema(ctx, db, cfg.table); err != nil {
			return nil, err
		}
	}
	s := &sqlStore{db: db, q: newQueries(d, q, cfg.table), batch: deleteBatch, now: time.Now}
	if d == dialect.MySQL {
		if s.maxData, err = maxMySQLData(ctx, db); err != nil {
			return nil, err
		}
	}
	if cfg.cleanupInterval > 0 {
		s.cleaner = cleanup.Start(cfg.cleanupInterval, func(ctx context.Context) error {
			_, err := s.DeleteExpired(ctx)
			return err
		}, func(ctx context.Context, err error) {
			cmp.Or(cfg.logger, slog.Default()).WarnContext(ctx, "sqlstore: background cleanup failed", "err", err)
		})
	}
	if s.q.loadAndTouch != "" {
		return returningStore{s}, nil
	}
	return s, nil
}

// maxMySQLData returns the largest data a save statement can carry within
// the server's max_allowed_packet: bun sends bytes in hex.
func maxMySQLData(ctx context.Context, db *bun.DB) (int, error) {
	var packet int64
	if err := db.QueryRowContext(ctx, "SELECT @@max_allowed_packet").Scan(&packet); err != nil {
		return 0, wrap(ctx, "read max_allowed_packet", err)
	}
	const overhead = 1024 // the statement around the data, and the key
	return max(int(packet)-overhead, 0) / 2, nil
}

// Load returns the data stored under key, if it has not expired.
func (s *sqlStore) Load(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.check("load", key); err != nil {
		return nil, false, err
	}
	return s.loadRow(ctx, "load", s.q.load, key, micros(s.now()))
}

// loadRow runs query, which selects data, and scans its row.
func (s *sqlStore) loadRow(ctx context.Context, op, query string, args ...any) ([]byte, bool, error) {
	var data []byte
	err := s.db.QueryRowContext(ctx, query, args...).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrap(ctx, op, err)
	}
	if data == nil {
		data = []byte{}
	}
	return data, true, nil
}

// Save stores data under key until expiresAt, replacing any record. A
// deadline that has already passed deletes the record instead.
func (s *sqlStore) Save(ctx context.Context, key string, data []byte, expiresAt time.Time) error {
	if err := s.check("save", key); err != nil {
		return err
	}
	exp := micros(expiresAt)
	if exp <= micros(s.now()) {
		return s.exec(ctx, "save", s.q.delete, key)
	}
	if s.maxData > 0 && len(data) > s.maxData {
		return fmt.Errorf("sqlstore: save: %d bytes of data exceed %d (half of max_allowed_packet): %w",
			len(data), s.maxData, store.ErrTooLarge)
	}
	if data == nil {
		data = []byte{} // nil would be NULL
	}
	return s.exec(ctx, "save", s.q.save, key, data, exp)
}

// Delete removes the record stored under key, if any.
func (s *sqlStore) Delete(ctx context.Context, key string) error {
	if err := s.check("delete", key); err != nil {
		return err
	}
	return s.exec(ctx, "delete", s.q.delete, key)
}

// Close stops the background cleanup. It does not close the database.
func (s *sqlStore) Close() error {
	s.closeOnce.Do(func() {
		if s.cleaner != nil {
			s.cleaner.Stop()
		}
		s.closed.Store(true)
	})
	return nil
}

func (s *sqlStore) exec(ctx context.Context, op, query string, args ...any) error {
	if _, err := s.db.ExecContext(ctx, query, args...); err != nil {
		return wrap(ctx, op, err)
	}
	return nil
}

// check returns an error if the store is closed or key cannot be stored.
// bun writes keys into the statement as string literals, dropping NUL
// bytes and replacing invalid UTF-8, which could merge distinct keys.
func (s *sqlStore) check(op, key string) error {
	switch {
	case s.closed.Load():
		return fmt.Errorf("sqlstore: %s: %w", op, store.ErrClosed)
	case len(key) > MaxKeyLen:
		return fmt.Errorf("sqlstore: %s: key of %d bytes exceeds %d", op, len(key), MaxKeyLen)
	case !utf8.ValidString(key):
		return fmt.Errorf("sqlstore: %s: key is not valid UTF-8", op)
	case strings.IndexByte(key, 0) >= 0:
		return fmt.Errorf("sqlstore: %s: key contains a NUL byte", op)
	}
	return nil
}

// micros returns t in Unix microseconds, rounded up.
func micros(t time.Time) int64 {
	us := t.UnixMicro()
	if t.Nanosecond()%1000 != 0 {
		us++
	}
	return us
}

// wrap adds the operation to err and makes sure it wraps ctx.Err() when the
// context ended. A passed deadline counts as ended even before ctx reports
// it: pgdriver turns the deadline into a socket deadline, whose I/O timeout
// can come back a moment before ctx's own timer fires.
func wrap(ctx context.Context, op string, err error) error {
	cerr := ctx.Err()
	if d, ok := ctx.Deadline(); ok && cerr == nil && !time.Now().Before(d) {
		cerr = context.DeadlineExceeded
	}
	if cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("sqlstore: %s: %w: %w", op, cerr, err)
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}
