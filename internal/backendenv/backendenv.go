// Package backendenv gives the store packages' own tests (package
// memcachedstore, mongostore, sqlstore: they test unexported code) the
// address of a real server, read from an environment variable such as
// SESSIONS_TEST_MEMCACHED_ADDR.
//
// It starts nothing: the containers are started by the module
// internal/backendtests (its package rootstores runs these tests with the
// variables set), so that testcontainers-go and Docker's client stay out of
// this module's requirements and so out of its users' go.sum. Without the
// variable a test that needs the server is skipped with a message saying
// how to run it. When internal/backendtests has started the servers
// (StartedEnv) and SESSIONS_TEST_REQUIRE=1, a missing variable fails the
// test instead.
package backendenv

import (
	"os"
	"strings"
	"testing"
)

// RequireEnv is the variable that turns a would-be skip into a failure.
const RequireEnv = "SESSIONS_TEST_REQUIRE"

// StartedEnv is set (to 1) by internal/backendtests when it runs this
// module's tests against the servers it started.
const StartedEnv = "SESSIONS_TEST_BACKENDS_STARTED"

// The variables naming the servers.
const (
	MemcachedEnv = "SESSIONS_TEST_MEMCACHED_ADDR" // host:port
	MongoEnv     = "SESSIONS_TEST_MONGO_URI"      // mongodb://...
	PostgresEnv  = "SESSIONS_TEST_POSTGRES_DSN"   // postgres://user:password@host:port/db?sslmode=disable
	MariaDBEnv   = "SESSIONS_TEST_MARIADB_DSN"    // user:password@tcp(host:port)/db?parseTime=true
	MySQLEnv     = "SESSIONS_TEST_MYSQL_DSN"      // like MariaDBEnv; optional
)

// Required reports whether SESSIONS_TEST_REQUIRE asks that every backend run.
func Required() bool {
	v := os.Getenv(RequireEnv)
	return v != "" && v != "0" && !strings.EqualFold(v, "false")
}

// Memcached returns the "host:port" of a memcached server.
func Memcached(t testing.TB) string { return lookup(t, MemcachedEnv) }

// Mongo returns a mongodb:// URI for a MongoDB-compatible server.
func Mongo(t testing.TB) string { return lookup(t, MongoEnv) }

// Postgres returns a DSN for PostgreSQL.
func Postgres(t testing.TB) string { return lookup(t, PostgresEnv) }

// MariaDB returns a go-sql-driver/mysql DSN for MariaDB.
func MariaDB(t testing.TB) string { return lookup(t, MariaDBEnv) }

// MySQL returns a go-sql-driver/mysql DSN for MySQL 8; ok is false when
// none is configured (MySQL is optional).
func MySQL(t testing.TB) (dsn string, ok bool) {
	if !MySQLConfigured() {
		return "", false
	}
	return lookup(t, MySQLEnv), true
}

// MySQLConfigured reports whether SESSIONS_TEST_MYSQL_DSN is set. Tests
// register no MySQL subtest otherwise, rather than skipping one.
func MySQLConfigured() bool { return os.Getenv(MySQLEnv) != "" }

// lookup returns the value of env, else skips the test (or fails it, when
// the servers were started for this run and every backend is required).
func lookup(t testing.TB, env string) string {
	t.Helper()
	if v := os.Getenv(env); v != "" {
		return v
	}
	if os.Getenv(StartedEnv) != "" && Required() {
		t.Fatalf("%s is not set, though internal/backendtests started the servers and %s=1", env, RequireEnv)
		return ""
	}
	t.Skipf("%s is not set: this test needs a real server. `scripts/test.sh` runs it "+
		"(internal/backendtests starts the server in a container and runs this package's tests), "+
		"or set %s to an existing server", env, env)
	return ""
}
