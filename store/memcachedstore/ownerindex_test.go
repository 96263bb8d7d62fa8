package memcachedstore

import (
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionkit/sessions/store"
)

// An owner index whose sessions come and go stays small: 12,000 adds and
// removes of IDs of 43 bytes (as the manager's) write about 1.3 MB of
// records to its log, which a list finds mostly dead and rewrites with its
// live entries (and, on a server with the default 1 MB limit, an append
// that finds it full does first); the index lists exactly the live
// entries.
func TestIndexLogStaysUnderItemLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("24,000 round trips")
	}
	s := newStore(t)
	ctx := t.Context()
	key := "owner:" + rand.Text()
	keep := map[string]bool{}
	now := time.Now()
	const n = 12000
	for i := range n {
		id := newID()
		if err := s.IndexAdd(ctx, key, store.IndexEntry{ID: id, Deadline: now.Add(time.Hour), Added: now}); err != nil {
			t.Fatalf("IndexAdd #%d: %v", i, err)
		}
		if i%100 == 0 {
			keep[id] = true
			continue
		}
		if err := s.IndexRemove(ctx, key, id); err != nil {
			t.Fatalf("IndexRemove #%d: %v", i, err)
		}
	}
	wantIDs(t, s, key, keep)
	it, err := s.client.Get(s.indexKey(key))
	if err != nil {
		t.Fatal(err)
	}
	if len(it.Value) > 64<<10 {
		t.Fatalf("after a list the log is %d bytes, more than 64 KiB: it was not rewritten", len(it.Value))
	}
	t.Logf("log of %d bytes after %d adds and removes", len(it.Value), n)
}

// newID returns a random ID of 43 bytes, as the manager's are.
func newID() string { return rand.Text() + rand.Text()[:17] }

// wantIDs checks that the index under key lists exactly the IDs in want.
func wantIDs(t *testing.T, s *Store, key string, want map[string]bool) {
	t.Helper()
	list, err := s.IndexList(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(want) {
		t.Fatalf("IndexList returned %d entries, want %d", len(list), len(want))
	}
	for _, e := range list {
		if !want[e.ID] {
			t.Fatalf("IndexList returned entry %s, which is not in the index", e.ID)
		}
	}
}

// An index whose item is full of live entries refuses adds with an error
// wrapping store.ErrTooLarge (its rewrite frees nothing), still lists and
// removes (a remove that does not fit rewrites the log without the
// removed entries), and takes adds again once a remove made room. The
// item is filled by appends straight to the log, whatever the server's
// item size limit.
func TestIndexFullOfLiveEntries(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	key := "owner:" + rand.Text()
	k := s.indexKey(key)
	now := time.Now()
	live := map[string]bool{}
	var first []string // the IDs of the first records
	entry := func() store.IndexEntry {
		e := store.IndexEntry{ID: newID(), Deadline: now.Add(time.Hour), Added: now}
		if len(first) < 2 {
			first = append(first, e.ID)
		}
		return e
	}
	// Live entries, in runs of 64 KiB, 4 KiB, 256 bytes, then one at a
	// time, until not one more fits.
	fill(t, s, k, func() ([]byte, []string) {
		e := entry()
		return appendAdd(nil, e), []string{e.ID}
	}, live)
	full, err := s.client.Get(k)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the item holds %d live entries in %d bytes", len(live), len(full.Value))

	for name, add := range map[string]func() error{
		"IndexAdd": func() error { return s.IndexAdd(ctx, key, entry()) },
		"IndexAddList": func() error {
			_, listed, err := s.IndexAddList(ctx, key, entry())
			if listed {
				t.Error("IndexAddList to a full index listed it")
			}
			return err
		},
	} {
		if err := add(); !errors.Is(err, store.ErrTooLarge) {
			t.Fatalf("%s to an index full of live entries: %v, want an error wrapping store.ErrTooLarge", name, err)
		}
	}
	wantIDs(t, s, key, live)

	// Dead records (removes of IDs of one byte) until not even the
	// remove of an entry fits.
	fill(t, s, k, func() ([]byte, []string) { return appendRemove(nil, "x"), nil }, nil)
	if err := s.client.Append(&memcache.Item{Key: k, Value: appendRemove(nil, first[0])}); err == nil {
		t.Fatal("the remove of an entry still fits: the fill did not fill the item")
	}
	if err := s.IndexRemove(ctx, key, first[0]); err != nil {
		t.Fatalf("IndexRemove from a full index: %v", err)
	}
	delete(live, first[0])
	wantIDs(t, s, key, live)

	e := entry()
	if err := s.IndexAdd(ctx, key, e); err != nil {
		t.Fatalf("IndexAdd after a remove from a full index: %v", err)
	}
	live[e.ID] = true
	wantIDs(t, s, key, live)
}

// fill appends what next returns to the log under k, in runs of
// 64 KiB, then 4 KiB, 256 bytes, and one at a time, each until the
// item's size limit refuses it: after fill not one more record fits. The
// IDs next returns go in ids.
func fill(t *testing.T, s *Store, k string, next func() ([]byte, []string), ids map[string]bool) {
	t.Helper()
	for _, run := range []int{64 << 10, 4 << 10, 256, 1} {
		for {
			var (
				b     []byte
				added []string
			)
			for len(b) == 0 || len(b) < run {
				rec, id := next()
				b, added = append(b, rec...), append(added, id...)
			}
			err := s.client.Append(&memcache.Item{Key: k, Value: b})
			if errors.Is(err, memcache.ErrNotStored) { // no item, or too large
				if err = s.client.Add(&memcache.Item{Key: k, Value: b}); errors.Is(err, memcache.ErrNotStored) {
					break // the item is there: the append made it too large
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range added {
				ids[id] = true
			}
		}
	}
}
