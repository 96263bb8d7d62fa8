package fsstore

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestTouchLosesToSaveAndDelete races Touch calls on a key against a Save
// or a Delete of it: once the Save or Delete has returned and the touches
// in flight have ended, the key must hold what the Save wrote, or nothing:
// a touch must never put back the record it read.
func TestTouchLosesToSaveAndDelete(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir, WithSync(false), WithCleanupInterval(0))
	const key = "session:race"
	exp := time.Now().Add(time.Hour)
	var touches atomic.Int64
	for round := range 200 {
		mustSave(t, s, key, []byte("old"), exp)
		var stop atomic.Bool
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				for !stop.Load() {
					if err := s.Touch(t.Context(), key, exp.Add(time.Duration(round))); err != nil {
						t.Error(err)
						return
					}
					touches.Add(1)
				}
			})
		}
		time.Sleep(time.Duration(round%4) * 100 * time.Microsecond)
		del := round%2 == 1
		if del {
			if err := s.Delete(t.Context(), key); err != nil {
				t.Fatal(err)
			}
		} else {
			mustSave(t, s, key, []byte("new"), exp)
		}
		stop.Store(true)
		wg.Wait()
		data, found := load(t, s, key)
		switch {
		case del && found:
			t.Fatalf("round %d: a Touch revived the deleted record %q", round, data)
		case !del && string(data) != "new":
			t.Fatalf("round %d: after Save(new) and the touches, Load = (%q, %v), want new", round, data, found)
		}
	}
	t.Logf("%d touches", touches.Load())
	mustSave(t, s, key, nil, time.Now().Add(-time.Second))
	if got := files(t, dir); len(got) != 0 {
		t.Fatalf("files left: %v, want none", got)
	}
}
