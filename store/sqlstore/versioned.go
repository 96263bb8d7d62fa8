package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/sessionkit/sessions/store"
)

// LoadVersion returns the record stored under key and its version, in one
// statement. With a non-zero touch, on PostgreSQL and SQLite the statement
// is an UPDATE ... RETURNING that also moves the record's expiry to touch,
// and the result reports Touched and the new expiry (Expires); a touch that is not in the future
// returns the record and leaves it expired. MySQL and MariaDB have no
// UPDATE ... RETURNING: there the touch is ignored and Touched is false.
// A missing or expired record is not found and left alone.
func (s *Store) LoadVersion(ctx context.Context, key string, touch time.Time) (store.Loaded, error) {
	if err := s.check("load version", key); err != nil {
		return store.Loaded{}, err
	}
	now := micros(s.now())
	var row *sql.Row
	touched := !touch.IsZero() && s.q.loadAndTouch != ""
	if touched {
		row = s.db.QueryRowContext(ctx, s.q.loadAndTouch, micros(touch), key, now)
	} else {
		row = s.db.QueryRowContext(ctx, s.q.loadVersion, key, now)
	}
	var (
		data []byte
		ver  int64
	)
	err := row.Scan(&data, &ver)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Loaded{}, nil
	}
	if err != nil {
		return store.Loaded{}, wrap(ctx, "load version", err)
	}
	if ver == 0 {
		// Only a row written outside the store can have version 0, which
		// would read as "not found".
		return store.Loaded{}, fmt.Errorf("sqlstore: load version: the row of key %q has version 0", key)
	}
	l := store.Loaded{Data: nonNil(data), Version: store.Version(ver)}
	if touched {
		l.Touched, l.Expires = true, time.UnixMicro(micros(touch)) // as stored
	}
	return l, nil
}

// SaveIf stores data under key until expiresAt with a new version, in one
// statement, if the live record under key has the given version, or, for
// the zero version, if there is no live record. A deadline that has passed
// removes the record (if the version matches) and returns 0. A mismatch
// writes nothing and returns an error wrapping store.ErrConflict.
func (s *Store) SaveIf(ctx context.Context, key string, data []byte, expiresAt time.Time, version store.Version) (store.Version, error) {
	const op = "save if"
	if err := s.check(op, key); err != nil {
		return 0, err
	}
	now, exp, old := micros(s.now()), micros(expiresAt), int64(version)
	var (
		n   int64
		err error
	)
	switch {
	case exp <= now && version == 0:
		// Nothing to store; a live record is a conflict.
		err = s.db.QueryRowContext(ctx, s.q.live, key, now).Scan(&n)
		if err != nil {
			return 0, wrap(ctx, op, err)
		}
		if n > 0 {
			return 0, conflict(version)
		}
		return 0, nil
	case exp <= now:
		if n, err = s.execRows(ctx, op, s.q.deleteIf, key, old, now); err != nil {
			return 0, err
		}
		if n == 0 {
			return 0, conflict(version)
		}
		return 0, nil
	}
	if err := s.checkSize(op, data); err != nil {
		return 0, err
	}
	next := newVersion(old)
	if version == 0 {
		args := []any{key, nonNil(data), exp, next}
		for range s.q.insertNows {
			args = append(args, now)
		}
		n, err = s.execRows(ctx, op, s.q.insert, args...)
	} else {
		// The new version differs from the old one, so a matching row is
		// always changed, and counted even where the server counts only
		// changed rows (MySQL without clientFoundRows).
		n, err = s.execRows(ctx, op, s.q.update, nonNil(data), exp, next, key, old, now)
	}
	if err != nil {
		return 0, err
	}
	// 1: inserted or updated; 2: MySQL replaced an expired row.
	if n == 0 {
		return 0, conflict(version)
	}
	return store.Version(next), nil
}

// conflict returns the error of a SaveIf whose version did not match.
func conflict(version store.Version) error {
	return fmt.Errorf("sqlstore: save if version %d: %w", version, store.ErrConflict)
}

// newVersion returns a random non-zero version other than old, as the
// int64 the version column holds. Versions are 64 random bits, so a key
// gets a version it had before with negligible probability.
func newVersion(old int64) int64 {
	for {
		if v := int64(rand.Uint64()); v != 0 && v != old {
			return v
		}
	}
}
