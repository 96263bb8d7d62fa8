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
	soon := time.Now().Add(20 * time.Millisecond)
	for _, k := range []string{"a", "b"} {
		if err := s.Save(ctx, k, []byte("data-"+k), soon); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Save(ctx, "live", []byte("x"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	if n, err := s.DeleteExpired(ctx); n != 2 || err != nil {
		t.Fatalf("DeleteExpired = %d, %v", n, err)
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
	if err := s.Save(ctx, "d", []byte("d"), time.Now().Add(10*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if n, _ := s.DeleteExpired(ctx); n != 1 || len(got) != 2 || len(other) != 2 {
		t.Errorf("after stop: removed %d, reported %v %v", n, got, other)
	}
}
