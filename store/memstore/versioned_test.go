package memstore

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessions/internal/fastpath"
	"github.com/sessionkit/sessions/store"
)

func saveIf(t *testing.T, s *Store, key, data string, exp time.Time, v store.Version) store.Version {
	t.Helper()
	nv, err := s.SaveIf(t.Context(), key, []byte(data), exp, v)
	if err != nil {
		t.Fatalf("SaveIf(%q, version %d): %v", key, v, err)
	}
	return nv
}

func wantConflict(t *testing.T, s *Store, key string, exp time.Time, v store.Version, why string) {
	t.Helper()
	nv, err := s.SaveIf(t.Context(), key, []byte("loser"), exp, v)
	if !errors.Is(err, store.ErrConflict) || nv != 0 {
		t.Fatalf("SaveIf(%q, version %d) %s = (%d, %v), want a conflict", key, v, why, nv, err)
	}
}

func loadVersion(t *testing.T, s *Store, key string, touch time.Time) store.Loaded {
	t.Helper()
	l, err := s.LoadVersion(t.Context(), key, touch)
	if err != nil {
		t.Fatalf("LoadVersion(%q): %v", key, err)
	}
	return l
}

func TestSaveIfVersions(t *testing.T) {
	s := newStore(t)
	exp := time.Now().Add(time.Hour)
	v1 := saveIf(t, s, "k", "one", exp, 0)
	if v1 == 0 {
		t.Fatal("SaveIf returned the zero version")
	}
	wantConflict(t, s, "k", exp, 0, "with a live record")
	if l := loadVersion(t, s, "k", time.Time{}); string(l.Data) != "one" || l.Version != v1 || l.Touched {
		t.Fatalf("LoadVersion = %+v, want one at version %d, not touched", l, v1)
	}
	v2 := saveIf(t, s, "k", "two", exp, v1)
	wantConflict(t, s, "k", exp, v1, "with the version just replaced")

	seen := map[store.Version]bool{v1: true, v2: true}
	if err := s.Save(t.Context(), "k", []byte("three"), exp); err != nil {
		t.Fatal(err)
	}
	wantConflict(t, s, "k", exp, v2, "after a Save")
	v3 := loadVersion(t, s, "k", time.Time{}).Version
	if err := s.Delete(t.Context(), "k"); err != nil {
		t.Fatal(err)
	}
	wantConflict(t, s, "k", exp, v3, "after a Delete")
	if l := loadVersion(t, s, "k", time.Time{}); l.Found() || l.Data != nil {
		t.Fatalf("LoadVersion after Delete = %+v, want not found", l)
	}
	v4 := saveIf(t, s, "k", "four", exp, 0)
	for _, v := range []store.Version{v3, v4} {
		if seen[v] {
			t.Fatalf("version %d given twice to one key", v)
		}
		seen[v] = true
	}
	if data, found := loadData(t, s, "k"); !found || data != "four" {
		t.Fatalf("Load = (%q, %v), want four", data, found)
	}
}

func loadData(t *testing.T, s *Store, key string) (string, bool) {
	t.Helper()
	data, found, err := s.Load(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	return string(data), found
}

func TestSaveIfAfterExpiry(t *testing.T) {
	s := newStore(t, WithCleanupInterval(0))
	short := time.Now().Add(20 * time.Millisecond)
	v := saveIf(t, s, "k", "one", short, 0)
	time.Sleep(time.Until(short) + 5*time.Millisecond)
	wantConflict(t, s, "k", time.Now().Add(time.Hour), v, "after the record expired")
	saveIf(t, s, "k", "two", time.Now().Add(time.Hour), 0)
}

func TestSaveIfPastDeadline(t *testing.T) {
	s := newStore(t)
	v := saveIf(t, s, "k", "one", time.Now().Add(time.Hour), 0)
	wantConflict(t, s, "k", time.Now().Add(-time.Second), v+1, "removing with a wrong version")
	if _, found := loadData(t, s, "k"); !found {
		t.Fatal("a conflicting SaveIf removed the record")
	}
	if nv := saveIf(t, s, "k", "gone", time.Now().Add(-time.Second), v); nv != 0 {
		t.Fatalf("SaveIf with a past deadline returned version %d, want 0", nv)
	}
	if _, found := loadData(t, s, "k"); found || s.Len() != 0 {
		t.Fatalf("SaveIf with a past deadline left the record (found %v, Len %d)", found, s.Len())
	}
}

func TestLoadVersionTouch(t *testing.T) {
	s := newStore(t, WithCleanupInterval(0))
	short := time.Now().Add(30 * time.Millisecond)
	v := saveIf(t, s, "k", "one", short, 0)
	l := loadVersion(t, s, "k", time.Now().Add(time.Hour))
	if string(l.Data) != "one" || l.Version != v || !l.Touched {
		t.Fatalf("LoadVersion with touch = %+v, want one at version %d, touched", l, v)
	}
	time.Sleep(time.Until(short) + 5*time.Millisecond)
	if l := loadVersion(t, s, "k", time.Time{}); l.Version != v {
		t.Fatalf("after the old deadline LoadVersion = %+v, want version %d kept alive", l, v)
	}
	if l := loadVersion(t, s, "missing", time.Now().Add(time.Hour)); l.Found() || l.Touched {
		t.Fatalf("LoadVersion(missing, touch) = %+v, want not found, not touched", l)
	}
	if s.Len() != 1 {
		t.Fatalf("a touch of a missing key created a record")
	}
	// A past touch returns the record as it was and leaves it expired.
	if l := loadVersion(t, s, "k", time.Now().Add(-time.Second)); string(l.Data) != "one" || l.Version != v {
		t.Fatalf("LoadVersion with a past touch = %+v, want the record", l)
	}
	if l := loadVersion(t, s, "k", time.Time{}); l.Found() {
		t.Fatalf("after a past touch LoadVersion = %+v, want not found", l)
	}
	wantConflict(t, s, "k", time.Now().Add(time.Hour), v, "after a past touch")
}

func TestTouchKeepsVersion(t *testing.T) {
	s := newStore(t)
	v := saveIf(t, s, "k", "one", time.Now().Add(time.Hour), 0)
	if err := s.Touch(t.Context(), "k", time.Now().Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.LoadAndTouch(t.Context(), "k", time.Now().Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	saveIf(t, s, "k", "two", time.Now().Add(time.Hour), v)
}

func TestSaveIfRace(t *testing.T) {
	s := newStore(t)
	exp := time.Now().Add(time.Hour)
	for round := range 50 {
		v := saveIf(t, s, "k", "start", exp, 0)
		if round%2 == 1 {
			// Race the insert of a missing record too.
			if err := s.Delete(t.Context(), "k"); err != nil {
				t.Fatal(err)
			}
			v = 0
		}
		const n = 8
		var wg sync.WaitGroup
		wins := make(chan store.Version, n)
		for range n {
			wg.Go(func() {
				nv, err := s.SaveIf(t.Context(), "k", []byte("winner"), exp, v)
				switch {
				case err == nil:
					wins <- nv
				case !errors.Is(err, store.ErrConflict):
					t.Error(err)
				}
			})
		}
		wg.Wait()
		close(wins)
		if len(wins) != 1 {
			t.Fatalf("round %d: %d of %d racing SaveIf calls won, want exactly 1", round, len(wins), n)
		}
		if l := loadVersion(t, s, "k", time.Time{}); l.Version != <-wins {
			t.Fatalf("round %d: the record has version %d, not the winner's", round, l.Version)
		}
		if err := s.Delete(t.Context(), "k"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSaveIfShared: saveIfShared is SaveIf without the copy. It keeps the
// caller's bytes and has SaveIf's versions and conflicts.
func TestSaveIfShared(t *testing.T) {
	s := newStore(t)
	ctx, exp := t.Context(), time.Now().Add(time.Hour)
	data := []byte("record")
	v, err := s.saveIfShared(ctx, "k", data, exp, 0)
	if err != nil || v == 0 {
		t.Fatalf("saveIfShared(insert) = (%d, %v)", v, err)
	}
	l, err := s.loadVersionShared(ctx, "k", time.Time{})
	if err != nil || l.Version != v || string(l.Data) != "record" {
		t.Fatalf("loadVersionShared = (%+v, %v), want the record at version %d", l, err, v)
	}
	if &l.Data[0] != &data[0] {
		t.Error("saveIfShared copied the data")
	}
	if nv, err := s.saveIfShared(ctx, "k", []byte("loser"), exp, v+1); !errors.Is(err, store.ErrConflict) || nv != 0 {
		t.Fatalf("saveIfShared(stale version) = (%d, %v), want a conflict", nv, err)
	}
	if nv, err := s.saveIfShared(ctx, "k", []byte("next"), exp, v); err != nil || nv == v || nv == 0 {
		t.Fatalf("saveIfShared(current version) = (%d, %v), want a new version", nv, err)
	}
	if got := loadVersion(t, s, "k", time.Time{}); string(got.Data) != "next" {
		t.Fatalf("after the second save: %q", got.Data)
	}
	s.Close()
	if _, err := s.saveIfShared(ctx, "k", data, exp, 0); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("saveIfShared after Close: %v, want ErrClosed", err)
	}
}

// An empty record is found by loadVersionShared, as by LoadVersion; a
// missing one is not.
func TestLoadVersionSharedEmptyRecord(t *testing.T) {
	s := newStore(t)
	ctx, exp := t.Context(), time.Now().Add(time.Hour)
	v, err := s.saveIfShared(ctx, "empty", []byte{}, exp, 0)
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.loadVersionShared(ctx, "empty", time.Time{})
	if err != nil || !l.Found() || l.Data == nil || len(l.Data) != 0 || l.Version != v {
		t.Errorf("loadVersionShared(empty record) = (%+v, %v), want found, empty and not nil, version %d", l, err, v)
	}
	if l, err := s.loadVersionShared(ctx, "missing", time.Time{}); err != nil || l.Found() || l.Data != nil {
		t.Errorf("loadVersionShared(missing) = (%+v, %v), want not found, nil data", l, err)
	}
}

// The store registers its uncopied paths for itself, never for a type
// that embeds it and may override SaveIf or LoadVersion.
func TestFastPathRegistered(t *testing.T) {
	s := newStore(t)
	p, ok := fastpath.Of(s)
	if !ok || p.LoadVersion == nil || p.SaveIf == nil || !p.NoWait {
		t.Errorf("fastpath.Of(*Store) = (%+v, %v), want the uncopied load and save and NoWait", p, ok)
	}
	type wrapper struct{ *Store }
	if p, ok := fastpath.Of(wrapper{s}); ok {
		t.Errorf("fastpath.Of(wrapper) = (%+v, true), want no paths for a type that embeds the store", p)
	}
}
