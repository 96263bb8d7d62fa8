package memcachedstore

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionkit/sessions/internal/backendenv"
	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/storetest"
)

// testTimeout bounds each round trip of the test clients: gomemcache's
// default of 500 ms times out on a loaded test machine.
const testTimeout = 5 * time.Second

// newClient returns a client of the test memcached server.
func newClient(t testing.TB) *memcache.Client {
	t.Helper()
	c := memcache.New(backendenv.Memcached(t))
	c.MaxIdleConns = 16
	c.Timeout = testTimeout
	t.Cleanup(func() { c.Close() })
	return c
}

// newStore returns a store on its own random prefix: memcached has no
// namespaces, and each test needs a store of its own.
func newStore(t testing.TB) *Store {
	return mustNew(t, newClient(t), "test:"+rand.Text()+":")
}

// mustNew returns New(c) with prefix in front of its keys, so that runs
// sharing a server never see each other's keys, or ends the test.
func mustNew(t testing.TB, c *memcache.Client, prefix string) *Store {
	t.Helper()
	s, err := New(c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s.prefix = prefix
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newStore(t) })
}

func TestExpiration(t *testing.T) {
	now := time.Unix(1_800_000_000, 500_000_000)
	const slack = int32(ttlSlack / time.Second)
	for _, tc := range []struct {
		in   time.Duration
		want int32
		ok   bool
	}{
		{-time.Second, 0, false},
		{0, 0, false},
		{time.Nanosecond, slack + 1, true},
		{time.Second, slack + 1, true},
		{time.Second + 1, slack + 2, true},
		{time.Hour, 3600 + slack, true},
		{maxRelative*time.Second - ttlSlack, maxRelative, true},
		{maxRelative*time.Second - ttlSlack + 1, 1_800_000_000 + maxRelative + 1, true},
		{40 * 24 * time.Hour, 1_800_000_000 + 40*24*3600 + slack, true},
		{100 * 365 * 24 * time.Hour, 0, true}, // past 2038: no memcached expiry
	} {
		got, ok := expiration(now.Add(tc.in), now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("expiration(now+%v) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if got, ok := expiration(time.Unix(1<<62, 0), now); got != 0 || !ok {
		t.Errorf("expiration(far future) = %d, %v; want 0, true", got, ok)
	}
}

// TestLongLifetime saves records for longer than memcached's 30-day limit
// on relative expirations: sent as relative seconds, memcached would read
// them as a Unix time in 1970 and drop the item at once.
func TestLongLifetime(t *testing.T) {
	ctx := t.Context()
	s := newStore(t)
	for _, d := range []time.Duration{29 * 24 * time.Hour, 31 * 24 * time.Hour, 400 * 24 * time.Hour, 50 * 365 * 24 * time.Hour} {
		if err := s.Save(ctx, "k", []byte("v"), time.Now().Add(d)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.client.Get(s.serverKey("k")); err != nil {
			t.Fatalf("item saved for %v: %v", d, err)
		}
		if _, found, err := s.Load(ctx, "k"); !found || err != nil {
			t.Fatalf("Load of a record saved for %v: found %v, err %v", d, found, err)
		}
		l, err := s.LoadVersion(ctx, "k", time.Time{})
		if !l.Found() || err != nil {
			t.Fatalf("LoadVersion of a record saved for %v: %+v, %v", d, l, err)
		}
		if _, err := s.SaveIf(ctx, "k", []byte("v"), time.Now().Add(d), l.Version); err != nil {
			t.Fatalf("SaveIf of a record for %v: %v", d, err)
		}
		if _, err := s.client.Get(s.serverKey("k")); err != nil {
			t.Fatalf("item saved by SaveIf for %v: %v", d, err)
		}
	}
}

// TestTooLarge saves more than the server's item size limit (the test
// server runs with -I 4m).
func TestTooLarge(t *testing.T) {
	ctx := t.Context()
	s := newStore(t)
	err := s.Save(ctx, "big", make([]byte, 5<<20), time.Now().Add(time.Minute))
	if !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("Save of 5 MiB: err = %v, want store.ErrTooLarge", err)
	}
	if _, found, err := s.Load(ctx, "big"); found || err != nil {
		t.Fatalf("Load after a failed Save: found %v, err %v", found, err)
	}
	if err := s.Save(ctx, "small", []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatalf("Save after ErrTooLarge: %v", err)
	}
	_, err = s.SaveIf(ctx, "big", make([]byte, 5<<20), time.Now().Add(time.Minute), 0)
	if !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("SaveIf of 5 MiB: err = %v, want store.ErrTooLarge", err)
	}
}

// TestKeys round-trips keys memcached would reject, and keys that look
// like the hashed ones.
func TestKeys(t *testing.T) {
	ctx := t.Context()
	for _, prefix := range []string{"", "p:", "bad prefix ", strings.Repeat("p", 260)} {
		s := mustNew(t, newClient(t), prefix+rand.Text())
		keys := []string{
			"", "plain", "with space", "tab\there", "nl\r\n", "\x00", "\x7f", "é", "del\x7f",
			strings.Repeat("k", 240), strings.Repeat("k", 250), strings.Repeat("k", 300),
			strings.Repeat("k", 300) + "x", hashedPrefix + "abc",
		}
		for _, k := range keys {
			if err := s.Save(ctx, k, []byte("value of "+k), time.Now().Add(time.Minute)); err != nil {
				t.Fatalf("Save(%q) with prefix %q: %v", k, prefix, err)
			}
		}
		for _, k := range keys {
			got, found, err := s.Load(ctx, k)
			if err != nil || !found || string(got) != "value of "+k {
				t.Fatalf("Load(%q) with prefix %q = %q, %v, %v", k, prefix, got, found, err)
			}
			if sk := s.serverKey(k); !legalKey(sk) || sk == "" {
				t.Fatalf("serverKey(%q) = %q, not a legal key", k, sk)
			}
		}
	}
}

// TestHashedLookalike checks that a key spelled like the hashed form of
// another key keeps its own record.
func TestHashedLookalike(t *testing.T) {
	ctx := t.Context()
	s := mustNew(t, newClient(t), "")
	illegal := "with space " + rand.Text()
	lookalike := s.serverKey(illegal)
	exp := time.Now().Add(time.Minute)
	if err := s.Save(ctx, illegal, []byte("illegal"), exp); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, lookalike, []byte("lookalike"), exp); err != nil {
		t.Fatal(err)
	}
	if got, _, err := s.Load(ctx, illegal); string(got) != "illegal" || err != nil {
		t.Fatalf("Load(%q) = %q, %v; want %q", illegal, got, err, "illegal")
	}
	if got, _, err := s.Load(ctx, lookalike); string(got) != "lookalike" || err != nil {
		t.Fatalf("Load(%q) = %q, %v; want %q", lookalike, got, err, "lookalike")
	}
}

// TestEmptyKey round-trips the empty key on a store without a prefix.
func TestEmptyKey(t *testing.T) {
	ctx := t.Context()
	s := mustNew(t, newClient(t), "")
	if err := s.Save(ctx, "", []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, found, err := s.Load(ctx, ""); string(got) != "v" || !found || err != nil {
		t.Fatalf("Load(\"\") = %q, %v, %v", got, found, err)
	}
	if err := s.Delete(ctx, ""); err != nil {
		t.Fatal(err)
	}
}

// TestMalformed checks that values not in the store's format read as
// missing, without a panic.
func TestMalformed(t *testing.T) {
	ctx := t.Context()
	s := newStore(t)
	for _, v := range [][]byte{{}, {format}, {format, 0x7f, 0, 0, 0, 0, 0, 0, 0}, {formatV1, 0, 0}, {3, 0x7f, 0, 0, 0, 0, 0, 0, 0, 'x'}} {
		if err := s.client.Set(&memcache.Item{Key: s.serverKey("k"), Value: v}); err != nil {
			t.Fatal(err)
		}
		if data, found, err := s.Load(ctx, "k"); found || err != nil {
			t.Fatalf("Load of %q = %q, %v, %v; want not found", v, data, found, err)
		}
		if l, err := s.LoadVersion(ctx, "k", time.Time{}); l.Found() || l.Data != nil || err != nil {
			t.Fatalf("LoadVersion of %q = %+v, %v; want not found", v, l, err)
		}
		if _, err := s.SaveIf(ctx, "k", []byte("new"), time.Now().Add(time.Minute), 0); err != nil {
			t.Fatalf("SaveIf(version 0) over %q: %v", v, err)
		}
		wantData(t, s, "k", "new")
	}
}

// TestContextAfterCall checks that a context that ends during a call is
// reported, and that the call returns when it ends even though gomemcache
// cannot stop the round trip.
func TestContextAfterCall(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	err := s.run(ctx, "test", func() error { cancel(); return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	ctx, cancel = context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	release := make(chan struct{})
	defer close(release)
	start := time.Now()
	err = s.run(ctx, "test", func() error { <-release; return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("run returned %v after a 50ms deadline, with the call still blocked", d)
	}
	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	if err := s.Save(ctx, "k", []byte("v"), time.Now().Add(time.Minute)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Save with a cancelled context: %v", err)
	}
	if _, found, _ := s.Load(t.Context(), "k"); found {
		t.Fatal("Save with a cancelled context stored the record")
	}
}

func TestNewNilClient(t *testing.T) {
	if s, err := New(nil); err == nil || s != nil {
		t.Fatalf("New(nil) = %v, %v; want an error", s, err)
	}
}

// TestClose checks that every call after Close fails with store.ErrClosed,
// and that the client stays usable.
func TestClose(t *testing.T) {
	ctx := t.Context()
	c := newClient(t)
	s := mustNew(t, c, "")
	for range 2 {
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	exp := time.Now().Add(time.Minute)
	for name, err := range map[string]error{
		"Load":   func() error { _, _, err := s.Load(ctx, "k"); return err }(),
		"Save":   s.Save(ctx, "k", nil, exp),
		"Delete": s.Delete(ctx, "k"),
		"LoadVersion": func() error {
			_, err := s.LoadVersion(ctx, "k", time.Time{})
			return err
		}(),
		"SaveIf": func() error { _, err := s.SaveIf(ctx, "k", nil, exp, 0); return err }(),
	} {
		if !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close: %v, want store.ErrClosed", name, err)
		}
	}
	if err := c.Ping(); err != nil {
		t.Errorf("the client after Close: %v", err)
	}
}

// wantData checks that key holds want.
func wantData(t *testing.T, s *Store, key, want string) {
	t.Helper()
	got, found, err := s.Load(t.Context(), key)
	if err != nil || !found || string(got) != want {
		t.Fatalf("Load(%q) = %q, %v, %v; want %q", key, got, found, err, want)
	}
}
