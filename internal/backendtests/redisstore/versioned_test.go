package redisstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/sessionkit/sessions/internal/backendtests/testbackend"
	"github.com/sessionkit/sessions/store"
)

// versioned is what the tests use of a Store, with or without a client
// cache.
type versioned interface {
	store.Versioned
	store.Toucher
	Close() error
}

// both runs fn against a Store without and one with a client cache on c,
// each on its own prefix, which fn gets to look at the keys.
func both(t *testing.T, c rueidis.Client, fn func(t *testing.T, s versioned, prefix string)) {
	t.Run("Store", func(t *testing.T) {
		prefix := "test:" + rand.Text() + ":"
		fn(t, newStoreAt(t, c, prefix), prefix)
	})
	t.Run("ClientCache", func(t *testing.T) {
		prefix := "test:" + rand.Text() + ":"
		fn(t, newCached(t, c, time.Second, prefix), prefix)
	})
}

// mustSaveIf calls SaveIf and fails t unless it succeeds.
func mustSaveIf(t *testing.T, s store.Versioned, key, data string, exp time.Time, v store.Version) store.Version {
	t.Helper()
	next, err := s.SaveIf(t.Context(), key, []byte(data), exp, v)
	if err != nil {
		t.Fatalf("SaveIf(%q, %q, version %x): %v", key, data, v, err)
	}
	if next == 0 {
		t.Fatalf("SaveIf(%q, %q, version %x) returned the zero version", key, data, v)
	}
	return next
}

// wantConflict calls SaveIf and fails t unless it reports a conflict.
func wantConflict(t *testing.T, s store.Versioned, key string, exp time.Time, v store.Version, why string) {
	t.Helper()
	next, err := s.SaveIf(t.Context(), key, []byte("loser"), exp, v)
	if !errors.Is(err, store.ErrConflict) || next != 0 {
		t.Fatalf("SaveIf(%q, version %x) = %x, %v; want store.ErrConflict: %s", key, v, next, err, why)
	}
}

// wantLoaded calls LoadVersion without a touch and fails t unless the
// record holds data (or is missing, for nil) with version v (any, for 0).
func wantLoaded(t *testing.T, s store.Versioned, key string, data []byte, v store.Version) store.Loaded {
	t.Helper()
	l, err := s.LoadVersion(t.Context(), key, time.Time{})
	switch {
	case err != nil:
		t.Fatalf("LoadVersion(%q): %v", key, err)
	case data == nil && (l.Found() || l.Data != nil || l.Version != 0):
		t.Fatalf("LoadVersion(%q) = %+v, want no record", key, l)
	case data != nil && (!l.Found() || !bytes.Equal(l.Data, data) || v != 0 && l.Version != v):
		t.Fatalf("LoadVersion(%q) = %q version %x, want %q version %x", key, l.Data, l.Version, data, v)
	case l.Touched:
		t.Fatalf("LoadVersion(%q) without a touch reported Touched", key)
	}
	return l
}

// TestSaveIf walks one key through the version rules: insert if absent,
// conflicts after a newer SaveIf, Save, Delete or expiry, and removal with
// a past expiry.
func TestSaveIf(t *testing.T) {
	backends(t, func(t *testing.T, c rueidis.Client) {
		both(t, c, func(t *testing.T, s versioned, prefix string) {
			ctx := t.Context()
			hour := time.Now().Add(time.Hour)
			exists := func(key string) bool {
				n, err := c.Do(ctx, c.B().Exists().Key(prefix+key).Build()).AsInt64()
				if err != nil {
					t.Fatal(err)
				}
				return n == 1
			}

			wantLoaded(t, s, "k", nil, 0)
			v1 := mustSaveIf(t, s, "k", "one", hour, 0)
			wantLoaded(t, s, "k", []byte("one"), v1)
			wantConflict(t, s, "k", hour, 0, "version 0 must not replace a live record")
			v2 := mustSaveIf(t, s, "k", "two", hour, v1)
			if v2 == v1 {
				t.Fatalf("SaveIf kept version %x", v1)
			}
			wantConflict(t, s, "k", hour, v1, "a version that was replaced is stale")
			wantLoaded(t, s, "k", []byte("two"), v2)

			// Touching keeps the version; Save gives a new one.
			if err := s.Touch(ctx, "k", time.Now().Add(2*time.Hour)); err != nil {
				t.Fatal(err)
			}
			wantLoaded(t, s, "k", []byte("two"), v2)
			if err := s.Save(ctx, "k", []byte("saved"), hour); err != nil {
				t.Fatal(err)
			}
			v3 := wantLoaded(t, s, "k", []byte("saved"), 0).Version
			if v3 == v2 {
				t.Fatalf("Save kept version %x", v2)
			}
			wantConflict(t, s, "k", hour, v2, "Save must make the old version stale")

			// A deleted record stays deleted for a stale version.
			if err := s.Delete(ctx, "k"); err != nil {
				t.Fatal(err)
			}
			wantConflict(t, s, "k", hour, v3, "a deleted record must not come back")
			if exists("k") {
				t.Fatal("a conflicting SaveIf wrote the key")
			}
			v4 := mustSaveIf(t, s, "k", "four", hour, 0)

			// A past expiry with the right version deletes and returns 0; with
			// a wrong version it conflicts and leaves the record.
			for _, past := range []time.Time{{}, time.Unix(0, 0), time.Now().Add(-time.Second), time.Now()} {
				wantConflict(t, s, "k", past, v3, "a stale version must not delete")
				wantLoaded(t, s, "k", []byte("four"), v4)
			}
			if next, err := s.SaveIf(ctx, "k", []byte("gone"), time.Time{}, v4); next != 0 || err != nil {
				t.Fatalf("SaveIf into the past = %x, %v; want 0, nil", next, err)
			}
			if exists("k") {
				t.Fatal("key exists after a SaveIf into the past")
			}
			if next, err := s.SaveIf(ctx, "k", []byte("gone"), time.Now().Add(-time.Hour), 0); next != 0 || err != nil {
				t.Fatalf("SaveIf(version 0) into the past of a missing key = %x, %v; want 0, nil", next, err)
			}
			if exists("k") {
				t.Fatal("SaveIf into the past created the key")
			}

			// Empty data is a record.
			v5 := mustSaveIf(t, s, "empty", "", hour, 0)
			if l := wantLoaded(t, s, "empty", []byte{}, v5); l.Data == nil {
				t.Fatal("LoadVersion of empty data returned nil Data")
			}
			if data, found, err := s.Load(ctx, "empty"); err != nil || !found || len(data) != 0 {
				t.Fatalf("Load of empty data = %q, %v, %v", data, found, err)
			}
		})
	})
}

// TestSaveIfExpired checks that Redis's own expiry makes a record absent
// for the script: a stale version conflicts and version 0 inserts.
func TestSaveIfExpired(t *testing.T) {
	backends(t, func(t *testing.T, c rueidis.Client) {
		both(t, c, func(t *testing.T, s versioned, prefix string) {
			short := time.Now().Add(200 * time.Millisecond)
			v := mustSaveIf(t, s, "k", "short", short, 0)
			time.Sleep(time.Until(short) + 50*time.Millisecond)
			wantLoaded(t, s, "k", nil, 0)
			wantConflict(t, s, "k", time.Now().Add(time.Hour), v, "an expired record's version is stale")
			v2 := mustSaveIf(t, s, "k", "new", time.Now().Add(time.Hour), 0)
			wantLoaded(t, s, "k", []byte("new"), v2)

			// The script itself, run at once on a record past its PXAT: the
			// key is expired when the script reads it, not only on GET.
			v3 := mustSaveIf(t, s, "k2", "short", time.Now().Add(100*time.Millisecond), 0)
			time.Sleep(150 * time.Millisecond)
			wantConflict(t, s, "k2", time.Now().Add(time.Hour), v3, "the script must see the record expired")
			mustSaveIf(t, s, "k2", "new", time.Now().Add(time.Hour), 0)
		})
	})
}

// TestForeignRecords checks strings this package did not write (too short
// for a version, or with a zero version): they count as absent everywhere,
// and SaveIf with version 0 replaces them.
func TestForeignRecords(t *testing.T) {
	backends(t, func(t *testing.T, c rueidis.Client) {
		both(t, c, func(t *testing.T, s versioned, prefix string) {
			ctx := t.Context()
			for _, raw := range []string{"", "short", "\x00\x00\x00\x00\x00\x00\x00\x00data"} {
				key := "foreign:" + rand.Text()
				if err := c.Do(ctx, c.B().Set().Key(prefix+key).Value(raw).Build()).Error(); err != nil {
					t.Fatal(err)
				}
				if data, found, err := s.Load(ctx, key); found || err != nil {
					t.Fatalf("Load of %q = %q, %v, %v; want no record", raw, data, found, err)
				}
				wantLoaded(t, s, key, nil, 0)
				v := mustSaveIf(t, s, key, "mine", time.Now().Add(time.Hour), 0)
				wantLoaded(t, s, key, []byte("mine"), v)
			}
		})
	})
}

// TestLoadVersionTouch checks LoadVersion with a touch: it moves the
// expiry in the same command and keeps the version; a touch into the past
// returns the record and leaves it gone. With a client cache it never
// touches.
func TestLoadVersionTouch(t *testing.T) {
	backends(t, func(t *testing.T, c rueidis.Client) {
		ctx := t.Context()
		prefix := "test:" + rand.Text() + ":"
		s := newStoreAt(t, c, prefix)
		if l, err := s.LoadVersion(ctx, "missing", time.Now().Add(time.Hour)); l.Found() || l.Touched || err != nil {
			t.Fatalf("LoadVersion(missing, touch) = %+v, %v", l, err)
		}
		v := mustSaveIf(t, s, "k", "v", time.Now().Add(time.Minute), 0)
		l, err := s.LoadVersion(ctx, "k", time.Now().Add(time.Hour))
		if err != nil || !l.Touched || l.Version != v || string(l.Data) != "v" {
			t.Fatalf("LoadVersion(touch) = %+v, %v; want %q version %x, touched", l, err, "v", v)
		}
		assertPTTL(t, c, prefix+"k", time.Hour)
		l.Data[0] = 'x' // the caller owns the bytes
		wantLoaded(t, s, "k", []byte("v"), v)

		for _, past := range []time.Time{time.Unix(0, 0), time.Now().Add(-time.Second), time.Now()} {
			v := mustSaveIf(t, s, "p", "v", time.Now().Add(time.Minute), 0)
			l, err := s.LoadVersion(ctx, "p", past)
			if err != nil || !l.Found() || l.Version != v || string(l.Data) != "v" || !l.Touched {
				t.Fatalf("LoadVersion(touch %v) = %+v, %v; want the record as it was, touched", past, l, err)
			}
			if n, _ := c.Do(ctx, c.B().Exists().Key(prefix+"p").Build()).AsInt64(); n != 0 {
				t.Fatalf("key exists after LoadVersion(touch %v)", past)
			}
			wantConflict(t, s, "p", time.Now().Add(time.Hour), v, "a record touched into the past is gone")
		}

		cs := newCached(t, c, time.Second, prefix)
		l, err = cs.LoadVersion(ctx, "k", time.Now().Add(3*time.Hour))
		if err != nil || l.Touched || l.Version != v {
			t.Fatalf("LoadVersion(touch) with a client cache = %+v, %v; want version %x, not touched", l, err, v)
		}
		assertPTTL(t, c, prefix+"k", time.Hour)
	})
}

// TestSaveIfRace races goroutines on one version: exactly one wins, and the
// record holds its data.
func TestSaveIfRace(t *testing.T) {
	backends(t, func(t *testing.T, c rueidis.Client) {
		both(t, c, func(t *testing.T, s versioned, prefix string) {
			const n = 16
			exp := time.Now().Add(time.Hour)
			for _, start := range []store.Version{0, mustSaveIf(t, s, "k", "start", exp, 0)} {
				var (
					wg     sync.WaitGroup
					mu     sync.Mutex
					wins   []string
					winner store.Version
				)
				for i := range n {
					data := string(rune('a' + i))
					key := "k"
					if start == 0 {
						key = "new"
					}
					wg.Go(func() {
						v, err := s.SaveIf(context.Background(), key, []byte(data), exp, start)
						switch {
						case err == nil:
							mu.Lock()
							wins, winner = append(wins, data), v
							mu.Unlock()
						case !errors.Is(err, store.ErrConflict):
							t.Errorf("SaveIf: %v", err)
						}
					})
				}
				wg.Wait()
				if len(wins) != 1 {
					t.Fatalf("from version %x: %d SaveIf calls won (%v), want exactly 1", start, len(wins), wins)
				}
				key := "k"
				if start == 0 {
					key = "new"
				}
				wantLoaded(t, s, key, []byte(wins[0]), winner)
			}
		})
	})
}

// TestSaveIfLarge saves a record of 1 MiB and more through the script, the
// size where commands are pinned.
func TestSaveIfLarge(t *testing.T) {
	backends(t, func(t *testing.T, c rueidis.Client) {
		s := newStore(t, c)
		big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16+1)
		v := mustSaveIf(t, s, "big", string(big), time.Now().Add(time.Minute), 0)
		wantLoaded(t, s, "big", big, v)
		v = mustSaveIf(t, s, "big", string(big[:1<<20]), time.Now().Add(time.Minute), v)
		wantLoaded(t, s, "big", big[:1<<20], v)
	})
}

// TestSaveIfOneCommand watches the server with MONITOR: SaveIf sends one
// EVALSHA for its key, and LoadVersion with a touch one GETEX. After SCRIPT
// FLUSH, the first SaveIf falls back to EVAL once.
func TestSaveIfOneCommand(t *testing.T) {
	addr := testbackend.Redis(t)
	c := newClient(t, addr)
	prefix := "test:" + rand.Text() + ":"
	s := newStoreAt(t, c, prefix)
	ctx := t.Context()
	mustSaveIf(t, s, "warm", "v", time.Now().Add(time.Minute), 0) // the server has the script

	trace := func(fn func()) []string {
		t.Helper()
		lines := monitor(t, addr)
		fn()
		if _, _, err := s.Load(ctx, "end"); err != nil { // marks the end of the trace
			t.Fatal(err)
		}
		var cmds []string
		for line := range lines {
			if strings.Contains(line, prefix+"end") {
				break
			}
			// Commands a script runs show as "[0 lua]"; count the client's.
			if strings.Contains(line, prefix+"k") && !strings.Contains(line, " lua]") {
				cmds = append(cmds, line)
			}
		}
		return cmds
	}
	want := func(cmds []string, names ...string) {
		t.Helper()
		ok := len(cmds) == len(names)
		for i := 0; ok && i < len(names); i++ {
			ok = strings.Contains(cmds[i], `"`+names[i]+`"`)
		}
		if !ok {
			t.Fatalf("sent %d commands for the key, want %v:\n%s", len(cmds), names, strings.Join(cmds, ""))
		}
	}

	var v1 store.Version
	want(trace(func() { v1 = mustSaveIf(t, s, "k", "one", time.Now().Add(time.Minute), 0) }), "EVALSHA")
	want(trace(func() { mustSaveIf(t, s, "k", "two", time.Now().Add(time.Minute), v1) }), "EVALSHA")
	want(trace(func() { wantConflict(t, s, "k", time.Now().Add(time.Minute), v1, "stale") }), "EVALSHA")
	want(trace(func() {
		if _, err := s.LoadVersion(ctx, "k", time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}), "GETEX")
	want(trace(func() { wantLoaded(t, s, "k", []byte("two"), 0) }), "GET")

	if err := c.Do(ctx, c.B().ScriptFlush().Build()).Error(); err != nil {
		t.Fatal(err)
	}
	var v3 store.Version
	want(trace(func() {
		v2 := wantLoaded(t, s, "k", []byte("two"), 0).Version
		v3 = mustSaveIf(t, s, "k", "three", time.Now().Add(time.Minute), v2)
	}), "GET", "EVALSHA", "EVAL")
	want(trace(func() { mustSaveIf(t, s, "k", "four", time.Now().Add(time.Minute), v3) }), "EVALSHA")
}

// TestCachedVersions runs two Stores with a client cache, on two clients,
// against one server: a version read from the cache may be stale, but
// SaveIf checks it on the server, and after a conflict the loser reads the
// winner from the server.
func TestCachedVersions(t *testing.T) {
	deployments(t, func(t *testing.T, dial func() rueidis.Client) {
		prefix := "test:" + rand.Text() + ":"
		a := newCached(t, dial(), time.Minute, prefix)
		b := newCached(t, dial(), time.Minute, prefix)
		exp := time.Now().Add(time.Hour)
		v1 := mustSaveIf(t, a, "k", "one", exp, 0)
		wantLoaded(t, b, "k", []byte("one"), v1) // now in b's cache
		v2 := mustSaveIf(t, a, "k", "two", exp, v1)
		wantConflict(t, b, "k", exp, v1, "a stale version from the cache")
		wantLoaded(t, b, "k", []byte("two"), v2) // from the server after the conflict
		v3 := mustSaveIf(t, b, "k", "three", exp, v2)
		wantLoaded(t, b, "k", []byte("three"), v3) // b reads its own write
	})
}

// TestCachedLoadVersionLocal watches the server with MONITOR: a Store with
// a client cache serves a repeated LoadVersion of a key it did not write
// from the cache, and after its own SaveIf reads the key from the server.
func TestCachedLoadVersionLocal(t *testing.T) {
	addr := testbackend.Redis(t)
	c := newClient(t, addr)
	prefix := "test:" + rand.Text() + ":"
	ctx := t.Context()
	v := mustSaveIf(t, newStoreAt(t, c, prefix), "k", "v", time.Now().Add(time.Hour), 0)
	cs := newCached(t, newClient(t, addr), time.Minute, prefix)
	count := func(fn func()) int {
		t.Helper()
		lines := monitor(t, addr)
		fn()
		if err := c.Do(ctx, c.B().Get().Key(prefix+"end").Build()).Error(); !rueidis.IsRedisNil(err) {
			t.Fatal(err)
		}
		n := 0
		for line := range lines {
			if strings.Contains(line, prefix+"end") {
				return n
			}
			if strings.Contains(line, prefix+"k") && !strings.Contains(line, " lua]") {
				n++
			}
		}
		return n
	}
	wantLoaded(t, cs, "k", []byte("v"), v) // fills the cache
	if n := count(func() { wantLoaded(t, cs, "k", []byte("v"), v) }); n != 0 {
		t.Fatalf("a cached LoadVersion sent %d commands, want none", n)
	}
	v2 := mustSaveIf(t, cs, "k", "w", time.Now().Add(time.Hour), v)
	if n := count(func() { wantLoaded(t, cs, "k", []byte("w"), v2) }); n != 1 {
		t.Fatalf("LoadVersion after the store's own SaveIf sent %d commands, want 1 (GET)", n)
	}
}
