package redisstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/rueidis"
)

// Scan lists the keys with prefix (store.Scanner) with SCAN, MATCH on the
// prefix (its pattern characters escaped) and COUNT limit: one SCAN per
// call, so a call may return no key, or somewhat more than limit (COUNT is
// a hint to Redis). On a Cluster it scans every master in turn (a replica
// answers ROLE as one and is skipped): the cursor names the node and its
// SCAN cursor. A failover during a scan may hide keys from it: run it
// again.
func (s *Store) Scan(ctx context.Context, prefix, cursor string, limit int) ([]string, string, error) {
	if err := s.check("scan"); err != nil {
		return nil, "", err
	}
	if err := ctx.Err(); err != nil {
		return nil, "", fmt.Errorf("redisstore: scan: %w", err)
	}
	addr, at, err := parseCursor(cursor)
	if err != nil {
		return nil, "", fmt.Errorf("redisstore: scan: %w", err)
	}
	nodes := s.client.Nodes()
	addrs := make([]string, 0, len(nodes))
	for a := range nodes {
		addrs = append(addrs, a)
	}
	slices.Sort(addrs)
	i, found := slices.BinarySearch(addrs, addr)
	if !found {
		at = 0 // the node left: go on with the next one
	}
	pattern := escapeGlob(s.prefix+prefix) + "*"
	for ; i < len(addrs); i, at = i+1, 0 {
		n := nodes[addrs[i]]
		if at == 0 {
			master, err := isMaster(ctx, n)
			if err != nil {
				return nil, "", fmt.Errorf("redisstore: scan: %s: %w", addrs[i], err)
			}
			if !master {
				continue
			}
		}
		e, err := n.Do(ctx, n.B().Scan().Cursor(at).Match(pattern).Count(int64(max(limit, 1))).Build()).AsScanEntry()
		if err != nil {
			return nil, "", fmt.Errorf("redisstore: scan: %s: %w", addrs[i], err)
		}
		keys := make([]string, 0, len(e.Elements))
		for _, k := range e.Elements {
			if k, ok := strings.CutPrefix(k, s.prefix); ok {
				keys = append(keys, k)
			}
		}
		switch {
		case e.Cursor != 0:
			return keys, strconv.FormatUint(e.Cursor, 10) + " " + addrs[i], nil
		case i+1 < len(addrs):
			return keys, "0 " + addrs[i+1], nil
		}
		return keys, "", nil
	}
	return nil, "", nil
}

// isMaster reports whether the node n answers ROLE as a master.
func isMaster(ctx context.Context, n rueidis.Client) (bool, error) {
	role, err := n.Do(ctx, n.B().Role().Build()).ToArray()
	if err != nil {
		return false, err
	}
	if len(role) == 0 {
		return false, fmt.Errorf("empty ROLE reply")
	}
	r, err := role[0].ToString()
	return r == "master", err
}

// parseCursor reads a cursor of Scan: "" (the start), or a node's SCAN
// cursor and its address.
func parseCursor(cursor string) (addr string, at uint64, err error) {
	if cursor == "" {
		return "", 0, nil
	}
	n, addr, ok := strings.Cut(cursor, " ")
	at, err = strconv.ParseUint(n, 10, 64)
	if !ok || err != nil {
		return "", 0, fmt.Errorf("malformed cursor %q", cursor)
	}
	return addr, at, nil
}

// escapeGlob escapes the characters that Redis patterns give a meaning.
func escapeGlob(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
