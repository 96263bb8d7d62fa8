package mongostore

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestWriteLocks checks the per-key locks of a store on FerretDB: one
// writer at a time per key, keys independent, a waiter that gives up when
// its context ends, and no lock left behind.
func TestWriteLocks(t *testing.T) {
	s := &writeLocker{namespace: "db.coll"}
	ctx := t.Context()
	a, err := s.lock(ctx, "test", "a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.lock(ctx, "test", "b")
	if err != nil {
		t.Fatalf("a lock on another key waited: %v", err)
	}
	other := &writeLocker{namespace: "db.other"}
	oa, err := other.lock(ctx, "test", "a")
	if err != nil {
		t.Fatalf("a lock on the same key of another collection waited: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := s.lock(short, "test", "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a second lock on a held key = %v, want context.DeadlineExceeded", err)
	}
	got := make(chan *writeLock)
	go func() {
		l, err := s.lock(ctx, "test", "a")
		if err != nil {
			t.Error(err)
		}
		got <- l
	}()
	time.Sleep(10 * time.Millisecond)
	s.unlock("a", a)
	s.unlock("a", <-got)
	s.unlock("b", b)
	other.unlock("a", oa)
	writeLocks.mu.Lock()
	defer writeLocks.mu.Unlock()
	if len(writeLocks.m) != 0 {
		t.Fatalf("%d locks left behind", len(writeLocks.m))
	}
	var none *writeLocker
	if l, err := none.lock(ctx, "test", "a"); l != nil || err != nil {
		t.Fatalf("lock on a nil writeLocker = %v, %v", l, err)
	}
	none.unlock("a", nil)
}
