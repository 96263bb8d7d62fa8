package sessions

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/sessionkit/sessions/store"
)

// On a store without store.OwnerIndex, an owner index is a chain of
// records, its chunks, none larger than WithMaxSize: the head under the
// index key, chunk j under the index key, "." and j. The head says how
// many chunks there are and lives at least as long as any of them (its
// expiry, which only grows, is at least every chunk's latest deadline), so
// a missing head means an empty index. A chunk is written only with
// conditional writes. An owner with few sessions has the head only: an
// add then costs two round trips (read, conditional write); with c
// chunks, up to c + 2.
//
//	offset size field
//	0      5    "sidx2"
//	5      4    number of chunks (head), big endian; 0 in other chunks
//	9      8    expiry (head): Unix nanoseconds, big endian
//	17     -    entries of 59 bytes: ID (43), deadline and time added
//	            (Unix nanoseconds, 8 each, big endian)
//
// A "sidx1" record (the format before chunks: the magic and entries) is
// read as a head of one chunk.
const (
	indexMagic       = "sidx2"
	indexMagicV1     = "sidx1"
	indexHeaderSize  = len(indexMagic) + 4 + 8
	indexEntrySize   = tokenLen + 16
	indexChunkSuffix = "."
)

// An indexChunk is one record of a chunked owner index.
type indexChunk struct {
	chunks  int       // head: the number of chunks, the head included
	expiry  time.Time // head: at least every chunk's latest deadline
	entries []indexEntry
}

var errBadIndex = errors.New("sessions: malformed owner index")

func appendIndex(dst []byte, c indexChunk) []byte {
	dst = append(dst, indexMagic...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(c.chunks))
	dst = binary.BigEndian.AppendUint64(dst, uint64(unixNano(c.expiry)))
	for _, e := range c.entries {
		dst = append(dst, e.id...)
		dst = binary.BigEndian.AppendUint64(dst, uint64(e.deadline.UnixNano()))
		dst = binary.BigEndian.AppendUint64(dst, uint64(e.added.UnixNano()))
	}
	return dst
}

func parseIndex(b []byte) (indexChunk, error) {
	var c indexChunk
	switch {
	case len(b) >= indexHeaderSize && string(b[:len(indexMagic)]) == indexMagic:
		c.chunks = int(binary.BigEndian.Uint32(b[len(indexMagic):]))
		if n := int64(binary.BigEndian.Uint64(b[len(indexMagic)+4:])); n != 0 {
			c.expiry = time.Unix(0, n)
		}
		b = b[indexHeaderSize:]
	case len(b) >= len(indexMagicV1) && string(b[:len(indexMagicV1)]) == indexMagicV1:
		c.chunks = 1
		b = b[len(indexMagicV1):]
	default:
		return indexChunk{}, errBadIndex
	}
	if len(b)%indexEntrySize != 0 || c.chunks > maxIndexChunks {
		return indexChunk{}, errBadIndex
	}
	c.entries = make([]indexEntry, 0, len(b)/indexEntrySize)
	for ; len(b) > 0; b = b[indexEntrySize:] {
		e := indexEntry{
			id:       string(b[:tokenLen]),
			deadline: time.Unix(0, int64(binary.BigEndian.Uint64(b[tokenLen:]))),
			added:    time.Unix(0, int64(binary.BigEndian.Uint64(b[tokenLen+8:]))),
		}
		if !validToken(e.id) {
			return indexChunk{}, errBadIndex
		}
		c.entries = append(c.entries, e)
		c.expiry = later(c.expiry, e.deadline)
	}
	return c, nil
}

// maxIndexChunks bounds the chunks of one index: with the default 1 MiB
// records, 2^16 chunks hold over a billion entries.
const maxIndexChunks = 1 << 16

// chunkKey is the store key of chunk j of the index under key.
func chunkKey(key string, j int) string {
	if j == 0 {
		return key
	}
	return key + indexChunkSuffix + strconv.Itoa(j)
}

// chunkCapacity is how many entries one chunk holds within WithMaxSize.
func (m *core) chunkCapacity() int {
	room := m.cfg.maxSize - indexHeaderSize
	if m.cfg.keys != nil {
		room -= sealedOverhead
	}
	return max(1, room/indexEntrySize)
}

// loadChunk reads the chunk under key and its version; a chunk that does
// not parse is logged and read as empty (its next write replaces it).
func (m *core) loadChunk(ctx context.Context, key string) (indexChunk, store.Version, error) {
	sctx, cancel := m.storeContext(ctx)
	l, err := m.loadRecord(sctx, key, time.Time{})
	cancel()
	if err != nil {
		return indexChunk{}, 0, fmt.Errorf("sessions: load owner index: %w", err)
	}
	if !l.Found() {
		return indexChunk{}, 0, nil
	}
	plain, err := m.opened(kindIndex, key, l.Data)
	var c indexChunk
	if err == nil {
		c, err = parseIndex(plain)
	}
	if err != nil {
		m.logAt(ctx, slog.LevelWarn, "sessions: discarding an owner index that does not parse", "", err)
	}
	return c, l.Version, nil
}

// saveChunk writes c under key if the record there is still version: a
// head with no entries and no other chunk, or another chunk with no
// entries, is removed. It returns an error wrapping store.ErrConflict
// when another writer came first.
func (m *core) saveChunk(ctx context.Context, key string, head bool, c indexChunk, version store.Version) error {
	expires := time.Time{}
	for _, e := range c.entries {
		expires = later(expires, e.deadline)
	}
	if head && c.chunks > 1 {
		expires = later(expires, c.expiry)
	}
	if !head {
		c.chunks, c.expiry = 0, time.Time{}
	} else {
		c.expiry = later(c.expiry, expires)
	}
	if !expires.After(time.Now()) {
		if version == 0 {
			return nil // nothing stored, nothing to store
		}
		expires = time.Unix(1, 0) // removes the record
	}
	stored, err := m.sealed(kindIndex, key, appendIndex(make([]byte, 0, indexHeaderSize+len(c.entries)*indexEntrySize), c))
	if err != nil {
		return err
	}
	sctx, cancel := m.storeContext(ctx)
	defer cancel()
	if _, err := m.versioned.SaveIf(sctx, key, stored, expires, version); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return err
		}
		return fmt.Errorf("sessions: save owner index: %w", err)
	}
	return nil
}

// liveEntries drops the entries past their deadline, and those with ids.
func liveEntries(entries []indexEntry, now time.Time, ids ...string) []indexEntry {
	out := entries[:0]
	for _, e := range entries {
		if now.Before(e.deadline) {
			out = append(out, e)
		}
	}
	return withoutIDs(out, ids...)
}

// extendedExpiry is the expiry a head gets when an entry with deadline
// must fit under it: twice as far from now as the deadline, so that the
// head is extended rarely.
func extendedExpiry(deadline, now time.Time) time.Time {
	return deadline.Add(deadline.Sub(now))
}

// addChunked is addIndex on the chunked index: e goes to the first chunk
// with room, or a new one. With list and a single chunk, it returns the
// index's entries.
func (m *core) addChunked(ctx context.Context, owner string, e indexEntry, list bool) ([]indexEntry, error) {
	key := m.indexKey(owner)
	defer unlockKey(m.lockIndex(key))
	for attempt := 1; ; attempt++ {
		entries, err := m.tryAddChunked(ctx, key, e)
		if !errors.Is(err, store.ErrConflict) {
			if err != nil || !list {
				return nil, err
			}
			return entries, nil
		}
		if attempt == maxWriteAttempts {
			return nil, fmt.Errorf("sessions: save owner index: %w after %d attempts", ErrSessionChanged, attempt)
		}
	}
}

// tryAddChunked makes one attempt of addChunked; an error wrapping
// store.ErrConflict asks for another. It returns the index's entries when
// the index has one chunk.
func (m *core) tryAddChunked(ctx context.Context, key string, e indexEntry) ([]indexEntry, error) {
	capacity := m.chunkCapacity()
	head, hv, err := m.loadChunk(ctx, key)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	head.entries = liveEntries(head.entries, now, e.id)
	n := max(head.chunks, 1)
	if len(head.entries) < capacity {
		head.chunks = n
		head.entries = append(head.entries, e)
		if err := m.saveChunk(ctx, key, true, head, hv); err != nil {
			return nil, err
		}
		if n > 1 {
			return nil, nil
		}
		return head.entries, nil
	}
	// The head is full: the first later chunk with room, else a new one.
	for j := 1; j < n; j++ {
		c, cv, err := m.loadChunk(ctx, chunkKey(key, j))
		if err != nil {
			return nil, err
		}
		c.entries = liveEntries(c.entries, now, e.id)
		if len(c.entries) >= capacity {
			continue
		}
		if head.expiry.Before(e.deadline) {
			head.expiry = extendedExpiry(e.deadline, now)
			if err := m.saveChunk(ctx, key, true, head, hv); err != nil {
				return nil, err
			}
		}
		c.entries = append(c.entries, e)
		return nil, m.saveChunk(ctx, chunkKey(key, j), false, c, cv)
	}
	if n >= maxIndexChunks {
		return nil, fmt.Errorf("sessions: owner index of %d chunks is full", n)
	}
	head.chunks = n + 1
	head.expiry = later(head.expiry, extendedExpiry(e.deadline, now))
	if err := m.saveChunk(ctx, key, true, head, hv); err != nil {
		return nil, err
	}
	return nil, m.saveChunk(ctx, chunkKey(key, n), false, indexChunk{entries: []indexEntry{e}}, 0)
}

// removeChunked is removeIndex on the chunked index: each chunk that
// lists one of ids is rewritten without it (entries past their deadline
// go too).
func (m *core) removeChunked(ctx context.Context, owner string, ids []string) error {
	key := m.indexKey(owner)
	defer unlockKey(m.lockIndex(key))
	n := 1
	for j := 0; j < n; j++ {
		for attempt := 1; ; attempt++ {
			c, v, err := m.loadChunk(ctx, chunkKey(key, j))
			if err != nil {
				return err
			}
			if j == 0 {
				n = max(c.chunks, 1)
			}
			before := len(c.entries)
			c.entries = liveEntries(c.entries, time.Now(), ids...)
			if len(c.entries) == before {
				break
			}
			err = m.saveChunk(ctx, chunkKey(key, j), j == 0, c, v)
			if err == nil {
				break
			}
			if !errors.Is(err, store.ErrConflict) {
				return err
			}
			if attempt == maxWriteAttempts {
				return fmt.Errorf("sessions: save owner index: %w after %d attempts", ErrSessionChanged, attempt)
			}
		}
	}
	return nil
}

// listChunked is listIndex on the chunked index: one round trip per
// chunk.
func (m *core) listChunked(ctx context.Context, owner string) ([]indexEntry, error) {
	key := m.indexKey(owner)
	head, _, err := m.loadChunk(ctx, key)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	entries := liveEntries(head.entries, now)
	for j := 1; j < head.chunks; j++ {
		c, _, err := m.loadChunk(ctx, chunkKey(key, j))
		if err != nil {
			return nil, err
		}
		entries = append(entries, liveEntries(c.entries, now)...)
	}
	return dedupe(entries), nil
}

// errChunked reports an index of more than one chunk to updateHead.
var errChunked = errors.New("sessions: the owner index has more than one chunk")

// updateHead applies change to owner's index when it is a single chunk,
// the head, and writes it back conditionally, rereading and reapplying
// on a conflict, all under the index's lock in this process: the change
// and the write are one step for every other index operation. It returns
// errChunked, having changed nothing, for an index of more chunks. change
// may be called more than once.
func (m *core) updateHead(ctx context.Context, owner string, change func([]indexEntry) ([]indexEntry, error)) error {
	key := m.indexKey(owner)
	defer unlockKey(m.lockIndex(key))
	for attempt := 1; ; attempt++ {
		head, version, err := m.loadChunk(ctx, key)
		if err != nil {
			return err
		}
		if head.chunks > 1 {
			return errChunked
		}
		head.chunks = 1
		if head.entries, err = change(liveEntries(head.entries, time.Now())); err != nil {
			return err
		}
		err = m.saveChunk(ctx, key, true, head, version)
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
		if attempt == maxWriteAttempts {
			return fmt.Errorf("sessions: save owner index: %w after %d attempts", ErrSessionChanged, attempt)
		}
	}
}
