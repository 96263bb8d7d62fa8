package memcachedstore

import (
	"crypto/rand"
	"strconv"
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

// An owner index whose sessions come and go keeps working past
// memcached's item limit: 12,000 adds and removes of IDs of one shard
// write about 1 MB of records to one log, which is rewritten with its live
// entries when an append finds it full (on a server with the default
// 1 MB limit) and when a list finds it mostly dead; the index lists
// exactly the live entries.
func TestIndexLogStaysUnderItemLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("24,000 round trips")
	}
	s := newStore(t)
	ctx := t.Context()
	key := "owner:" + rand.Text()
	var ids []string // IDs of shard 0
	for i := 0; len(ids) < 12000; i++ {
		if id := "id" + strconv.Itoa(i) + "-" + rand.Text(); shardOf(id) == 0 {
			ids = append(ids, id)
		}
	}
	keep := map[string]bool{}
	now := time.Now()
	for i, id := range ids {
		if err := s.IndexAdd(ctx, key, store.IndexEntry{ID: id, Deadline: now.Add(time.Hour), Added: now}); err != nil {
			t.Fatalf("IndexAdd #%d: %v", i, err)
		}
		if i%100 == 0 {
			keep[id] = true
			continue
		}
		if err := s.IndexRemove(ctx, key, id); err != nil {
			t.Fatalf("IndexRemove #%d: %v", i, err)
		}
	}
	list, err := s.IndexList(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(keep) {
		t.Fatalf("IndexList returned %d entries, want %d", len(list), len(keep))
	}
	for _, e := range list {
		if !keep[e.ID] {
			t.Fatalf("IndexList returned removed entry %s", e.ID)
		}
	}
	it, err := s.client.Get(s.indexKey(key, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(it.Value) > 64<<10 {
		t.Fatalf("after a list the log is %d bytes, more than 64 KiB: it was not rewritten", len(it.Value))
	}
	t.Logf("log of %d bytes after %d adds and removes", len(it.Value), len(ids))
}
