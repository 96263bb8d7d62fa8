// Package fsstore keeps session records in a directory, one file each.
//
// A record lives in dir/ab/cd/<name>, where <name> is the hex SHA-256 of
// its key and ab and cd are its first four hex digits; the two levels of
// subdirectories, created as needed, keep directories small with millions
// of sessions. A file holds a short header (format, expiry, length and
// checksum of the data) followed by the data.
//
// Every write goes to a temporary file in the same directory that is then
// renamed over the record, so neither a concurrent reader nor a crash ever
// sees half a record, and several processes may share one directory.
// Expiry is enforced on read; a background cleaner deletes expired files
// (see [WithCleanupInterval]).
package fsstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/sessionkit/sessions/internal/cleanup"
	"github.com/sessionkit/sessions/internal/unixtime"
	"github.com/sessionkit/sessions/store"
)

// Store is a store.Store on a directory. It also implements store.Toucher
// and store.ExpiredDeleter. Create it with New and stop it with Close; all
// methods are safe for concurrent use, also by several processes.
type Store struct {
	dir     string
	sync    bool
	closed  atomic.Bool
	cleaner *cleanup.Cleaner // nil when background cleanup is off
}

// Interface checks.
var (
	_ store.Store          = (*Store)(nil)
	_ store.Toucher        = (*Store)(nil)
	_ store.ExpiredDeleter = (*Store)(nil)
)

// New returns a store on dir, creating dir (mode 0700) if it does not
// exist. It fails when dir is not a directory or a file cannot be created
// in it.
func New(dir string, opts ...Option) (*Store, error) {
	cfg := config{cleanupInterval: DefaultCleanupInterval, sync: true}
	for _, opt := range opts {
		if opt != nil {
			opt(&cfg)
		}
	}
	if err := checkDir(dir); err != nil {
		return nil, err
	}
	s := &Store{dir: dir, sync: cfg.sync}
	if cfg.cleanupInterval > 0 {
		// Errors are left for the next round: files may come and go under
		// other processes sharing the directory.
		s.cleaner = cleanup.Start(cfg.cleanupInterval, func(ctx context.Context) error {
			_, err := deleteExpired(ctx, dir)
			return err
		}, nil)
		// The cleaner does not hold the Store, so a Store that is dropped
		// without Close still stops its goroutine.
		runtime.AddCleanup(s, (*cleanup.Cleaner).Stop, s.cleaner)
	}
	return s, nil
}

// checkDir creates dir if needed and checks that files can be created in
// it.
func checkDir(dir string) error {
	if dir == "" {
		return errors.New("fsstore: no directory given")
	}
	if info, err := os.Stat(dir); err == nil && !info.IsDir() {
		return fmt.Errorf("fsstore: %s is not a directory", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("fsstore: cannot create directory %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, tempPrefix+"probe-*")
	if err != nil {
		return fmt.Errorf("fsstore: directory %s is not writable: %w", dir, err)
	}
	name := f.Name()
	if err := errors.Join(f.Close(), os.Remove(name)); err != nil {
		return fmt.Errorf("fsstore: directory %s is not usable: %w", dir, err)
	}
	return nil
}

// Load returns the record stored under key. A file that is missing,
// expired or not a valid record is not found.
func (s *Store) Load(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.check(ctx, "load"); err != nil {
		return nil, false, err
	}
	_, path := s.path(key)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("fsstore: load: %w", err)
	}
	rec, ok := decode(b)
	if !ok || rec.expired(time.Now()) {
		return nil, false, nil
	}
	return rec.data, true, nil
}

// Save writes data under key until expiresAt, atomically replacing any
// record. A deadline that has passed removes the record.
func (s *Store) Save(ctx context.Context, key string, data []byte, expiresAt time.Time) error {
	if err := s.check(ctx, "save"); err != nil {
		return err
	}
	sub, path := s.path(key)
	rec := record{exp: unixtime.Nano(expiresAt), data: data}
	if rec.expired(time.Now()) {
		return s.remove(path, "save")
	}
	if len(data) > maxDataLen {
		return fmt.Errorf("fsstore: save: %d bytes: %w", len(data), store.ErrTooLarge)
	}
	tmp, err := s.writeTemp(sub, rec)
	if err == nil {
		err = replace(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("fsstore: save: %w", err)
	}
	return nil
}

// Delete removes the record stored under key, if any.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.check(ctx, "delete"); err != nil {
		return err
	}
	_, path := s.path(key)
	return s.remove(path, "delete")
}

// Close stops the background cleaner, interrupting a cleanup in progress.
// Calls made after Close return an error wrapping store.ErrClosed. Close is
// idempotent and always returns nil.
func (s *Store) Close() error {
	s.closed.Store(true)
	if s.cleaner != nil {
		s.cleaner.Stop()
	}
	return nil
}

// check returns the error that ends a call to op before it starts, if any.
func (s *Store) check(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fsstore: %s: %w", op, err)
	}
	if s.closed.Load() {
		return fmt.Errorf("fsstore: %s: %w", op, store.ErrClosed)
	}
	return nil
}

// path returns the file of key and the directory that holds it.
func (s *Store) path(key string) (sub, path string) {
	sum := sha256.Sum256([]byte(key))
	name := hex.EncodeToString(sum[:])
	sub = filepath.Join(s.dir, name[:2], name[2:4])
	return sub, filepath.Join(sub, name)
}

// remove removes the file at path; a missing file is not an error.
func (s *Store) remove(path, op string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("fsstore: %s: %w", op, err)
	}
	return nil
}
