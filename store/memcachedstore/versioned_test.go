package memcachedstore

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionkit/sessions/internal/backendenv"
	"github.com/sessionkit/sessions/store"
)

// countingConn counts the writes to a connection. Gomemcache writes each
// command, value included, with one flush, so for small values the count
// is the number of round trips.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.n.Add(1)
	return c.Conn.Write(p)
}

// newCountingStore returns a store on a client of its own whose round
// trips n counts.
func newCountingStore(t *testing.T) (*Store, *atomic.Int64) {
	t.Helper()
	n := new(atomic.Int64)
	c := memcache.New(backendenv.Memcached(t))
	c.Timeout = testTimeout
	c.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := new(net.Dialer).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{conn, n}, nil
	}
	t.Cleanup(func() { c.Close() })
	return mustNew(t, c, "test:"+rand.Text()+":"), n
}

// trips returns how many round trips f took.
func trips(n *atomic.Int64, f func()) int64 {
	before := n.Load()
	f()
	return n.Load() - before
}

func mustSaveIf(t *testing.T, s *Store, key, data string, exp time.Time, v store.Version) store.Version {
	t.Helper()
	nv, err := s.SaveIf(t.Context(), key, []byte(data), exp, v)
	if err != nil {
		t.Fatalf("SaveIf(%q, version %#x): %v", key, v, err)
	}
	if nv == 0 || nv == v {
		t.Fatalf("SaveIf(%q, version %#x) returned version %#x", key, v, nv)
	}
	return nv
}

func wantConflict(t *testing.T, s *Store, key string, exp time.Time, v store.Version, why string) {
	t.Helper()
	nv, err := s.SaveIf(t.Context(), key, []byte("loser"), exp, v)
	if !errors.Is(err, store.ErrConflict) || nv != 0 {
		t.Fatalf("%s: SaveIf(%q, version %#x) = %#x, %v; want store.ErrConflict", why, key, v, nv, err)
	}
}

func mustLoadVersion(t *testing.T, s *Store, key string) store.Loaded {
	t.Helper()
	l, err := s.LoadVersion(t.Context(), key, time.Time{})
	if err != nil {
		t.Fatalf("LoadVersion(%q): %v", key, err)
	}
	return l
}

// TestVersions walks one key through inserts, conditional writes, a plain
// Save and a Delete, checking the round trips each call takes.
func TestVersions(t *testing.T) {
	ctx := t.Context()
	s, n := newCountingStore(t)
	exp := time.Now().Add(time.Minute)
	want := func(what string, rt int64, f func()) {
		t.Helper()
		if got := trips(n, f); got != rt {
			t.Errorf("%s took %d round trips, want %d", what, got, rt)
		}
	}

	var l store.Loaded
	want("LoadVersion of a missing key", 1, func() { l = mustLoadVersion(t, s, "k") })
	if l.Found() || l.Data != nil {
		t.Fatalf("LoadVersion of a missing key = %+v", l)
	}
	var v1, v2, v3 store.Version
	want("SaveIf(0)", 1, func() { v1 = mustSaveIf(t, s, "k", "one", exp, 0) })
	if uint64(v1)&idBit == 0 {
		t.Errorf("SaveIf returned %#x, not a write ID", v1)
	}
	want("SaveIf(0) over a live record", 2, func() { wantConflict(t, s, "k", exp, 0, "a live record exists") })

	want("LoadVersion", 1, func() { l = mustLoadVersion(t, s, "k") })
	if l.Version != v1 || string(l.Data) != "one" || l.Touched {
		t.Fatalf("LoadVersion = %+v, want version %#x", l, v1)
	}
	want("SaveIf with a loaded version", 1, func() { v2 = mustSaveIf(t, s, "k", "two", exp, v1) })
	wantData(t, s, "k", "two")
	want("SaveIf with a stale version (gets only)", 1, func() { wantConflict(t, s, "k", exp, v1, "a version used once") })

	want("SaveIf with the version SaveIf returned", 2, func() { v3 = mustSaveIf(t, s, "k", "three", exp, v2) })
	wantData(t, s, "k", "three")
	wantConflict(t, s, "k", exp, v2, "a version used once")
	if l := mustLoadVersion(t, s, "k"); l.Version != v3 {
		t.Fatalf("LoadVersion after SaveIf = %#x, want the version SaveIf returned, %#x", l.Version, v3)
	}

	// A plain Save is a new version too.
	if err := s.Save(ctx, "k", []byte("saved"), exp); err != nil {
		t.Fatal(err)
	}
	want("SaveIf with a loaded version after Save", 1, func() { wantConflict(t, s, "k", exp, v3, "a version after Save") })
	wantData(t, s, "k", "saved")

	// Delete: every version is stale, and version 0 inserts again.
	l = mustLoadVersion(t, s, "k")
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	want("SaveIf with a loaded version after Delete", 1, func() { wantConflict(t, s, "k", exp, l.Version, "a version after Delete") })
	mustSaveIf(t, s, "k", "again", exp, 0)
	wantData(t, s, "k", "again")
}

// TestLoadVersionIgnoresTouch checks that LoadVersion moves nothing,
// whatever touch says.
func TestLoadVersionIgnoresTouch(t *testing.T) {
	ctx := t.Context()
	s := newStore(t)
	exp := time.Now().Add(time.Minute)
	v := mustSaveIf(t, s, "k", "v", exp, 0)
	before, err := s.client.Get(s.serverKey("k"))
	if err != nil {
		t.Fatal(err)
	}
	for _, touch := range []time.Time{time.Now().Add(time.Hour), time.Now().Add(-time.Hour)} {
		l, err := s.LoadVersion(ctx, "k", touch)
		if err != nil || string(l.Data) != "v" || l.Touched {
			t.Fatalf("LoadVersion with touch %v = %+v, %v", touch, l, err)
		}
	}
	after, err := s.client.Get(s.serverKey("k"))
	if err != nil {
		t.Fatal(err)
	}
	if after.CasID != before.CasID || string(after.Value) != string(before.Value) {
		t.Fatal("LoadVersion with a touch changed the item")
	}
	mustSaveIf(t, s, "k", "w", exp, v)
}

// TestSaveIfPast checks that a deadline that has passed removes the record
// when the version matches, and leaves it alone when it does not.
func TestSaveIfPast(t *testing.T) {
	ctx := t.Context()
	s := newStore(t)
	exp := time.Now().Add(time.Minute)
	past := time.Now().Add(-time.Second)
	for _, loaded := range []bool{false, true} {
		v := mustSaveIf(t, s, "k", "v", exp, 0)
		if loaded {
			v = mustLoadVersion(t, s, "k").Version
		}
		if _, err := s.SaveIf(ctx, "k", []byte("x"), past, v^1); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("SaveIf in the past with a wrong version (loaded %v): %v, want store.ErrConflict", loaded, err)
		}
		wantData(t, s, "k", "v")
		if nv, err := s.SaveIf(ctx, "k", []byte("x"), past, v); nv != 0 || err != nil {
			t.Fatalf("SaveIf in the past with the version (loaded %v) = %#x, %v; want 0, nil", loaded, nv, err)
		}
		if l := mustLoadVersion(t, s, "k"); l.Found() {
			t.Fatalf("SaveIf in the past (loaded %v) left %+v", loaded, l)
		}
		wantConflict(t, s, "k", exp, v, "the version of a removed record")
	}
	// Version 0 and a past deadline: nothing to write, conflict only with a
	// live record.
	if nv, err := s.SaveIf(ctx, "absent", nil, past, 0); nv != 0 || err != nil {
		t.Fatalf("SaveIf(version 0) in the past on a missing key = %#x, %v", nv, err)
	}
	mustSaveIf(t, s, "live", "v", exp, 0)
	wantConflict(t, s, "live", past, 0, "version 0 over a live record")
	wantData(t, s, "live", "v")
}

// saveHeld saves a record that expires in 100 ms. Memcached keeps the item
// for at least a second longer, so for that second it holds an item whose
// deadline has passed.
func saveHeld(t *testing.T, s *Store, key string) time.Time {
	t.Helper()
	deadline := time.Now().Add(100 * time.Millisecond)
	if err := s.Save(t.Context(), key, []byte("expired"), deadline); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(deadline))
	if _, err := s.client.Get(s.serverKey(key)); err != nil {
		t.Fatalf("memcached no longer holds the expired item: %v", err)
	}
	return deadline
}

// TestInsertOverExpiredItem checks that version 0 replaces an item that
// memcached still holds after its deadline, in three round trips.
func TestInsertOverExpiredItem(t *testing.T) {
	s, n := newCountingStore(t)
	exp := time.Now().Add(time.Minute)
	saveHeld(t, s, "k")
	if l := mustLoadVersion(t, s, "k"); l.Found() {
		t.Fatalf("LoadVersion after the deadline = %+v", l)
	}
	if got := trips(n, func() { mustSaveIf(t, s, "k", "new", exp, 0) }); got != 3 {
		t.Errorf("SaveIf(version 0) over an expired item took %d round trips, want 3 (add, gets, cas)", got)
	}
	wantData(t, s, "k", "new")
}

// TestStaleAfterDeadline checks that a version conflicts as soon as the
// record's deadline has passed, although memcached still holds the item:
// a version that LoadVersion returned without a round trip, one that
// SaveIf returned after a gets.
func TestStaleAfterDeadline(t *testing.T) {
	s, n := newCountingStore(t)
	exp := time.Now().Add(time.Minute)

	deadline := time.Now().Add(time.Second)
	saved := mustSaveIf(t, s, "saved", "v", deadline, 0)
	mustSaveIf(t, s, "loaded", "v", deadline, 0)
	loaded := mustLoadVersion(t, s, "loaded").Version
	if loaded == 0 {
		t.Fatal("LoadVersion found no record: the machine took more than 1s for three round trips")
	}
	time.Sleep(time.Until(deadline))
	for _, k := range []string{"saved", "loaded"} {
		if _, err := s.client.Get(s.serverKey(k)); err != nil {
			t.Fatalf("memcached no longer holds the expired item %q: %v", k, err)
		}
	}
	if got := trips(n, func() { wantConflict(t, s, "loaded", exp, loaded, "a loaded version after the deadline") }); got != 0 {
		t.Errorf("SaveIf with a loaded version after the deadline took %d round trips, want 0", got)
	}
	wantConflict(t, s, "saved", exp, saved, "a version SaveIf returned, after the deadline")
	for _, k := range []string{"saved", "loaded"} {
		if l := mustLoadVersion(t, s, k); l.Found() {
			t.Fatalf("a stale version wrote %+v", l)
		}
	}
}

// TestStaleV1AfterDeadline checks the version of a format 1 value, its CAS
// id: SaveIf reads the value first, and refuses it once its deadline has
// passed, although memcached would still accept the CAS id.
func TestStaleV1AfterDeadline(t *testing.T) {
	s, n := newCountingStore(t)
	deadline := time.Now().Add(time.Second)
	setV1(t, s, "k", "old", deadline)
	cas := mustLoadVersion(t, s, "k").Version
	if cas == 0 {
		t.Fatal("LoadVersion found no record: the machine took more than 1s for two round trips")
	}
	if uint64(cas)&idBit != 0 {
		t.Fatalf("LoadVersion of a format 1 value = %#x, want a CAS id", cas)
	}
	time.Sleep(time.Until(deadline))
	if got := trips(n, func() { wantConflict(t, s, "k", time.Now().Add(time.Minute), cas, "a CAS id after the deadline") }); got != 1 {
		t.Errorf("SaveIf with a format 1 value's version after the deadline took %d round trips, want 1 (gets)", got)
	}
	if err := s.client.CompareAndSwap(&memcache.Item{Key: s.serverKey("k"), Value: []byte("x"), CasID: uint64(cas)}); err != nil {
		t.Fatalf("memcached no longer accepts the CAS id, so the test proves nothing: %v", err)
	}
}

// TestRaces runs SaveIf from many goroutines on one version: exactly one
// may win, for each kind of version, including version 0 over an item
// memcached still holds after its deadline.
func TestRaces(t *testing.T) {
	s := newStore(t)
	exp := time.Now().Add(time.Minute)
	for _, c := range []struct {
		name    string
		prepare func(key string) store.Version
	}{
		{"version 0, missing key", func(string) store.Version { return 0 }},
		{"version 0, expired item", func(key string) store.Version { saveHeld(t, s, key); return 0 }},
		{"loaded version", func(key string) store.Version {
			mustSaveIf(t, s, key, "v", exp, 0)
			return mustLoadVersion(t, s, key).Version
		}},
		{"version SaveIf returned", func(key string) store.Version { return mustSaveIf(t, s, key, "v", exp, 0) }},
		{"CAS id of a format 1 value", func(key string) store.Version {
			setV1(t, s, key, "v", exp)
			return mustLoadVersion(t, s, key).Version
		}},
	} {
		key := "race:" + c.name
		v := c.prepare(key)
		var wins, conflicts atomic.Int32
		var winner atomic.Value
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				data := []byte{byte('a' + i)}
				_, err := s.SaveIf(t.Context(), key, data, exp, v)
				switch {
				case err == nil:
					wins.Add(1)
					winner.Store(string(data))
				case errors.Is(err, store.ErrConflict):
					conflicts.Add(1)
				default:
					t.Errorf("%s: SaveIf: %v", c.name, err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 || conflicts.Load() != 15 {
			t.Fatalf("%s: %d wins and %d conflicts, want 1 and 15", c.name, wins.Load(), conflicts.Load())
		}
		wantData(t, s, key, winner.Load().(string))
	}
}

// setV1 stores a value in format 1, as earlier versions of the package
// did.
func setV1(t *testing.T, s *Store, key, data string, deadline time.Time) {
	t.Helper()
	enc, _ := encode(nil, deadline, 0)
	v := append(enc[:headerLenV1], data...)
	v[0] = formatV1
	exp, _ := expiration(deadline, time.Now())
	if err := s.client.Set(&memcache.Item{Key: s.serverKey(key), Value: v, Expiration: exp}); err != nil {
		t.Fatal(err)
	}
}

// TestFormatV1 reads a value written by an earlier version of the package
// and replaces it conditionally.
func TestFormatV1(t *testing.T) {
	s := newStore(t)
	exp := time.Now().Add(time.Minute)
	setV1(t, s, "k", "old", exp)
	wantData(t, s, "k", "old")
	l := mustLoadVersion(t, s, "k")
	if string(l.Data) != "old" || uint64(l.Version)&idBit != 0 {
		t.Fatalf("LoadVersion of a format 1 value = %+v, want its CAS id as version", l)
	}
	wantConflict(t, s, "k", exp, 0, "version 0 over a format 1 value")
	v := mustSaveIf(t, s, "k", "new", exp, l.Version)
	wantData(t, s, "k", "new")
	if l := mustLoadVersion(t, s, "k"); l.Version != v {
		t.Fatalf("LoadVersion after SaveIf = %#x, want %#x", l.Version, v)
	}
}

func TestCASCache(t *testing.T) {
	var c casCache
	for i := range casCacheSize + 10 {
		c.put("k", uint64(i)|idBit, casEntry{cas: uint64(i) + 1})
	}
	if len(c.m) != casCacheSize {
		t.Fatalf("%d entries, want at most %d", len(c.m), casCacheSize)
	}
	c.put("k", 1, casEntry{cas: 7})
	if e, ok := c.take("k", 1); !ok || e.cas != 7 {
		t.Fatalf("take = %+v, %v", e, ok)
	}
	if _, ok := c.take("k", 1); ok {
		t.Fatal("an entry was taken twice")
	}
	if _, ok := c.take("other", 2|idBit); ok {
		t.Fatal("took an entry of another key")
	}
}

func TestCheckCAS(t *testing.T) {
	for id, ok := range map[uint64]bool{0: false, 1: true, idBit - 1: true, idBit: false, 1<<64 - 1: false} {
		if err := checkCAS(id); (err == nil) != ok {
			t.Errorf("checkCAS(%#x) = %v", id, err)
		}
	}
}
