package testbackend

import "github.com/testcontainers/testcontainers-go"

const (
	redisImageEnv = "SESSIONS_TEST_IMAGE_REDIS"
	redisImage    = "redis:7"
	redisPort     = "6379/tcp"
)

// startRedis starts a standalone Redis server.
func startRedis() (string, error) {
	c, err := runRedis()
	if err != nil {
		return "", err
	}
	return endpoint(c, redisPort)
}

// runRedis starts a Redis container with extra redis-server flags, which
// the official image and ours accept alone, without "redis-server".
func runRedis(flags ...string) (*testcontainers.DockerContainer, error) {
	opts := []testcontainers.ContainerCustomizer{
		testcontainers.WithExposedPorts(redisPort),
		testcontainers.WithWaitStrategy(forReply(redisPort, "PING\r\n", "+PONG")),
	}
	if len(flags) > 0 {
		opts = append(opts, testcontainers.WithCmd(flags...))
	}
	return run(image(redisImageEnv, redisImage), opts...)
}
