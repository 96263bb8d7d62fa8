package e2etest_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	_ "github.com/go-sql-driver/mysql"
	"github.com/redis/rueidis"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/mysqldialect"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/pgdriver"
	"github.com/uptrace/bun/driver/sqliteshim"
	"github.com/uptrace/bun/schema"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/internal/e2etest"
	"github.com/sessionkit/sessions/internal/testbackend"
	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/store/fsstore"
	"github.com/sessionkit/sessions/store/memcachedstore"
	"github.com/sessionkit/sessions/store/memstore"
	"github.com/sessionkit/sessions/store/mongostore"
	"github.com/sessionkit/sessions/store/redisstore"
	"github.com/sessionkit/sessions/store/sqlstore"
)

func TestMain(m *testing.M) { testbackend.Main(m) }

func TestMemory(t *testing.T) {
	e2etest.Run(t, func(t *testing.T) store.Store {
		s := memstore.New()
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

func redisClient(t *testing.T, addrs ...string) rueidis.Client {
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: addrs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestRedis(t *testing.T) {
	c := redisClient(t, testbackend.Redis(t))
	e2etest.Run(t, func(t *testing.T) store.Store {
		return redisstore.New(c, redisstore.WithPrefix("e2e:"+rand.Text()+":"))
	})
}

func TestRedisCluster(t *testing.T) {
	c := redisClient(t, testbackend.RedisCluster(t)...)
	e2etest.Run(t, func(t *testing.T) store.Store {
		return redisstore.New(c, redisstore.WithPrefix("e2e:"+rand.Text()+":"))
	})
}

func TestMemcached(t *testing.T) {
	c := memcache.New(testbackend.Memcached(t))
	t.Cleanup(func() { c.Close() })
	e2etest.Run(t, func(t *testing.T) store.Store {
		return memcachedstore.New(c, memcachedstore.WithPrefix("e2e:"+rand.Text()+":"))
	})
}

func TestMongo(t *testing.T) {
	client, err := mongo.Connect(options.Client().ApplyURI(testbackend.Mongo(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Disconnect(context.Background()) })
	db := client.Database("e2e")
	e2etest.Run(t, func(t *testing.T) store.Store {
		coll := db.Collection("s" + strings.ToLower(rand.Text()[:10]))
		t.Cleanup(func() { coll.Drop(context.Background()) })
		s, err := mongostore.New(t.Context(), coll, mongostore.WithCleanupInterval(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestPostgres(t *testing.T) {
	sqldb := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(testbackend.Postgres(t))))
	runSQL(t, sqldb, pgdialect.New())
}

func TestMariaDB(t *testing.T) {
	runSQL(t, openMySQL(t, testbackend.MariaDB(t)), mysqldialect.New())
}

func TestMySQL(t *testing.T) {
	if !testbackend.MySQLConfigured() {
		t.Log("MySQL is optional and not configured; see README")
		return
	}
	dsn, _ := testbackend.MySQL(t)
	runSQL(t, openMySQL(t, dsn), mysqldialect.New())
}

func TestSQLite(t *testing.T) {
	sqldb, err := sql.Open(sqliteshim.ShimName, "file:"+t.TempDir()+"/s.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	sqldb.SetMaxOpenConns(1)
	runSQL(t, sqldb, sqlitedialect.New())
}

func openMySQL(t *testing.T, dsn string) *sql.DB {
	sqldb, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	return sqldb
}

// runSQL runs the scenarios on tables of their own in one database.
func runSQL(t *testing.T, sqldb *sql.DB, d schema.Dialect) {
	db := bun.NewDB(sqldb, d)
	t.Cleanup(func() { db.Close() })
	e2etest.Run(t, func(t *testing.T) store.Store {
		table := "e2e_" + strings.ToLower(rand.Text()[:10])
		s, err := sqlstore.New(t.Context(), db, sqlstore.WithTable(table))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			s.Close()
			db.ExecContext(context.Background(), "DROP TABLE IF EXISTS ?", bun.Ident(table))
		})
		return s
	})
}

// TestBackendOptions builds managers through the root options (WithRedis,
// WithMemcached, WithMongo, WithSQL) and checks a session survives a round
// trip through each, and that Close stops what the option started.
func TestBackendOptions(t *testing.T) {
	sqldb, err := sql.Open(sqliteshim.ShimName, "file:"+t.TempDir()+"/opt.db?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	sqldb.SetMaxOpenConns(1)
	bunDB := bun.NewDB(sqldb, sqlitedialect.New())
	t.Cleanup(func() { bunDB.Close() })
	for name, opt := range map[string]func(t *testing.T) sessions.Option{
		"WithRedis": func(t *testing.T) sessions.Option { return sessions.WithRedis(redisClient(t, testbackend.Redis(t))) },
		"WithMemcached": func(t *testing.T) sessions.Option {
			c := memcache.New(testbackend.Memcached(t))
			t.Cleanup(func() { c.Close() })
			return sessions.WithMemcached(c)
		},
		"WithMongo": func(t *testing.T) sessions.Option {
			client, err := mongo.Connect(options.Client().ApplyURI(testbackend.Mongo(t)))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { client.Disconnect(context.Background()) })
			coll := client.Database("options").Collection("s" + strings.ToLower(rand.Text()[:10]))
			t.Cleanup(func() { coll.Drop(context.Background()) })
			return sessions.WithMongo(coll)
		},
		"WithSQL": func(t *testing.T) sessions.Option { return sessions.WithSQL(bunDB) },
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
		"WithRedis(nil)":     sessions.WithRedis(nil),
		"WithMemcached(nil)": sessions.WithMemcached(nil),
		"WithMongo(nil)":     sessions.WithMongo(nil),
		"WithSQL(nil)":       sessions.WithSQL(nil),
	} {
		if _, err := sessions.New[struct{}](opt); !errors.Is(err, sessions.ErrInvalidConfig) {
			t.Errorf("%s: %v, want ErrInvalidConfig", name, err)
		}
	}
}
