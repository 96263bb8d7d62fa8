package memstore

// Tests that pin boundaries mutation testing found unpinned (issue 14).
// The synctest bubbles give a clock that stands still, so a deadline can
// be hit to the nanosecond. Stores in a bubble run without background
// cleanup: its runtime cleanup would run outside the bubble.

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"
)

// bubbleStore returns a store without background cleanup, for a synctest
// bubble.
func bubbleStore(t *testing.T, opts ...Option) *Store {
	t.Helper()
	return newStore(t, append([]Option{WithCleanupInterval(0)}, opts...)...)
}

// A record expires at its deadline, not a nanosecond later.
func TestExpiresAtTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := bubbleStore(t)
		ctx := t.Context()
		deadline := time.Now().Add(time.Second)
		save(t, s, "k", deadline)
		time.Sleep(time.Second - time.Nanosecond)
		if !present(t, s, "k") {
			t.Fatal("Load a nanosecond before the deadline: not found")
		}
		if l, err := s.LoadVersion(ctx, "k", time.Time{}); err != nil || !l.Found() {
			t.Fatalf("LoadVersion a nanosecond before the deadline: %+v, %v", l, err)
		}
		time.Sleep(time.Nanosecond)
		if present(t, s, "k") {
			t.Error("Load at the deadline: found, want expired")
		}
		if l, err := s.LoadVersion(ctx, "k", time.Time{}); err != nil || l.Found() {
			t.Errorf("LoadVersion at the deadline: %+v, %v; want not found", l, err)
		}
		if _, found, _ := s.LoadAndTouch(ctx, "k", time.Now().Add(time.Hour)); found {
			t.Error("LoadAndTouch at the deadline revived the record")
		}
		// SaveIf sees no live record: version 0 inserts.
		if _, err := s.SaveIf(ctx, "k", []byte("new"), time.Now().Add(time.Hour), 0); err != nil {
			t.Errorf("SaveIf(version 0) at the deadline of the old record: %v", err)
		}
	})
}

// A deadline of exactly now is not in the future: Save removes the record,
// and so do Touch, LoadAndTouch and LoadVersion's touch, which still return
// it as it was.
func TestDeadlineOfNowRemoves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := bubbleStore(t)
		ctx := t.Context()
		later := time.Now().Add(time.Hour)

		save(t, s, "save", later)
		save(t, s, "save", time.Now())
		if n := s.Len(); n != 0 {
			t.Errorf("Save with a deadline of now: Len() = %d, want 0", n)
		}

		save(t, s, "touch", later)
		if err := s.Touch(ctx, "touch", time.Now()); err != nil {
			t.Fatal(err)
		}
		if n := s.Len(); n != 0 {
			t.Errorf("Touch to now: Len() = %d, want the record removed", n)
		}

		save(t, s, "lt", later)
		if data, found, err := s.LoadAndTouch(ctx, "lt", time.Now()); err != nil || !found || string(data) != "lt" {
			t.Errorf("LoadAndTouch to now = %q, %v, %v; want the record as it was", data, found, err)
		}
		if n := s.Len(); n != 0 {
			t.Errorf("LoadAndTouch to now: Len() = %d, want the record removed", n)
		}

		save(t, s, "lv", later)
		if l, err := s.LoadVersion(ctx, "lv", time.Now()); err != nil || !l.Found() || string(l.Data) != "lv" {
			t.Errorf("LoadVersion touching to now = %+v, %v; want the record as it was", l, err)
		}
		if n := s.Len(); n != 0 {
			t.Errorf("LoadVersion touching to now: Len() = %d, want the record removed", n)
		}

		// A nanosecond later is in the future: the record stays.
		save(t, s, "ns", later)
		if err := s.Touch(ctx, "ns", time.Now().Add(time.Nanosecond)); err != nil {
			t.Fatal(err)
		}
		if !present(t, s, "ns") {
			t.Error("Touch to a nanosecond from now removed the record")
		}
	})
}

// DeleteExpired removes a record at its deadline, including the one that
// expires first in its shard.
func TestDeleteExpiredAtTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := bubbleStore(t)
		ctx := t.Context()
		base := time.Now()
		save(t, s, "a", base.Add(time.Second))
		save(t, s, "b", base.Add(2*time.Second))
		save(t, s, "live", base.Add(time.Hour))
		time.Sleep(time.Second)
		if n, err := s.DeleteExpired(ctx); err != nil || n != 1 {
			t.Fatalf("DeleteExpired at the first deadline = %d, %v; want 1", n, err)
		}
		time.Sleep(time.Second)
		if n, err := s.DeleteExpired(ctx); err != nil || n != 1 {
			t.Fatalf("DeleteExpired at the second deadline = %d, %v; want 1", n, err)
		}
		if n := s.Len(); n != 1 || !present(t, s, "live") {
			t.Fatalf("Len() = %d; want only the live record", n)
		}
	})
}

// A touch that moves a record's expiry earlier lets DeleteExpired find it.
func TestDeleteExpiredAfterTouchEarlier(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := bubbleStore(t)
		ctx := t.Context()
		save(t, s, "k", time.Now().Add(time.Hour))
		if err := s.Touch(ctx, "k", time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if n, err := s.DeleteExpired(ctx); err != nil || n != 1 {
			t.Fatalf("DeleteExpired after the touched deadline = %d, %v; want 1", n, err)
		}
	})
}

func TestShardCount(t *testing.T) {
	for _, tc := range []struct{ max, shards int }{
		{0, 64}, {1, 1}, {15, 1}, {16, 2}, {31, 2}, {32, 4},
		{511, 32}, {512, 64}, {1 << 20, 64},
	} {
		if got := shardCount(tc.max); got != tc.shards {
			t.Errorf("shardCount(%d) = %d, want %d", tc.max, got, tc.shards)
		}
	}
}

func TestShardCapacitiesAddUp(t *testing.T) {
	for _, bound := range []int{0, 1, 7, 15, 16, 100, 511, 512, 1000, 12345} {
		n := shardCount(bound)
		sum, lo, hi := 0, bound, 0
		for i := range n {
			c := shardCapacity(bound, n, i)
			sum += c
			lo, hi = min(lo, c), max(hi, c)
		}
		if sum != bound {
			t.Errorf("bound %d: the %d shard bounds add up to %d", bound, n, sum)
		}
		if bound > 0 && hi-lo > 1 {
			t.Errorf("bound %d: shard bounds from %d to %d, want them even", bound, lo, hi)
		}
	}
}

// Eviction compares a sample of evictionSample records, not the whole
// shard: in a full shard of 15 it removes a record among the 11 that
// expire first (the earliest of 5 distinct values has at most 10 values
// after it), but not always the very first.
func TestEvictionSamples(t *testing.T) {
	const capacity = 15 // one shard
	if n := shardCount(capacity); n != 1 {
		t.Fatalf("shardCount(%d) = %d, want 1", capacity, n)
	}
	base := time.Now().Add(time.Hour)
	notFirst := 0
	const rounds = 40
	for round := range rounds {
		s := newStore(t, WithMaxEntries(capacity), WithCleanupInterval(0))
		for i := range capacity {
			save(t, s, fmt.Sprint(i), base.Add(time.Duration(i)*time.Minute))
		}
		save(t, s, "new", base.Add(time.Hour))
		evicted := -1
		for i := range capacity {
			if !present(t, s, fmt.Sprint(i)) {
				if evicted >= 0 {
					t.Fatalf("round %d: records %d and %d were both evicted", round, evicted, i)
				}
				evicted = i
			}
		}
		switch {
		case evicted < 0:
			t.Fatalf("round %d: nothing was evicted from a full shard", round)
		case evicted > capacity-evictionSample:
			t.Fatalf("round %d: evicted the record that expires %d-th of %d: not the earliest of a sample of %d",
				round, evicted+1, capacity, evictionSample)
		case evicted > 0:
			notFirst++
		}
	}
	// The earliest record is in a random sample of 5 of 15 a third of the
	// time: 40 rounds all evicting it happen once in 10^19.
	if notFirst == 0 {
		t.Errorf("all %d evictions removed the earliest record: eviction scans the whole shard instead of a sample", rounds)
	}
}
