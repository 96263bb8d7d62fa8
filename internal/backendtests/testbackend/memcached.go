package testbackend

import "github.com/testcontainers/testcontainers-go"

const (
	memcachedImageEnv = "SESSIONS_TEST_IMAGE_MEMCACHED"
	memcachedImage    = "memcached:1.6"
	memcachedPort     = "11211/tcp"
)

// startMemcached starts memcached with 256 MiB of memory and items of up
// to 4 MiB, so that 1 MiB values fit.
func startMemcached() (string, error) {
	c, err := run(image(memcachedImageEnv, memcachedImage),
		testcontainers.WithExposedPorts(memcachedPort),
		testcontainers.WithCmd("-m", "256", "-I", "4m"),
		testcontainers.WithWaitStrategy(forReply(memcachedPort, "version\r\n", "VERSION ")),
	)
	if err != nil {
		return "", err
	}
	return endpoint(c, memcachedPort)
}
