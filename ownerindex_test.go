package sessions

import (
	"slices"
	"testing"
	"time"
)

// An index written and read back has the same entries, the empty one
// included, and parsing allocates what the entries need.
func TestIndexRoundTrip(t *testing.T) {
	base := time.Unix(1_700_000_000, 123)
	var entries []indexEntry
	for i := range 5 {
		entries = append(entries, indexEntry{
			id:       newToken(),
			deadline: base.Add(time.Duration(i) * time.Hour),
			added:    base.Add(time.Duration(i) * time.Minute),
		})
		c, err := parseIndex(appendIndex(nil, indexChunk{chunks: 1, entries: entries[:i]}))
		if err != nil {
			t.Fatalf("index of %d entries: %v", i, err)
		}
		got := c.entries
		if !slices.EqualFunc(got, entries[:i], func(a, b indexEntry) bool {
			return a.id == b.id && a.deadline.Equal(b.deadline) && a.added.Equal(b.added)
		}) {
			t.Errorf("index of %d entries read back as %v, want %v", i, got, entries[:i])
		}
		if cap(got) != i {
			t.Errorf("index of %d entries parsed into a slice of capacity %d", i, cap(got))
		}
		if c.chunks != 1 {
			t.Errorf("index of %d entries read back with %d chunks, want 1", i, c.chunks)
		}
	}
}

// The grace for an index entry whose record is not written yet is four
// store timeouts, and at least a minute.
func TestPendingGrace(t *testing.T) {
	for timeout, want := range map[time.Duration]time.Duration{
		0:                time.Minute,
		5 * time.Second:  time.Minute,
		time.Minute:      4 * time.Minute,
		30 * time.Minute: 2 * time.Hour,
	} {
		m := &core{cfg: config{storeTimeout: timeout}}
		if got := m.pendingGrace(); got != want {
			t.Errorf("store timeout %v: grace %v, want %v", timeout, got, want)
		}
	}
}
