package redisstore_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"go.uber.org/goleak"

	"github.com/sessionkit/sessions/internal/backendtests/testbackend"
	"github.com/sessionkit/sessions/internal/storeprefix"
	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/store/redisstore"
	"github.com/sessionkit/sessions/storetest"
)

func TestMain(m *testing.M) { testbackend.Main(m) }

// newClient connects to addrs and closes the client when t ends.
func newClient(t testing.TB, addrs ...string) rueidis.Client {
	t.Helper()
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: addrs})
	if err != nil {
		t.Fatalf("connect to %v: %v", addrs, err)
	}
	t.Cleanup(c.Close)
	return c
}

// newStore returns a store on its own random prefix, so runs never see each
// other's keys.
func newStore(t testing.TB, c rueidis.Client) *redisstore.Store {
	return newStoreAt(t, c, "test:"+rand.Text()+":")
}

// newStoreAt returns a store on prefix and closes it when t ends.
func newStoreAt(t testing.TB, c rueidis.Client, prefix string) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(c, storeprefix.Redis[redisstore.Option](prefix))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newCached returns a Store with a client cache of ttl on prefix and
// closes it when t ends.
func newCached(t testing.TB, c rueidis.Client, ttl time.Duration, prefix string) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(c, redisstore.WithClientCache(ttl), storeprefix.Redis[redisstore.Option](prefix))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// backends runs fn as a subtest against standalone Redis, Redis Cluster and
// a master found through Redis Sentinel.
func backends(t *testing.T, fn func(t *testing.T, c rueidis.Client)) {
	deployments(t, func(t *testing.T, dial func() rueidis.Client) { fn(t, dial()) })
}

// deployments runs fn as a subtest against standalone Redis, Redis Cluster
// and a master found through Redis Sentinel, with a function that opens a
// new client to the deployment and closes it when t ends.
func deployments(t *testing.T, fn func(t *testing.T, dial func() rueidis.Client)) {
	t.Run("standalone", func(t *testing.T) {
		addr := testbackend.Redis(t)
		fn(t, func() rueidis.Client { return newClient(t, addr) })
	})
	t.Run("cluster", func(t *testing.T) {
		addrs := testbackend.RedisCluster(t)
		fn(t, func() rueidis.Client { return newClient(t, addrs...) })
	})
	t.Run("sentinel", func(t *testing.T) {
		addr := testbackend.RedisSentinel(t)
		fn(t, func() rueidis.Client {
			c, err := rueidis.NewClient(rueidis.ClientOption{
				InitAddress: []string{addr},
				Sentinel:    rueidis.SentinelOption{MasterSet: testbackend.SentinelMasterSet},
			})
			if err != nil {
				t.Fatalf("connect through Sentinel: %v", err)
			}
			t.Cleanup(c.Close)
			return c
		})
	})
}

func TestConformance(t *testing.T) {
	backends(t, func(t *testing.T, c rueidis.Client) {
		storetest.Run(t, func(t *testing.T) store.Store { return newStore(t, c) })
	})
}

// TestConformanceCached runs the suite against a Store with a client
// cache. Its reads of keys it wrote within the TTL go to the server, so it
// follows the contract like a Store without one.
func TestConformanceCached(t *testing.T) {
	backends(t, func(t *testing.T, c rueidis.Client) {
		storetest.Run(t, func(t *testing.T) store.Store {
			return newCached(t, c, time.Second, "test:"+rand.Text()+":")
		})
	})
}

// TestUnusualKeys round-trips binary data under keys the manager never
// makes: empty, binary, long.
func TestUnusualKeys(t *testing.T) {
	backends(t, func(t *testing.T, c rueidis.Client) {
		ctx := t.Context()
		s := newStore(t, c)
		data := []byte{0, 1, 2, '\r', '\n', 0xff, 0xfe, ' '}
		for _, key := range []string{"a", "b", "", "with space", "\x00\xff", strings.Repeat("k", 1000)} {
			if err := s.Save(ctx, key, data, time.Now().Add(time.Minute)); err != nil {
				t.Fatalf("Save(%q): %v", key, err)
			}
			got, found, err := s.Load(ctx, key)
			if err != nil || !found || !bytes.Equal(got, data) {
				t.Fatalf("Load(%q) = %q, %v, %v; want %q", key, got, found, err, data)
			}
			got[0] = 'x' // the caller owns the bytes
			if again, _, _ := s.Load(ctx, key); !bytes.Equal(again, data) {
				t.Fatalf("Load after modifying a returned slice = %q, want %q", again, data)
			}
		}
		if err := s.Delete(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, "a"); err != nil {
			t.Fatalf("Delete of a missing key: %v", err)
		}
		if _, found, err := s.Load(ctx, "a"); found || err != nil {
			t.Fatalf("Load after Delete: found %v, err %v", found, err)
		}
	})
}

// TestSavePast checks that a Save whose expiry has passed leaves no key,
// whatever was stored before, including the zero time.
func TestSavePast(t *testing.T) {
	backends(t, func(t *testing.T, c rueidis.Client) {
		ctx := t.Context()
		prefix := "test:" + rand.Text() + ":"
		s := newStoreAt(t, c, prefix)
		for _, exp := range []time.Time{{}, time.Unix(0, 0), time.Now().Add(-time.Hour), time.Now()} {
			if err := s.Save(ctx, "k", []byte("old"), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if err := s.Save(ctx, "k", []byte("v"), exp); err != nil {
				t.Fatalf("Save(expiresAt %v): %v", exp, err)
			}
			n, err := c.Do(ctx, c.B().Exists().Key(prefix+"k").Build()).AsInt64()
			if err != nil || n != 0 {
				t.Fatalf("EXISTS after Save(expiresAt %v) = %d, %v; want 0", exp, n, err)
			}
		}
	})
}

func TestTouch(t *testing.T) {
	backends(t, func(t *testing.T, c rueidis.Client) {
		ctx := t.Context()
		prefix := "test:" + rand.Text() + ":"
		s := newStoreAt(t, c, prefix)
		if err := s.Touch(ctx, "missing", time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, found, err := s.LoadAndTouch(ctx, "missing", time.Now().Add(time.Hour)); found || err != nil {
			t.Fatalf("LoadAndTouch(missing): found %v, err %v", found, err)
		}
		if n, _ := c.Do(ctx, c.B().Exists().Key(prefix+"missing").Build()).AsInt64(); n != 0 {
			t.Fatal("touching a missing key created it")
		}

		if err := s.Save(ctx, "k", []byte("v"), time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.Touch(ctx, "k", time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		assertPTTL(t, c, prefix+"k", time.Hour)
		data, found, err := s.LoadAndTouch(ctx, "k", time.Now().Add(2*time.Hour))
		if err != nil || !found || string(data) != "v" {
			t.Fatalf("LoadAndTouch = %q, %v, %v", data, found, err)
		}
		assertPTTL(t, c, prefix+"k", 2*time.Hour)

		if err := s.Touch(ctx, "k", time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, found, _ := s.Load(ctx, "k"); found {
			t.Fatal("record found after a Touch into the past")
		}
		// A touch into the past returns the record as it was and leaves
		// it gone, down to the zero time (PXAT must be positive).
		for _, past := range []time.Time{{}, time.Unix(0, 0), time.Now().Add(-time.Second)} {
			_ = s.Save(ctx, "k", []byte("v"), time.Now().Add(time.Minute))
			if data, found, err := s.LoadAndTouch(ctx, "k", past); string(data) != "v" || !found || err != nil {
				t.Fatalf("LoadAndTouch(%v) = %q, %v, %v; want the record", past, data, found, err)
			}
			if n, _ := c.Do(ctx, c.B().Exists().Key(prefix+"k").Build()).AsInt64(); n != 0 {
				t.Fatalf("key still exists after LoadAndTouch(%v)", past)
			}
		}
	})
}

// assertPTTL checks that key expires in want, give or take a second.
func assertPTTL(t *testing.T, c rueidis.Client, key string, want time.Duration) {
	t.Helper()
	ms, err := c.Do(t.Context(), c.B().Pttl().Key(key).Build()).AsInt64()
	if got := time.Duration(ms) * time.Millisecond; err != nil || got > want || got < want-time.Second {
		t.Fatalf("PTTL %s = %v, %v; want about %v", key, got, err, want)
	}
}

// TestLoadAndTouchOneCommand watches the server with MONITOR and checks that
// LoadAndTouch sends exactly one command for its key: GETEX.
func TestLoadAndTouchOneCommand(t *testing.T) {
	addr := testbackend.Redis(t)
	c := newClient(t, addr)
	prefix := "test:" + rand.Text() + ":"
	s := newStoreAt(t, c, prefix)
	ctx := t.Context()
	if err := s.Save(ctx, "k", []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}

	lines := monitor(t, addr)
	if _, _, err := s.LoadAndTouch(ctx, "k", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Load(ctx, "end"); err != nil { // marks the end of the trace
		t.Fatal(err)
	}
	var cmds []string
	for line := range lines {
		if strings.Contains(line, prefix+"end") {
			break
		}
		if strings.Contains(line, prefix+"k") {
			cmds = append(cmds, line)
		}
	}
	if len(cmds) != 1 || !strings.Contains(cmds[0], `"GETEX"`) {
		t.Fatalf("LoadAndTouch sent %d commands for its key, want one GETEX:\n%s", len(cmds), strings.Join(cmds, "\n"))
	}
	assertPTTL(t, c, prefix+"k", time.Hour)
}

// monitor starts MONITOR on its own connection to addr and returns its
// output lines; the connection closes when t ends.
func monitor(t *testing.T, addr string) <-chan string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	if _, err := conn.Write([]byte("MONITOR\r\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := r.ReadString('\n'); err != nil || line != "+OK\r\n" {
		t.Fatalf("MONITOR: %q, %v", line, err)
	}
	lines := make(chan string)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(lines)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			select {
			case lines <- line:
			case <-t.Context().Done():
				return
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return lines
}

// TestTooLarge lowers the server's proto-max-bulk-len to its minimum, 1 MB,
// for the length of the test and saves 2 MB.
func TestTooLarge(t *testing.T) {
	// The server drops the connection that sent the long value, so the
	// configuration is changed through a client of its own.
	addr := testbackend.Redis(t)
	c := newClient(t, addr)
	ctx := t.Context()
	old, err := c.Do(ctx, c.B().ConfigGet().Parameter("proto-max-bulk-len").Build()).AsStrMap()
	if err != nil {
		t.Skipf("cannot read the server's configuration: %v", err)
	}
	set := func(v string) error {
		return c.Do(context.Background(), c.B().ConfigSet().ParameterValue().ParameterValue("proto-max-bulk-len", v).Build()).Error()
	}
	if err := set("1mb"); err != nil {
		t.Skipf("cannot change the server's configuration: %v", err)
	}
	t.Cleanup(func() {
		if err := set(old["proto-max-bulk-len"]); err != nil {
			t.Errorf("restore proto-max-bulk-len: %v", err)
		}
	})
	s := newStore(t, newClient(t, addr))
	err = s.Save(ctx, "big", make([]byte, 2<<20), time.Now().Add(time.Minute))
	if !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("Save of 2 MB over a 1 MB limit: err = %v, want store.ErrTooLarge", err)
	}
	if err := s.Save(ctx, "small", []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatalf("Save after ErrTooLarge: %v", err)
	}
	// Redis refuses the value and closes the connection; when it closes it
	// before the client reads the refusal, the write fails with the
	// connection's error instead, and SaveIf (not idempotent) is not
	// retried by the client. Try again until the refusal is read.
	for try := 1; ; try++ {
		_, err = s.SaveIf(ctx, "big", make([]byte, 2<<20), time.Now().Add(time.Minute), 0)
		if errors.Is(err, store.ErrTooLarge) {
			break
		}
		var redisErr *rueidis.RedisError
		if err == nil || errors.As(err, &redisErr) || try == 5 {
			t.Fatalf("SaveIf of 2 MB over a 1 MB limit, try %d: err = %v, want store.ErrTooLarge", try, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Redis closes the connection that sent the long value, so a command
	// racing onto it may fail once (EOF) while the client reconnects; a
	// SaveIf is not retried by the client, as it is not idempotent.
	for try := 1; ; try++ {
		_, err := s.SaveIf(ctx, fmt.Sprint("small", try), []byte("v"), time.Now().Add(time.Minute), 0)
		if err == nil {
			break
		}
		if try == 5 {
			t.Fatalf("SaveIf after ErrTooLarge, %d tries: %v", try, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestNoLeak checks that a store leaves no goroutines behind once its
// client is closed.
func TestNoLeak(t *testing.T) {
	addr := testbackend.Redis(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := newStore(t, c)
	for i := range 10 {
		key := fmt.Sprint(i)
		_ = s.Save(t.Context(), key, []byte("v"), time.Now().Add(time.Minute))
		_, _, _ = s.LoadAndTouch(t.Context(), key, time.Now().Add(time.Hour))
	}
}

// unusedClient is a rueidis.Client for tests of New, which does no I/O:
// any call on it panics.
type unusedClient struct{ rueidis.Client }

// TestNew checks New's errors, and that a nil Option is ignored.
func TestNew(t *testing.T) {
	if _, err := redisstore.New(nil); err == nil {
		t.Error("New(nil) succeeded")
	}
	var c unusedClient
	for _, ttl := range []time.Duration{0, -time.Second} {
		_, err := redisstore.New(c, redisstore.WithClientCache(ttl))
		if err == nil || !strings.HasPrefix(err.Error(), "redisstore: WithClientCache: ") {
			t.Errorf("New(WithClientCache(%v)) = %v, want an error naming the package and the option", ttl, err)
		}
	}
	if _, err := redisstore.New(c, nil, redisstore.WithClientCache(time.Second), nil); err != nil {
		t.Errorf("New with nil options: %v", err)
	}
}

// TestClose checks that every call after Close fails with store.ErrClosed,
// that Close is idempotent and that the client stays open.
func TestClose(t *testing.T) {
	c := newClient(t, testbackend.Redis(t))
	prefix := "test:" + rand.Text() + ":"
	for _, s := range []versioned{newStoreAt(t, c, prefix), newCached(t, c, time.Second, prefix)} {
		ctx := t.Context()
		exp := time.Now().Add(time.Minute)
		if err := s.Save(ctx, "k", []byte("v"), exp); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := s.Close(); err != nil {
				t.Fatalf("%T.Close: %v", s, err)
			}
		}
		calls := map[string]func() error{
			"Load":   func() error { _, _, err := s.Load(ctx, "k"); return err },
			"Save":   func() error { return s.Save(ctx, "k", []byte("v"), exp) },
			"Delete": func() error { return s.Delete(ctx, "k") },
			"Touch":  func() error { return s.Touch(ctx, "k", exp) },
			"LoadVersion": func() error {
				_, err := s.LoadVersion(ctx, "k", time.Time{})
				return err
			},
			"SaveIf": func() error { _, err := s.SaveIf(ctx, "k", []byte("v"), exp, 0); return err },
		}
		if lt, ok := s.(store.LoadToucher); ok {
			calls["LoadAndTouch"] = func() error { _, _, err := lt.LoadAndTouch(ctx, "k", exp); return err }
		}
		for name, call := range calls {
			if err := call(); !errors.Is(err, store.ErrClosed) {
				t.Errorf("%T.%s after Close: %v, want store.ErrClosed", s, name, err)
			}
		}
		if got, err := c.Do(ctx, c.B().Get().Key(prefix+"k").Build()).ToString(); err != nil || !strings.HasSuffix(got, "v") {
			t.Fatalf("the client after %T.Close: GET = %q, %v; want the record", s, got, err)
		}
	}
}
