package sqlstore

import (
	"context"
	"fmt"
	"strings"
)

// Scan lists the keys of live rows with prefix, at most limit of them,
// in key order (store.Scanner): each call is one indexed range query on
// the primary key, from the prefix or from the last key returned, which
// the cursor holds. Keys compare byte by byte on every dialect (the key
// column is COLLATE "C" on PostgreSQL, VARBINARY on MySQL), so the keys
// with a prefix are one range and the prefix needs no pattern.
func (s *Store) Scan(ctx context.Context, prefix, cursor string, limit int) ([]string, string, error) {
	if err := s.check("scan", prefix); err != nil {
		return nil, "", err
	}
	limit = max(limit, 1)
	query, from := s.q.scanFrom, prefix
	if cursor != "" {
		after, ok := strings.CutPrefix(cursor, "k")
		if !ok || !strings.HasPrefix(after, prefix) {
			return nil, "", fmt.Errorf("sqlstore: scan: malformed cursor %q", cursor)
		}
		query, from = s.q.scanAfter, after
	}
	rows, err := s.db.QueryContext(ctx, query, from, micros(s.now()), limit)
	if err != nil {
		return nil, "", wrap(ctx, "scan", err)
	}
	defer rows.Close()
	var keys []string
	n := 0
	for rows.Next() {
		var key string
		if err := rows.Scan(&key); err != nil {
			return nil, "", wrap(ctx, "scan", err)
		}
		n++
		if !strings.HasPrefix(key, prefix) {
			return keys, "", nil // past the prefix's range: done
		}
		keys = append(keys, key)
	}
	if err := rows.Err(); err != nil {
		return nil, "", wrap(ctx, "scan", err)
	}
	if n < limit {
		return keys, "", nil
	}
	// The cursor is "k" and the last key, so that it is never "", which
	// ends a scan, even after the key "".
	return keys, "k" + keys[len(keys)-1], nil
}
