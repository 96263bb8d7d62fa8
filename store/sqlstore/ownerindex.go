package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/sessionkit/sessions/store"
)

// IndexAdd inserts or replaces the row of e in the owner index under key,
// in one statement (store.OwnerIndex).
func (s *Store) IndexAdd(ctx context.Context, key string, e store.IndexEntry) error {
	if err := s.checkIndex("index add", key, e.ID); err != nil {
		return err
	}
	if !e.Deadline.After(s.now()) {
		return nil
	}
	return s.exec(ctx, "index add", s.q.indexAdd, key, e.ID, micros(e.Deadline), e.Added.UnixMicro())
}

// IndexRemove deletes the rows of ids from the owner index under key, in
// one statement (store.OwnerIndex).
func (s *Store) IndexRemove(ctx context.Context, key string, ids ...string) error {
	if err := s.checkIndex("index remove", key, ids...); err != nil {
		return err
	}
	if len(ids) == 0 {
		return ctx.Err()
	}
	return s.exec(ctx, "index remove", s.q.indexRemove, key, bun.List(ids))
}

// IndexList returns the rows of the owner index under key whose deadline
// has not passed, in one statement (store.OwnerIndex). Rows past their
// deadline go in the background cleanup (DeleteExpired).
func (s *Store) IndexList(ctx context.Context, key string) ([]store.IndexEntry, error) {
	if err := s.checkIndex("index list", key); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.q.indexList, key, micros(s.now()))
	if err != nil {
		return nil, wrap(ctx, "index list", err)
	}
	defer rows.Close()
	var list []store.IndexEntry
	for rows.Next() {
		var (
			id              string
			deadline, added int64
		)
		if err := rows.Scan(&id, &deadline, &added); err != nil {
			return nil, wrap(ctx, "index list", err)
		}
		list = append(list, store.IndexEntry{ID: id, Deadline: time.UnixMicro(deadline), Added: time.UnixMicro(added)})
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(ctx, "index list", err)
	}
	return list, nil
}

// checkIndex is check for an index key and entry IDs.
func (s *Store) checkIndex(op, key string, ids ...string) error {
	if err := s.check(op, key); err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.check(op, id); err != nil {
			return fmt.Errorf("%w (an entry ID)", err)
		}
	}
	return nil
}

// loadBatch is how many keys one LoadVersions statement reads: within
// every dialect's limit on the parameters of a statement.
const loadBatch = 500

// LoadVersions reads the live records under keys and their expiries, 500
// to a statement (store.MultiLoader).
func (s *Store) LoadVersions(ctx context.Context, keys []string) ([]store.Loaded, error) {
	for _, key := range keys {
		if err := s.check("load versions", key); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, wrap(ctx, "load versions", err)
	}
	found := make(map[string]store.Loaded, len(keys))
	now := micros(s.now())
	for rest := keys; len(rest) > 0; {
		batch := rest[:min(len(rest), loadBatch)]
		rest = rest[len(batch):]
		if err := s.loadBatch(ctx, batch, now, found); err != nil {
			return nil, err
		}
	}
	out := make([]store.Loaded, len(keys))
	for i, key := range keys {
		if l, ok := found[key]; ok {
			out[i] = store.Loaded{Data: append([]byte{}, l.Data...), Version: l.Version, Expires: l.Expires} // a copy each
		}
	}
	return out, nil
}

// loadBatch reads the live records under keys into found.
func (s *Store) loadBatch(ctx context.Context, keys []string, now int64, found map[string]store.Loaded) error {
	rows, err := s.db.QueryContext(ctx, s.q.loadVersions, bun.List(keys), now)
	if err != nil {
		return wrap(ctx, "load versions", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			key  string
			data []byte
			ver  int64
			exp  int64
		)
		if err := rows.Scan(&key, &data, &ver, &exp); err != nil {
			return wrap(ctx, "load versions", err)
		}
		found[key] = store.Loaded{Data: nonNil(data), Version: store.Version(ver), Expires: time.UnixMicro(exp)}
	}
	if err := rows.Err(); err != nil {
		return wrap(ctx, "load versions", err)
	}
	return nil
}
