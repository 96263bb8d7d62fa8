package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

// ownerIndexChecks: an owner index keeps one entry per ID, forgets
// removed and expired entries, is separate from records and from other
// indexes, and loses nothing to racing adds and removes.
var ownerIndexChecks = []check{
	{"AddList", testIndexAddList},
	{"Replace", testIndexReplace},
	{"Remove", testIndexRemove},
	{"Expiry", testIndexExpiry},
	{"SeparateFromRecords", testIndexSeparate},
	{"Many", testIndexMany},
	{"Concurrent", testIndexConcurrent},
	{"Context", testIndexContext},
}

// newEntry returns an entry with a new ID, deadline ttl from now, added now.
func newEntry(ttl time.Duration) store.IndexEntry {
	now := time.Now()
	return store.IndexEntry{ID: randomToken(tokenLen), Deadline: now.Add(ttl), Added: now}
}

func mustIndexAdd(t *testing.T, x store.OwnerIndex, key string, e store.IndexEntry) {
	t.Helper()
	if err := x.IndexAdd(t.Context(), key, e); err != nil {
		t.Fatalf("IndexAdd(%q, %s): unexpected error: %v", key, e.ID, err)
	}
}

func mustIndexRemove(t *testing.T, x store.OwnerIndex, key string, ids ...string) {
	t.Helper()
	if err := x.IndexRemove(t.Context(), key, ids...); err != nil {
		t.Fatalf("IndexRemove(%q, %d IDs): unexpected error: %v", key, len(ids), err)
	}
}

// wantIndex checks that the index under key lists exactly want (in any
// order), with their deadlines and added times to the microsecond.
func wantIndex(t *testing.T, x store.OwnerIndex, key string, want []store.IndexEntry, rule string) {
	t.Helper()
	got, err := x.IndexList(t.Context(), key)
	if err != nil {
		t.Fatalf("IndexList(%q): unexpected error: %v", key, err)
	}
	byID := make(map[string]store.IndexEntry, len(got))
	for _, e := range got {
		if _, dup := byID[e.ID]; dup {
			t.Fatalf("%s: IndexList(%q) returned ID %s twice", rule, key, e.ID)
		}
		byID[e.ID] = e
	}
	if len(got) != len(want) {
		t.Fatalf("%s: IndexList(%q) returned %d entries, want %d", rule, key, len(got), len(want))
	}
	for _, w := range want {
		g, ok := byID[w.ID]
		switch {
		case !ok:
			t.Fatalf("%s: IndexList(%q) lacks entry %s", rule, key, w.ID)
		case !near(g.Deadline, w.Deadline) || !near(g.Added, w.Added):
			t.Fatalf("%s: IndexList(%q) returned entry %s with deadline %v and added %v, want %v and %v",
				rule, key, w.ID, g.Deadline, g.Added, w.Deadline, w.Added)
		}
	}
}

// near reports whether a and b are the same time to the microsecond.
func near(a, b time.Time) bool {
	d := a.Sub(b)
	return d > -time.Microsecond && d < time.Microsecond
}

func testIndexAddList(t *testing.T, s store.Store) {
	x := capability[store.OwnerIndex](t, s)
	key, other := newKey("index:"), newKey("index:")
	wantIndex(t, x, key, nil, "an index nothing was added to is empty")
	var want []store.IndexEntry
	for range 3 {
		e := newEntry(longTTL)
		mustIndexAdd(t, x, key, e)
		want = append(want, e)
	}
	mustIndexAdd(t, x, other, newEntry(longTTL))
	wantIndex(t, x, key, want, "IndexList must return every entry added, as added, and none of another index")
}

func testIndexReplace(t *testing.T, s store.Store) {
	x := capability[store.OwnerIndex](t, s)
	key := newKey("index:")
	e := newEntry(time.Minute)
	mustIndexAdd(t, x, key, e)
	e.Deadline, e.Added = e.Deadline.Add(time.Hour), e.Added.Add(time.Second)
	mustIndexAdd(t, x, key, e)
	wantIndex(t, x, key, []store.IndexEntry{e}, "IndexAdd of an ID the index has must replace its entry")
}

func testIndexRemove(t *testing.T, s store.Store) {
	x := capability[store.OwnerIndex](t, s)
	key := newKey("index:")
	a, b, c := newEntry(longTTL), newEntry(longTTL), newEntry(longTTL)
	for _, e := range []store.IndexEntry{a, b, c} {
		mustIndexAdd(t, x, key, e)
	}
	mustIndexRemove(t, x, key, a.ID, randomToken(tokenLen), c.ID)
	wantIndex(t, x, key, []store.IndexEntry{b}, "IndexRemove must remove the entries with the IDs given, and no other")
	mustIndexRemove(t, x, key, b.ID)
	wantIndex(t, x, key, nil, "IndexRemove of the last entry must leave an empty index")
	mustIndexRemove(t, x, newKey("index:"), a.ID) // an index that does not exist
	mustIndexAdd(t, x, key, a)
	wantIndex(t, x, key, []store.IndexEntry{a}, "an emptied index must take new entries")
}

func testIndexExpiry(t *testing.T, s store.Store) {
	x := capability[store.OwnerIndex](t, s)
	key := newKey("index:")
	live := newEntry(longTTL)
	past := newEntry(-time.Second)
	short := newEntry(shortTTL)
	for _, e := range []store.IndexEntry{live, past, short} {
		mustIndexAdd(t, x, key, e)
	}
	wantIndex(t, x, key, []store.IndexEntry{live, short}, "IndexList must never return an entry whose deadline has passed")
	sleepPast(short.Deadline)
	wantIndex(t, x, key, []store.IndexEntry{live}, "IndexList must never return an entry whose deadline has passed")
	lapsed := newKey("index:")
	mustIndexAdd(t, x, lapsed, newEntry(shortTTL/2))
	sleepPast(time.Now().Add(shortTTL / 2))
	wantIndex(t, x, lapsed, nil, "an index whose entries have all passed their deadline is empty")
	mustIndexAdd(t, x, lapsed, live)
	wantIndex(t, x, lapsed, []store.IndexEntry{live}, "an index whose entries all expired must take new entries")
}

func testIndexSeparate(t *testing.T, s store.Store) {
	x := capability[store.OwnerIndex](t, s)
	key := newKey("index:")
	e := newEntry(longTTL)
	mustIndexAdd(t, x, key, e)
	mustSave(t, s, key, []byte("record"), time.Now().Add(longTTL))
	wantFound(t, s, key, []byte("record"), "a record and an index under one key are separate: Save must store the record")
	wantIndex(t, x, key, []store.IndexEntry{e}, "a record and an index under one key are separate: Save must leave the index")
	mustDelete(t, s, key)
	wantIndex(t, x, key, []store.IndexEntry{e}, "a record and an index under one key are separate: Delete must leave the index")
	mustSave(t, s, key, []byte("record"), time.Now().Add(longTTL))
	mustIndexRemove(t, x, key, e.ID)
	wantFound(t, s, key, []byte("record"), "a record and an index under one key are separate: IndexRemove must leave the record")
}

// manyEntries is how many entries the Many check adds to one index.
const manyEntries = 2000

func testIndexMany(t *testing.T, s store.Store) {
	x := capability[store.OwnerIndex](t, s)
	key := newKey("index:")
	want := make([]store.IndexEntry, manyEntries)
	for i := range want {
		want[i] = newEntry(longTTL)
		mustIndexAdd(t, x, key, want[i])
	}
	wantIndex(t, x, key, want, fmt.Sprintf("an index of %d entries must list them all", manyEntries))
	ids := make([]string, manyEntries/2)
	for i := range ids {
		ids[i] = want[2*i].ID
	}
	mustIndexRemove(t, x, key, ids...)
	var rest []store.IndexEntry
	for i := 1; i < manyEntries; i += 2 {
		rest = append(rest, want[i])
	}
	wantIndex(t, x, key, rest, "IndexRemove of many IDs must remove them all")
}

// indexWriters is how many goroutines add to and remove from one index at
// once in the Concurrent check.
const indexWriters = 16

func testIndexConcurrent(t *testing.T, s store.Store) {
	x := capability[store.OwnerIndex](t, s)
	key := newKey("index:")
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		want []store.IndexEntry
	)
	for range indexWriters {
		wg.Go(func() {
			for range 10 {
				kept, dropped := newEntry(longTTL), newEntry(longTTL)
				for _, e := range []store.IndexEntry{kept, dropped} {
					if err := x.IndexAdd(t.Context(), key, e); err != nil {
						t.Errorf("IndexAdd: unexpected error: %v", err)
						return
					}
				}
				if err := x.IndexRemove(t.Context(), key, dropped.ID); err != nil {
					t.Errorf("IndexRemove: unexpected error: %v", err)
					return
				}
				mu.Lock()
				want = append(want, kept)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	wantIndex(t, x, key, want, "racing IndexAdd and IndexRemove calls must lose nothing and keep nothing removed")
}

func testIndexContext(t *testing.T, s store.Store) {
	x := capability[store.OwnerIndex](t, s)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	key := newKey("index:")
	for name, err := range map[string]error{
		"IndexAdd":    x.IndexAdd(ctx, key, newEntry(longTTL)),
		"IndexRemove": x.IndexRemove(ctx, key, randomToken(tokenLen)),
		"IndexList":   func() error { _, err := x.IndexList(ctx, key); return err }(),
	} {
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("calls must honour ctx: %s with a done context returned %v, want an error wrapping %v", name, err, context.Canceled)
		}
	}
}
