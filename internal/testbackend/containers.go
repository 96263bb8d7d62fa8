package testbackend

// TEMPORARY STUB: replaced by the testcontainers-go implementation.

import (
	"errors"
	"os"
	"sync"
)

var errNoContainers = errors.New("testbackend: containers not implemented yet")

var (
	mu      sync.Mutex
	results = map[string]result{}
)

type result struct {
	v   string
	err error
}

// shared starts the server named key once per test binary.
func shared(key string, start func() (string, error)) (string, error) {
	mu.Lock()
	defer mu.Unlock()
	if r, ok := results[key]; ok {
		return r.v, r.err
	}
	v, err := start()
	results[key] = result{v, err}
	return v, err
}

func terminateAll() {}

func mysqlConfigured() bool { return os.Getenv("SESSIONS_TEST_IMAGE_MYSQL") != "" }

func startRedis() (string, error)        { return "", errNoContainers }
func startRedisCluster() (string, error) { return "", errNoContainers }
func startMemcached() (string, error)    { return "", errNoContainers }
func startMongo() (string, error)        { return "", errNoContainers }
func startPostgres() (string, error)     { return "", errNoContainers }
func startMariaDB() (string, error)      { return "", errNoContainers }
func startMySQL() (string, error)        { return "", errNoContainers }
