// Package fsstore keeps session records in a directory, one file each.
//
// A record lives in dir/sXX/<name>, where XX, two hex digits, pick one of
// 256 shard directories from a checksum of the key. The name is the key
// itself when the key is a plain name, as the manager's keys are (letters,
// digits, '-', '_' and ':', which is written as '.'); other keys, and all
// keys on case-insensitive file systems and on Windows, are named by their
// SHA-256, so no key can reach outside the directory. A file holds a short
// header (format, expiry, version, length and checksum) followed by the
// data.
//
// Every write goes to a temporary file in the same directory that then
// replaces the record by a rename, so neither a concurrent reader nor a
// crash ever sees half a record. Several processes may share one
// directory: the renames of each shard happen under an advisory lock
// (flock; LockFileEx on Windows) on the shard's .lock file, which is what
// makes conditional writes (store.Versioned) safe across processes. On
// systems with neither, and on file systems that refuse such locks (New
// then logs a warning), they are safe only among the goroutines of one
// Store.
//
// Expiry is enforced on read; a background cleaner deletes expired files
// (see [WithCleanupInterval]).
//
// Files written before this layout (dir/ab/cd/<hex SHA-256>, format 1)
// read as absent; cleanup deletes them once they expire.
package fsstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/sessionkit/sessions/internal/cleanup"
	"github.com/sessionkit/sessions/internal/option"
	"github.com/sessionkit/sessions/internal/unixtime"
	"github.com/sessionkit/sessions/store"
)

// Store is a store.Store on a directory. It also implements
// store.Versioned, store.Toucher, store.ExpiredDeleter,
// store.ExpiredReporter and store.Scanner (for keys stored under their own
// name: see Scan). Create it with New and stop it with Close; all methods
// are safe for concurrent use, also by several processes.
type Store struct {
	d       *disk
	closed  atomic.Bool
	cleaner *cleanup.Cleaner // nil when background cleanup is off
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

// disk is the directory: what the Store shares with its background
// cleaner, which must not hold the Store.
type disk struct {
	root      string
	sync      bool
	hashAll   bool // every key gets a hashed name
	fileLocks bool // the file system has advisory locks
	shardDirs [shardCount]string
	lockPaths [shardCount]string
	sems      [shardCount]chan struct{} // the shard locks within the process
	rep       cleanup.Reporters         // ReportExpired
}

// New returns a store on dir, creating dir (mode 0700) if it does not
// exist. It fails when dir is not a directory, a file cannot be created in
// it, or an option has an invalid value.
func New(dir string, opts ...Option) (*Store, error) {
	cfg := config{cleanupInterval: DefaultCleanupInterval, sync: true}
	if err := option.Apply(&cfg, opts); err != nil {
		return nil, fmt.Errorf("fsstore: %w", err)
	}
	probe, err := checkDir(dir)
	if err != nil {
		return nil, err
	}
	d := &disk{
		root:      dir,
		sync:      cfg.sync,
		hashAll:   probe.caseInsensitive || runtime.GOOS == "windows",
		fileLocks: probe.lockErr == nil,
	}
	if probe.lockErr != nil {
		option.Logger(cfg.logger).LogAttrs(context.Background(), slog.LevelWarn,
			"fsstore: the file system refuses file locks; conditional writes are safe only within this Store",
			slog.String("dir", dir), slog.Any("error", probe.lockErr))
	}
	for i := range shardCount {
		d.shardDirs[i] = filepath.Join(dir, shardNames[i])
		d.lockPaths[i] = filepath.Join(d.shardDirs[i], lockName)
		d.sems[i] = make(chan struct{}, 1)
	}
	s := &Store{d: d}
	s.cleaner = cleanup.Start(s, cleanup.Task{
		Store:    "fsstore",
		Interval: cfg.cleanupInterval,
		Logger:   cfg.logger,
		Attrs:    []slog.Attr{slog.String("dir", dir)},
		Clean:    d.deleteExpired, // the disk, never s
	})
	return s, nil
}

// probed is what checkDir learns about the file system of the directory.
type probed struct {
	caseInsensitive bool  // file names that differ only in case are one file
	lockErr         error // why advisory file locks do not work, if they don't
}

// checkDir creates dir if needed and checks, with a probe file, that files
// can be created in it, whether their names are case-insensitive and
// whether they can be locked.
func checkDir(dir string) (probed, error) {
	var p probed
	if dir == "" {
		return p, errors.New("fsstore: no directory given")
	}
	if info, err := os.Stat(dir); err == nil && !info.IsDir() {
		return p, fmt.Errorf("fsstore: %s is not a directory", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return p, fmt.Errorf("fsstore: cannot create directory %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, tempPrefix+"probe-*")
	if err != nil {
		return p, fmt.Errorf("fsstore: directory %s is not writable: %w", dir, err)
	}
	name := f.Name()
	info, statErr := f.Stat()
	if statErr == nil {
		other, err := os.Stat(filepath.Join(dir, strings.ToUpper(filepath.Base(name))))
		p.caseInsensitive = err == nil && os.SameFile(info, other)
	}
	if l, err := openLockFile(name); err != nil {
		p.lockErr = err
	} else {
		_, p.lockErr = l.tryLock()
		l.release()
	}
	if err := errors.Join(statErr, f.Close(), os.Remove(name)); err != nil {
		return p, fmt.Errorf("fsstore: directory %s is not usable: %w", dir, err)
	}
	return p, nil
}

// Load returns the record stored under key. A file that is missing,
// expired or not a valid record is not found.
func (s *Store) Load(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.check(ctx, "load"); err != nil {
		return nil, false, err
	}
	rec, ok, err := readLive(s.d.locate(key).file)
	if err != nil {
		return nil, false, fmt.Errorf("fsstore: load: %w", err)
	}
	return rec.data, ok, nil
}

// Save writes data under key until expiresAt, as a new version,
// atomically replacing any record. A deadline that has passed removes the
// record.
func (s *Store) Save(ctx context.Context, key string, data []byte, expiresAt time.Time) error {
	if err := s.check(ctx, "save"); err != nil {
		return err
	}
	if _, err := s.d.write(ctx, key, data, expiresAt, false, 0); err != nil {
		return fmt.Errorf("fsstore: save: %w", err)
	}
	return nil
}

// Delete removes the record stored under key, if any.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.check(ctx, "delete"); err != nil {
		return err
	}
	loc := s.d.locate(key)
	unlock, err := s.d.lockShard(ctx, loc.shard)
	if err != nil {
		return fmt.Errorf("fsstore: delete: %w", err)
	}
	defer unlock()
	if err := ignoreNotExist(os.Remove(loc.file)); err != nil {
		return fmt.Errorf("fsstore: delete: %w", err)
	}
	return nil
}

// Close stops the background cleaner, interrupting a cleanup in progress.
// Calls made after Close return an error wrapping store.ErrClosed. Close is
// idempotent and always returns nil.
func (s *Store) Close() error {
	s.closed.Store(true)
	s.cleaner.Stop()
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

// write writes data under key until expiresAt as a new version and returns
// the version, or, when expiresAt has passed, removes the record and
// returns 0. When conditional, it does so only if the live record has the
// version want (none for 0), and otherwise returns an error wrapping
// store.ErrConflict.
//
// The temporary file is written and synced first; the version check and
// the rename then happen under the shard lock.
func (d *disk) write(ctx context.Context, key string, data []byte, expiresAt time.Time, conditional bool, want store.Version) (store.Version, error) {
	loc := d.locate(key)
	rec := record{exp: unixtime.Nano(expiresAt), data: data}
	var tmp string
	if !rec.expired(time.Now()) {
		if len(data) > maxDataLen {
			return 0, fmt.Errorf("%d bytes: %w", len(data), store.ErrTooLarge)
		}
		rec.ver = newVersion()
		var err error
		if tmp, err = d.writeTemp(loc.dir, rec); err != nil {
			return 0, err
		}
	}
	unlock, err := d.lockShard(ctx, loc.shard)
	if err == nil {
		defer unlock()
		if conditional {
			var cur record
			cur, _, err = readLive(loc.file)
			if err == nil && cur.ver != want {
				err = fmt.Errorf("the record is not version %d: %w", want, store.ErrConflict)
			}
		}
	}
	switch {
	case err != nil:
		if tmp != "" {
			os.Remove(tmp)
		}
		return 0, err
	case tmp == "":
		return 0, ignoreNotExist(os.Remove(loc.file))
	}
	return rec.ver, replace(tmp, loc.file)
}

// readLive returns the live record in the file at path; ok is false when
// the file is missing, damaged or expired.
func readLive(path string) (rec record, ok bool, err error) {
	b, err := readFile(path)
	if err != nil {
		return record{}, false, ignoreNotExist(err)
	}
	rec, ok = decode(b)
	if !ok || rec.expired(time.Now()) {
		return record{}, false, nil
	}
	return rec, true, nil
}

// locate returns where the record of key lives.
func (d *disk) locate(key string) location {
	return locate(d.shardDirs[:], key, d.hashAll)
}

// newVersion returns a random non-zero version. Versions are random so
// that processes sharing the directory need not agree on a counter; two
// writes of one key get the same version with probability 2^-64.
func newVersion() store.Version {
	for {
		if v := rand.Uint64(); v != 0 {
			return store.Version(v)
		}
	}
}

// ignoreNotExist returns err unless it reports a missing file.
func ignoreNotExist(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// bytesOfString returns the bytes of s without copying; they must not be
// modified.
func bytesOfString(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
