package testbackend

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/redis/rueidis"
	"github.com/testcontainers/testcontainers-go"
)

const clusterBusPort = "16379/tcp"

// RedisHA is a Redis deployment with replicas that one test starts for
// itself, so that it may kill its nodes: a Cluster (RedisClusterHA) or a
// master watched by Sentinels (RedisSentinelHA). Its containers are removed
// when the test ends.
//
// Every node announces the address of the Docker bridge gateway and its
// published ports, so the nodes reach each other (replication, cluster bus,
// Sentinel) at the same addresses the test process uses: failover hands
// out addresses that work from the host.
type RedisHA struct {
	// Addrs are where a client starts: the nodes of a Cluster, or the
	// Sentinels (the master set is SentinelMasterSet).
	Addrs []string

	nodes map[string]*testcontainers.DockerContainer // data nodes by client address

	mu  sync.Mutex
	all []*testcontainers.DockerContainer // every container, for terminate
}

// ClusterHAMasters is the number of masters of RedisClusterHA.
const ClusterHAMasters = 3

// ClusterHANodeTimeout is the cluster-node-timeout of RedisClusterHA: a
// master is failed over about this long, plus an election, after it stops
// answering.
const ClusterHANodeTimeout = 2 * time.Second

// SentinelHADownAfter is the down-after-milliseconds of RedisSentinelHA.
const SentinelHADownAfter = time.Second

// RedisClusterHA starts a Redis Cluster of ClusterHAMasters masters with a
// replica each, plus spare replicas attached to the first master (with
// Redis's default replica migration, a spare moves to a master that lost
// its last replica, as happens to a replica promoted after its master
// died). It returns when every replica is in sync.
func RedisClusterHA(t testing.TB, spares int) *RedisHA {
	t.Helper()
	return startHA(t, "cluster", func(h *RedisHA) error { return h.startCluster(spares) })
}

// RedisSentinelHA starts a Redis master with two replicas and three
// Sentinels that monitor it under SentinelMasterSet with a quorum of two.
// It returns when the replicas are in sync and every Sentinel knows the
// replicas and the other Sentinels.
func RedisSentinelHA(t testing.TB) *RedisHA {
	t.Helper()
	return startHA(t, "sentinel", (*RedisHA).startSentinel)
}

// startHA starts a deployment with start, skipping or failing t when it
// cannot, and removes its containers when t ends.
func startHA(t testing.TB, kind string, start func(*RedisHA) error) *RedisHA {
	t.Helper()
	h := &RedisHA{nodes: map[string]*testcontainers.DockerContainer{}}
	t.Cleanup(h.terminate)
	began := time.Now()
	if err := start(h); err != nil {
		msg := "redis " + kind + " for this test: " + err.Error() +
			"\n\tto run this test: start Docker and build the images with `eval \"$(scripts/testimages.sh --env)\"`"
		if Required() {
			t.Fatalf("%s (%s=1)", msg, RequireEnv)
		}
		t.Skip(msg)
	}
	t.Logf("redis %s for this test ready in %v: %s", kind, time.Since(began).Round(time.Millisecond), strings.Join(h.Addrs, ","))
	return h
}

// Kill sends SIGKILL to the data node that clients reach at addr, as
// `docker kill` does. Its published ports go away with it.
func (h *RedisHA) Kill(t testing.TB, addr string) {
	t.Helper()
	h.docker(t, "kill", addr, func(ctx context.Context, cli *testcontainers.DockerClient, id string) error {
		_, err := cli.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: "SIGKILL"})
		return err
	})
}

// docker runs op, named what, on the container of the data node at addr.
func (h *RedisHA) docker(t testing.TB, what, addr string, op func(context.Context, *testcontainers.DockerClient, string) error) {
	t.Helper()
	c, ok := h.nodes[addr]
	if !ok {
		t.Fatalf("testbackend: %s: no redis node at %s (have %v)", what, addr, h.NodeAddrs())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A client of its own, closed at once, so that no idle connection
	// outlives the call (tests check for leaked goroutines).
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		t.Fatalf("testbackend: docker: %v", err)
	}
	defer cli.Close()
	if err := op(ctx, cli, c.GetContainerID()); err != nil {
		t.Fatalf("testbackend: %s %s: %v", what, addr, err)
	}
}

// CutReplicas cuts the master at addr off from its replicas, as a network
// partition would, while clients still reach it: the replication
// commands are denied to its users (ACL SETUSER default -sync -psync),
// then its replication connections are closed (CLIENT KILL TYPE replica).
// The replicas keep running and retrying, so they can still be promoted,
// but miss every write from then on.
func (h *RedisHA) CutReplicas(t testing.TB, addr string) {
	t.Helper()
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, ForceSingleClient: true, DisableCache: true})
	if err != nil {
		t.Fatalf("testbackend: connect to %s: %v", addr, err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, r := range c.DoMulti(ctx,
		c.B().AclSetuser().Username("default").Rule("-sync", "-psync").Build(),
		c.B().ClientKill().TypeReplica().Build(),
	) {
		if err := r.Error(); err != nil {
			t.Fatalf("testbackend: cut the replicas of %s off: %v", addr, err)
		}
	}
}

// LogTails logs the end of every container's log, to tell what the
// servers did.
func (h *RedisHA) LogTails(t testing.TB) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.all {
		t.Logf("container %s:%s", c.GetContainerID()[:12], logTail(c))
	}
}

// NodeAddrs returns the client addresses of the data nodes, sorted.
func (h *RedisHA) NodeAddrs() []string {
	out := make([]string, 0, len(h.nodes))
	for a := range h.nodes {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// terminate removes the deployment's containers.
func (h *RedisHA) terminate() {
	h.mu.Lock()
	defer h.mu.Unlock()
	mu.Lock()
	containers = slices.DeleteFunc(containers, func(c *testcontainers.DockerContainer) bool {
		return slices.Contains(h.all, c)
	})
	mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range h.all {
		wg.Go(func() { c.Terminate(context.Background(), testcontainers.StopTimeout(0)) })
	}
	wg.Wait()
}

// runAll starts n containers with start concurrently and records them.
func (h *RedisHA) runAll(n int, start func() (*testcontainers.DockerContainer, error)) ([]*testcontainers.DockerContainer, error) {
	cs := make([]*testcontainers.DockerContainer, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range cs {
		wg.Go(func() { cs[i], errs[i] = start() })
	}
	wg.Wait()
	h.mu.Lock()
	for _, c := range cs {
		if c != nil {
			h.all = append(h.all, c)
		}
	}
	h.mu.Unlock()
	return cs, errors.Join(errs...)
}

// haNode is a started data node and a direct client to it.
type haNode struct {
	c      *testcontainers.DockerContainer
	addr   string // where clients reach it: gateway:published port
	port   string // published client port
	client rueidis.Client
}

// dataNodes starts n Redis containers with flags, connects to each, and
// returns them with the address of their network's gateway. The caller
// closes the clients, also after an error. Replicas sync at once, without
// the default diskless-sync delay of 5 s.
func (h *RedisHA) dataNodes(n int, flags ...string) (nodes []*haNode, gateway string, err error) {
	flags = append(flags, "--repl-diskless-sync-delay", "0", "--save", "", "--appendonly", "no")
	cs, err := h.runAll(n, func() (*testcontainers.DockerContainer, error) {
		return run(image(redisImageEnv, redisImage),
			testcontainers.WithExposedPorts(redisPort, clusterBusPort),
			testcontainers.WithWaitStrategy(forReply(redisPort, "PING\r\n", "+PONG")),
			testcontainers.WithCmd(flags...))
	})
	if err != nil {
		return nil, "", err
	}
	if gateway, err = gatewayOf(cs[0]); err != nil {
		return nil, "", err
	}
	for _, c := range cs {
		nd := &haNode{c: c}
		if nd.port, err = publishedPort(c, redisPort); err != nil {
			return nodes, "", err
		}
		nd.addr = net.JoinHostPort(gateway, nd.port)
		if nd.client, err = rueidis.NewClient(rueidis.ClientOption{
			InitAddress: []string{nd.addr}, ForceSingleClient: true, DisableCache: true,
		}); err != nil {
			return nodes, "", fmt.Errorf("connect %s: %w", nd.addr, err)
		}
		nodes = append(nodes, nd)
		h.nodes[nd.addr] = c
	}
	return nodes, gateway, nil
}

// closeAll closes the nodes' clients.
func closeAll(nodes []*haNode) {
	for _, nd := range nodes {
		nd.client.Close()
	}
}

// startCluster starts the Cluster deployment: masters first in nodes,
// then a replica for each, then the spares.
func (h *RedisHA) startCluster(spares int) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	n := 2*ClusterHAMasters + spares
	nodes, gateway, err := h.dataNodes(n, "--cluster-enabled", "yes",
		"--cluster-node-timeout", strconv.Itoa(int(ClusterHANodeTimeout/time.Millisecond)))
	defer closeAll(nodes)
	if err != nil {
		return err
	}
	ids := make([]string, n)
	for i, nd := range nodes {
		bus, err := publishedPort(nd.c, clusterBusPort)
		if err != nil {
			return err
		}
		cl := nd.client
		cmds := rueidis.Commands{
			cl.B().ConfigSet().ParameterValue().
				ParameterValue("cluster-announce-ip", gateway).
				ParameterValue("cluster-announce-port", nd.port).
				ParameterValue("cluster-announce-bus-port", bus).
				ParameterValue("cluster-announce-hostname", gateway).
				ParameterValue("cluster-preferred-endpoint-type", "hostname").
				ParameterValue("replica-announce-ip", gateway).
				ParameterValue("replica-announce-port", nd.port).Build(),
			cl.B().ClusterMyid().Build(),
		}
		if i < ClusterHAMasters {
			lo, hi := i*16384/ClusterHAMasters, (i+1)*16384/ClusterHAMasters-1
			cmds = append(cmds, cl.B().Arbitrary("CLUSTER", "ADDSLOTSRANGE").Args(strconv.Itoa(lo), strconv.Itoa(hi)).Build())
		}
		res := cl.DoMulti(ctx, cmds...)
		for _, r := range res {
			if err := r.Error(); err != nil {
				return fmt.Errorf("set up %s: %w", nd.addr, err)
			}
		}
		ids[i], _ = res[1].ToString()
	}
	// Everyone meets the first node at its announced address.
	_, p0, _ := net.SplitHostPort(nodes[0].addr)
	bus0, _ := publishedPort(nodes[0].c, clusterBusPort)
	for _, nd := range nodes[1:] {
		cl := nd.client
		if err := cl.Do(ctx, cl.B().Arbitrary("CLUSTER", "MEET").Args(gateway, p0, bus0).Build()).Error(); err != nil {
			return fmt.Errorf("meet from %s: %w", nd.addr, err)
		}
	}
	// A replica can only follow a master it knows, so retry until gossip
	// has spread.
	for i, nd := range nodes[ClusterHAMasters:] {
		master := i % ClusterHAMasters
		if i >= ClusterHAMasters {
			master = 0 // the spares
		}
		cl := nd.client
		if err := poll(ctx, func() error {
			return cl.Do(ctx, cl.B().ClusterReplicate().NodeId(ids[master]).Build()).Error()
		}); err != nil {
			return fmt.Errorf("%s replicate %s: %w", nd.addr, nodes[master].addr, err)
		}
	}
	for _, nd := range nodes[:ClusterHAMasters] {
		h.Addrs = append(h.Addrs, nd.addr)
	}
	for _, nd := range nodes[ClusterHAMasters:] {
		h.Addrs = append(h.Addrs, nd.addr)
	}
	// Ready: every node sees the cluster ok with all nodes, and every
	// replica's link is up.
	return poll(ctx, func() error {
		for _, nd := range nodes {
			info, err := nd.client.Do(ctx, nd.client.B().ClusterInfo().Build()).ToString()
			if err != nil {
				return err
			}
			if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d\r", n)) {
				return fmt.Errorf("%s: %s", nd.addr, strings.Join(strings.Fields(info)[:6], " "))
			}
		}
		for _, nd := range nodes {
			if err := seesRoles(ctx, nd, ClusterHAMasters, n-ClusterHAMasters); err != nil {
				return err
			}
		}
		for _, nd := range nodes[ClusterHAMasters:] {
			if err := linkUp(ctx, nd); err != nil {
				return err
			}
		}
		for i, nd := range nodes[:ClusterHAMasters] {
			want := 1
			if i == 0 {
				want += spares
			}
			if err := hasReplicas(ctx, nd, want); err != nil {
				return err
			}
		}
		return nil
	})
}

// seesRoles returns nil when nd's own view of the cluster (CLUSTER NODES)
// has the given numbers of masters and replicas: a node learns the others'
// roles by gossip, after they have taken them.
func seesRoles(ctx context.Context, nd *haNode, masters, replicas int) error {
	nodes, err := nd.client.Do(ctx, nd.client.B().ClusterNodes().Build()).ToString()
	if err != nil {
		return err
	}
	m, r := 0, 0
	for _, n := range ParseClusterNodes(nodes) {
		switch {
		case n.Is("master"):
			m++
		case n.Is("slave"):
			r++
		}
	}
	if m != masters || r != replicas {
		return fmt.Errorf("%s sees %d masters and %d replicas, want %d and %d", nd.addr, m, r, masters, replicas)
	}
	return nil
}

// hasReplicas returns nil when the master nd has n replicas online.
func hasReplicas(ctx context.Context, nd *haNode, n int) error {
	info, err := nd.client.Do(ctx, nd.client.B().Info().Section("replication").Build()).ToString()
	if err != nil {
		return err
	}
	if online := strings.Count(info, ",state=online,"); online != n {
		return fmt.Errorf("%s: %d of %d replicas online", nd.addr, online, n)
	}
	return nil
}

// linkUp returns nil when nd is a replica whose link to its master is up.
func linkUp(ctx context.Context, nd *haNode) error {
	info, err := nd.client.Do(ctx, nd.client.B().Info().Section("replication").Build()).ToString()
	if err != nil {
		return err
	}
	if !strings.Contains(info, "master_link_status:up") {
		return fmt.Errorf("%s: replication link not up", nd.addr)
	}
	return nil
}

// startSentinel starts the Sentinel deployment.
func (h *RedisHA) startSentinel() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	var sentinels []*testcontainers.DockerContainer
	var serr error
	var wg sync.WaitGroup
	wg.Go(func() {
		sentinels, serr = h.runAll(3, func() (*testcontainers.DockerContainer, error) {
			return run(image(redisImageEnv, redisImage),
				testcontainers.WithExposedPorts(sentinelPort),
				testcontainers.WithEntrypoint("sh", "-c",
					`printf 'port 26379\n' > /tmp/sentinel.conf && exec redis-server /tmp/sentinel.conf --sentinel`),
				testcontainers.WithWaitStrategy(forReply(sentinelPort, "PING\r\n", "+PONG")))
		})
	})
	nodes, gateway, err := h.dataNodes(3)
	wg.Wait()
	defer closeAll(nodes)
	if err = errors.Join(err, serr); err != nil {
		return err
	}
	master := nodes[0]
	for i, nd := range nodes {
		cl := nd.client
		cmds := rueidis.Commands{cl.B().ConfigSet().ParameterValue().
			ParameterValue("replica-announce-ip", gateway).
			ParameterValue("replica-announce-port", nd.port).Build()}
		if i > 0 {
			cmds = append(cmds, cl.B().Replicaof().Host(gateway).Port(mustAtoi(master.port)).Build())
		}
		for _, r := range cl.DoMulti(ctx, cmds...) {
			if err := r.Error(); err != nil {
				return fmt.Errorf("set up %s: %w", nd.addr, err)
			}
		}
	}
	if err := poll(ctx, func() error {
		for _, nd := range nodes[1:] {
			if err := linkUp(ctx, nd); err != nil {
				return err
			}
		}
		return hasReplicas(ctx, master, 2)
	}); err != nil {
		return err
	}

	scl := make([]rueidis.Client, len(sentinels))
	for i, c := range sentinels {
		port, err := publishedPort(c, sentinelPort)
		if err != nil {
			return err
		}
		addr := net.JoinHostPort(gateway, port)
		h.Addrs = append(h.Addrs, addr)
		cl, err := rueidis.NewClient(rueidis.ClientOption{
			InitAddress: []string{addr}, ForceSingleClient: true, DisableCache: true,
		})
		if err != nil {
			return fmt.Errorf("connect to sentinel %s: %w", addr, err)
		}
		defer cl.Close()
		scl[i] = cl
		set := SentinelMasterSet
		for _, args := range [][]string{
			{"CONFIG", "SET", "announce-ip", gateway},
			{"CONFIG", "SET", "announce-port", port},
			{"MONITOR", set, gateway, master.port, "2"},
			{"SET", set, "down-after-milliseconds", strconv.Itoa(int(SentinelHADownAfter / time.Millisecond))},
			// A failed attempt is tried again after twice this.
			{"SET", set, "failover-timeout", "4000"},
			{"SET", set, "parallel-syncs", "2"},
		} {
			if err := cl.Do(ctx, cl.B().Arbitrary("SENTINEL").Args(args...).Build()).Error(); err != nil {
				return fmt.Errorf("sentinel %s: SENTINEL %s: %w", addr, strings.Join(args, " "), err)
			}
		}
	}
	// Ready when every Sentinel knows both replicas and both other
	// Sentinels, none of them down.
	return poll(ctx, func() error {
		for i, cl := range scl {
			for what, cmd := range map[string]string{"replicas": "REPLICAS", "sentinels": "SENTINELS"} {
				list, err := cl.Do(ctx, cl.B().Arbitrary("SENTINEL", cmd, SentinelMasterSet).Build()).ToArray()
				if err != nil {
					return err
				}
				ok := 0
				for _, e := range list {
					m, _ := e.AsStrMap()
					if !strings.Contains(m["flags"], "down") && !strings.Contains(m["flags"], "disconnected") {
						ok++
					}
				}
				if ok != 2 {
					return fmt.Errorf("sentinel %s knows %d of 2 %s", h.Addrs[i], ok, what)
				}
			}
		}
		return nil
	})
}

// publishedPort returns the host port that port of c is published on.
func publishedPort(c *testcontainers.DockerContainer, port string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := c.MappedPort(ctx, port)
	if err != nil {
		return "", fmt.Errorf("published port of %s: %w", port, err)
	}
	return p.Port(), nil
}

// poll calls try every 100 ms until it returns nil, and returns its last
// error when ctx ends.
func poll(ctx context.Context, try func() error) error {
	for {
		err := try()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func mustAtoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// RedisReplicated returns the "host:port" of a standalone Redis master and
// of its one replica, shared by the test binary (tests must not kill
// them).
func RedisReplicated(t testing.TB) (master, replica string) {
	t.Helper()
	m, r, _ := strings.Cut(addr(t, "SESSIONS_TEST_REDIS_REPLICATED_ADDRS", startRedisReplicated), ",")
	return m, r
}

// startRedisReplicated starts a master and a replica that follows it over
// the Docker network, and returns their host addresses, comma-separated.
func startRedisReplicated() (string, error) {
	var cs [2]*testcontainers.DockerContainer
	var errs [2]error
	var wg sync.WaitGroup
	for i := range cs {
		wg.Go(func() {
			cs[i], errs[i] = runRedis("--repl-diskless-sync-delay", "0", "--save", "", "--appendonly", "no")
		})
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	ip, err := cs[0].ContainerIP(ctx)
	if err != nil {
		return "", fmt.Errorf("testbackend: redis master: container IP: %w", err)
	}
	var addrs [2]string
	for i, c := range cs {
		if addrs[i], err = endpoint(c, redisPort); err != nil {
			return "", err
		}
	}
	cl, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: addrs[1:], ForceSingleClient: true, DisableCache: true})
	if err != nil {
		return "", fmt.Errorf("testbackend: connect to the replica %s: %w", addrs[1], err)
	}
	defer cl.Close()
	if err := cl.Do(ctx, cl.B().Replicaof().Host(ip).Port(6379).Build()).Error(); err != nil {
		return "", fmt.Errorf("testbackend: REPLICAOF: %w", err)
	}
	if err := poll(ctx, func() error { return linkUp(ctx, &haNode{addr: addrs[1], client: cl}) }); err != nil {
		return "", fmt.Errorf("testbackend: redis replica %s: %w", addrs[1], err)
	}
	return addrs[0] + "," + addrs[1], nil
}

// RedisRestartable starts a standalone Redis server with extra
// redis-server flags, published on a fixed host port so that it keeps its
// address when Restart starts it again after Kill, for this test only.
func RedisRestartable(t testing.TB, flags ...string) *RedisHA {
	t.Helper()
	return startHA(t, "standalone", func(h *RedisHA) error {
		l, err := net.Listen("tcp", ":0")
		if err != nil {
			return err
		}
		port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
		l.Close()
		cs, err := h.runAll(1, func() (*testcontainers.DockerContainer, error) {
			return run(image(redisImageEnv, redisImage),
				testcontainers.WithExposedPorts(redisPort),
				testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
					hc.PortBindings = network.PortMap{network.MustParsePort(redisPort): {{HostPort: port}}}
				}),
				testcontainers.WithWaitStrategy(forReply(redisPort, "PING\r\n", "+PONG")),
				testcontainers.WithCmd(flags...))
		})
		if err != nil {
			return err
		}
		addr, err := endpoint(cs[0], redisPort)
		if err != nil {
			return err
		}
		h.Addrs = []string{addr}
		h.nodes[addr] = cs[0]
		return nil
	})
}

// Restart starts the container of the data node at addr again after Kill
// (`docker start`), with the files it left, and returns when the server
// answers PING.
func (h *RedisHA) Restart(t testing.TB, addr string) {
	t.Helper()
	h.docker(t, "start", addr, func(ctx context.Context, cli *testcontainers.DockerClient, id string) error {
		_, err := cli.ContainerStart(ctx, id, client.ContainerStartOptions{})
		return err
	})
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := poll(ctx, func() error {
		c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, ForceSingleClient: true, DisableCache: true})
		if err != nil {
			return err
		}
		defer c.Close()
		return c.Do(ctx, c.B().Ping().Build()).Error()
	}); err != nil {
		t.Fatalf("testbackend: restart %s: %v", addr, err)
	}
}
