package testbackend_test

import (
	"strings"
	"testing"

	"github.com/redis/rueidis"

	"github.com/sessionkit/sessions/internal/backendtests/testbackend"
)

// TestRedisClusterHA checks the Cluster with replicas: a client finds the
// three masters, every slot has a replica, and the spare follows the first
// master.
func TestRedisClusterHA(t *testing.T) {
	h := testbackend.RedisClusterHA(t, 1)
	if len(h.Addrs) != 7 || len(h.NodeAddrs()) != 7 {
		t.Fatalf("addresses %v, nodes %v: want 7 of each", h.Addrs, h.NodeAddrs())
	}
	cl, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: h.Addrs[:1], DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	nodes, err := cl.Do(ctx(t), cl.B().ClusterNodes().Build()).ToString()
	if err != nil {
		t.Fatal(err)
	}
	if m, r := strings.Count(nodes, "master"), strings.Count(nodes, "slave"); m != testbackend.ClusterHAMasters || r != 4 {
		t.Errorf("CLUSTER NODES: %d masters and %d replicas, want %d and 4:\n%s", m, r, testbackend.ClusterHAMasters, nodes)
	}
	for _, key := range []string{"a", "b", "c"} {
		roundTripRedis(t, cl, key)
	}
}

// TestRedisSentinelHA checks the Sentinel deployment: the client finds the
// master through the Sentinels and the master has two replicas.
func TestRedisSentinelHA(t *testing.T) {
	h := testbackend.RedisSentinelHA(t)
	cl, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress: h.Addrs, DisableCache: true,
		Sentinel: rueidis.SentinelOption{MasterSet: testbackend.SentinelMasterSet},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	roundTripRedis(t, cl, "k")
	info, err := cl.Do(ctx(t), cl.B().Info().Section("replication").Build()).ToString()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(info, "role:master") || !strings.Contains(info, "connected_slaves:2") {
		t.Errorf("INFO replication of the master:\n%s", info)
	}
}
