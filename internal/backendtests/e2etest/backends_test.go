package e2etest_test

import (
	"crypto/rand"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	_ "github.com/go-sql-driver/mysql"
	"github.com/uptrace/bun/dialect/mysqldialect"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/pgdriver"
	"github.com/uptrace/bun/schema"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/internal/backendtests/e2etest"
	"github.com/sessionkit/sessions/internal/backendtests/testbackend"
	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/store/fsstore"
	"github.com/sessionkit/sessions/store/memcachedstore"
	"github.com/sessionkit/sessions/store/memstore"
	"github.com/sessionkit/sessions/store/mongostore"
	"github.com/sessionkit/sessions/store/redisstore"
)

func TestMain(m *testing.M) { testbackend.Main(m) }

func TestMemory(t *testing.T) {
	e2etest.Run(t, func(t *testing.T) store.Store {
		s, err := memstore.New()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestFilesystem(t *testing.T) {
	e2etest.Run(t, func(t *testing.T) store.Store {
		s, err := fsstore.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestRedis(t *testing.T) {
	c := redisClient(t, testbackend.Redis(t))
	e2etest.Run(t, func(t *testing.T) store.Store {
		return redisStore(t, c)
	})
}

func TestRedisCluster(t *testing.T) {
	c := redisClient(t, testbackend.RedisCluster(t)...)
	e2etest.Run(t, func(t *testing.T) store.Store {
		return redisStore(t, c)
	})
}

func TestMemcached(t *testing.T) {
	c := pooledMemcache(memcache.New(testbackend.Memcached(t)))
	t.Cleanup(func() { c.Close() })
	e2etest.Run(t, func(t *testing.T) store.Store {
		// A namespace each: RevokeAll (Clear) ends the records of one.
		s, err := memcachedstore.New(c, memcachedstore.WithNamespace("e2e:"+rand.Text()+":"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestMongo(t *testing.T) {
	e2etest.Run(t, func(t *testing.T) store.Store {
		return mongoStore(t, mongoCollection(t, "e2e"), mongostore.WithCleanupInterval(time.Second))
	})
}

func TestPostgres(t *testing.T) {
	sqldb := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(testbackend.Postgres(t))))
	runSQL(t, serverPool(t, sqldb), pgdialect.New())
}

func TestMariaDB(t *testing.T) {
	runSQL(t, serverPool(t, openMySQL(t, testbackend.MariaDB(t))), mysqldialect.New())
}

func TestMySQL(t *testing.T) {
	if !testbackend.MySQLConfigured() {
		t.Log("MySQL is optional and not configured; see README")
		return
	}
	dsn, _ := testbackend.MySQL(t)
	runSQL(t, serverPool(t, openMySQL(t, dsn)), mysqldialect.New())
}

func TestSQLite(t *testing.T) {
	runSQL(t, sqliteDB(t), sqlitedialect.New())
}

// runSQL runs the scenarios on tables of their own in one database.
func runSQL(t *testing.T, sqldb *sql.DB, d schema.Dialect) {
	db := bunDB(t, sqldb, d)
	e2etest.Run(t, func(t *testing.T) store.Store { return sqlStore(t, db) })
}

// TestBackendOptions builds managers on each network store through
// WithManagedStore and checks a session survives a round trip through each,
// and that Close closes the store.
func TestBackendOptions(t *testing.T) {
	db := bunDB(t, sqliteDB(t), sqlitedialect.New())
	for name, opt := range map[string]func(t *testing.T) sessions.Option{
		"WithManagedStore(redisstore)": func(t *testing.T) sessions.Option {
			st, err := redisstore.New(redisClient(t, testbackend.Redis(t)))
			if err != nil {
				t.Fatal(err)
			}
			return sessions.WithManagedStore(st)
		},
		"WithManagedStore(memcachedstore)": func(t *testing.T) sessions.Option {
			c := memcache.New(testbackend.Memcached(t))
			t.Cleanup(func() { c.Close() })
			st, err := memcachedstore.New(c)
			if err != nil {
				t.Fatal(err)
			}
			return sessions.WithManagedStore(st)
		},
		"WithManagedStore(mongostore)": func(t *testing.T) sessions.Option {
			return sessions.WithManagedStore(mongoStore(t, mongoCollection(t, "options")))
		},
		"WithManagedStore(sqlstore)": func(t *testing.T) sessions.Option { return sessions.WithManagedStore(sqlStore(t, db)) },
	} {
		t.Run(name, func(t *testing.T) {
			m, err := sessions.New[struct{ N int }](opt(t), sessions.WithKeyPrefix("opt:"+rand.Text()+":"))
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			sctx, err := m.Load(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			m.Get(sctx).N = 7
			token, _, err := m.Commit(sctx)
			if err != nil {
				t.Fatal(err)
			}
			sctx, err = m.Load(ctx, token)
			if err != nil || m.Get(sctx).N != 7 {
				t.Fatalf("reload: %v, %+v", err, m.Get(sctx))
			}
			if err := m.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
		})
	}
	for name, opt := range map[string]sessions.Option{
		"WithStore(nil)":        sessions.WithStore(nil),
		"WithManagedStore(nil)": sessions.WithManagedStore(nil),
	} {
		if _, err := sessions.New[struct{}](opt); !errors.Is(err, sessions.ErrInvalidConfig) {
			t.Errorf("%s: %v, want ErrInvalidConfig", name, err)
		}
	}
}
