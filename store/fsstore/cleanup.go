package fsstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// staleAge is the age after which a temporary or trash file is taken to be
// left by a crashed process and removed by cleanup.
const staleAge = 15 * time.Minute

// DeleteExpired deletes the files of expired records, and damaged files,
// and returns how many it deleted. It also removes temporary files that
// crashed writers left more than 15 minutes ago. It checks ctx between
// files.
func (s *Store) DeleteExpired(ctx context.Context) (int, error) {
	if err := s.check(ctx, "delete expired"); err != nil {
		return 0, err
	}
	n, err := deleteExpired(ctx, s.dir)
	if err != nil {
		return n, fmt.Errorf("fsstore: delete expired: %w", err)
	}
	return n, nil
}

// deleteExpired walks the two levels of shard directories under root.
func deleteExpired(ctx context.Context, root string) (int, error) {
	n := 0
	err := eachEntry(ctx, root, func(top fs.DirEntry) error {
		if !isShardDir(top) {
			removeIfStale(filepath.Join(root, top.Name()), top)
			return nil
		}
		return eachEntry(ctx, filepath.Join(root, top.Name()), func(sub fs.DirEntry) error {
			if !isShardDir(sub) {
				return nil
			}
			dir := filepath.Join(root, top.Name(), sub.Name())
			return eachEntry(ctx, dir, func(e fs.DirEntry) error {
				path := filepath.Join(dir, e.Name())
				if !isRecordName(e.Name()) {
					removeIfStale(path, e)
					return nil
				}
				removed, err := removeIfExpired(path)
				if removed {
					n++
				}
				return err
			})
		})
	})
	return n, err
}

// eachEntry calls fn for each entry of dir, checking ctx before each; a
// missing dir has no entries.
func eachEntry(ctx context.Context, dir string, fn func(fs.DirEntry) error) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// isShardDir reports whether e is a shard directory: two hex digits.
func isShardDir(e fs.DirEntry) bool {
	return e.IsDir() && len(e.Name()) == 2 && isHex(e.Name())
}

// isRecordName reports whether name is the name of a record file.
func isRecordName(name string) bool {
	return len(name) == 64 && isHex(name)
}

func isHex(s string) bool {
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// removeIfStale removes a temporary or trash file older than staleAge.
// Anything else is left alone; errors are ignored (another process may be
// cleaning too).
func removeIfStale(path string, e fs.DirEntry) {
	name := e.Name()
	if !strings.HasPrefix(name, tempPrefix) && !strings.HasPrefix(name, trashPrefix) {
		return
	}
	if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleAge {
		os.Remove(path)
	}
}

// removeIfExpired removes the record file at path if it has expired or is
// damaged, and reports whether it did.
func removeIfExpired(path string) (bool, error) {
	ok, err := removable(path)
	if !ok || err != nil {
		return false, err
	}
	return trash(path)
}

// trash removes the record file at path, found expired or damaged, without
// ever deleting a fresh record that a concurrent Save renamed into place
// after that check: it moves the file to a unique trash name, checks it
// again, and puts it back if it turns out to be fresh. It reports whether
// it removed a record.
func trash(path string) (bool, error) {
	t := filepath.Join(filepath.Dir(path), trashPrefix+rand.Text())
	if err := os.Rename(path, t); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	ok, err := removable(t)
	if ok && err == nil {
		return true, ignoreNotExist(os.Remove(t))
	}
	// A Save won the race. Put its file back, unless an even newer file
	// has taken the name since: Link, unlike Rename, never replaces.
	if lerr := os.Link(t, path); lerr != nil && !errors.Is(lerr, fs.ErrExist) {
		err = errors.Join(err, lerr)
	}
	return false, errors.Join(err, ignoreNotExist(os.Remove(t)))
}

// removable reports whether the file at path holds an expired record or is
// damaged (too short, not a record). A missing file, a live record or a
// format this version does not know is not removable.
func removable(path string) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	b := make([]byte, headerSize)
	n, err := io.ReadFull(f, b)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return false, err
	}
	exp, h := decodeHeader(b[:n])
	switch h {
	case headerCorrupt:
		return true, nil
	case headerNewer:
		return false, nil
	}
	return time.Now().UnixNano() >= exp, nil
}

// ignoreNotExist returns err unless it reports a missing file.
func ignoreNotExist(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
