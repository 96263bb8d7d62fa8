package testbackend

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/testcontainers/testcontainers-go"
)

// startTimeout bounds starting one container, readiness included.
const startTimeout = 3 * time.Minute

var (
	mu         sync.Mutex
	results    = map[string]*result{}
	containers []*testcontainers.DockerContainer
)

type result struct {
	once sync.Once
	v    string
	err  error
}

// shared starts the server named key once per test binary and caches the
// outcome, error included. Different keys start concurrently.
func shared(key string, start func() (string, error)) (string, error) {
	mu.Lock()
	r, ok := results[key]
	if !ok {
		r = &result{}
		results[key] = r
	}
	mu.Unlock()
	r.once.Do(func() { r.v, r.err = start() })
	return r.v, r.err
}

// terminateAll removes every container started by run.
func terminateAll() {
	mu.Lock()
	cs := containers
	containers = nil
	mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Go(func() {
			if err := c.Terminate(context.Background(), testcontainers.StopTimeout(0)); err != nil {
				fmt.Fprintf(os.Stderr, "testbackend: terminate %s: %v\n", c.GetContainerID(), err)
			}
		})
	}
	wg.Wait()
}

// image returns the image named by the environment variable env, else def.
func image(env, def string) string {
	if v := os.Getenv(env); v != "" {
		return v
	}
	return def
}

// run starts a container from the local image img (never pulling it) and
// waits until it is ready. terminateAll removes it.
func run(img string, opts ...testcontainers.ContainerCustomizer) (*testcontainers.DockerContainer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := localImage(ctx, img); err != nil {
		return nil, err
	}
	c, err := testcontainers.Run(ctx, img, opts...)
	if c != nil {
		mu.Lock()
		containers = append(containers, c)
		mu.Unlock()
	}
	if err != nil {
		return nil, fmt.Errorf("testbackend: start %s: %w%s", img, err, logTail(c))
	}
	return c, nil
}

// logTail returns the last lines of the container's log, for error messages.
func logTail(c *testcontainers.DockerContainer) string {
	if c == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := c.Logs(ctx)
	if err != nil {
		return ""
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return "\n\tcontainer log (end):\n\t\t" + strings.Join(lines, "\n\t\t")
}

// endpoint returns the "host:port" where the host reaches port of c.
func endpoint(c *testcontainers.DockerContainer, port string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.PortEndpoint(ctx, port, "")
}
