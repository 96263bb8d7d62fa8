package e2etest_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/redis/rueidis"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/sqliteshim"
	"github.com/uptrace/bun/schema"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sessionkit/sessions/internal/backendtests/testbackend"
	"github.com/sessionkit/sessions/store/mongostore"
	"github.com/sessionkit/sessions/store/redisstore"
	"github.com/sessionkit/sessions/store/sqlstore"
)

// suffix returns a random lower-case name suffix.
func suffix() string { return strings.ToLower(rand.Text()[:10]) }

func redisClient(t *testing.T, addrs ...string) rueidis.Client {
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: addrs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// redisStore returns a redisstore.Store on c, closed when t ends. The
// managers on it keep their keys apart with key prefixes of their own.
func redisStore(t *testing.T, c rueidis.Client) *redisstore.Store {
	s, err := redisstore.New(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// mongoCollection connects to the test MongoDB server with opts and returns
// a fresh collection, dropped when t ends.
func mongoCollection(t *testing.T, db string, opts ...*options.ClientOptions) *mongo.Collection {
	client, err := mongo.Connect(append([]*options.ClientOptions{options.Client().ApplyURI(testbackend.Mongo(t))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Disconnect(context.Background()) })
	coll := client.Database(db).Collection("s" + suffix())
	t.Cleanup(func() { coll.Drop(context.Background()) })
	return coll
}

func mongoStore(t *testing.T, coll *mongo.Collection, opts ...mongostore.Option) *mongostore.Store {
	s, err := mongostore.New(t.Context(), coll, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// sqliteDB opens a SQLite file in a temporary directory, set up as the
// sqlstore documentation recommends.
func sqliteDB(t *testing.T) *sql.DB {
	sqldb, err := sql.Open(sqliteshim.ShimName, "file:"+t.TempDir()+"/s.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	sqldb.SetMaxOpenConns(1)
	return sqldb
}

// serverPool bounds the connections to a database server and opens them
// up front, as a warm production pool has them: the race scenarios send
// 50 requests at once, and a pool without bounds opened (and closed) a
// connection for each, past PostgreSQL's max_connections; a cold pool
// opening 16 at once on a loaded machine sometimes took longer than the
// store timeout (SCRAM authentication).
func serverPool(t *testing.T, sqldb *sql.DB) *sql.DB {
	const size = 16
	sqldb.SetMaxOpenConns(size)
	sqldb.SetMaxIdleConns(size)
	var conns []*sql.Conn
	for range size {
		c, err := sqldb.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Close()
	}
	return sqldb
}

// pooledMemcache keeps enough connections open for the race scenarios'
// 50 requests at once, and gives a connect more than the default 500 ms
// on a loaded machine: with 2 idle connections, every burst opened ~50
// and one occasionally timed out.
func pooledMemcache(c *memcache.Client) *memcache.Client {
	c.MaxIdleConns = 16
	c.Timeout = 2 * time.Second
	return c
}

func openMySQL(t *testing.T, dsn string) *sql.DB {
	sqldb, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	return sqldb
}

func bunDB(t *testing.T, sqldb *sql.DB, d schema.Dialect) *bun.DB {
	db := bun.NewDB(sqldb, d)
	t.Cleanup(func() { db.Close() })
	return db
}

// sqlStore returns a store on a table of its own, dropped when t ends.
func sqlStore(t *testing.T, db *bun.DB, opts ...sqlstore.Option) *sqlstore.Store {
	table := "t_" + suffix()
	s, err := sqlstore.New(t.Context(), db, append([]sqlstore.Option{sqlstore.WithTable(table)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		db.ExecContext(context.Background(), "DROP TABLE IF EXISTS ?", bun.Ident(table))
	})
	return s
}

// redisCalls returns a function that reports how many times the Redis
// server at addr has run the named commands, from INFO commandstats.
func redisCalls(t *testing.T, addr string, commands ...string) func() int {
	admin := redisClient(t, addr)
	return func() int {
		s, err := admin.Do(context.Background(), admin.B().Info().Section("commandstats").Build()).ToString()
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for line := range strings.Lines(s) {
			name, rest, ok := strings.Cut(strings.TrimPrefix(line, "cmdstat_"), ":calls=")
			if ok && slices.Contains(commands, name) {
				calls, _, _ := strings.Cut(rest, ",")
				n, _ := strconv.Atoi(calls)
				total += n
			}
		}
		return total
	}
}
