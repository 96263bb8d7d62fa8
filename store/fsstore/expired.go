package fsstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// staleAge is the age after which a temporary file is taken to be left by
// a crashed process and removed by cleanup.
const staleAge = 15 * time.Minute

// legacyTrashPrefix names the files that format-1 cleanup moved a record
// to before deleting it.
const legacyTrashPrefix = ".trash-"

// DeleteExpired deletes the files of expired records, and damaged files,
// and returns how many it deleted. It also removes temporary files that
// crashed writers left more than 15 minutes ago, and the files of the
// format-1 layout once they expire. It checks ctx between files.
func (s *Store) DeleteExpired(ctx context.Context) (int, error) {
	if err := s.check(ctx, "delete expired"); err != nil {
		return 0, err
	}
	n, err := s.d.deleteExpired(ctx)
	if err != nil {
		return n, fmt.Errorf("fsstore: delete expired: %w", err)
	}
	return n, nil
}

// deleteExpired walks the shard directories, and those of the format-1
// layout, under the root. While a function is registered with
// ReportExpired it runs the pass that reports instead.
func (d *disk) deleteExpired(ctx context.Context) (int, error) {
	if reported := d.rep.Sweep(); reported != nil {
		return reported(ctx)
	}
	return d.clean(ctx, nil)
}

// clean is deleteExpired's pass. With seen, each record the pass removes
// is passed to seen before its removal, and the function seen returns (if
// not nil) is called after it.
func (d *disk) clean(ctx context.Context, seen func(path, name string) (removed func())) (int, error) {
	n := 0
	err := eachEntry(ctx, d.root, func(e fs.DirEntry) error {
		var m int
		var err error
		switch name := e.Name(); {
		case !e.IsDir():
			removeIfStale(filepath.Join(d.root, name), e)
		case shardOf(name) >= 0:
			m, err = d.cleanShard(ctx, shardOf(name), seen)
		case isLegacyDir(name):
			m, err = cleanLegacy(ctx, filepath.Join(d.root, name), 2)
		case name == ownersDir:
			_, err = d.cleanIndexes(ctx) // entries, not records: not counted
		}
		n += m
		return err
	})
	return n, err
}

// cleanShard deletes the expired and damaged records of a shard. A record
// that looks removable is checked again under the shard lock, so that a
// record a writer has just replaced is never deleted. seen is clean's.
func (d *disk) cleanShard(ctx context.Context, shard int, seen func(path, name string) (removed func())) (int, error) {
	dir := d.shardDirs[shard]
	n := 0
	err := eachEntry(ctx, dir, func(e fs.DirEntry) error {
		path := filepath.Join(dir, e.Name())
		if !isRecordName(e.Name()) {
			removeIfStale(path, e)
			return nil
		}
		if ok, err := removable(path); !ok || err != nil {
			return err
		}
		unlock, err := d.lockShard(ctx, shard)
		if err != nil {
			return err
		}
		defer unlock()
		ok, err := removable(path)
		if ok && err == nil {
			var removed func()
			if seen != nil {
				removed = seen(path, e.Name())
			}
			if err = os.Remove(path); err == nil {
				n++
				if removed != nil {
					removed()
				}
			}
		}
		return ignoreNotExist(err)
	})
	return n, err
}

// cleanLegacy deletes the expired and damaged records in a directory of
// the format-1 layout, depth levels of two-hex-digit directories above the
// records, then the directory itself if that left it empty. Nothing writes
// these files any more, so no lock is needed.
func cleanLegacy(ctx context.Context, dir string, depth int) (int, error) {
	n := 0
	err := eachEntry(ctx, dir, func(e fs.DirEntry) error {
		path := filepath.Join(dir, e.Name())
		switch {
		case depth > 1 && e.IsDir() && isLegacyDir(e.Name()):
			m, err := cleanLegacy(ctx, path, depth-1)
			n += m
			return err
		case depth == 1 && len(e.Name()) == 64 && isHex(e.Name()):
			ok, err := removable(path)
			if ok && err == nil {
				if err = os.Remove(path); err == nil {
					n++
				}
			}
			return ignoreNotExist(err)
		}
		removeIfStale(path, e)
		return nil
	})
	if err == nil {
		os.Remove(dir) // fails, as it should, unless the directory is empty
	}
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

// isLegacyDir reports whether name is a directory name of the format-1
// layout: two lower-case hex digits.
func isLegacyDir(name string) bool {
	return len(name) == 2 && isHex(name)
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// removeIfStale removes a temporary file older than staleAge. Anything
// else is left alone; errors are ignored (another process may be cleaning
// too).
func removeIfStale(path string, e fs.DirEntry) {
	name := e.Name()
	if !e.Type().IsRegular() || !strings.HasPrefix(name, tempPrefix) && !strings.HasPrefix(name, legacyTrashPrefix) {
		return
	}
	if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleAge {
		os.Remove(path)
	}
}

// removable reports whether the file at path holds an expired record or is
// damaged (too short, not a record). A missing file, a live record or a
// format this version does not know is not removable.
func removable(path string) (bool, error) {
	f, err := openReader(path)
	if err != nil {
		return false, ignoreNotExist(err)
	}
	defer f.close()
	var b [headerSize]byte
	n, err := io.ReadFull(f, b[:])
	if err = ignoreEOF(err); err != nil {
		return false, err
	}
	exp, k := decodeHeader(b[:n])
	switch k {
	case kindCorrupt:
		return true, nil
	case kindNewer:
		return false, nil
	}
	return time.Now().UnixNano() >= exp, nil
}
