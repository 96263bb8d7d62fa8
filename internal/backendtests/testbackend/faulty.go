package testbackend

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// A Faulty is a server in a container of its own, for fault tests: Pause
// freezes it (docker pause: its processes stop, its sockets stay open),
// Unpause resumes it, Kill kills it (SIGKILL) and Restart starts the same
// container again, on the same host port and with the same files, and
// waits until it accepts connections. The container is removed when the
// test ends. Shared servers are never disturbed.
//
// The methods fail the test on error; call them from the test's goroutine.
type Faulty struct {
	// Addr is what the matching shared function returns: "host:port" for
	// Redis and memcached, a DSN for PostgreSQL and MariaDB, a mongodb://
	// URI for MongoDB.
	Addr string
	// Image is the image the server runs from.
	Image string

	id       string
	hostPort string // "host:port" the host reaches the server at
	ready    func(ctx context.Context, f *Faulty, starts int) error
	starts   int // how many times the server has started
}

// FaultyRedis starts Redis with extra redis-server flags, for example
// "--appendonly", "yes", "--appendfsync", "always" to make every
// acknowledged write survive a kill.
func FaultyRedis(t testing.TB, flags ...string) *Faulty {
	t.Helper()
	opts := []testcontainers.ContainerCustomizer{testcontainers.WithWaitStrategy(forReply(redisPort, "PING\r\n", "+PONG"))}
	if len(flags) > 0 {
		opts = append(opts, testcontainers.WithCmd(flags...))
	}
	return startFaulty(t, "SESSIONS_TEST_REDIS_ADDR", image(redisImageEnv, redisImage), redisPort,
		func(hostPort string) string { return hostPort },
		replyReady(redisPort, "PING\r\n", "+PONG"), opts...)
}

// FaultyMemcached starts memcached, configured like Memcached's.
func FaultyMemcached(t testing.TB) *Faulty {
	t.Helper()
	return startFaulty(t, "SESSIONS_TEST_MEMCACHED_ADDR", image(memcachedImageEnv, memcachedImage), memcachedPort,
		func(hostPort string) string { return hostPort },
		replyReady(memcachedPort, "version\r\n", "VERSION "),
		testcontainers.WithCmd("-m", "256", "-I", "4m"),
		testcontainers.WithWaitStrategy(forReply(memcachedPort, "version\r\n", "VERSION ")),
	)
}

// FaultyPostgres starts PostgreSQL, configured like Postgres's. Its
// fsync=off does not weaken what a kill tests: the kernel keeps what the
// server wrote, only a machine crash would lose it.
func FaultyPostgres(t testing.TB) *Faulty {
	t.Helper()
	const line = "database system is ready to accept connections"
	return startFaulty(t, "SESSIONS_TEST_POSTGRES_DSN", image(postgresImageEnv, postgresImage), postgresPort,
		func(hostPort string) string {
			return fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable", sqlUser, sqlUser, hostPort, sqlUser)
		},
		// The first start logs it twice (setup server, then the real one),
		// every restart once more.
		logReady(line, 1),
		testcontainers.WithEnv(map[string]string{
			"POSTGRES_USER": sqlUser, "POSTGRES_PASSWORD": sqlUser, "POSTGRES_DB": sqlUser,
		}),
		testcontainers.WithCmd("postgres", "-c", "fsync=off"),
		testcontainers.WithWaitStrategy(wait.ForLog(line).WithOccurrence(2).WithStartupTimeout(startTimeout)),
	)
}

// FaultyMariaDB starts MariaDB, configured like MariaDB's.
func FaultyMariaDB(t testing.TB) *Faulty {
	t.Helper()
	const line = "port: 3306  "
	return startFaulty(t, "SESSIONS_TEST_MARIADB_DSN", image(mariadbImageEnv, mariadbImage), mysqlPort,
		func(hostPort string) string {
			return fmt.Sprintf("%s:%s@tcp(%s)/%s?parseTime=true", sqlUser, sqlUser, hostPort, sqlUser)
		},
		logReady(line, 0),
		testcontainers.WithEnv(map[string]string{
			"MARIADB_USER": sqlUser, "MARIADB_PASSWORD": sqlUser, "MARIADB_DATABASE": sqlUser,
			"MARIADB_ROOT_PASSWORD": sqlUser,
		}),
		testcontainers.WithWaitStrategy(wait.ForLog(line).WithStartupTimeout(startTimeout)),
	)
}

// FaultyMongo starts MongoDB (or FerretDB in our local image), configured
// like Mongo's.
func FaultyMongo(t testing.TB) *Faulty {
	t.Helper()
	const line = "Waiting for connections"
	return startFaulty(t, "SESSIONS_TEST_MONGO_URI", image(mongoImageEnv, mongoImage), mongoPort,
		func(hostPort string) string { return "mongodb://" + hostPort + "/" },
		logReady(line, 0),
		testcontainers.WithWaitStrategy(wait.ForLog(line).WithStartupTimeout(startTimeout)),
	)
}

// startFaulty starts img with the server's port published on a fixed host
// port, so a restarted server is found where the clients left it. A
// server given by env is not ours to freeze or kill: the test is skipped.
func startFaulty(t testing.TB, env, img, port string, addr func(hostPort string) string,
	ready func(context.Context, *Faulty, int) error, opts ...testcontainers.ContainerCustomizer,
) *Faulty {
	t.Helper()
	if os.Getenv(env) != "" {
		t.Skipf("%s names an existing server, which a fault test must not freeze or kill; "+
			"unset it to run this test against a container of its own", env)
	}
	f, err := newFaulty(t, img, port, opts)
	if err != nil {
		msg := err.Error() + "\n\tto run this test: start Docker and build the images with " +
			"`eval \"$(scripts/testimages.sh --env)\"`"
		if Required() {
			t.Fatalf("a %s container is required (%s=1): %s", img, RequireEnv, msg)
		}
		t.Skip(msg)
	}
	f.Addr, f.Image, f.ready = addr(f.hostPort), img, ready
	return f
}

// newFaulty starts the container, removed when t ends.
func newFaulty(t testing.TB, img, port string, opts []testcontainers.ContainerCustomizer) (*Faulty, error) {
	hostPort, err := freePort()
	if err != nil {
		return nil, err
	}
	c, err := run(img, append(opts,
		testcontainers.WithExposedPorts(port),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.PortBindings = network.PortMap{network.MustParsePort(port): {{HostPort: hostPort}}}
		}),
	)...)
	if c != nil {
		t.Cleanup(func() { terminate(c) })
	}
	if err != nil {
		return nil, err
	}
	ep, err := endpoint(c, port)
	if err != nil {
		return nil, err
	}
	if _, p, _ := net.SplitHostPort(ep); p != hostPort {
		return nil, fmt.Errorf("testbackend: %s is published at %s, not on host port %s", port, ep, hostPort)
	}
	return &Faulty{id: c.GetContainerID(), hostPort: ep, starts: 1}, nil
}

// freePort returns a TCP port that is free on this machine now.
func freePort() (string, error) {
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		return "", fmt.Errorf("testbackend: find a free port: %w", err)
	}
	defer l.Close()
	_, port, err := net.SplitHostPort(l.Addr().String())
	return port, err
}

// terminate removes c, which run started, now rather than at the end of
// the test binary.
func terminate(c *testcontainers.DockerContainer) {
	mu.Lock()
	containers = slices.DeleteFunc(containers, func(x *testcontainers.DockerContainer) bool { return x == c })
	mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Terminate(ctx, testcontainers.StopTimeout(0)); err != nil {
		fmt.Fprintf(os.Stderr, "testbackend: terminate %s: %v\n", c.GetContainerID(), err)
	}
}

// Pause freezes every process of the server (docker pause). Connections
// stay open; nothing is answered until Unpause.
func (f *Faulty) Pause(t testing.TB) {
	t.Helper()
	f.do(t, "pause", func(ctx context.Context, cli *testcontainers.DockerClient) error {
		_, err := cli.ContainerPause(ctx, f.id, client.ContainerPauseOptions{})
		return err
	})
}

// Unpause resumes a paused server (docker unpause).
func (f *Faulty) Unpause(t testing.TB) {
	t.Helper()
	f.do(t, "unpause", func(ctx context.Context, cli *testcontainers.DockerClient) error {
		_, err := cli.ContainerUnpause(ctx, f.id, client.ContainerUnpauseOptions{})
		return err
	})
}

// Kill kills the server (SIGKILL to every process of the container) and
// waits until the container has stopped. Its connections are reset.
func (f *Faulty) Kill(t testing.TB) {
	t.Helper()
	f.do(t, "kill", func(ctx context.Context, cli *testcontainers.DockerClient) error {
		if _, err := cli.ContainerKill(ctx, f.id, client.ContainerKillOptions{Signal: "KILL"}); err != nil {
			return err
		}
		for {
			res, err := cli.ContainerInspect(ctx, f.id, client.ContainerInspectOptions{})
			if err != nil {
				return err
			}
			if !res.Container.State.Running {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
}

// Restart starts the killed server again, in the same container (same
// files, same host port), and waits until it accepts connections.
func (f *Faulty) Restart(t testing.TB) {
	t.Helper()
	f.do(t, "restart", func(ctx context.Context, cli *testcontainers.DockerClient) error {
		if _, err := cli.ContainerStart(ctx, f.id, client.ContainerStartOptions{}); err != nil {
			return err
		}
		f.starts++
		return f.ready(ctx, f, f.starts)
	})
}

// do runs op with the Docker client, within startTimeout, and closes the
// client's idle connections afterwards, so that the test's goroutine leak
// check does not see them.
func (f *Faulty) do(t testing.TB, what string, op func(context.Context, *testcontainers.DockerClient) error) {
	t.Helper()
	cli, err := dockerClient()
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		err = op(ctx, cli)
		cancel()
		cli.Close() // only closes idle connections: the client stays usable
	}
	if err != nil {
		t.Fatalf("testbackend: %s container %.12s: %v", what, f.id, err)
	}
}

// replyReady waits until the server answers request with a line starting
// with prefix.
func replyReady(port, request, prefix string) func(context.Context, *Faulty, int) error {
	return func(ctx context.Context, f *Faulty, _ int) error {
		var err error
		for {
			if err = tryReply(ctx, f.hostPort, request, prefix); err == nil {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("no %q reply on %s: %w", prefix, port, err)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

// tryReply sends request to addr and checks the reply line.
func tryReply(ctx context.Context, addr, request, prefix string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, prefix) {
		return fmt.Errorf("reply %q", strings.TrimSpace(line))
	}
	return nil
}

// logReady waits until the server has logged line once per start, plus
// extra times (lines a first start logs before it is ready).
func logReady(line string, extra int) func(context.Context, *Faulty, int) error {
	return func(ctx context.Context, f *Faulty, starts int) error {
		cli, err := dockerClient()
		if err != nil {
			return err
		}
		want := starts + extra
		for {
			n, err := countLog(ctx, cli, f.id, line)
			if err == nil && n >= want {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%q logged %d times, want %d: %w", line, n, want, cmpErr(err, ctx.Err()))
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// countLog counts the occurrences of line in the container's log.
func countLog(ctx context.Context, cli *testcontainers.DockerClient, id, line string) (int, error) {
	rc, err := cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return 0, err
	}
	return bytes.Count(b, []byte(line)), nil
}
