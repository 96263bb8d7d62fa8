// Package testbackend gives tests a real server for every backend the
// stores support: Redis (standalone and Cluster), Memcached, MongoDB,
// PostgreSQL, MariaDB and MySQL.
//
// Each server is shared by the whole test binary: the first test that asks
// for it starts a container with testcontainers-go, and Main terminates the
// containers when the tests are done. An environment variable pointing at an
// existing server (SESSIONS_TEST_REDIS_ADDR, ...) skips the container.
//
// Without Docker, or without the image, a test that needs the server is
// skipped with a message saying how to run it; with SESSIONS_TEST_REQUIRE=1
// it fails instead.
//
// It lives in the module internal/backendtests, with every test that uses
// it, so that testcontainers-go and Docker's client stay out of the
// library's go.mod and so out of its users' go.sum. The root module's own
// tests that need a server read its address through internal/backendenv;
// internal/backendtests/rootstores starts the servers and runs them.
package testbackend

import (
	"os"
	"strings"
	"testing"
)

// RequireEnv is the variable that turns a would-be skip into a failure.
const RequireEnv = "SESSIONS_TEST_REQUIRE"

// Required reports whether SESSIONS_TEST_REQUIRE asks that every backend run.
func Required() bool {
	v := os.Getenv(RequireEnv)
	return v != "" && v != "0" && !strings.EqualFold(v, "false")
}

// Main runs the tests and then terminates every container this package
// started. Call it from TestMain:
//
//	func TestMain(m *testing.M) { testbackend.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	terminateAll()
	os.Exit(code)
}

// Redis returns the "host:port" of a standalone Redis server.
func Redis(t testing.TB) string {
	return addr(t, "SESSIONS_TEST_REDIS_ADDR", startRedis)
}

// RedisCluster returns the "host:port" addresses of a Redis Cluster of
// three masters, reachable from the test process.
func RedisCluster(t testing.TB) []string {
	return strings.Split(addr(t, "SESSIONS_TEST_REDIS_CLUSTER_ADDRS", startRedisCluster), ",")
}

// SentinelMasterSet is the name RedisSentinel's Sentinel monitors the
// master under.
const SentinelMasterSet = "sessions"

// RedisSentinel returns the "host:port" of a Redis Sentinel that monitors
// a master under SentinelMasterSet; the master address it hands out is
// reachable from the test process.
func RedisSentinel(t testing.TB) string {
	return addr(t, "SESSIONS_TEST_REDIS_SENTINEL_ADDR", startRedisSentinel)
}

// Memcached returns the "host:port" of a memcached server.
func Memcached(t testing.TB) string {
	return addr(t, "SESSIONS_TEST_MEMCACHED_ADDR", startMemcached)
}

// Mongo returns a mongodb:// URI for a MongoDB-compatible server.
func Mongo(t testing.TB) string {
	return addr(t, "SESSIONS_TEST_MONGO_URI", startMongo)
}

// Postgres returns a DSN for PostgreSQL in the form
// postgres://user:password@host:port/db?sslmode=disable.
func Postgres(t testing.TB) string {
	return addr(t, "SESSIONS_TEST_POSTGRES_DSN", startPostgres)
}

// MariaDB returns a go-sql-driver/mysql DSN for MariaDB in the form
// user:password@tcp(host:port)/db?parseTime=true.
func MariaDB(t testing.TB) string {
	return addr(t, "SESSIONS_TEST_MARIADB_DSN", startMariaDB)
}

// MySQL returns a go-sql-driver/mysql DSN for MySQL 8, like MariaDB.
// MySQL is optional: ok is false when neither SESSIONS_TEST_MYSQL_DSN nor
// SESSIONS_TEST_IMAGE_MYSQL is set and no default image is present locally.
func MySQL(t testing.TB) (dsn string, ok bool) {
	if !MySQLConfigured() {
		return "", false
	}
	return addr(t, "SESSIONS_TEST_MYSQL_DSN", startMySQL), true
}

// MySQLConfigured reports whether MySQL tests run: SESSIONS_TEST_MYSQL_DSN
// or SESSIONS_TEST_IMAGE_MYSQL is set, or the default image is present.
// Tests register no MySQL subtest otherwise, rather than skipping one.
func MySQLConfigured() bool {
	return os.Getenv("SESSIONS_TEST_MYSQL_DSN") != "" || mysqlConfigured()
}

// addr returns the value of env when set, else starts (once per binary) the
// server with start, skipping or failing the test when it cannot.
func addr(t testing.TB, env string, start func() (string, error)) string {
	t.Helper()
	if v := os.Getenv(env); v != "" {
		return v
	}
	v, err := shared(env, start)
	if err != nil {
		msg := err.Error() + "\n\tto run this test: start Docker and build the images with " +
			"`eval \"$(scripts/testimages.sh --env)\"`, or set " + env + " to an existing server"
		if Required() {
			t.Fatalf("%s is required (%s=1): %s", env, RequireEnv, msg)
		}
		t.Skip(msg)
	}
	return v
}
