package fsstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// Scan lists the keys with prefix, at most limit of them (store.Scanner):
// each call reads one shard directory, in name order, and the cursor names
// the shard and the last file returned from it.
//
// Only keys stored under their own name can be listed: on a file system
// where every name is a hash of the key (case-insensitive, or Windows),
// and for a prefix that is not a plain name (ASCII letters, digits, '-',
// '_' and ':', not starting with ':'), Scan returns an error wrapping
// errors.ErrUnsupported, and so it does when it meets a file named by a
// hash (a key that is not a plain name) in a shard it reads, since that
// key may have the prefix. The manager's keys are plain names under a
// plain prefix (such as the default "session:").
func (s *Store) Scan(ctx context.Context, prefix, cursor string, limit int) ([]string, string, error) {
	if err := s.check(ctx, "scan"); err != nil {
		return nil, "", err
	}
	keys, next, err := s.d.scan(ctx, prefix, cursor, max(limit, 1))
	if err != nil {
		return nil, "", fmt.Errorf("fsstore: scan: %w", err)
	}
	return keys, next, nil
}

func (d *disk) scan(ctx context.Context, prefix, cursor string, limit int) ([]string, string, error) {
	switch {
	case d.hashAll:
		return nil, "", fmt.Errorf("file names are hashes of the keys on this file system: %w", errors.ErrUnsupported)
	case prefix != "" && !isPlain(prefix):
		return nil, "", fmt.Errorf("prefix %q is not a plain name, so its keys are stored under hashes: %w", prefix, errors.ErrUnsupported)
	}
	shard, after, err := parseCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	entries, err := os.ReadDir(d.shardDirs[shard])
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, "", err
	}
	namePrefix := strings.ReplaceAll(prefix, ":", ".")
	var keys []string
	for _, e := range entries { // sorted by name
		name := e.Name()
		switch {
		case !isRecordName(name) || (after != "" && name <= after):
			continue
		case name[0] == hashedPrefix:
			return nil, "", fmt.Errorf("a key that is not a plain name is stored under a hash, %s: %w", name, errors.ErrUnsupported)
		case !strings.HasPrefix(name, namePrefix):
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, "", err
		}
		keys = append(keys, strings.ReplaceAll(name, ".", ":"))
		if len(keys) == limit {
			return keys, strconv.Itoa(shard) + ":" + name, nil
		}
	}
	if shard+1 < shardCount {
		return keys, strconv.Itoa(shard + 1), nil
	}
	return keys, "", nil
}

// parseCursor reads a cursor of Scan: "" (the start), a shard to start,
// or a shard and the last file name returned from it ("shard:name").
func parseCursor(cursor string) (shard int, after string, err error) {
	if cursor == "" {
		return 0, "", nil
	}
	n, after, _ := strings.Cut(cursor, ":")
	shard, err = strconv.Atoi(n)
	if err != nil || shard < 0 || shard >= shardCount {
		return 0, "", fmt.Errorf("malformed cursor %q", cursor)
	}
	return shard, after, nil
}
