package memcachedstore

import (
	"errors"
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

// TestClear checks the generation behind Clear: a load is still one
// round trip, Clear ends the records of its namespace only, a write with
// a version from before it stays ended, another Store on the namespace
// sees it at its next load, and a generation item that memcached lost
// does not bring ended records back in a Store that knew it.
func TestClear(t *testing.T) {
	ctx := t.Context()
	s, n := newCountingStore(t)
	other := mustNew(t, s.client, "other:"+s.prefix) // another namespace, same server
	same := mustNew(t, newClient(t), s.prefix)       // another process, same namespace
	exp := time.Now().Add(time.Minute)
	mustSaveIf(t, s, "k", "v", exp, 0)
	mustSaveIf(t, other, "k", "other", exp, 0)
	l := mustLoadVersion(t, same, "k")

	if got := trips(n, func() { mustLoadVersion(t, s, "k") }); got != 1 {
		t.Errorf("LoadVersion took %d round trips, want 1 (record and generation in one get)", got)
	}
	if got := trips(n, func() {
		if err := s.Clear(ctx); err != nil {
			t.Fatal(err)
		}
	}); got > 2 {
		t.Errorf("the first Clear took %d round trips, want at most 2", got)
	}
	if _, found, err := s.Load(ctx, "k"); found || err != nil {
		t.Fatalf("Load after Clear = %v, %v; want not found", found, err)
	}
	wantData(t, other, "k", "other")
	// A write with a version loaded before Clear, by a Store that has not
	// read the generation since: it may land, but the record stays ended.
	if _, err := same.SaveIf(ctx, "k", []byte("revived"), exp, l.Version); err != nil && !errors.Is(err, store.ErrConflict) {
		t.Fatal(err)
	}
	if _, found, _ := same.Load(ctx, "k"); found {
		t.Fatal("a write with a version from before Clear brought the record back")
	}
	// After a Clear, new writes hold, in either Store.
	v := mustSaveIf(t, same, "k", "after", exp, 0)
	wantData(t, s, "k", "after")
	if got := trips(n, func() {
		if err := s.Clear(ctx); err != nil {
			t.Fatal(err)
		}
	}); got != 1 {
		t.Errorf("Clear took %d round trips, want 1", got)
	}
	if s.SameGeneration(v, mustSaveIf(t, s, "k2", "x", exp, 0)) {
		t.Error("SameGeneration is true across a Clear")
	}
	// Memcached drops the generation item: the Store that knew the
	// generation keeps ending the old records, and its next Clear starts
	// after it.
	if err := s.client.Delete(s.genKey()); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := s.Load(ctx, "k"); found {
		t.Error("a record ended by Clear came back when the generation item was lost")
	}
	wantData(t, s, "k2", "x")
	if err := s.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := s.Load(ctx, "k2"); found {
		t.Error("Clear after the generation item was lost did not end the records")
	}
}
