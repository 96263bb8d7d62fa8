package memstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Scan lists the keys with prefix, at most limit of them, one shard after
// another (store.Scanner). The cursor names the shard and the last key
// returned from it; each call holds one shard's read lock while it walks
// that shard's map once. Keys come in order within a shard.
func (s *Store) Scan(ctx context.Context, prefix, cursor string, limit int) ([]string, string, error) {
	if err := s.check(ctx, "scan"); err != nil {
		return nil, "", err
	}
	shard, after, hasAfter, err := parseCursor(cursor, len(s.shards))
	if err != nil {
		return nil, "", fmt.Errorf("memstore: scan: %w", err)
	}
	limit = max(limit, 1)
	t := now()
	sh := &s.shards[shard]
	var keys []string // the smallest keys after after, in order
	sh.mu.RLock()
	for k, e := range sh.m {
		if !strings.HasPrefix(k, prefix) || (hasAfter && k <= after) || e.expired(t) {
			continue
		}
		if len(keys) == limit && k >= keys[limit-1] {
			continue
		}
		i, _ := slices.BinarySearch(keys, k)
		if len(keys) == limit {
			keys = keys[:limit-1]
		}
		keys = slices.Insert(keys, i, k)
	}
	sh.mu.RUnlock()
	switch {
	case len(keys) == limit:
		return keys, strconv.Itoa(shard) + ":" + keys[limit-1], nil
	case shard+1 < len(s.shards):
		return keys, strconv.Itoa(shard + 1), nil
	}
	return keys, "", nil
}

// parseCursor reads a cursor of Scan: "" (the start), a shard to start,
// or a shard and the last key returned from it ("shard:key").
func parseCursor(cursor string, shards int) (shard int, after string, hasAfter bool, err error) {
	if cursor == "" {
		return 0, "", false, nil
	}
	n, after, hasAfter := strings.Cut(cursor, ":")
	shard, err = strconv.Atoi(n)
	if err != nil || shard < 0 || shard >= shards {
		return 0, "", false, fmt.Errorf("malformed cursor %q", cursor)
	}
	return shard, after, hasAfter, nil
}
