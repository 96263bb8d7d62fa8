package testbackend

import (
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

const (
	mongoImageEnv = "SESSIONS_TEST_IMAGE_MONGO"
	mongoImage    = "mongo:7"
	mongoPort     = "27017/tcp"
)

// startMongo starts MongoDB, or FerretDB in our local image, which logs
// the same line as mongod once it accepts connections.
func startMongo() (string, error) {
	c, err := run(image(mongoImageEnv, mongoImage),
		testcontainers.WithExposedPorts(mongoPort),
		// In memory: the container's own file system can be slow to
		// sync (FerretDB syncs its SQLite files on every write).
		testcontainers.WithTmpfs(map[string]string{"/data/db": "rw"}),
		testcontainers.WithWaitStrategy(wait.ForLog("Waiting for connections").WithStartupTimeout(startTimeout)),
	)
	if err != nil {
		return "", err
	}
	addr, err := endpoint(c, mongoPort)
	if err != nil {
		return "", err
	}
	return "mongodb://" + addr + "/", nil
}
