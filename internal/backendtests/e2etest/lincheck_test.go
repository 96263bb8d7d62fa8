package e2etest_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/sessionkit/sessions/internal/backendtests/testbackend"
	"github.com/sessionkit/sessions/internal/lincheck"
	"github.com/sessionkit/sessions/store"
)

// lincheckBackend is the lincheck configuration on a real backend: fewer
// histories than the root package runs on memory and files, and a store
// timeout that a loaded server's round trips stay well within (timeout
// faults hang until it).
var lincheckBackend = lincheck.Config{Histories: 6, Seed: 9100, StoreTimeout: 500 * time.Millisecond}

// TestLincheckRedis checks random concurrent histories of the session
// lifecycle (internal/lincheck) on Redis.
func TestLincheckRedis(t *testing.T) {
	c := redisClient(t, testbackend.Redis(t))
	lincheck.Run(t, func(t *testing.T) store.Store {
		return redisStore(t, c)
	}, lincheckBackend)
}

// TestLincheckPostgres checks random concurrent histories of the session
// lifecycle (internal/lincheck) on PostgreSQL, a table per history.
func TestLincheckPostgres(t *testing.T) {
	sqldb := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(testbackend.Postgres(t))))
	db := bunDB(t, serverPool(t, sqldb), pgdialect.New())
	lincheck.Run(t, func(t *testing.T) store.Store { return sqlStore(t, db) }, lincheckBackend)
}
