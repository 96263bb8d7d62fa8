package testbackend

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/client"
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

// localImage makes sure img is in the local image store, pulling it once if
// it is missing (on a laptop the official images just work; where no
// registry answers, the pull fails at once and the error says how to build
// the images locally).
func localImage(ctx context.Context, img string) error {
	cli, err := dockerClient()
	if err != nil {
		return err
	}
	_, err = cli.ImageInspect(ctx, img)
	switch {
	case errdefs.IsNotFound(err):
		if err := pull(ctx, cli, img); err != nil {
			return fmt.Errorf("testbackend: image %s is not present and could not be pulled (%w); "+
				"build local images with scripts/testimages.sh", img, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("testbackend: inspect image %s: %w", img, err)
	}
	return nil
}

// pull downloads img, waiting at most 10 minutes.
func pull(ctx context.Context, cli *testcontainers.DockerClient, img string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	res, err := cli.ImagePull(ctx, img, client.ImagePullOptions{})
	if err != nil {
		return err
	}
	defer res.Close()
	return res.Wait(ctx)
}

// mysqlConfigured reports, once per test binary, whether a MySQL image is
// named by SESSIONS_TEST_IMAGE_MYSQL or the default one is present locally.
var mysqlConfigured = sync.OnceValue(func() bool {
	if os.Getenv(mysqlImageEnv) != "" {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cli, err := dockerClient()
	if err != nil {
		return false
	}
	_, err = cli.ImageInspect(ctx, mysqlImage) // present, not pulled: MySQL is optional
	return err == nil
})
