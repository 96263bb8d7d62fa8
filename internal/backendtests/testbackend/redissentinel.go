package testbackend

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/testcontainers/testcontainers-go"
)

const sentinelPort = "26379/tcp"

// startRedisSentinel starts a Redis master and a Sentinel that monitors it
// under SentinelMasterSet, and returns the Sentinel's address. The master
// is registered under the Docker bridge gateway and its published port, an
// address that both the Sentinel (in its container) and the tests (on the
// host) reach, so the address Sentinel hands out works for the client.
func startRedisSentinel() (string, error) {
	master, err := runRedis()
	if err != nil {
		return "", err
	}
	published, err := endpoint(master, redisPort)
	if err != nil {
		return "", err
	}
	_, port, err := net.SplitHostPort(published)
	if err != nil {
		return "", err
	}
	gateway, err := gatewayOf(master)
	if err != nil {
		return "", err
	}
	conf := fmt.Sprintf("port 26379\nsentinel monitor %s %s %s 1\n", SentinelMasterSet, gateway, port)
	c, err := run(image(redisImageEnv, redisImage),
		testcontainers.WithExposedPorts(sentinelPort),
		testcontainers.WithEntrypoint("sh", "-c",
			`printf '%s' "$0" > /tmp/sentinel.conf && exec redis-server /tmp/sentinel.conf --sentinel`, conf),
		testcontainers.WithWaitStrategy(forReply(sentinelPort, "SENTINEL MASTERS\r\n", "*1")),
	)
	if err != nil {
		return "", err
	}
	return endpoint(c, sentinelPort)
}

// gatewayOf returns the address of this machine on c's network, where
// published ports are reachable from the containers as from the host.
func gatewayOf(c *testcontainers.DockerContainer) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	info, err := c.Inspect(ctx)
	if err != nil {
		return "", fmt.Errorf("testbackend: inspect %s: %w", c.GetContainerID(), err)
	}
	for _, nw := range info.NetworkSettings.Networks {
		if nw.Gateway.IsValid() {
			return nw.Gateway.String(), nil
		}
	}
	return "", errors.New("testbackend: the container's network has no gateway")
}
