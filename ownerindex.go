package sessions

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sessionkit/sessions/store"
)

// An owner index lists the sessions SetOwner bound to one owner. It is a
// record of its own under a key derived from a hash of the owner, written
// only with conditional writes, so concurrent logins and revocations never
// lose an entry. It holds session IDs (hashes of tokens), never tokens.
//
//	offset size field
//	0      5    "sidx1"
//	5      -    entries of 59 bytes: ID (43), deadline and time added
//	            (Unix nanoseconds, 8 each, big endian)
const indexMagic = "sidx1"

const indexEntrySize = tokenLen + 16

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

func appendIndex(dst []byte, entries []indexEntry) []byte {
	dst = append(dst, indexMagic...)
	for _, e := range entries {
		dst = append(dst, e.id...)
		dst = binary.BigEndian.AppendUint64(dst, uint64(e.deadline.UnixNano()))
		dst = binary.BigEndian.AppendUint64(dst, uint64(e.added.UnixNano()))
	}
	return dst
}

var errBadIndex = errors.New("sessions: malformed owner index")

func parseIndex(b []byte) ([]indexEntry, error) {
	if len(b) < len(indexMagic) || string(b[:len(indexMagic)]) != indexMagic || (len(b)-len(indexMagic))%indexEntrySize != 0 {
		return nil, errBadIndex
	}
	b = b[len(indexMagic):]
	entries := make([]indexEntry, 0, len(b)/indexEntrySize)
	for ; len(b) > 0; b = b[indexEntrySize:] {
		e := indexEntry{
			id:       string(b[:tokenLen]),
			deadline: time.Unix(0, int64(binary.BigEndian.Uint64(b[tokenLen:]))),
			added:    time.Unix(0, int64(binary.BigEndian.Uint64(b[tokenLen+8:]))),
		}
		if !validToken(e.id) {
			return nil, errBadIndex
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// loadIndex reads owner's index and its version.
func (m *core) loadIndex(ctx context.Context, key string) ([]indexEntry, store.Version, error) {
	sctx, cancel := m.storeContext(ctx)
	l, err := m.loadRecord(sctx, key, time.Time{})
	cancel()
	if err != nil || !l.Found() {
		return nil, 0, err
	}
	plain, err := m.opened(kindIndex, key, l.Data)
	var entries []indexEntry
	if err == nil {
		entries, err = parseIndex(plain)
	}
	if err != nil {
		m.logAt(ctx, slog.LevelWarn, "sessions: discarding an owner index that does not parse", "", err)
	}
	return entries, l.Version, nil
}

// updateIndex applies change to owner's index and writes it back
// conditionally, rereading and reapplying on a conflict. Entries past
// their deadline are dropped on the way. change may be called more than
// once.
func (m *core) updateIndex(ctx context.Context, owner string, change func([]indexEntry) ([]indexEntry, error)) error {
	if m.versioned == nil {
		return fmt.Errorf("sessions: owner index: the store has no conditional writes (store.Versioned): %w", errors.ErrUnsupported)
	}
	key := m.indexKey(owner)
	defer unlockKey(m.lockIndex(key))
	for attempt := 1; ; attempt++ {
		entries, version, err := m.loadIndex(ctx, key)
		if err != nil {
			return fmt.Errorf("sessions: load owner index: %w", err)
		}
		if entries, err = change(entries); err != nil {
			return err
		}
		now := time.Now()
		var expires time.Time // the latest deadline; zero removes the index
		live := entries[:0]
		for _, e := range entries {
			if now.Before(e.deadline) {
				live = append(live, e)
				expires = later(expires, e.deadline)
			}
		}
		if version == 0 && len(live) == 0 {
			return nil // nothing stored, nothing to store
		}
		stored, err := m.sealed(kindIndex, key, appendIndex(nil, live))
		if err != nil {
			return err
		}
		sctx, cancel := m.storeContext(ctx)
		_, err = m.versioned.SaveIf(sctx, key, stored, expires, version)
		cancel()
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("sessions: save owner index: %w", err)
		}
		if attempt == maxWriteAttempts {
			return fmt.Errorf("sessions: save owner index: %w after %d attempts", ErrSessionChanged, attempt)
		}
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// withEntry returns an index change that adds (or replaces) id.
func withEntry(id string, deadline time.Time) func([]indexEntry) ([]indexEntry, error) {
	return func(entries []indexEntry) ([]indexEntry, error) {
		entries = withoutIDs(entries, id)
		return append(entries, indexEntry{id: id, deadline: deadline, added: time.Now()}), nil
	}
}

// withoutEntries returns an index change that removes ids.
func withoutEntries(ids ...string) func([]indexEntry) ([]indexEntry, error) {
	return func(entries []indexEntry) ([]indexEntry, error) { return withoutIDs(entries, ids...), nil }
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
