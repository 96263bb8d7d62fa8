package testbackend

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/testcontainers/testcontainers-go"
)

// ryukEnv disables testcontainers' reaper container, whose image a
// registry-less engine cannot pull; Main terminates the containers instead.
const ryukEnv = "TESTCONTAINERS_RYUK_DISABLED"

var docker struct {
	once sync.Once
	cli  *testcontainers.DockerClient
	err  error
}

// dockerClient connects to the Docker engine once per test binary.
func dockerClient() (*testcontainers.DockerClient, error) {
	docker.once.Do(func() {
		// testcontainers reads its configuration once, on first use.
		if _, ok := os.LookupEnv(ryukEnv); !ok {
			os.Setenv(ryukEnv, "true")
		}
		defer func() {
			if r := recover(); r != nil {
				docker.err = fmt.Errorf("testbackend: Docker is not available: %v", r)
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		docker.cli, docker.err = testcontainers.NewDockerClientWithOpts(ctx)
		if docker.err != nil {
			docker.err = fmt.Errorf("testbackend: Docker is not available: %w", docker.err)
			return
		}
		useLocalhostForLocalEngine(ctx, docker.cli)
	})
	return docker.cli, docker.err
}

// localImage reports an error unless img exists in the local image store:
// the tests never pull, as testcontainers would for a missing image.
func localImage(ctx context.Context, img string) error {
	cli, err := dockerClient()
	if err != nil {
		return err
	}
	_, err = cli.ImageInspect(ctx, img)
	switch {
	case errdefs.IsNotFound(err):
		return fmt.Errorf("testbackend: image %s not found locally (the tests do not pull: `docker pull %s` it, "+
			"or build the local images)", img, img)
	case err != nil:
		return fmt.Errorf("testbackend: inspect image %s: %w", img, err)
	}
	return nil
}

// mysqlConfigured reports, once per test binary, whether a MySQL image is
// named by SESSIONS_TEST_IMAGE_MYSQL or the default one is present locally.
var mysqlConfigured = sync.OnceValue(func() bool {
	if os.Getenv(mysqlImageEnv) != "" {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return localImage(ctx, mysqlImage) == nil
})
