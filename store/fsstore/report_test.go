package fsstore

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// The expired records DeleteExpired removes are reported with their key
// and data, but for those whose file name is a hash; nothing after stop.
func TestReportExpired(t *testing.T) {
	s, err := New(t.TempDir(), WithCleanupInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	var got []string
	stop := s.ReportExpired(func(_ context.Context, key string, data []byte) {
		got = append(got, key+"="+string(data))
	})
	// Far enough ahead that a loaded machine still writes them live.
	soon := time.Now().Add(500 * time.Millisecond)
	for _, k := range []string{"session:abc", "plain", "not plain/hashed"} {
		if err := s.Save(ctx, k, []byte("v-"+k), soon); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Save(ctx, "live", []byte("x"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := sweepUntil(t, s, 3); n != 3 {
		t.Fatalf("DeleteExpired removed %d records, want 3", n)
	}
	slices.Sort(got)
	want := []string{"plain=v-plain", "session:abc=v-session:abc"}
	if s.d.hashAll {
		want = nil // every name is a hash here
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("reported %q, want %q", got, want)
	}

	stop()
	if err := s.Save(ctx, "later", []byte("x"), time.Now().Add(500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if n := sweepUntil(t, s, 1); n != 1 || len(got) != len(want) {
		t.Errorf("after stop: removed %d, reported %q", n, got)
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
