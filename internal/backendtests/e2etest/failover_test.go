package e2etest_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"go.uber.org/goleak"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/internal/backendtests/testbackend"
	"github.com/sessionkit/sessions/store/redisstore"
)

// The failover tests run traffic through a manager on a real HTTP server
// while they kill the Redis master that holds busy sessions, and measure
// what the application sees: how long requests take while the master is
// gone (the store timeout bounds them), when traffic recovers (with the
// same client, nothing restarted), and how many saves the application
// acknowledged (a 2xx response) that the new master does not have.
const (
	failoverClients = 16
	// failoverStoreTimeout bounds every store call of the manager: a
	// request makes at most two while failing (load, then one write).
	failoverStoreTimeout = time.Second
	// failoverWait is WithReplicas' timeout, below the store timeout.
	failoverWait = 500 * time.Millisecond
	// failoverCacheTTL is the client cache's staleness bound.
	failoverCacheTTL = time.Second
	// failoverRecovered is how many requests in a row, started after the
	// kill, each client must get answered with 2xx for traffic to count
	// as recovered.
	failoverRecovered = 20
)

// failoverData is the session of a failover client: a counter that each
// modifying request increments, so that every acknowledged save is one
// number higher than the one before.
type failoverData struct{ N int }

// failoverScenario is one run on a deployment: with WithReplicas or
// without, the master killed while its replicas keep up (the usual case)
// or while they lag: cut off from the master for failoverLag before the
// kill, as a partition between them would leave them.
type failoverScenario struct {
	replicas int
	lag      bool
}

// The lagging case without WithReplicas runs on Sentinel only: it shows
// the loss window, and checks that the test sees lost saves, where the
// Cluster would show the same (the same asynchronous replication) at a
// higher cost in time.
var (
	clusterScenarios  = []failoverScenario{{0, false}, {1, false}, {1, true}}
	sentinelScenarios = []failoverScenario{{0, false}, {1, false}, {0, true}, {1, true}}
)

// failoverLag is how long the replicas are cut off before the kill in the
// lagging scenarios.
const failoverLag = 700 * time.Millisecond

func scenarioName(replicas int, lag bool) string {
	name := replicasName(replicas)
	if lag {
		name += "/replicas cut off"
	}
	return name
}

// TestFailoverCluster kills, under traffic, the Cluster master that holds
// the most client sessions (not the one with the spare replica). Its
// replica takes over after the cluster-node-timeout plus an election; with
// WithReplicas, writes to the shard resume once the spare replica has
// migrated to the new master (Redis's replica migration).
func TestFailoverCluster(t *testing.T) {
	for _, sc := range clusterScenarios {
		t.Run(scenarioName(sc.replicas, sc.lag), func(t *testing.T) {
			h := testbackend.RedisClusterHA(t, 1)
			// Goroutines of the deployment's start are not the test's.
			defer verifyNoLeaks(t, goleak.IgnoreCurrent())
			runFailover(t, failoverEnv{
				replicas: sc.replicas,
				lag:      sc.lag,
				dial: func(t *testing.T) rueidis.Client {
					return failoverClient(t, rueidis.ClientOption{InitAddress: h.Addrs})
				},
				victim: func(t *testing.T, c rueidis.Client, keys []string) (string, []bool) {
					owners := make([]string, len(keys))
					count := map[string]int{}
					for i, k := range keys {
						owners[i] = slotMaster(t, c, k)
						count[owners[i]]++
					}
					victim := ""
					for addr, n := range count {
						// h.Addrs[0] is the master with the spare replica.
						if addr != h.Addrs[0] && (victim == "" || n > count[victim]) {
							victim = addr
						}
					}
					affected := make([]bool, len(keys))
					for i := range keys {
						affected[i] = owners[i] == victim
					}
					return victim, affected
				},
				promoted: func(t *testing.T, c rueidis.Client, victim, key string) bool {
					m := slotMaster(t, c, key)
					return m != "" && m != victim
				},
				replicasOf: clusterReplicas,
				kill:       h.Kill,
				cut:        h.CutReplicas,
				logs:       h.LogTails,
			})
		})
	}
}

// TestFailoverSentinel kills, under traffic, the master that the
// Sentinels watch. One of its two replicas takes over after
// down-after-milliseconds plus an election; the client follows the
// Sentinels' switch-master message.
func TestFailoverSentinel(t *testing.T) {
	for _, sc := range sentinelScenarios {
		t.Run(scenarioName(sc.replicas, sc.lag), func(t *testing.T) {
			h := testbackend.RedisSentinelHA(t)
			// Goroutines of the deployment's start are not the test's.
			defer verifyNoLeaks(t, goleak.IgnoreCurrent())
			sentinelOpt := func() rueidis.ClientOption {
				return rueidis.ClientOption{
					InitAddress: h.Addrs,
					Sentinel: rueidis.SentinelOption{
						MasterSet: testbackend.SentinelMasterSet,
						Dialer:    net.Dialer{Timeout: failoverStoreTimeout},
					},
				}
			}
			// Ask the Sentinels which master they hand out.
			sentinels := make([]rueidis.Client, len(h.Addrs))
			for i, addr := range h.Addrs {
				sentinels[i] = failoverClient(t, rueidis.ClientOption{InitAddress: []string{addr}, ForceSingleClient: true, DisableCache: true})
				defer sentinels[i].Close()
			}
			sentinel := sentinels[0]
			master := func(t *testing.T) string {
				ctx, cancel := context.WithTimeout(t.Context(), failoverStoreTimeout)
				defer cancel()
				c := sentinel
				v, err := c.Do(ctx, c.B().SentinelGetMasterAddrByName().Master(testbackend.SentinelMasterSet).Build()).AsStrSlice()
				if err != nil || len(v) != 2 {
					return ""
				}
				return net.JoinHostPort(v[0], v[1])
			}
			runFailover(t, failoverEnv{
				replicas: sc.replicas,
				lag:      sc.lag,
				dial:     func(t *testing.T) rueidis.Client { return failoverClient(t, sentinelOpt()) },
				victim: func(t *testing.T, _ rueidis.Client, keys []string) (string, []bool) {
					affected := make([]bool, len(keys))
					for i := range affected {
						affected[i] = true
					}
					return master(t), affected
				},
				promoted: func(t *testing.T, _ rueidis.Client, victim, _ string) bool {
					m := master(t)
					return m != "" && m != victim
				},
				replicasOf: func(t *testing.T, _ rueidis.Client, _ string) []string {
					c := sentinel
					list, err := c.Do(t.Context(), c.B().SentinelReplicas().Master(testbackend.SentinelMasterSet).Build()).ToArray()
					if err != nil {
						t.Fatal(err)
					}
					var out []string
					for _, e := range list {
						m, _ := e.AsStrMap()
						out = append(out, net.JoinHostPort(m["ip"], m["port"]))
					}
					return out
				},
				settled: func(t *testing.T, victim string) bool {
					return sentinelsSettled(t, sentinels, victim)
				},
				kill: h.Kill,
				cut:  h.CutReplicas,
				logs: h.LogTails,
			})
		})
	}
}

// TestFailoverStandalone kills a standalone server under traffic and
// starts it again a second later, as an orchestrator would, with the
// files it left: without persistence every session is gone; with an
// append-only file fsynced before every reply, no acknowledged save is.
func TestFailoverStandalone(t *testing.T) {
	for _, sc := range []struct {
		name    string
		durable bool
		flags   []string
	}{
		{"no persistence", false, []string{"--save", "", "--appendonly", "no"}},
		{"AOF appendfsync always", true, []string{"--save", "", "--appendonly", "yes", "--appendfsync", "always"}},
	} {
		t.Run(sc.name, func(t *testing.T) {
			h := testbackend.RedisRestartable(t, sc.flags...)
			// Goroutines of the server's start are not the test's.
			defer verifyNoLeaks(t, goleak.IgnoreCurrent())
			addr := h.Addrs[0]
			runFailover(t, failoverEnv{
				durable: sc.durable,
				forgets: !sc.durable,
				dial: func(t *testing.T) rueidis.Client {
					return failoverClient(t, rueidis.ClientOption{InitAddress: []string{addr}})
				},
				victim: func(t *testing.T, _ rueidis.Client, keys []string) (string, []bool) {
					affected := make([]bool, len(keys))
					for i := range affected {
						affected[i] = true
					}
					return addr, affected
				},
				promoted: func(t *testing.T, c rueidis.Client, _, _ string) bool {
					ctx, cancel := context.WithTimeout(t.Context(), failoverStoreTimeout)
					defer cancel()
					return c.Do(ctx, c.B().Ping().Build()).Error() == nil
				},
				kill: func(t testing.TB, addr string) {
					h.Kill(t, addr)
					time.Sleep(time.Second)
					h.Restart(t, addr)
				},
				logs: h.LogTails,
			})
		})
	}
}

// sentinelsSettled reports whether every Sentinel hands out the same
// master, not victim, sees it up with no failover in progress, and that
// master has a replica in sync: a write can be replicated. (Sentinels may
// still fail the new master over again, as they do when one of them
// missed its answers for down-after-milliseconds on a loaded machine;
// runFailover checks this again and again.)
func sentinelsSettled(t *testing.T, sentinels []rueidis.Client, victim string) bool {
	ctx, cancel := context.WithTimeout(t.Context(), failoverStoreTimeout)
	defer cancel()
	master := ""
	for _, c := range sentinels {
		v, err := c.Do(ctx, c.B().SentinelGetMasterAddrByName().Master(testbackend.SentinelMasterSet).Build()).AsStrSlice()
		if err != nil || len(v) != 2 {
			return false
		}
		addr := net.JoinHostPort(v[0], v[1])
		if addr == victim || (master != "" && addr != master) {
			return false
		}
		master = addr
		state, err := c.Do(ctx, c.B().Arbitrary("SENTINEL", "MASTER").Args(testbackend.SentinelMasterSet).Build()).AsStrMap()
		if err != nil || state["flags"] != "master" {
			return false
		}
	}
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{master}, ForceSingleClient: true, DisableCache: true, DisableRetry: true,
		Dialer: net.Dialer{Timeout: failoverStoreTimeout}})
	if err != nil {
		return false
	}
	defer c.Close()
	info, err := c.Do(ctx, c.B().Info().Section("replication").Build()).ToString()
	return err == nil && strings.Contains(info, "role:master") && strings.Contains(info, ",state=online,")
}

// waitFor polls cond every 50 ms until it holds, for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); ; time.Sleep(50 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}

// clusterReplicas returns the addresses of the replicas of the master at
// addr, from CLUSTER NODES.
func clusterReplicas(t *testing.T, c rueidis.Client, addr string) []string {
	nodes, err := c.Do(t.Context(), c.B().ClusterNodes().Build()).ToString()
	if err != nil {
		t.Fatal(err)
	}
	all := testbackend.ParseClusterNodes(nodes)
	var id string
	for _, n := range all {
		if n.Addr == addr {
			id = n.ID
		}
	}
	var out []string
	for _, n := range all {
		if n.MasterID == id && n.Is("slave") {
			out = append(out, n.Addr)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no replica of %s in CLUSTER NODES:\n%s", addr, nodes)
	}
	return out
}

func replicasName(n int) string {
	if n == 0 {
		return "plain"
	}
	return fmt.Sprintf("WithReplicas(%d)", n)
}

// failoverClient connects with opt and the timeouts that keep the client
// from ever waiting longer than the store timeout: dialing, and writes and
// pings on a connection that stopped answering.
func failoverClient(t *testing.T, opt rueidis.ClientOption) rueidis.Client {
	t.Helper()
	opt.ConnWriteTimeout = failoverStoreTimeout
	opt.Dialer.Timeout = failoverStoreTimeout
	c, err := rueidis.NewClient(opt)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// slotMaster returns the address of the master serving key's slot, as
// CLUSTER SLOTS names it, or "" when c cannot tell.
func slotMaster(t *testing.T, c rueidis.Client, key string) string {
	ctx, cancel := context.WithTimeout(t.Context(), failoverStoreTimeout)
	defer cancel()
	slot, err := c.Do(ctx, c.B().ClusterKeyslot().Key(key).Build()).AsInt64()
	if err != nil {
		return ""
	}
	ranges, err := c.Do(ctx, c.B().ClusterSlots().Build()).ToArray()
	if err != nil {
		return ""
	}
	for _, r := range ranges {
		v, _ := r.ToArray()
		if len(v) < 3 {
			continue
		}
		lo, _ := v[0].AsInt64()
		hi, _ := v[1].AsInt64()
		if slot < lo || slot > hi {
			continue
		}
		node, _ := v[2].ToArray()
		if len(node) < 2 {
			return ""
		}
		host, _ := node[0].ToString()
		port, _ := node[1].AsInt64()
		return net.JoinHostPort(host, strconv.FormatInt(port, 10))
	}
	return ""
}

// failoverEnv is a deployment under test.
type failoverEnv struct {
	replicas int  // WithReplicas(replicas, failoverWait), or 0
	durable  bool // no acknowledged save may be lost (implied by replicas > 0)
	forgets  bool // the new master starts empty: saves must be lost
	lag      bool // cut the master's replicas off for failoverLag before the kill
	// dial opens a new client to the deployment; the caller closes it.
	dial func(t *testing.T) rueidis.Client
	// victim names the master to kill, given the store keys of the
	// clients' sessions, and which of them it holds.
	victim func(t *testing.T, c rueidis.Client, keys []string) (addr string, affected []bool)
	// promoted reports whether another master than victim serves key.
	promoted func(t *testing.T, c rueidis.Client, victim, key string) bool
	// settled, if set, reports whether the deployment has settled after
	// the promotion: a second failover (Sentinels may fail over the new
	// master again) can still fail requests until it has. Traffic counts
	// as recovered only from then on.
	settled func(t *testing.T, victim string) bool
	// replicasOf returns the addresses of the replicas of a master.
	replicasOf func(t *testing.T, c rueidis.Client, master string) []string
	// kill kills a node's container; cut cuts a master off from its
	// replicas.
	kill, cut func(t testing.TB, addr string)
	logs      func(t testing.TB) // logs the servers' log tails
}

// A failoverClientState is one HTTP client with its own session.
type failoverClientState struct {
	id        int
	http      *http.Client
	token     atomic.Pointer[string] // the session cookie, for the cache watcher
	settled   *atomic.Int64          // when the deployment settled after the kill (UnixNano), or 0
	disturbed *atomic.Int64          // when the replicas were cut off or the master was killed, or 0

	// Owned by the client's goroutine until the traffic stops.
	acked    int // the highest counter a 2xx response acknowledged since the last loss
	lost     int // acknowledged increments later found missing
	requests []failoverRequest
	acks     []failoverAck

	// For the warm-up and recovery checks while traffic runs.
	ok       atomic.Int64 // 2xx answers
	streak   atomic.Int64 // 2xx in a row among requests started after the deployment settled
	lastFail atomic.Int64 // when the last failed request ended (UnixNano)
}

type failoverRequest struct {
	op             string
	start, end     time.Time
	status         int  // 0: no response (transport error or client timeout)
	afterDisturbed bool // started after the replicas were cut off or the master died
}

// failoverAck is an acknowledged save of counter n, whose request ran
// from start to end.
type failoverAck struct {
	start, end time.Time
	n          int
}

var failoverOps = []string{"/read", "/inc", "/update"}

func runFailover(t *testing.T, env failoverEnv) {
	ctx := t.Context()
	prefix := "fo:" + rand.Text()[:8] + ":"

	client := env.dial(t)
	defer client.Close()
	var opts []redisstore.Option
	if env.replicas > 0 {
		opts = append(opts, redisstore.WithReplicas(env.replicas, failoverWait))
	}
	st, err := redisstore.New(client, opts...)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	// The manager's last log lines tell why a request failed after the
	// recovery, where the client only sees a 500.
	mlog := &logTail{}
	m, err := sessions.New[failoverData](sessions.WithStore(st), sessions.WithStoreTimeout(failoverStoreTimeout),
		sessions.WithKeyPrefix(prefix), sessions.WithLogger(slog.New(slog.NewTextHandler(mlog, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	// A second application instance reads the sessions through the
	// client-side cache.
	cacheClient := env.dial(t)
	defer cacheClient.Close()
	cst, err := redisstore.New(cacheClient, redisstore.WithClientCache(failoverCacheTTL))
	if err != nil {
		t.Fatal(err)
	}
	cm, err := sessions.New[failoverData](sessions.WithStore(cst), sessions.WithStoreTimeout(failoverStoreTimeout),
		sessions.WithKeyPrefix(prefix), sessions.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer cm.Close()

	var panics atomic.Int64
	srv := httptest.NewServer(m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				panics.Add(1)
				t.Errorf("handler panic: %v", p)
				panic(http.ErrAbortHandler)
			}
		}()
		ctx := r.Context()
		switch r.URL.Path {
		case "/read":
			io.WriteString(w, strconv.Itoa(m.Get(ctx).N))
		case "/inc":
			d := m.Get(ctx)
			d.N++
			io.WriteString(w, strconv.Itoa(d.N)) // saved before this goes out
		case "/update":
			if err := m.Update(ctx, func(d *failoverData) error { d.N++; return nil }); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			io.WriteString(w, strconv.Itoa(m.Get(ctx).N))
		}
	})))
	defer srv.Close()
	srvURL, _ := url.Parse(srv.URL)
	transport := &http.Transport{MaxIdleConnsPerHost: failoverClients}
	defer transport.CloseIdleConnections()

	var disturbed, settled atomic.Int64
	clients := make([]*failoverClientState, failoverClients)
	for i := range clients {
		jar, _ := cookiejar.New(nil)
		clients[i] = &failoverClientState{id: i, disturbed: &disturbed, settled: &settled,
			// The timeout catches a hang, far above the bound asserted.
			http: &http.Client{Transport: transport, Jar: jar, Timeout: 10 * failoverStoreTimeout}}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() { c.run(t, srv.URL, srvURL, stop) })
	}
	var watch failoverWatch
	wg.Go(func() { watch.run(cm, clients, stop) })
	stopped := false
	stopTraffic := func() {
		if !stopped {
			stopped = true
			close(stop)
			wg.Wait()
		}
	}
	defer stopTraffic()

	// Warm up: every client has a session and a few answers.
	warm := time.Now()
	for !allClients(clients, func(c *failoverClientState) bool { return c.ok.Load() >= 10 && c.token.Load() != nil }) {
		if time.Since(warm) > 30*time.Second {
			t.Fatal("warm-up: not every client got a session in 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Second)
	keys := make([]string, len(clients))
	for i, c := range clients {
		keys[i] = sessionKey(prefix, *c.token.Load())
		if n, err := client.Do(ctx, client.B().Exists().Key(keys[i]).Build()).AsInt64(); err != nil || n != 1 {
			t.Fatalf("session key %s: EXISTS = %d, %v (did the manager's key derivation change?)", keys[i], n, err)
		}
	}
	victim, affected := env.victim(t, client, keys)
	if victim == "" {
		t.Fatal("no master to kill")
	}
	busy := slices.Index(affected, true)
	t.Logf("killing master %s, which holds %d of %d sessions", victim, countTrue(affected), len(clients))

	// From here on, requests may fail.
	disturbedAt := time.Now()
	disturbed.Store(disturbedAt.UnixNano())
	var cutDone time.Time
	if env.lag {
		env.cut(t, victim)
		cutDone = time.Now()
		t.Logf("cut the replicas %v off for %v", env.replicasOf(t, client, victim), failoverLag)
		time.Sleep(failoverLag - time.Since(disturbedAt))
	}
	killedAt := time.Now()
	env.kill(t, victim)
	// The master dies somewhere in the Docker call: replies it sent
	// before may arrive until it returns.
	deadBy := time.Now()

	// Wait for the promotion and for traffic to recover.
	var promotedAfter, recoveredAfter time.Duration
	for {
		since := time.Since(killedAt)
		if promotedAfter == 0 && env.promoted(t, client, victim, keys[busy]) {
			promotedAfter = since
			t.Logf("a master serves the sessions again %v after the kill", promotedAfter.Round(time.Millisecond))
			if promotedAfter > 10*time.Second {
				env.logs(t)
			}
		}
		if promotedAfter > 0 {
			switch ok := env.settled == nil || env.settled(t, victim); {
			case ok && settled.Load() == 0:
				settled.Store(time.Now().UnixNano())
				if env.settled != nil {
					t.Logf("the deployment settled %v after the kill", since.Round(time.Millisecond))
				}
			case !ok && settled.Load() != 0:
				// Another failover: recovery starts over.
				t.Logf("the deployment is failing over again %v after the kill", since.Round(time.Millisecond))
				settled.Store(0)
				for _, c := range clients {
					c.streak.Store(0)
				}
			}
		}
		if settled.Load() != 0 && allClients(clients, func(c *failoverClientState) bool { return c.streak.Load() >= failoverRecovered }) {
			var last int64
			for _, c := range clients {
				last = max(last, c.lastFail.Load())
			}
			if last > 0 {
				recoveredAfter = time.Duration(last - killedAt.UnixNano())
			}
			break
		}
		if since > 60*time.Second {
			env.logs(t)
			stopTraffic()
			report(t, clients, &watch, disturbedAt, cutDone, deadBy, affected)
			t.Fatalf("traffic did not recover within %v of the kill (promoted after %v)", since.Round(time.Millisecond), promotedAfter)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	stopTraffic()
	if env.settled != nil && !waitFor(30*time.Second, func() bool { return env.settled(t, victim) }) {
		env.logs(t)
		t.Fatal("the deployment did not settle again within 30 s after the traffic recovered")
	}
	t.Logf("traffic recovered %v after the kill (the last failed request ended then), without restarting the application",
		recoveredAfter.Round(time.Millisecond))

	// After recovery, read every session and compare with what was
	// acknowledged.
	for _, c := range clients {
		res, err := c.http.Get(srv.URL + "/read")
		if err != nil {
			t.Fatalf("final read: %v", err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		n, err := strconv.Atoi(string(body))
		if res.StatusCode != http.StatusOK || err != nil {
			env.logs(t)
			t.Fatalf("final read of client %d: %d %q; the manager's last log lines:\n%s", c.id, res.StatusCode, body, mlog)
		}
		c.observe(n)
	}
	// The new master's writes reach the cached instance within the TTL.
	var maxVisible time.Duration
	for _, c := range clients {
		res, err := c.http.Get(srv.URL + "/inc")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		acked := time.Now()
		n, err := strconv.Atoi(string(body))
		if res.StatusCode != http.StatusOK || err != nil {
			env.logs(t)
			t.Fatalf("write after recovery: %d %q; the manager's last log lines:\n%s", res.StatusCode, body, mlog)
		}
		for {
			ctx, err := cm.Load(t.Context(), *c.token.Load())
			if err == nil && cm.Get(ctx).N >= n {
				maxVisible = max(maxVisible, time.Since(acked))
				break
			}
			if time.Since(acked) > failoverCacheTTL+250*time.Millisecond {
				t.Errorf("client %d: the cached instance still reads an older session %v after a save (TTL %v), error %v",
					c.id, time.Since(acked).Round(time.Millisecond), failoverCacheTTL, err)
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	t.Logf("after recovery, a save reached the cached instance within %v (TTL %v)", maxVisible.Round(time.Microsecond), failoverCacheTTL)

	lost, stale, doomed := report(t, clients, &watch, disturbedAt, cutDone, deadBy, affected)
	if (env.durable || env.replicas > 0) && lost > 0 {
		t.Errorf("%d acknowledged saves lost", lost)
	}
	if env.forgets && lost == 0 {
		t.Error("the server restarted empty, yet no lost save was counted")
	}
	if env.lag && env.replicas == 0 {
		// Saves sent after the cut and acknowledged before the master
		// died reached no replica: the test must count them as lost.
		if doomed == 0 {
			t.Error("no save was sent after the cut and acknowledged before the kill: the scenario missed the window")
		}
		if lost < doomed {
			t.Errorf("counted %d lost saves, but %d saves were acknowledged after the replicas were cut off", lost, doomed)
		}
	}
	if stale > 0 {
		t.Errorf("%d cached reads older than the cache TTL (%v)", stale, failoverCacheTTL)
	}
	if n := panics.Load(); n > 0 {
		t.Errorf("%d handler panics", n)
	}

	// Close everything; the deferred goleak check follows.
	srv.Close()
	transport.CloseIdleConnections()
	for _, c := range clients {
		c.http.CloseIdleConnections()
	}
	m.Close()
	cm.Close()
	client.Close()
	cacheClient.Close()
}

// run sends requests until stop, cycling through the operations.
func (c *failoverClientState) run(t *testing.T, base string, u *url.URL, stop <-chan struct{}) {
	for i := c.id; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		op := failoverOps[i%len(failoverOps)]
		if c.token.Load() == nil {
			op = "/inc" // create the session first
		}
		afterSettled := c.settled.Load() != 0
		r := failoverRequest{op: op, start: time.Now(), afterDisturbed: c.disturbed.Load() != 0}
		res, err := c.http.Get(base + op)
		var body []byte
		if err == nil {
			body, err = io.ReadAll(res.Body)
			res.Body.Close()
			r.status = res.StatusCode
		}
		r.end = time.Now()
		c.requests = append(c.requests, r)
		if err != nil || r.status != http.StatusOK {
			c.lastFail.Store(r.end.UnixNano())
			c.streak.Store(0)
			time.Sleep(2 * time.Millisecond)
			continue
		}
		c.ok.Add(1)
		if afterSettled {
			c.streak.Add(1)
		}
		for _, ck := range c.http.Jar.Cookies(u) {
			if ck.Name == "session" {
				v := ck.Value
				c.token.Store(&v)
			}
		}
		n, err := strconv.Atoi(string(body))
		if err != nil {
			t.Errorf("client %d: %s answered %q", c.id, op, body)
			continue
		}
		if op == "/read" {
			c.observe(n)
		} else {
			c.observe(n - 1) // the value it incremented
			c.acked = n
			c.acks = append(c.acks, failoverAck{r.start, r.end, n})
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// observe takes note that the session held n: acknowledged increments
// above n were lost.
func (c *failoverClientState) observe(n int) {
	if n < c.acked {
		c.lost += c.acked - n
		c.acked = n
	}
}

// failoverWatch reads the clients' sessions through the cached store, in
// a loop, and keeps what it saw.
type failoverWatch struct {
	samples []failoverSample
	errors  int
}

type failoverSample struct {
	client int
	start  time.Time
	n      int
}

func (w *failoverWatch) run(cm *sessions.Manager[failoverData], clients []*failoverClientState, stop <-chan struct{}) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		c := clients[i%len(clients)]
		token := c.token.Load()
		if token == nil {
			time.Sleep(time.Millisecond)
			continue
		}
		start := time.Now()
		ctx, err := cm.Load(context.Background(), *token)
		if err != nil {
			w.errors++
			time.Sleep(time.Millisecond)
			continue
		}
		w.samples = append(w.samples, failoverSample{c.id, start, cm.Get(ctx).N})
		time.Sleep(time.Millisecond)
	}
}

// report logs the run's numbers and returns the lost acknowledged saves,
// the cached reads that broke the staleness bound, and the saves of the
// killed master's sessions sent after cutDone (if not zero) and
// acknowledged before deadBy.
func report(t *testing.T, clients []*failoverClientState, w *failoverWatch, disturbedAt, cutDone, deadBy time.Time, affected []bool) (lost, stale, doomed int) {
	t.Helper()
	var (
		total, failed, failedAffected, early, noAnswer, laggedAcks int
		maxLatency, maxFailing                                     time.Duration
		statuses                                                   = map[int]int{}
		calm                                                       []time.Duration // 2xx before any disturbance
	)
	lossy := map[int]bool{}
	for _, c := range clients {
		for _, a := range c.acks {
			if affected[c.id] && a.end.After(disturbedAt) && a.end.Before(deadBy) {
				laggedAcks++
				if !cutDone.IsZero() && a.start.After(cutDone) {
					doomed++
				}
			}
		}
		lost += c.lost
		if c.lost > 0 {
			lossy[c.id] = true
		}
		for _, r := range c.requests {
			total++
			d := r.end.Sub(r.start)
			maxLatency = max(maxLatency, d)
			if r.status == http.StatusOK {
				if r.end.Before(disturbedAt) {
					calm = append(calm, d)
				}
				continue
			}
			failed++
			statuses[r.status]++
			maxFailing = max(maxFailing, d)
			if affected[c.id] {
				failedAffected++
			}
			if !r.afterDisturbed && r.end.Before(disturbedAt) {
				early++
			}
			if r.status == 0 {
				noAnswer++
			}
		}
	}
	// A cached read is stale beyond the bound when a higher counter was
	// acknowledged more than the TTL before the read started. Clients that
	// lost saves are left out: their counters went back for another reason.
	var maxLag time.Duration
	for _, s := range w.samples {
		c := clients[s.client]
		if lossy[c.id] {
			continue
		}
		for _, a := range c.acks {
			if a.n > s.n && a.end.Before(s.start) {
				lag := s.start.Sub(a.end)
				maxLag = max(maxLag, lag)
				if lag > failoverCacheTTL {
					stale++
				}
				break
			}
		}
	}
	bound := 2*failoverStoreTimeout + time.Second
	slices.Sort(calm)
	if len(calm) > 0 {
		t.Logf("median latency of a request before the kill: %v", calm[len(calm)/2].Round(time.Microsecond))
	}
	t.Logf("requests: %d, failed: %d (statuses %v; %d on sessions of the killed master), max latency %v, max latency of a failed request %v (bound %v)",
		total, failed, statuses, failedAffected, maxLatency.Round(time.Millisecond), maxFailing.Round(time.Millisecond), bound)
	t.Logf("saves of the killed master's sessions acknowledged from the cut (or the kill) to the master's death: %d, %d of them sent after the cut", laggedAcks, doomed)
	t.Logf("acknowledged saves lost: %d (clients affected: %d)", lost, len(lossy))
	t.Logf("cached reads: %d (%d errors), the oldest %v behind an acknowledged save (bound %v), %d beyond the bound",
		len(w.samples), w.errors, maxLag.Round(time.Millisecond), failoverCacheTTL, stale)
	if early > 0 {
		t.Errorf("%d requests failed before the replicas were cut off or the master died", early)
	}
	if noAnswer > 0 {
		t.Errorf("%d requests got no answer (transport error or hang)", noAnswer)
	}
	for code := range statuses {
		if code != http.StatusInternalServerError && code != 0 {
			t.Errorf("status %d: want only 500 from the error handler", code)
		}
	}
	if maxLatency > bound {
		t.Errorf("a request took %v, over the bound %v (two store calls and slack)", maxLatency, bound)
	}
	return lost, stale, doomed
}

func allClients(cs []*failoverClientState, ok func(*failoverClientState) bool) bool {
	for _, c := range cs {
		if !ok(c) {
			return false
		}
	}
	return true
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// sessionKey is the store key of a session token: the key prefix and the
// base64url SHA-256 of the token (see the package documentation). The
// test checks the keys it derives exist.
func sessionKey(prefix, token string) string {
	sum := sha256.Sum256([]byte(token))
	return prefix + base64.RawURLEncoding.EncodeToString(sum[:])
}

// logTail is an io.Writer that keeps the last lines written to it.
type logTail struct {
	mu    sync.Mutex
	lines []string
}

func (l *logTail) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, string(p))
	if len(l.lines) > 20 {
		l.lines = slices.Delete(l.lines, 0, len(l.lines)-20)
	}
	return len(p), nil
}

func (l *logTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "")
}
