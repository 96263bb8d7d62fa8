package fsstore

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sessionkit/sessions/store"
)

// The owner indexes (store.OwnerIndex) live in dir/owners: one directory
// per index, named by the hex SHA-256 of its key, holding one file per
// entry, named by the hex SHA-256 of its ID (so that names never differ
// only in case). An entry file holds the ID, then the deadline and the
// time added (Unix nanoseconds, 8 bytes each, big endian). An add writes
// one file (a temporary file renamed over it), a remove deletes one, a
// list reads the directory and its files; entries past their deadline go
// when listed and in the cleanup.
const (
	ownersDir      = "owners"
	entryNameLen   = 32 // hex characters of the SHA-256 of an ID
	entryFixedSize = 16
)

func (d *disk) indexDir(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(d.root, ownersDir, hex.EncodeToString(sum[:20]))
}

func entryName(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:entryNameLen/2])
}

// IndexAdd writes the entry file of e in the index under key
// (store.OwnerIndex).
func (s *Store) IndexAdd(ctx context.Context, key string, e store.IndexEntry) error {
	if err := s.check(ctx, "index add"); err != nil {
		return err
	}
	if !e.Deadline.After(time.Now()) {
		return nil
	}
	dir := s.d.indexDir(key)
	b := make([]byte, 0, len(e.ID)+entryFixedSize)
	b = append(b, e.ID...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Deadline.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, uint64(e.Added.UnixNano()))
	var err error
	for range 16 { // the cleanup may remove the directory once it is empty
		if err = os.MkdirAll(dir, 0o700); err != nil {
			break
		}
		if err = s.d.writeEntry(dir, entryName(e.ID), b); !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("fsstore: index add: %w", err)
	}
	return nil
}

// writeEntry writes b as the file name in dir, atomically.
func (d *disk) writeEntry(dir, name string, b []byte) error {
	f, err := createTemp(dir)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil && d.sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// IndexRemove deletes the entry files of ids from the index under key
// (store.OwnerIndex).
func (s *Store) IndexRemove(ctx context.Context, key string, ids ...string) error {
	if err := s.check(ctx, "index remove"); err != nil {
		return err
	}
	dir := s.d.indexDir(key)
	for _, id := range ids {
		if err := ignoreNotExist(os.Remove(filepath.Join(dir, entryName(id)))); err != nil {
			return fmt.Errorf("fsstore: index remove: %w", err)
		}
	}
	return nil
}

// IndexList reads the entries of the index under key, removing those past
// their deadline (store.OwnerIndex).
func (s *Store) IndexList(ctx context.Context, key string) ([]store.IndexEntry, error) {
	if err := s.check(ctx, "index list"); err != nil {
		return nil, err
	}
	list, _, err := readIndex(ctx, s.d.indexDir(key), time.Now())
	if err != nil {
		return nil, fmt.Errorf("fsstore: index list: %w", err)
	}
	return list, nil
}

// readIndex reads the entry files of dir, removes those past their
// deadline at now and returns the others, and how many it removed.
func readIndex(ctx context.Context, dir string, now time.Time) ([]store.IndexEntry, int, error) {
	var (
		list    []store.IndexEntry
		removed int
	)
	err := eachEntry(ctx, dir, func(de fs.DirEntry) error {
		name := de.Name()
		path := filepath.Join(dir, name)
		if strings.HasPrefix(name, ".") {
			removeIfStale(path, de)
			return nil
		}
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed meanwhile
		}
		if err != nil {
			return err
		}
		if len(b) <= entryFixedSize || len(name) != entryNameLen {
			os.Remove(path) // not an entry: a torn write cannot happen (rename), so damage
			return nil
		}
		id := string(b[:len(b)-entryFixedSize])
		e := store.IndexEntry{
			ID:       id,
			Deadline: time.Unix(0, int64(binary.BigEndian.Uint64(b[len(id):]))),
			Added:    time.Unix(0, int64(binary.BigEndian.Uint64(b[len(id)+8:]))),
		}
		if !now.Before(e.Deadline) {
			if ignoreNotExist(os.Remove(path)) == nil {
				removed++
			}
			return nil
		}
		list = append(list, e)
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	return list, removed, err
}

// cleanIndexes removes the entries past their deadline of every index,
// and the index directories left empty; it returns how many entries it
// removed.
func (d *disk) cleanIndexes(ctx context.Context) (int, error) {
	root := filepath.Join(d.root, ownersDir)
	n := 0
	err := eachEntry(ctx, root, func(de fs.DirEntry) error {
		if !de.IsDir() {
			return nil
		}
		dir := filepath.Join(root, de.Name())
		list, removed, err := readIndex(ctx, dir, time.Now())
		n += removed
		if err == nil && len(list) == 0 {
			os.Remove(dir) // fails if an add came meanwhile: the directory stays
		}
		return err
	})
	if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	return n, err
}

// LoadVersions reads the records under keys, one file after another
// (store.MultiLoader): reading files costs no round trip.
func (s *Store) LoadVersions(ctx context.Context, keys []string) ([]store.Loaded, error) {
	out := make([]store.Loaded, len(keys))
	for i, key := range keys {
		l, err := s.LoadVersion(ctx, key, time.Time{})
		if err != nil {
			return nil, err
		}
		out[i] = l
	}
	return out, nil
}
