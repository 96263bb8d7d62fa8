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

	"github.com/sessionkit/sessions/internal/testbackend"
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
	c := memcache.New(testbackend.Memcached(t))
	c.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := new(net.Dialer).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{conn, n}, nil
	}
	t.Cleanup(func() { c.Close() })
	return mustNew(t, c, WithPrefix("test:"+rand.Text()+":")), n
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

// TestVersions walks one key through the kinds of version, checking the
// round trips each call takes.
func TestVersions(t *testing.T) {
	ctx := t.Context()
	s, n := newCountingStore(t)
	exp := time.Now().Add(time.Minute)

	var l store.Loaded
	if got := trips(n, func() { l = mustLoadVersion(t, s, "k") }); got != 1 || l.Found() || l.Data != nil {
		t.Fatalf("LoadVersion of a missing key = %+v in %d round trips", l, got)
	}
	var ins store.Version
	if got := trips(n, func() { ins = mustSaveIf(t, s, "k", "one", exp, 0) }); got != 1 {
		t.Errorf("SaveIf(version 0) took %d round trips, want 1", got)
	}
	if uint64(ins)&idBit == 0 {
		t.Errorf("SaveIf returned %#x, not a write ID", ins)
	}
	wantConflict(t, s, "k", exp, 0, "a live record exists")

	if got := trips(n, func() { l = mustLoadVersion(t, s, "k") }); got != 1 || string(l.Data) != "one" || l.Touched {
		t.Fatalf("LoadVersion = %+v in %d round trips", l, got)
	}
	cas := l.Version
	if uint64(cas)&idBit != 0 || cas == ins {
		t.Fatalf("LoadVersion returned %#x, not a CAS id", cas)
	}
	var v2 store.Version
	if got := trips(n, func() { v2 = mustSaveIf(t, s, "k", "two", exp, cas) }); got != 1 {
		t.Errorf("SaveIf(CAS id) took %d round trips, want 1", got)
	}
	wantData(t, s, "k", "two")
	wantConflict(t, s, "k", exp, cas, "a CAS id used once")
	wantConflict(t, s, "k", exp, ins, "the write ID of an overwritten write")

	var v3 store.Version
	if got := trips(n, func() { v3 = mustSaveIf(t, s, "k", "three", exp, v2) }); got != 2 {
		t.Errorf("SaveIf(write ID) took %d round trips, want 2", got)
	}
	wantData(t, s, "k", "three")
	wantConflict(t, s, "k", exp, v2, "a write ID used once")

	// A plain Save is a new version too.
	l = mustLoadVersion(t, s, "k")
	if err := s.Save(ctx, "k", []byte("saved"), exp); err != nil {
		t.Fatal(err)
	}
	wantConflict(t, s, "k", exp, v3, "a write ID after Save")
	wantConflict(t, s, "k", exp, l.Version, "a CAS id after Save")
	wantData(t, s, "k", "saved")

	// Delete: every version is stale, and version 0 inserts again.
	l = mustLoadVersion(t, s, "k")
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	wantConflict(t, s, "k", exp, l.Version, "a CAS id after Delete")
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
	for _, kind := range []string{"CAS id", "write ID"} {
		v := mustSaveIf(t, s, "k", "v", exp, 0)
		if kind == "CAS id" {
			v = mustLoadVersion(t, s, "k").Version
		}
		if _, err := s.SaveIf(ctx, "k", []byte("x"), past, v^1); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("SaveIf in the past with a wrong %s: %v, want store.ErrConflict", kind, err)
		}
		wantData(t, s, "k", "v")
		if nv, err := s.SaveIf(ctx, "k", []byte("x"), past, v); nv != 0 || err != nil {
			t.Fatalf("SaveIf in the past with the %s = %#x, %v; want 0, nil", kind, nv, err)
		}
		if l := mustLoadVersion(t, s, "k"); l.Found() {
			t.Fatalf("SaveIf in the past with the %s left %+v", kind, l)
		}
		wantConflict(t, s, "k", exp, v, "the "+kind+" of a removed record")
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

// TestStaleAfterDeadline checks how a version loaded before the deadline
// fares after it: a write ID conflicts at once; a CAS id within the 2
// seconds memcached may keep the item.
func TestStaleAfterDeadline(t *testing.T) {
	s := newStore(t)
	exp := time.Now().Add(time.Minute)

	deadline := time.Now().Add(100 * time.Millisecond)
	id := mustSaveIf(t, s, "id", "v", deadline, 0)
	time.Sleep(time.Until(deadline))
	wantConflict(t, s, "id", exp, id, "a write ID after the deadline")

	deadline = time.Now().Add(100 * time.Millisecond)
	mustSaveIf(t, s, "cas", "v", deadline, 0)
	cas := mustLoadVersion(t, s, "cas").Version
	time.Sleep(time.Until(deadline.Add(2*time.Second + 50*time.Millisecond)))
	wantConflict(t, s, "cas", exp, cas, "a CAS id 2 s after the deadline")
	if l := mustLoadVersion(t, s, "cas"); l.Found() {
		t.Fatalf("the stale CAS id wrote %+v", l)
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
		{"CAS id", func(key string) store.Version {
			mustSaveIf(t, s, key, "v", exp, 0)
			return mustLoadVersion(t, s, key).Version
		}},
		{"write ID", func(key string) store.Version { return mustSaveIf(t, s, key, "v", exp, 0) }},
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

// TestFormatV1 reads a value written by an earlier version of the package
// and replaces it conditionally.
func TestFormatV1(t *testing.T) {
	s := newStore(t)
	v := make([]byte, headerLenV1, headerLenV1+3)
	v[0] = formatV1
	copy(v[1:], encode(nil, time.Now().Add(time.Minute), 0)[1:9])
	v = append(v, "old"...)
	if err := s.client.Set(&memcache.Item{Key: s.serverKey("k"), Value: v, Expiration: 60}); err != nil {
		t.Fatal(err)
	}
	wantData(t, s, "k", "old")
	l := mustLoadVersion(t, s, "k")
	if string(l.Data) != "old" {
		t.Fatalf("LoadVersion of a format 1 value = %+v", l)
	}
	wantConflict(t, s, "k", time.Now().Add(time.Minute), 0, "version 0 over a format 1 value")
	mustSaveIf(t, s, "k", "new", time.Now().Add(time.Minute), l.Version)
	wantData(t, s, "k", "new")
}

func TestCheckCAS(t *testing.T) {
	for id, ok := range map[uint64]bool{0: false, 1: true, idBit - 1: true, idBit: false, 1<<64 - 1: false} {
		if err := checkCAS(id); (err == nil) != ok {
			t.Errorf("checkCAS(%#x) = %v", id, err)
		}
	}
}
