package mongostore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sessionkit/sessions/store"
)

// newCountingStore returns a store whose data commands n counts.
func newCountingStore(t *testing.T) (*Store, *atomic.Int64) {
	t.Helper()
	n := new(atomic.Int64)
	monitor := &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		switch e.CommandName {
		case "find", "insert", "update", "delete", "findAndModify", "aggregate":
			n.Add(1)
		}
	}}
	return newStore(t, connect(t, options.Client().SetMonitor(monitor))), n
}

// trips returns how many commands f sent.
func trips(n *atomic.Int64, f func()) int64 {
	before := n.Load()
	f()
	return n.Load() - before
}

func mustSaveIf(t *testing.T, s *Store, key, data string, exp time.Time, v store.Version) store.Version {
	t.Helper()
	nv, err := s.SaveIf(t.Context(), key, []byte(data), exp, v)
	if err != nil {
		t.Fatalf("SaveIf(%q, version %#x): %v", key, v, err)
	}
	if nv == 0 || nv == v {
		t.Fatalf("SaveIf(%q, version %#x) returned version %#x", key, v, nv)
	}
	return nv
}

func wantConflict(t *testing.T, s *Store, key string, exp time.Time, v store.Version, why string) {
	t.Helper()
	nv, err := s.SaveIf(t.Context(), key, []byte("loser"), exp, v)
	if !errors.Is(err, store.ErrConflict) || nv != 0 {
		t.Fatalf("%s: SaveIf(%q, version %#x) = %#x, %v; want store.ErrConflict", why, key, v, nv, err)
	}
}

func mustLoadVersion(t *testing.T, s *Store, key string, touch time.Time) store.Loaded {
	t.Helper()
	l, err := s.LoadVersion(t.Context(), key, touch)
	if err != nil {
		t.Fatalf("LoadVersion(%q): %v", key, err)
	}
	return l
}

func wantData(t *testing.T, s *Store, key, want string) {
	t.Helper()
	got, found, err := s.Load(t.Context(), key)
	if err != nil || !found || string(got) != want {
		t.Fatalf("Load(%q) = %q, %v, %v; want %q", key, got, found, err, want)
	}
}

// TestVersions walks one key through inserts, conditional writes, a plain
// Save and a Delete, checking that each costs one command.
func TestVersions(t *testing.T) {
	ctx := t.Context()
	s, n := newCountingStore(t)
	exp := time.Now().Add(time.Hour)
	one := func(what string, f func()) {
		t.Helper()
		if got := trips(n, f); got != 1 {
			t.Errorf("%s took %d commands, want 1", what, got)
		}
	}

	var l store.Loaded
	one("LoadVersion", func() { l = mustLoadVersion(t, s, "k", time.Time{}) })
	if l.Found() || l.Data != nil || l.Touched {
		t.Fatalf("LoadVersion of a missing key = %+v", l)
	}
	var v1, v2 store.Version
	one("SaveIf(0)", func() { v1 = mustSaveIf(t, s, "k", "one", exp, 0) })
	// Over a document: the insert fails, then the upsert over an expired
	// one.
	if got := trips(n, func() { wantConflict(t, s, "k", exp, 0, "a live record exists") }); got != 2 {
		t.Errorf("SaveIf(0) over a live record took %d commands, want 2", got)
	}
	one("LoadVersion", func() { l = mustLoadVersion(t, s, "k", time.Time{}) })
	if l.Version != v1 || string(l.Data) != "one" || l.Touched {
		t.Fatalf("LoadVersion = %+v, want version %#x", l, v1)
	}
	one("SaveIf(v)", func() { v2 = mustSaveIf(t, s, "k", "two", exp, v1) })
	one("SaveIf(stale)", func() { wantConflict(t, s, "k", exp, v1, "a version used once") })
	wantData(t, s, "k", "two")

	if err := s.Save(ctx, "k", []byte("saved"), exp); err != nil {
		t.Fatal(err)
	}
	wantConflict(t, s, "k", exp, v2, "a version after Save")
	l = mustLoadVersion(t, s, "k", time.Time{})
	if l.Version == v2 || string(l.Data) != "saved" {
		t.Fatalf("LoadVersion after Save = %+v", l)
	}
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	wantConflict(t, s, "k", exp, l.Version, "a version after Delete")
	mustSaveIf(t, s, "k", "again", exp, 0)
	wantData(t, s, "k", "again")
}

// TestTouchKeepsVersion checks every way of moving the expiry: none
// changes the version.
func TestTouchKeepsVersion(t *testing.T) {
	ctx := t.Context()
	s, n := newCountingStore(t)
	exp := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	v := mustSaveIf(t, s, "k", "v", exp, 0)

	later := exp.Add(time.Hour)
	var l store.Loaded
	if got := trips(n, func() { l = mustLoadVersion(t, s, "k", later) }); got != 1 {
		t.Errorf("LoadVersion with a touch took %d commands, want 1", got)
	}
	if l.Version != v || string(l.Data) != "v" || !l.Touched {
		t.Fatalf("LoadVersion with a touch = %+v, want version %#x, touched", l, v)
	}
	if got := storedExpiry(t, s, "k"); !got.Equal(later) {
		t.Errorf("expiresAt after LoadVersion's touch = %v, want %v", got, later)
	}
	if err := s.Touch(ctx, "k", exp); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.LoadAndTouch(ctx, "k", later); err != nil {
		t.Fatal(err)
	}
	if l := mustLoadVersion(t, s, "k", time.Time{}); l.Version != v {
		t.Fatalf("version after Touch and LoadAndTouch = %#x, want %#x", l.Version, v)
	}

	// A touch in the past returns the record and leaves it expired.
	l = mustLoadVersion(t, s, "k", time.Now().Add(-time.Second))
	if l.Version != v || string(l.Data) != "v" || !l.Touched {
		t.Fatalf("LoadVersion with a past touch = %+v, want the record", l)
	}
	if l := mustLoadVersion(t, s, "k", time.Time{}); l.Found() {
		t.Fatalf("LoadVersion after a past touch = %+v, want not found", l)
	}
	wantConflict(t, s, "k", exp, v, "the version of a record expired by a touch")
	if l := mustLoadVersion(t, s, "k", later); l.Found() || l.Touched {
		t.Fatalf("a touch of an expired record = %+v, want not found, not touched", l)
	}
}

// TestSaveIfPast checks that a deadline that has passed deletes the record
// when the version matches, and leaves it alone when it does not.
func TestSaveIfPast(t *testing.T) {
	ctx := t.Context()
	s := newStore(t, connect(t))
	exp := time.Now().Add(time.Hour)
	past := time.Now().Add(-time.Second)
	v := mustSaveIf(t, s, "k", "v", exp, 0)
	if _, err := s.SaveIf(ctx, "k", []byte("x"), past, v^2); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("SaveIf in the past with a wrong version: %v, want store.ErrConflict", err)
	}
	wantData(t, s, "k", "v")
	wantConflict(t, s, "k", past, 0, "version 0 in the past over a live record")
	wantData(t, s, "k", "v")
	if nv, err := s.SaveIf(ctx, "k", []byte("x"), past, v); nv != 0 || err != nil {
		t.Fatalf("SaveIf in the past with the version = %#x, %v; want 0, nil", nv, err)
	}
	if c := count(t, s.coll); c != 0 {
		t.Fatalf("%d documents after SaveIf in the past, want 0", c)
	}
	wantConflict(t, s, "k", exp, v, "the version of a deleted record")
	if nv, err := s.SaveIf(ctx, "k", nil, past, 0); nv != 0 || err != nil {
		t.Fatalf("SaveIf(0) in the past on a missing key = %#x, %v", nv, err)
	}
}

// TestExpiredDocument checks that an expired document that the server
// still holds counts as absent: its version conflicts and version 0
// replaces it.
func TestExpiredDocument(t *testing.T) {
	s := newStore(t, connect(t), WithCleanupInterval(0))
	exp := time.Now().Add(time.Hour)
	deadline := time.Now().Add(50 * time.Millisecond)
	v := mustSaveIf(t, s, "k", "v", deadline, 0)
	time.Sleep(time.Until(deadline))
	if c := count(t, s.coll); c != 1 {
		t.Fatalf("%d documents, want the expired one", c)
	}
	wantConflict(t, s, "k", exp, v, "the version of an expired record")
	if l := mustLoadVersion(t, s, "k", exp); l.Found() {
		t.Fatalf("LoadVersion of an expired record = %+v", l)
	}
	mustSaveIf(t, s, "k", "new", exp, 0)
	wantData(t, s, "k", "new")
	if c := count(t, s.coll); c != 1 {
		t.Fatalf("%d documents after replacing the expired one, want 1", c)
	}
}

// TestRaces runs SaveIf from many goroutines on one version: exactly one
// may win.
func TestRaces(t *testing.T) {
	s := newStore(t, connect(t), WithCleanupInterval(0))
	exp := time.Now().Add(time.Hour)
	for _, c := range []struct {
		name    string
		prepare func(key string) store.Version
	}{
		{"version 0, missing key", func(string) store.Version { return 0 }},
		{"version 0, expired document", func(key string) store.Version {
			insertRaw(t, s.coll, key, time.Now().Add(-time.Minute))
			return 0
		}},
		{"version v", func(key string) store.Version { return mustSaveIf(t, s, key, "v", exp, 0) }},
	} {
		for round := range 5 {
			key := "race:" + c.name + string(rune('a'+round))
			v := c.prepare(key)
			var wins, conflicts atomic.Int32
			var winner atomic.Value
			var wg sync.WaitGroup
			for i := range 16 {
				wg.Go(func() {
					data := []byte{byte('a' + i)}
					_, err := s.SaveIf(t.Context(), key, data, exp, v)
					switch {
					case err == nil:
						wins.Add(1)
						winner.Store(string(data))
					case errors.Is(err, store.ErrConflict):
						conflicts.Add(1)
					default:
						t.Errorf("%s: SaveIf: %v", c.name, err)
					}
				})
			}
			wg.Wait()
			if wins.Load() != 1 || conflicts.Load() != 15 {
				t.Fatalf("%s, round %d: %d wins and %d conflicts, want 1 and 15", c.name, round, wins.Load(), conflicts.Load())
			}
			wantData(t, s, key, winner.Load().(string))
		}
	}
}

// TestLegacyDocument reads a document written before documents had a
// version and replaces it conditionally.
func TestLegacyDocument(t *testing.T) {
	s := newStore(t, connect(t))
	exp := time.Now().Add(time.Hour)
	_, err := s.coll.InsertOne(t.Context(), bson.D{
		{Key: "_id", Value: "k"}, {Key: "data", Value: []byte("old")}, {Key: "expiresAt", Value: exp},
	})
	if err != nil {
		t.Fatal(err)
	}
	l := mustLoadVersion(t, s, "k", time.Time{})
	if l.Version != legacyVersion || string(l.Data) != "old" {
		t.Fatalf("LoadVersion of a document without a version = %+v", l)
	}
	mustSaveIf(t, s, "k", "new", exp, l.Version)
	wantConflict(t, s, "k", exp, legacyVersion, "the legacy version after a write")
	wantData(t, s, "k", "new")
}
