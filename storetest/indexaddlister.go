package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

// indexAddListChecks: IndexAddList adds as IndexAdd does, and what it
// lists is the index right after its add: the new entry, the entries
// added before and not removed, nothing removed or past its deadline;
// racing calls each list their own entry and every add that returned
// before they began, and of two, the later lists the other's entry.
var indexAddListChecks = []check{
	{"Lists", testAddListLists},
	{"Adds", testAddListAdds},
	{"Concurrent", testAddListConcurrent},
	{"Context", func(t *testing.T, s store.Store) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, _, err := capability[store.IndexAddLister](t, s).IndexAddList(ctx, newKey("index:"), newEntry(longTTL))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("calls must honour ctx: IndexAddList with a done context returned %v, want an error wrapping %v", err, context.Canceled)
		}
	}},
}

// addList calls IndexAddList and checks that, when it lists, it lists
// exactly want (in any order, to the microsecond), and that when it does
// not, it returns no entries. It reports whether it listed.
func addList(t *testing.T, x store.IndexAddLister, key string, e store.IndexEntry, want []store.IndexEntry, rule string) bool {
	t.Helper()
	got, listed, err := x.IndexAddList(t.Context(), key, e)
	if err != nil {
		t.Fatalf("IndexAddList(%q, %s): unexpected error: %v", key, e.ID, err)
	}
	if !listed {
		if got != nil {
			t.Fatalf("IndexAddList(%q, %s) returned %d entries with listed == false, want none", key, e.ID, len(got))
		}
		return false
	}
	if msg := sameEntries(got, want); msg != "" {
		t.Fatalf("%s: IndexAddList(%q, %s) listed %s", rule, key, e.ID, msg)
	}
	return true
}

// sameEntries says how got differs from want (in any order, to the
// microsecond), or returns "" when it does not.
func sameEntries(got, want []store.IndexEntry) string {
	byID := make(map[string]store.IndexEntry, len(got))
	for _, e := range got {
		if _, dup := byID[e.ID]; dup {
			return fmt.Sprintf("ID %s twice", e.ID)
		}
		byID[e.ID] = e
	}
	for _, w := range want {
		g, ok := byID[w.ID]
		switch {
		case !ok:
			return fmt.Sprintf("%d entries without entry %s, want %d", len(got), w.ID, len(want))
		case !near(g.Deadline, w.Deadline) || !near(g.Added, w.Added):
			return fmt.Sprintf("entry %s with deadline %v and added %v, want %v and %v", w.ID, g.Deadline, g.Added, w.Deadline, w.Added)
		}
	}
	if len(got) != len(want) {
		return fmt.Sprintf("%d entries, want %d", len(got), len(want))
	}
	return ""
}

func testAddListLists(t *testing.T, s store.Store) {
	x := capability[store.IndexAddLister](t, s)
	listed := 0
	count := func(ok bool) {
		if ok {
			listed++
		}
	}

	// The first entry of an index.
	key := newKey("index:")
	first := newEntry(longTTL)
	count(addList(t, x, key, first, []store.IndexEntry{first}, "IndexAddList to an empty index must list only the new entry"))

	// Entries added before, one removed, one past its deadline, one
	// replaced by the call.
	key = newKey("index:")
	a, b, gone, short := newEntry(longTTL), newEntry(longTTL), newEntry(longTTL), newEntry(shortTTL)
	for _, e := range []store.IndexEntry{a, b, gone, short} {
		mustIndexAdd(t, x, key, e)
	}
	mustIndexRemove(t, x, key, gone.ID)
	sleepPast(short.Deadline)
	c := newEntry(longTTL)
	count(addList(t, x, key, c, []store.IndexEntry{a, b, c},
		"IndexAddList must list the new entry and those added before, and none removed or past its deadline"))
	b.Deadline, b.Added = b.Deadline.Add(time.Hour), b.Added.Add(time.Second)
	count(addList(t, x, key, b, []store.IndexEntry{a, b, c}, "IndexAddList of an ID the index has must list the new entry in its place"))
	past := newEntry(-time.Second)
	count(addList(t, x, key, past, []store.IndexEntry{a, b, c}, "IndexAddList must not list an entry whose deadline has passed"))

	// An index emptied by removes takes and lists new entries.
	mustIndexRemove(t, x, key, a.ID, b.ID, c.ID)
	d := newEntry(longTTL)
	count(addList(t, x, key, d, []store.IndexEntry{d}, "IndexAddList to an emptied index must list only the new entry"))
	t.Logf("%d of 5 calls listed", listed)
}

func testAddListAdds(t *testing.T, s store.Store) {
	x := capability[store.IndexAddLister](t, s)
	key := newKey("index:")
	var want []store.IndexEntry
	for range 3 {
		e := newEntry(longTTL)
		if _, _, err := x.IndexAddList(t.Context(), key, e); err != nil {
			t.Fatalf("IndexAddList(%q, %s): unexpected error: %v", key, e.ID, err)
		}
		want = append(want, e)
	}
	wantIndex(t, x, key, want, "IndexAddList must add, listed or not")
}

// addListers is how many goroutines call IndexAddList on one index at once
// in the Concurrent check, addListRounds how many indexes they race on,
// each new (a store may answer the first add of an index otherwise).
const (
	addListers    = 8
	addListRounds = 10
)

// A listedAdd is one IndexAddList call of the Concurrent check.
type listedAdd struct {
	id     string
	before []string        // IDs whose adds returned before the call began
	listed map[string]bool // the IDs it listed; nil when it did not list
}

func testAddListConcurrent(t *testing.T, s store.Store) {
	x := capability[store.IndexAddLister](t, s)
	listed, calls := 0, 0
	for range addListRounds {
		key := newKey("index:")
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			done []string // IDs whose adds returned
			adds []listedAdd
		)
		for range addListers {
			wg.Go(func() {
				for range 3 {
					e := newEntry(longTTL)
					mu.Lock()
					a := listedAdd{id: e.ID, before: slices.Clone(done)}
					mu.Unlock()
					got, ok, err := x.IndexAddList(t.Context(), key, e)
					if err != nil {
						t.Errorf("IndexAddList: unexpected error: %v", err)
						return
					}
					if ok {
						a.listed = make(map[string]bool, len(got))
						for _, g := range got {
							a.listed[g.ID] = true
						}
					}
					mu.Lock()
					done = append(done, e.ID)
					adds = append(adds, a)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		for i, a := range adds {
			calls++
			if a.listed == nil {
				continue
			}
			listed++
			if !a.listed[a.id] {
				t.Fatalf("racing IndexAddList calls must each list their own entry: %s listed %d entries without it", a.id, len(a.listed))
			}
			for _, id := range a.before {
				if !a.listed[id] {
					t.Fatalf("racing IndexAddList calls must list every add that returned before they began: %s did not list %s", a.id, id)
				}
			}
			for _, b := range adds[i+1:] {
				if b.listed != nil && !a.listed[b.id] && !b.listed[a.id] {
					t.Fatalf("of two racing IndexAddList calls the later must list the other's entry: %s and %s listed neither", a.id, b.id)
				}
			}
		}
		list, err := x.IndexList(t.Context(), key)
		if err != nil {
			t.Fatalf("IndexList(%q): unexpected error: %v", key, err)
		}
		got := make(map[string]bool, len(list))
		for _, e := range list {
			got[e.ID] = true
		}
		for _, id := range done {
			if !got[id] {
				t.Fatalf("racing IndexAddList calls must lose nothing: %s is not listed", id)
			}
		}
		if len(list) != len(done) {
			t.Fatalf("racing IndexAddList calls: IndexList returned %d entries, want %d", len(list), len(done))
		}
	}
	t.Logf("%d of %d calls listed", listed, calls)
}
