package redisstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/sessionkit/sessions/internal/backendtests/testbackend"
	"github.com/sessionkit/sessions/internal/storeprefix"
	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/store/redisstore"
	"github.com/sessionkit/sessions/storetest"
)

// newReplicated returns a Store on its own prefix that waits for n
// replicas, at most timeout.
func newReplicated(t testing.TB, c rueidis.Client, n int, timeout time.Duration, prefix string) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(c, storeprefix.Redis[redisstore.Option](prefix), redisstore.WithReplicas(n, timeout))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestWithReplicasInvalid checks that New refuses a negative count and a
// count without a positive timeout, with or without a client cache, and
// accepts 0 (off). New does no I/O, so the client is never used.
func TestWithReplicasInvalid(t *testing.T) {
	var c unusedClient
	for _, o := range []struct {
		n       int
		timeout time.Duration
		ok      bool
	}{{-1, time.Second, false}, {1, 0, false}, {1, -time.Second, false}, {0, 0, true}, {2, time.Millisecond, true}} {
		_, err := redisstore.New(c, redisstore.WithReplicas(o.n, o.timeout))
		_, cerr := redisstore.New(c, redisstore.WithClientCache(time.Second), redisstore.WithReplicas(o.n, o.timeout))
		if (err == nil) != o.ok || (cerr == nil) != o.ok {
			t.Errorf("WithReplicas(%d, %v): New: %v, with a client cache: %v; want ok=%v", o.n, o.timeout, err, cerr, o.ok)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "redisstore: WithReplicas: ") {
			t.Errorf("WithReplicas(%d, %v): error %q does not name the package and the option", o.n, o.timeout, err)
		}
	}
}

// TestReplicasConformance runs the suite on a master with one replica,
// every write waiting for it. The suite's timing checks run many writes
// at once, so the client's pool of connections for blocking commands is
// filled first (see warmBlockingPool).
func TestReplicasConformance(t *testing.T) {
	master, _ := testbackend.RedisReplicated(t)
	c := newClient(t, master)
	warmBlockingPool(t, newReplicated(t, c, 1, time.Second, "test:"+rand.Text()+":"), 128)
	t.Run("Store", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			return newReplicated(t, c, 1, time.Second, "test:"+rand.Text()+":")
		})
	})
	t.Run("ClientCache", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			s, err := redisstore.New(c, redisstore.WithClientCache(time.Second), storeprefix.Redis[redisstore.Option]("test:"+rand.Text()+":"), redisstore.WithReplicas(1, time.Second))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
}

// warmBlockingPool makes n writes at once through s, so that its client's
// pool for blocking commands holds n connections: opening one costs a
// dial and a handshake, which on a loaded machine can take most of a
// second when many open at once.
func warmBlockingPool(t *testing.T, s *redisstore.Store, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := s.Save(t.Context(), "warm:"+strconv.Itoa(i), []byte("v"), time.Now().Add(time.Minute)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// TestReplicasOnReplica checks that what Save, SaveIf and Delete wrote is
// on the replica when they return, and that the write and its WAIT leave
// the client in one piece: a proxy between client and master sees them in
// a single read, so WAIT never waits for the write's reply (one round
// trip), and they share one connection.
func TestReplicasOnReplica(t *testing.T) {
	master, replica := testbackend.RedisReplicated(t)
	proxy, chunks := chunkProxy(t, master, "WAIT")
	c := newClient(t, proxy)
	prefix := "test:" + rand.Text() + ":"
	s := newReplicated(t, c, 1, time.Second, prefix)
	rc := newClient(t, replica)
	ctx := t.Context()
	onReplica := func(key string) (string, bool) {
		t.Helper()
		v, err := rc.Do(ctx, rc.B().Get().Key(prefix+key).Build()).ToString()
		if rueidis.IsRedisNil(err) {
			return "", false
		}
		if err != nil {
			t.Fatal(err)
		}
		return v[8:], true // after the version
	}
	sent := func(op, name string) {
		t.Helper()
		select {
		case chunk := <-chunks:
			if !bytes.Contains(chunk, []byte("\r\n"+name+"\r\n")) || !bytes.Contains(chunk, []byte(prefix)) {
				t.Errorf("%s: WAIT was read without the write %s of the key:\n%q", op, name, chunk)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: the proxy saw no WAIT", op)
		}
	}

	exp := time.Now().Add(time.Minute)
	for i := range 20 {
		data := strconv.Itoa(i)
		if err := s.Save(ctx, "save", []byte(data), exp); err != nil {
			t.Fatal(err)
		}
		sent("Save", "SET")
		if got, ok := onReplica("save"); !ok || got != data {
			t.Fatalf("after Save %d the replica holds %q, %v", i, got, ok)
		}
	}
	var v store.Version
	for i := range 20 {
		data := strconv.Itoa(i)
		var err error
		if v, err = s.SaveIf(ctx, "saveif", []byte(data), exp, v); err != nil {
			t.Fatal(err)
		}
		sent("SaveIf", "EVALSHA")
		if got, ok := onReplica("saveif"); !ok || got != data {
			t.Fatalf("after SaveIf %d the replica holds %q, %v", i, got, ok)
		}
	}
	if err := s.Delete(ctx, "saveif"); err != nil {
		t.Fatal(err)
	}
	sent("Delete", "DEL")
	if _, ok := onReplica("saveif"); ok {
		t.Fatal("after Delete the replica still holds the record")
	}
	// A conflict waits for nothing new and reports the conflict.
	if _, err := s.SaveIf(ctx, "save", []byte("x"), exp, v); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("SaveIf with a stale version: %v, want ErrConflict", err)
	}
}

// TestReplicasShortfall asks for more replicas than there are: each write
// happens on the master but returns ErrNotReplicated after the timeout.
// On a Cluster and through Sentinel (masters without replicas), WAIT goes
// to the key's master: it answers, with 0 replicas.
func TestReplicasShortfall(t *testing.T) {
	const timeout = 100 * time.Millisecond
	check := func(t *testing.T, c rueidis.Client, n int) {
		ctx := t.Context()
		s := newReplicated(t, c, n, timeout, "test:"+rand.Text()+":")
		want := func(op string, err error, start time.Time) {
			t.Helper()
			if !errors.Is(err, redisstore.ErrNotReplicated) {
				t.Fatalf("%s: %v, want ErrNotReplicated", op, err)
			}
			if msg := fmt.Sprintf("of %d replicas", n); !strings.Contains(err.Error(), msg) {
				t.Fatalf("%s: %v, want %q (an answer from a master)", op, err, msg)
			}
			if d := time.Since(start); d < timeout || d > timeout+2*time.Second {
				t.Fatalf("%s returned after %v, want the timeout %v", op, d, timeout)
			}
		}
		start := time.Now()
		err := s.Save(ctx, "k", []byte("saved"), time.Now().Add(time.Minute))
		want("Save", err, start)
		l, err := s.LoadVersion(ctx, "k", time.Time{})
		if err != nil || string(l.Data) != "saved" {
			t.Fatalf("after Save: %q, %v; the write is on the master", l.Data, err)
		}
		start = time.Now()
		_, err = s.SaveIf(ctx, "k", []byte("saved if"), time.Now().Add(time.Minute), l.Version)
		want("SaveIf", err, start)
		if data, _, _ := s.Load(ctx, "k"); string(data) != "saved if" {
			t.Fatalf("after SaveIf: %q; the write is on the master", data)
		}
		if _, err := s.SaveIf(ctx, "k", []byte("again"), time.Now().Add(time.Minute), l.Version); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("SaveIf with the version before the unreplicated SaveIf: %v, want ErrConflict", err)
		}
		start = time.Now()
		want("Delete", s.Delete(ctx, "k"), start)
		if _, found, _ := s.Load(ctx, "k"); found {
			t.Fatal("after Delete the record is still on the master")
		}
	}
	t.Run("replicated", func(t *testing.T) {
		master, _ := testbackend.RedisReplicated(t)
		check(t, newClient(t, master), 2)
	})
	deployments(t, func(t *testing.T, dial func() rueidis.Client) { check(t, dial(), 1) })
}

// TestReplicasClusterOneConnection watches every master of the Cluster
// with MONITOR: SaveIf's EVALSHA and its WAIT reach the key's master on
// the same connection, one after the other.
func TestReplicasClusterOneConnection(t *testing.T) {
	addrs := testbackend.RedisCluster(t)
	c := newClient(t, addrs...)
	prefix := "test:" + rand.Text() + ":"
	s := newReplicated(t, c, 1, 10*time.Millisecond, prefix)
	ctx := t.Context()
	nodes := make([]rueidis.Client, len(addrs))
	for j, a := range addrs {
		nodes[j] = nodeClient(t, a)
	}
	for i := range 5 {
		key := "k" + strconv.Itoa(i) // different slots
		monitors := make([]<-chan string, len(addrs))
		for j, a := range addrs {
			monitors[j] = monitor(t, a)
		}
		if _, err := s.SaveIf(ctx, key, []byte("v"), time.Now().Add(time.Minute), 0); !errors.Is(err, redisstore.ErrNotReplicated) {
			t.Fatalf("SaveIf: %v, want ErrNotReplicated (no replicas)", err)
		}
		found := 0 // nodes that saw the write
		for j, lines := range monitors {
			// End each trace with a command of a client of its own.
			end := nodes[j]
			end.Do(ctx, end.B().Arbitrary("ECHO").Args(prefix+"end").Build())
			var write string // the client address of the write
			seen := false
			for line := range lines {
				if strings.Contains(line, prefix+"end") {
					break
				}
				if strings.Contains(line, " lua]") {
					continue
				}
				switch {
				case strings.Contains(line, prefix+key): // EVALSHA, or EVAL after NOSCRIPT
					write, seen = clientOf(line), true
				case write != "" && clientOf(line) == write:
					if !strings.Contains(line, `"WAIT"`) {
						t.Fatalf("%s: after the write, the connection sent %s", addrs[j], line)
					}
					write = "" // the WAIT followed
				case strings.Contains(line, `"WAIT"`):
					t.Fatalf("%s: WAIT on another connection or node: %s", addrs[j], line)
				}
			}
			if write != "" {
				t.Fatalf("%s: the write was not followed by WAIT on its connection", addrs[j])
			}
			if seen {
				found++
			}
		}
		if found != 1 {
			t.Fatalf("the write reached %d nodes, want 1", found)
		}
	}
}

// nodeClient connects to the one Redis node at addr, even a Cluster node,
// and closes the client when t ends.
func nodeClient(t *testing.T, addr string) rueidis.Client {
	t.Helper()
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, ForceSingleClient: true, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// clientOf returns the client address of a MONITOR line:
// `1700000000.000000 [0 172.17.0.1:40000] "GET" "k"`.
func clientOf(line string) string {
	_, rest, _ := strings.Cut(line, "[")
	rest, _, _ = strings.Cut(rest, "]")
	return rest
}

// TestReplicasClusterAsk marks the slot of a key as migrating to another
// master: the key's master answers the write with ASK, and the store sends
// ASKING, the write and WAIT to the new node together, where the record
// lands.
func TestReplicasClusterAsk(t *testing.T) {
	addrs := testbackend.RedisCluster(t)
	c := newClient(t, addrs...)
	ctx := t.Context()
	prefix := "{ask" + rand.Text() + "}:"
	s := newReplicated(t, c, 1, 10*time.Millisecond, prefix)

	slot, err := c.Do(ctx, c.B().ClusterKeyslot().Key(prefix+"k").Build()).AsInt64()
	if err != nil {
		t.Fatal(err)
	}
	// Direct clients to each master, with its ID and slot ranges.
	type node struct {
		c  rueidis.Client
		id string
	}
	var from, to *node
	for _, a := range addrs {
		nc := nodeClient(t, a)
		id, err := nc.Do(ctx, nc.B().ClusterMyid().Build()).ToString()
		if err != nil {
			t.Fatal(err)
		}
		n := &node{nc, id}
		// The owner answers the key's GET; the others redirect.
		err = nc.Do(ctx, nc.B().Get().Key(prefix+"k").Build()).Error()
		if _, moved := movedErr(err); !moved && from == nil {
			from = n
		} else if to == nil {
			to = n
		}
	}
	if from == nil || to == nil {
		t.Fatal("could not find the slot's master and another")
	}
	setslot := func(n *node, args ...string) {
		t.Helper()
		if err := n.c.Do(context.Background(), n.c.B().Arbitrary("CLUSTER", "SETSLOT").Args(append([]string{strconv.FormatInt(slot, 10)}, args...)...).Build()).Error(); err != nil {
			t.Fatal(err)
		}
	}
	setslot(to, "IMPORTING", from.id)
	setslot(from, "MIGRATING", to.id)
	t.Cleanup(func() {
		to.c.DoMulti(context.Background(), to.c.B().Asking().Build(), to.c.B().Del().Key(prefix+"k").Build())
		setslot(from, "STABLE")
		setslot(to, "STABLE")
	})

	_, err = s.SaveIf(ctx, "k", []byte("v"), time.Now().Add(time.Minute), 0)
	if !errors.Is(err, redisstore.ErrNotReplicated) || !strings.Contains(err.Error(), "0 of 1 replicas") {
		t.Fatalf("SaveIf during the migration: %v, want ErrNotReplicated from WAIT on the new node", err)
	}
	res := to.c.DoMulti(ctx, to.c.B().Asking().Build(), to.c.B().Get().Key(prefix+"k").Build())
	if v, err := res[1].ToString(); err != nil || !strings.HasSuffix(v, "v") {
		t.Fatalf("the new node holds %q, %v", v, err)
	}
	if n, _ := from.c.Do(ctx, from.c.B().Exists().Key(prefix+"k").Build()).AsInt64(); n != 0 {
		t.Fatal("the record is on the old node too")
	}
}

// movedErr reports whether err is a MOVED redirection.
func movedErr(err error) (string, bool) {
	if rerr, ok := rueidis.IsRedisErr(err); ok {
		return rerr.IsMoved()
	}
	return "", false
}

// chunkProxy forwards TCP connections to addr and sends on the returned
// channel every chunk a client sent that contains mark, as the proxy read
// it in one piece. It stops when t ends.
func chunkProxy(t *testing.T, addr, mark string) (string, <-chan []byte) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	chunks := make(chan []byte, 1000)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	track := func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	wg.Go(func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", addr)
			if err != nil {
				client.Close()
				continue
			}
			track(client)
			track(server)
			wg.Go(func() {
				io.Copy(client, server)
				client.Close()
			})
			wg.Go(func() {
				defer server.Close()
				buf := make([]byte, 1<<20)
				for {
					n, err := client.Read(buf)
					if n > 0 {
						if bytes.Contains(buf[:n], []byte(mark)) {
							select {
							case chunks <- bytes.Clone(buf[:n]):
							default:
							}
						}
						if _, err := server.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String(), chunks
}

// BenchmarkReplicas compares writes that wait for one replica
// (WithReplicas) with plain writes, side by side on the same master with
// one replica, records of 256 bytes: interleaved (one of each per
// iteration, with their medians), then each alone, serial and parallel
// (each goroutine writes a key of its own).
func BenchmarkReplicas(b *testing.B) {
	master, _ := testbackend.RedisReplicated(b)
	c := newClient(b, master)
	plain := newStore(b, c)
	replicated := newReplicated(b, c, 1, time.Second, "test:"+rand.Text()+":")
	ctx := b.Context()
	data := make([]byte, 256)
	exp := time.Now().Add(time.Hour)
	var keys atomic.Int64
	for _, op := range []struct {
		name string
		run  func(s *redisstore.Store) func() error
	}{
		{"Save", func(s *redisstore.Store) func() error {
			key := fmt.Sprint("save:", keys.Add(1))
			return func() error { return s.Save(ctx, key, data, exp) }
		}},
		{"SaveIf", func(s *redisstore.Store) func() error {
			key := fmt.Sprint("saveif:", keys.Add(1))
			var v store.Version
			return func() (err error) {
				v, err = s.SaveIf(ctx, key, data, exp, v)
				return err
			}
		}},
	} {
		// Plain and replicated writes alternate, so that both see the
		// same load on a busy machine: the medians and their ratio are
		// the latency cost of waiting for the replica.
		b.Run(op.name+"/interleaved", func(b *testing.B) {
			doPlain, doReplicated := op.run(plain), op.run(replicated)
			var p, r []time.Duration
			for b.Loop() {
				t0 := time.Now()
				if err := doPlain(); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := doReplicated(); err != nil {
					b.Fatal(err)
				}
				p, r = append(p, t1.Sub(t0)), append(r, time.Since(t1))
			}
			slices.Sort(p)
			slices.Sort(r)
			q := func(d []time.Duration, f float64) float64 { return float64(d[int(f*float64(len(d)-1))]) }
			b.ReportMetric(q(p, 0.5), "plain-p50-ns")
			b.ReportMetric(q(r, 0.5), "replicas-p50-ns")
			b.ReportMetric(q(r, 0.5)/q(p, 0.5), "p50-ratio")
			b.ReportMetric(q(p, 0.99), "plain-p99-ns")
			b.ReportMetric(q(r, 0.99), "replicas-p99-ns")
		})
		for _, st := range []struct {
			name string
			s    *redisstore.Store
		}{{"plain", plain}, {"replicas=1", replicated}} {
			b.Run(op.name+"/"+st.name+"/serial", func(b *testing.B) {
				b.ReportAllocs()
				do := op.run(st.s)
				for b.Loop() {
					if err := do(); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(op.name+"/"+st.name+"/parallel", func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					do := op.run(st.s)
					for pb.Next() {
						if err := do(); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}
