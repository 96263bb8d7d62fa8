package fsstore

import (
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

func saveIf(t testing.TB, s *Store, key, data string, exp time.Time, v store.Version) store.Version {
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

func loadVersion(t testing.TB, s *Store, key string, touch time.Time) store.Loaded {
	t.Helper()
	l, err := s.LoadVersion(t.Context(), key, touch)
	if err != nil {
		t.Fatalf("LoadVersion(%q): %v", key, err)
	}
	return l
}

func TestSaveIfVersions(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir, WithSync(false))
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
	if err := s.Save(t.Context(), "k", []byte("three"), exp); err != nil {
		t.Fatal(err)
	}
	wantConflict(t, s, "k", exp, v2, "after a Save")
	v3 := loadVersion(t, s, "k", time.Time{}).Version
	if v3 == 0 || v3 == v2 {
		t.Fatalf("Save gave version %d after %d, want a new one", v3, v2)
	}
	if err := s.Delete(t.Context(), "k"); err != nil {
		t.Fatal(err)
	}
	wantConflict(t, s, "k", exp, v3, "after a Delete")
	saveIf(t, s, "k", "four", exp, 0)
	if data, found := load(t, s, "k"); !found || string(data) != "four" {
		t.Fatalf("Load = (%q, %v), want four", data, found)
	}
	// A second store on the directory sees the same versions.
	other := newStore(t, dir)
	v4 := loadVersion(t, other, "k", time.Time{}).Version
	saveIf(t, other, "k", "five", exp, v4)
	wantConflict(t, s, "k", exp, v4, "after another store's SaveIf")
	if got := files(t, dir); len(got) != 1 {
		t.Fatalf("files = %v, want the record only", got)
	}
}

func TestSaveIfAfterExpiry(t *testing.T) {
	s := newStore(t, t.TempDir(), WithCleanupInterval(0), WithSync(false))
	short := time.Now().Add(20 * time.Millisecond)
	v := saveIf(t, s, "k", "one", short, 0)
	time.Sleep(time.Until(short) + 5*time.Millisecond)
	wantConflict(t, s, "k", time.Now().Add(time.Hour), v, "after the record expired")
	saveIf(t, s, "k", "two", time.Now().Add(time.Hour), 0)
}

func TestSaveIfDamagedIsAbsent(t *testing.T) {
	s := newStore(t, t.TempDir(), WithSync(false))
	v := saveIf(t, s, "k", "one", time.Now().Add(time.Hour), 0)
	path := s.d.locate("k").file
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 1
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	wantConflict(t, s, "k", time.Now().Add(time.Hour), v, "on a damaged file")
	saveIf(t, s, "k", "two", time.Now().Add(time.Hour), 0)
}

func TestSaveIfPastDeadline(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir, WithSync(false))
	v := saveIf(t, s, "k", "one", time.Now().Add(time.Hour), 0)
	wantConflict(t, s, "k", time.Now().Add(-time.Second), v+1, "removing with a wrong version")
	if _, found := load(t, s, "k"); !found {
		t.Fatal("a conflicting SaveIf removed the record")
	}
	if nv := saveIf(t, s, "k", "gone", time.Now().Add(-time.Second), v); nv != 0 {
		t.Fatalf("SaveIf with a past deadline returned version %d, want 0", nv)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Fatalf("SaveIf with a past deadline left %v", got)
	}
	if nv := saveIf(t, s, "missing", "gone", time.Now().Add(-time.Second), 0); nv != 0 {
		t.Fatalf("SaveIf of a missing key with a past deadline returned version %d, want 0", nv)
	}
}

func TestLoadVersionDoesNotTouch(t *testing.T) {
	s := newStore(t, t.TempDir(), WithCleanupInterval(0), WithSync(false))
	short := time.Now().Add(500 * time.Millisecond) // room for a loaded machine
	v := saveIf(t, s, "k", "one", short, 0)
	l := loadVersion(t, s, "k", time.Now().Add(time.Hour))
	if string(l.Data) != "one" || l.Version != v || l.Touched {
		t.Fatalf("LoadVersion with touch = %+v, want one at version %d, not touched", l, v)
	}
	time.Sleep(time.Until(short) + 5*time.Millisecond)
	if l := loadVersion(t, s, "k", time.Time{}); l.Found() {
		t.Fatalf("LoadVersion after the deadline = %+v: a LoadVersion that reports no touch moved the expiry", l)
	}
}

func TestTouchKeepsVersion(t *testing.T) {
	s := newStore(t, t.TempDir(), WithSync(false))
	v := saveIf(t, s, "k", "one", time.Now().Add(time.Hour), 0)
	if err := s.Touch(t.Context(), "k", time.Now().Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	saveIf(t, s, "k", "two", time.Now().Add(time.Hour), v)
}

func TestTouchInThePastRemoves(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir, WithSync(false))
	saveIf(t, s, "k", "one", time.Now().Add(time.Hour), 0)
	if err := s.Touch(t.Context(), "k", time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Fatalf("a past touch left %v", got)
	}
}

// TestSaveIfRace races goroutines of one store and of a second store on
// the same directory on one version: exactly one wins each round.
func TestSaveIfRace(t *testing.T) {
	dir := t.TempDir()
	stores := []*Store{newStore(t, dir, WithSync(false)), newStore(t, dir, WithSync(false))}
	exp := time.Now().Add(time.Hour)
	for round := range 30 {
		v := saveIf(t, stores[0], "k", "start", exp, 0)
		if round%2 == 1 {
			// Race the insert of a missing record too.
			if err := stores[0].Delete(t.Context(), "k"); err != nil {
				t.Fatal(err)
			}
			v = 0
		}
		const n = 8
		var wg sync.WaitGroup
		wins := make(chan store.Version, n)
		for i := range n {
			wg.Go(func() {
				nv, err := stores[i%2].SaveIf(t.Context(), "k", []byte("winner"), exp, v)
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
		if l := loadVersion(t, stores[1], "k", time.Time{}); l.Version != <-wins {
			t.Fatalf("round %d: the record has version %d, not the winner's", round, l.Version)
		}
		if err := stores[1].Delete(t.Context(), "k"); err != nil {
			t.Fatal(err)
		}
	}
	if got := files(t, dir); len(got) != 0 {
		t.Fatalf("files left: %v, want none (no temporary file may stay behind)", got)
	}
}
