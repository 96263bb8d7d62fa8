package redisstore_test

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/sessionkit/sessions/internal/backendtests/testbackend"
	"github.com/sessionkit/sessions/store"
)

// TestCachedReadsOwnWritesForATTL pins the read-your-writes window of
// WithClientCache (issue 14, item 12): for ttl after its own Save, SaveIf or
// Delete of a key, a Store with a client cache reads that key from the
// server.
//
// Normally Redis's invalidation of this client's own write arrives within
// a round trip, so a read right after the write rarely meets the stale
// entry and the window is hard to see. Here the client tracks keys with
// NOLOOP: the server never sends it the invalidation of its own writes,
// which is the late invalidation the window guards against, made certain.
// The cache then holds the old record for a whole ttl, and every read in
// that time must still see the write. Removing the window, or making it
// shorter than ttl, fails the test.
func TestCachedReadsOwnWritesForATTL(t *testing.T) {
	const ttl = 2 * time.Second
	addr := testbackend.Redis(t)
	noLoop, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress:           []string{addr},
		ClientTrackingOptions: []string{"OPTIN", "NOLOOP"},
	})
	if err != nil {
		t.Fatalf("connect to %s: %v", addr, err)
	}
	t.Cleanup(noLoop.Close)
	prefix := "test:" + rand.Text() + ":"
	other := newStoreAt(t, newClient(t, addr), prefix) // another process
	cs := newCached(t, noLoop, ttl, prefix)
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)

	load := func(t *testing.T, key string) (string, bool) {
		t.Helper()
		b, found, err := cs.Load(ctx, key)
		if err != nil {
			t.Fatalf("Load(%q): %v", key, err)
		}
		return string(b), found
	}
	// fill puts key's current record, written by the other process, in
	// the local cache.
	fill := func(t *testing.T, key, data string) {
		t.Helper()
		if err := other.Save(ctx, key, []byte(data), exp); err != nil {
			t.Fatal(err)
		}
		// The other process's write invalidates a cached entry; wait for
		// the push, then read the record into the cache.
		deadline := time.Now().Add(ttl)
		for got, _ := load(t, key); got != data; got, _ = load(t, key) {
			if time.Now().After(deadline) {
				t.Fatalf("%q: the cache never saw the other process's %q (has %q)", key, data, got)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// always checks that every read of key sees want until the cached
	// entry filled before the write has expired (ttl after the fill).
	always := func(t *testing.T, key, want string, wantFound bool, filled time.Time) {
		t.Helper()
		reads := 0
		for time.Since(filled) < ttl+200*time.Millisecond {
			got, found := load(t, key)
			reads++
			if got != want || found != wantFound {
				t.Fatalf("%q: read %d, %v after the cache was filled and this store wrote: %q (found %v), want %q (found %v): the cache served the record from before the write",
					key, reads, time.Since(filled).Round(time.Millisecond), got, found, want, wantFound)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	t.Run("Save", func(t *testing.T) {
		fill(t, "a", "old")
		filled := time.Now()
		if err := cs.Save(ctx, "a", []byte("new"), exp); err != nil {
			t.Fatal(err)
		}
		always(t, "a", "new", true, filled)
	})
	t.Run("SaveIf", func(t *testing.T) {
		fill(t, "b", "old")
		filled := time.Now()
		l, err := cs.LoadVersion(ctx, "b", time.Time{})
		if err != nil || !l.Found() {
			t.Fatalf("LoadVersion: %+v, %v", l, err)
		}
		if _, err := cs.SaveIf(ctx, "b", []byte("new"), exp, l.Version); err != nil {
			t.Fatal(err)
		}
		always(t, "b", "new", true, filled)
	})
	t.Run("Delete", func(t *testing.T) {
		fill(t, "c", "old")
		filled := time.Now()
		if err := cs.Delete(ctx, "c"); err != nil {
			t.Fatal(err)
		}
		always(t, "c", "", false, filled)
	})
	var _ store.Versioned = cs
}
