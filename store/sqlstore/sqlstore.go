package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/sessionkit/sessions/internal/cleanup"
	"github.com/sessionkit/sessions/internal/option"
	"github.com/sessionkit/sessions/store"
)

// MaxKeyLen is the longest key, in bytes, that a Store accepts.
const MaxKeyLen = 255

// Store keeps sessions in an SQL table. It implements store.Store,
// store.Versioned, store.Toucher, store.ExpiredDeleter, store.Scanner,
// store.OwnerIndex (a second table, see Schema) and store.MultiLoader on
// every dialect;
// it does not implement store.LoadToucher (LoadVersion reports whether it
// touched). Create it with New and stop it with Close; all methods are safe
// for concurrent use.
type Store struct {
	*table                     // the database and statements, shared with the cleaner
	maxData   int              // largest data a save accepts; 0 means no limit
	cleaner   *cleanup.Cleaner // nil when background cleanup is off
	closed    atomic.Bool
	closeOnce sync.Once
}

// table is what the statements of a Store need. The background cleanup
// holds a table, not the Store, so that a Store dropped without Close can
// be collected and its cleanup stopped.
type table struct {
	db    *bun.DB
	q     queries
	batch int              // rows per DeleteExpired statement
	now   func() time.Time // the clock; tests replace it
}

// Interface checks.
var (
	_ store.Store          = (*Store)(nil)
	_ store.Versioned      = (*Store)(nil)
	_ store.Toucher        = (*Store)(nil)
	_ store.ExpiredDeleter = (*Store)(nil)
	_ store.Scanner        = (*Store)(nil)
	_ store.OwnerIndex     = (*Store)(nil)
	_ store.MultiLoader    = (*Store)(nil)
)

// New returns a Store that keeps sessions in a table of db, creating the
// table and its index unless WithoutSchemaCreation is given, and starts
// the background cleanup. Call Close to stop it; Close does not close db.
func New(ctx context.Context, db *bun.DB, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: nil database")
	}
	cfg := config{table: DefaultTable, createSchema: true, cleanupInterval: DefaultCleanupInterval}
	if err := option.Apply(&cfg, opts); err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
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
	s := &Store{table: &table{db: db, q: newQueries(d, q, cfg.table), batch: deleteBatch, now: time.Now}}
	if d == dialect.MySQL {
		if s.maxData, err = maxMySQLData(ctx, db); err != nil {
			return nil, err
		}
	}
	s.cleaner = cleanup.Start(s, cleanup.Task{
		Store:    "sqlstore",
		Interval: cfg.cleanupInterval,
		Logger:   cfg.logger,
		Clean:    s.table.deleteExpired, // the table, never s
	})
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
func (s *Store) Load(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.check("load", key); err != nil {
		return nil, false, err
	}
	var data []byte
	err := s.db.QueryRowContext(ctx, s.q.load, key, micros(s.now())).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrap(ctx, "load", err)
	}
	return nonNil(data), true, nil
}

// Save stores data under key until expiresAt, replacing any record, and
// gives the record a new version. A deadline that has already passed
// deletes the record instead.
func (s *Store) Save(ctx context.Context, key string, data []byte, expiresAt time.Time) error {
	if err := s.check("save", key); err != nil {
		return err
	}
	exp := micros(expiresAt)
	if exp <= micros(s.now()) {
		return s.exec(ctx, "save", s.q.delete, key)
	}
	if err := s.checkSize("save", data); err != nil {
		return err
	}
	return s.exec(ctx, "save", s.q.save, key, nonNil(data), exp, newVersion(0))
}

// Delete removes the record stored under key, if any.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.check("delete", key); err != nil {
		return err
	}
	return s.exec(ctx, "delete", s.q.delete, key)
}

// Close stops the background cleanup. It does not close the database.
// Calls after Close return an error wrapping store.ErrClosed. Close is
// idempotent and returns nil.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.cleaner.Stop()
	})
	return nil
}

func (s *Store) exec(ctx context.Context, op, query string, args ...any) error {
	_, err := s.execRows(ctx, op, query, args...)
	return err
}

// execRows runs query and returns how many rows it affected.
func (s *Store) execRows(ctx context.Context, op, query string, args ...any) (int64, error) {
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, wrap(ctx, op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrap(ctx, op, err)
	}
	return n, nil
}

// check returns an error if the store is closed or key cannot be stored.
// bun writes keys into the statement as string literals, dropping NUL
// bytes and replacing invalid UTF-8, which could merge distinct keys.
func (s *Store) check(op, key string) error {
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

// checkSize returns an error wrapping store.ErrTooLarge if data cannot fit
// in one statement.
func (s *Store) checkSize(op string, data []byte) error {
	if s.maxData > 0 && len(data) > s.maxData {
		return fmt.Errorf("sqlstore: %s: %d bytes of data exceed %d (half of max_allowed_packet): %w",
			op, len(data), s.maxData, store.ErrTooLarge)
	}
	return nil
}

// nonNil returns b, or an empty slice for nil: nil would be NULL in a
// statement, and a found record has non-nil data.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
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
