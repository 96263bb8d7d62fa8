package memstore

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// The records DeleteExpired removes are reported, with their data, to
// each registered function until it stops; live records are not.
func TestReportExpired(t *testing.T) {
	s, err := New(WithCleanupInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	type removed struct{ key, data string }
	var got, other []removed
	stop := s.ReportExpired(func(_ context.Context, key string, data []byte) {
		got = append(got, removed{key, string(data)})
		data[0] = 'X' // its own copy
	})
	stopOther := s.ReportExpired(func(_ context.Context, key string, data []byte) {
		other = append(other, removed{key, string(data)})
	})
	// Far enough ahead that a loaded machine still writes them live.
	soon := time.Now().Add(500 * time.Millisecond)
	for _, k := range []string{"a", "b"} {
		if err := s.Save(ctx, k, []byte("data-"+k), soon); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Save(ctx, "live", []byte("x"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := sweepUntil(t, s, 2); n != 2 {
		t.Fatalf("DeleteExpired removed %d records, want 2", n)
	}
	byKey := func(a, b removed) int { return strings.Compare(a.key, b.key) }
	slices.SortFunc(got, byKey)
	slices.SortFunc(other, byKey)
	want := []removed{{"a", "data-a"}, {"b", "data-b"}}
	if !slices.Equal(got, want) || !slices.Equal(other, want) {
		t.Errorf("reported %v and %v, want %v to each", got, other, want)
	}

	stop()
	stopOther()
	if err := s.Save(ctx, "c", []byte("c"), soon.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, "d", []byte("d"), time.Now().Add(500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if n := sweepUntil(t, s, 1); n != 1 || len(got) != 2 || len(other) != 2 {
		t.Errorf("after stop: removed %d, reported %v %v", n, got, other)
	}

	// A function registered after the others stopped is told again.
	var again []string
	defer s.ReportExpired(func(_ context.Context, key string, _ []byte) { again = append(again, key) })()
	if err := s.Save(ctx, "e", []byte("e"), time.Now().Add(500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if n := sweepUntil(t, s, 1); n != 1 || !slices.Equal(again, []string{"e"}) {
		t.Errorf("registered again: removed %d, reported %v", n, again)
	}
}

// sweepUntil runs DeleteExpired until it removed n records in all, for up
// to 5 s, and returns how many it removed.
func sweepUntil(t *testing.T, s *Store, n int) int {
	t.Helper()
	removed := 0
	for deadline := time.Now().Add(5 * time.Second); removed < n && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		k, err := s.DeleteExpired(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		removed += k
	}
	return removed
}
