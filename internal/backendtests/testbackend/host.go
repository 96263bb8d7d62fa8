package testbackend

import (
	"context"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// hostOverrideEnv names the host at which testcontainers reaches the
// containers' published ports.
const hostOverrideEnv = "TESTCONTAINERS_HOST_OVERRIDE"

// useLocalhostForLocalEngine sets TESTCONTAINERS_HOST_OVERRIDE=localhost,
// unless it is set, when the engine's bridge network is on one of this
// machine's interfaces: the engine then shares our network namespace and
// publishes ports on localhost. Inside a container (Docker in Docker, as in
// our CI) testcontainers would otherwise guess the container's default
// gateway, which does not publish them.
func useLocalhostForLocalEngine(ctx context.Context, cli *testcontainers.DockerClient) {
	if _, ok := os.LookupEnv(hostOverrideEnv); ok || !strings.HasPrefix(cli.DaemonHost(), "unix://") {
		return
	}
	nw, err := cli.NetworkInspect(ctx, "bridge", client.NetworkInspectOptions{})
	if err != nil {
		return
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return
	}
	for _, a := range addrs {
		ipnet, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, _ := netip.AddrFromSlice(ipnet.IP)
		for _, cfg := range nw.Network.IPAM.Config {
			if cfg.Subnet.Contains(ip.Unmap()) {
				os.Setenv(hostOverrideEnv, "localhost")
				return
			}
		}
	}
}
