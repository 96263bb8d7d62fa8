package sessions

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sessionkit/sessions/store"
)

// An owner index lists the sessions SetOwner bound to one owner, under a
// key derived from a hash of the owner. It holds session IDs (hashes of
// tokens), never tokens. A store that implements store.OwnerIndex keeps
// it in the backend's own structures (see nativeIndex); on any other
// store it is a chain of records written with conditional writes (see
// indexchunk.go), so that concurrent logins and revocations never lose an
// entry.

// An indexEntry is one session in an owner index.
type indexEntry struct {
	id       string
	deadline time.Time // the session's absolute deadline
	added    time.Time // when the entry was written: its record may lag
}

// ownerKeyInfix follows the key prefix in the keys of owner indexes.
const ownerKeyInfix = "owner:"

// indexKey is the store key of owner's index. It cannot collide with a
// session key: those are the prefix and 43 characters.
func (m *core) indexKey(owner string) string {
	sum := sha256.Sum256([]byte(owner))
	return m.cfg.keyPrefix + ownerKeyInfix + base64.RawURLEncoding.EncodeToString(sum[:])
}

// pendingGrace is how long an index entry may exist before its session's
// record: SetOwner and Renew write the entry first and the record right
// after it, so that a concurrent revocation always finds the session.
func (m *core) pendingGrace() time.Duration {
	return max(time.Minute, 4*m.cfg.storeTimeout)
}

// stale reports whether the index entry e, whose record is not (or not
// yet) a live session of its owner, can go at now: it is older than the
// pending grace, or past its session's deadline.
func (m *core) stale(e indexEntry, now time.Time) bool {
	return now.Sub(e.added) > m.pendingGrace() || !now.Before(e.deadline)
}

// addIndex adds (or replaces) the entry for id in owner's index. With
// list, it also returns the index's live entries (the new one included)
// when it can tell them without another round trip (the chunked index,
// and a store's own index with store.IndexAddLister), else nil.
func (m *core) addIndex(ctx context.Context, owner, id string, deadline time.Time, list bool) ([]indexEntry, error) {
	if err := m.indexable(); err != nil {
		return nil, err
	}
	e := indexEntry{id: id, deadline: deadline, added: time.Now()}
	oi := m.ownIndex()
	if oi == nil {
		return m.addChunked(ctx, owner, e, list)
	}
	key := m.indexKey(owner)
	defer unlockKey(m.lockIndex(key)) // see revokeOwner
	sctx, cancel := m.storeContext(ctx)
	defer cancel()
	se := store.IndexEntry{ID: e.id, Deadline: e.deadline, Added: e.added}
	if al, ok := oi.(store.IndexAddLister); ok && list {
		listed, ok, err := al.IndexAddList(sctx, key, se)
		if err != nil {
			return nil, fmt.Errorf("sessions: add to owner index: %w", err)
		}
		if ok {
			return indexEntries(listed, time.Now()), nil
		}
		return nil, nil
	}
	if err := oi.IndexAdd(sctx, key, se); err != nil {
		return nil, fmt.Errorf("sessions: add to owner index: %w", err)
	}
	return nil, nil
}

// removeIndex removes ids from owner's index.
func (m *core) removeIndex(ctx context.Context, owner string, ids ...string) error {
	if err := m.indexable(); err != nil {
		return err
	}
	if m.ownIndex() == nil {
		return m.removeChunked(ctx, owner, ids)
	}
	key := m.indexKey(owner)
	defer unlockKey(m.lockIndex(key))
	return m.removeNative(ctx, key, ids)
}

// removeNative is removeIndex on a store's own index, under the index's
// lock.
func (m *core) removeNative(ctx context.Context, key string, ids []string) error {
	sctx, cancel := m.storeContext(ctx)
	defer cancel()
	if err := m.ownIndex().IndexRemove(sctx, key, ids...); err != nil {
		return fmt.Errorf("sessions: remove from owner index: %w", err)
	}
	return nil
}

// listIndex returns the entries of owner's index that are before their
// deadline, one per ID.
func (m *core) listIndex(ctx context.Context, owner string) ([]indexEntry, error) {
	if err := m.indexable(); err != nil {
		return nil, err
	}
	oi := m.ownIndex()
	if oi == nil {
		return m.listChunked(ctx, owner)
	}
	sctx, cancel := m.storeContext(ctx)
	list, err := oi.IndexList(sctx, m.indexKey(owner))
	cancel()
	if err != nil {
		return nil, fmt.Errorf("sessions: list owner index: %w", err)
	}
	return indexEntries(list, time.Now()), nil
}

// indexEntries returns the entries of list, as a store's own index lists
// them, that are before their deadline at now and name a session, one
// per ID, oldest first; never nil.
func indexEntries(list []store.IndexEntry, now time.Time) []indexEntry {
	entries := make([]indexEntry, 0, len(list))
	for _, e := range list {
		if validToken(e.ID) && now.Before(e.Deadline) {
			entries = append(entries, indexEntry{id: e.ID, deadline: e.Deadline, added: e.Added})
		}
	}
	// Oldest first, as the chunked index keeps them: a revocation then
	// meets a session before the ID a Renew in flight moves it to.
	slices.SortStableFunc(entries, func(a, b indexEntry) int { return a.added.Compare(b.added) })
	return dedupe(entries)
}

// listOwned is listIndex for Sessions and the revocations: on a store
// with store.OwnerIndex it first moves into the store's index the entries
// of an index record that version 0.1, which kept every index in records,
// wrote.
func (m *core) listOwned(ctx context.Context, owner string) ([]indexEntry, error) {
	if m.ownIndex() != nil {
		if err := m.migrateIndex(ctx, owner); err != nil {
			return nil, err
		}
	}
	return m.listIndex(ctx, owner)
}

// migrateIndex moves the entries of owner's index record, if there is
// one, into the store's index, and deletes the record.
func (m *core) migrateIndex(ctx context.Context, owner string) error {
	key := m.indexKey(owner)
	c, version, err := m.loadChunk(ctx, key)
	if err != nil || version == 0 {
		return err
	}
	for _, e := range liveEntries(c.entries, time.Now()) {
		sctx, cancel := m.storeContext(ctx)
		err := m.ownIndex().IndexAdd(sctx, key, store.IndexEntry{ID: e.id, Deadline: e.deadline, Added: e.added})
		cancel()
		if err != nil {
			return fmt.Errorf("sessions: move an owner index record into the store's index: %w", err)
		}
	}
	if err := m.deleteIf(ctx, key, version); err != nil && !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("sessions: move an owner index record into the store's index: %w", err)
	}
	return nil
}

// ownIndex returns the store's own owner index (store.OwnerIndex), or nil:
// owner indexes are then chunked records (indexchunk.go). It is looked up
// where used, not kept in the Manager: a program that never uses an owner
// index then links none of a store's index code.
func (m *core) ownIndex() store.OwnerIndex {
	if m.versioned == nil {
		return nil
	}
	oi, _ := m.store.(store.OwnerIndex)
	return oi
}

// multi returns the store's store.MultiLoader, or nil when it reads one
// record per round trip (looked up where used, as ownIndex).
func (m *core) multi() store.MultiLoader {
	if m.versioned == nil {
		return nil
	}
	ml, _ := m.store.(store.MultiLoader)
	return ml
}

// indexable reports why the store cannot keep owner indexes.
func (m *core) indexable() error {
	if m.versioned == nil {
		return fmt.Errorf("sessions: owner index: the store has no conditional writes (store.Versioned): %w", errors.ErrUnsupported)
	}
	return nil
}

// dedupe keeps one entry per ID, the one added last, in the order of
// their first appearance.
func dedupe(entries []indexEntry) []indexEntry {
	at := make(map[string]int, len(entries))
	out := entries[:0]
	for _, e := range entries {
		if i, ok := at[e.id]; ok {
			if e.added.After(out[i].added) {
				out[i] = e
			}
			continue
		}
		at[e.id] = len(out)
		out = append(out, e)
	}
	return out
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func withoutIDs(entries []indexEntry, ids ...string) []indexEntry {
	out := entries[:0]
	for _, e := range entries {
		drop := false
		for _, id := range ids {
			drop = drop || e.id == id
		}
		if !drop {
			out = append(out, e)
		}
	}
	return out
}
