package testbackend

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/rueidis"
	"github.com/testcontainers/testcontainers-go"
)

// clusterNodes is the number of masters of the Redis Cluster.
const clusterNodes = 3

// startRedisCluster starts a Redis Cluster of three masters, one container
// each, and returns their host addresses, comma-separated.
//
// The nodes gossip over the Docker network with their container addresses,
// and announce to clients the address the host reaches them at: the Docker
// host name (cluster-announce-hostname, with the hostname as preferred
// endpoint) and the port mapped on the host (cluster-announce-port). So the
// ports stay random and nothing needs host networking.
func startRedisCluster() (string, error) {
	nodes := make([]*testcontainers.DockerContainer, clusterNodes)
	errs := make([]error, clusterNodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() {
			nodes[i], errs[i] = runRedis("--cluster-enabled", "yes",
				"--cluster-preferred-endpoint-type", "hostname",
				"--cluster-node-timeout", "5000", "--save", "", "--appendonly", "no")
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return "", err
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	// The other nodes meet the first at its address on the Docker network.
	meet, err := nodes[0].ContainerIP(ctx)
	if err != nil {
		return "", fmt.Errorf("testbackend: redis cluster: container IP: %w", err)
	}
	addrs := make([]string, clusterNodes)
	clients := make([]rueidis.Client, clusterNodes)
	for i, c := range nodes {
		if addrs[i], err = endpoint(c, redisPort); err != nil {
			return "", err
		}
		clients[i], err = rueidis.NewClient(rueidis.ClientOption{
			InitAddress: []string{addrs[i]}, ForceSingleClient: true, DisableCache: true,
		})
		if err != nil {
			return "", fmt.Errorf("testbackend: redis cluster: connect %s: %w", addrs[i], err)
		}
		defer clients[i].Close()
	}

	for i, cl := range clients {
		host, port, _ := net.SplitHostPort(addrs[i])
		lo, hi := i*16384/clusterNodes, (i+1)*16384/clusterNodes-1
		cmds := []rueidis.Completed{
			cl.B().ConfigSet().ParameterValue().ParameterValue("cluster-announce-hostname", host).
				ParameterValue("cluster-announce-port", port).Build(),
			cl.B().Arbitrary("CLUSTER", "ADDSLOTSRANGE").Args(strconv.Itoa(lo), strconv.Itoa(hi)).Build(),
		}
		if i > 0 {
			cmds = append(cmds, cl.B().ClusterMeet().Ip(meet).Port(6379).Build())
		}
		for _, r := range cl.DoMulti(ctx, cmds...) {
			if err := r.Error(); err != nil {
				return "", fmt.Errorf("testbackend: redis cluster: set up %s: %w", addrs[i], err)
			}
		}
	}

	if err := clusterReady(ctx, clients, addrs); err != nil {
		return "", fmt.Errorf("testbackend: redis cluster %s: %w", strings.Join(addrs, ","), err)
	}
	return strings.Join(addrs, ","), nil
}

// clusterReady waits until every node reports cluster_state:ok and gives
// the announced addresses, addrs, as the masters of its slot ranges.
func clusterReady(ctx context.Context, clients []rueidis.Client, addrs []string) error {
	want := strings.Join(addrs, ",")
	var last string
	for {
		ok := true
		for _, cl := range clients {
			info, err := cl.Do(ctx, cl.B().ClusterInfo().Build()).ToString()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				ok, last = false, fmt.Sprint(strings.TrimSpace(info), err)
				break
			}
			if got := masters(ctx, cl); got != want {
				ok, last = false, "masters "+got
				break
			}
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready: %s", last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// masters returns the "endpoint:port" of the masters in CLUSTER SLOTS, by
// first slot, comma-separated.
func masters(ctx context.Context, cl rueidis.Client) string {
	ranges, err := cl.Do(ctx, cl.B().ClusterSlots().Build()).ToArray()
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, r := range ranges {
		v, _ := r.ToArray()
		if len(v) < 3 {
			continue
		}
		node, _ := v[2].ToArray()
		if len(node) < 2 {
			continue
		}
		host, _ := node[0].ToString()
		port, _ := node[1].AsInt64()
		out = append(out, host+":"+strconv.FormatInt(port, 10))
	}
	return strings.Join(out, ",")
}
