package e2etest_test

import (
	"context"
	"database/sql"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/redis/rueidis"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/mysqldialect"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/pgdriver"
	"github.com/uptrace/bun/schema"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sessionkit/sessions/internal/backendtests/e2etest"
	"github.com/sessionkit/sessions/internal/backendtests/testbackend"
	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/store/fsstore"
	"github.com/sessionkit/sessions/store/memcachedstore"
	"github.com/sessionkit/sessions/store/memstore"
	"github.com/sessionkit/sessions/store/mongostore"
	"github.com/sessionkit/sessions/store/sqlstore"
)

// The in-process stores have no server to ask, so a wrapper counts calls.
// countingStore exposes only the three Store methods; countingLoadToucher
// adds LoadAndTouch, so each store is seen with the capabilities it has.
type countingStore struct {
	store.Store
	n *atomic.Int64
}

func (c countingStore) Load(ctx context.Context, k string) ([]byte, bool, error) {
	c.n.Add(1)
	return c.Store.Load(ctx, k)
}

func (c countingStore) Save(ctx context.Context, k string, b []byte, e time.Time) error {
	c.n.Add(1)
	return c.Store.Save(ctx, k, b, e)
}

func (c countingStore) Delete(ctx context.Context, k string) error {
	c.n.Add(1)
	return c.Store.Delete(ctx, k)
}

type countingLoadToucher struct{ countingStore }

func (c countingLoadToucher) LoadAndTouch(ctx context.Context, k string, e time.Time) ([]byte, bool, error) {
	c.n.Add(1)
	return c.Store.(store.LoadToucher).LoadAndTouch(ctx, k, e)
}

// countingVersioned adds the conditional writes. The manager loads through
// LoadVersion when a store has it, so it needs no LoadAndTouch.
type countingVersioned struct{ countingStore }

func (c countingVersioned) LoadVersion(ctx context.Context, k string, touch time.Time) (store.Loaded, error) {
	c.n.Add(1)
	return c.Store.(store.Versioned).LoadVersion(ctx, k, touch)
}

func (c countingVersioned) SaveIf(ctx context.Context, k string, b []byte, e time.Time, v store.Version) (store.Version, error) {
	c.n.Add(1)
	return c.Store.(store.Versioned).SaveIf(ctx, k, b, e, v)
}

// countingIndexed adds the owner index and batch loads.
type countingIndexed struct{ countingVersioned }

func (c countingIndexed) IndexAdd(ctx context.Context, k string, e store.IndexEntry) error {
	c.n.Add(1)
	return c.Store.(store.OwnerIndex).IndexAdd(ctx, k, e)
}

func (c countingIndexed) IndexRemove(ctx context.Context, k string, ids ...string) error {
	c.n.Add(1)
	return c.Store.(store.OwnerIndex).IndexRemove(ctx, k, ids...)
}

func (c countingIndexed) IndexList(ctx context.Context, k string) ([]store.IndexEntry, error) {
	c.n.Add(1)
	return c.Store.(store.OwnerIndex).IndexList(ctx, k)
}

func (c countingIndexed) LoadVersions(ctx context.Context, keys []string) ([]store.Loaded, error) {
	c.n.Add(1)
	return c.Store.(store.MultiLoader).LoadVersions(ctx, keys)
}

// countingAddLister adds the owner index's add that lists it.
type countingAddLister struct{ countingIndexed }

func (c countingAddLister) IndexAddList(ctx context.Context, k string, e store.IndexEntry) ([]store.IndexEntry, bool, error) {
	c.n.Add(1)
	return c.Store.(store.IndexAddLister).IndexAddList(ctx, k, e)
}

// counting wraps s in the counting store with the capabilities s has that
// the manager uses.
func counting(s store.Store, n *atomic.Int64) store.Store {
	c := countingStore{s, n}
	_, indexed := s.(store.OwnerIndex)
	_, addLists := s.(store.IndexAddLister)
	switch s.(type) {
	case store.Versioned:
		if addLists {
			return countingAddLister{countingIndexed{countingVersioned{c}}}
		}
		if indexed {
			return countingIndexed{countingVersioned{c}}
		}
		return countingVersioned{c}
	case store.LoadToucher:
		return countingLoadToucher{c}
	}
	return c
}

func TestBudgetMemory(t *testing.T) {
	s, err := memstore.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var n atomic.Int64
	e2etest.Budget(t, counting(s, &n), func() int { return int(n.Load()) })
}

func TestBudgetFilesystem(t *testing.T) {
	s, err := fsstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var n atomic.Int64
	e2etest.Budget(t, counting(s, &n), func() int { return int(n.Load()) })
}

// TestBudgetRedis counts the commands the store sends, on the client: each
// is one round trip. (The server's own statistics would also count the
// commands the SaveIf script runs inside the server, its SET or DEL.)
func TestBudgetRedis(t *testing.T) {
	var n atomic.Int64
	c := countingRedis{redisClient(t, testbackend.Redis(t)), &n}
	s := redisStore(t, c)
	// The first SaveIf on a server also loads the script (NOSCRIPT, then
	// EVAL): once per server, not per request.
	if _, err := s.SaveIf(t.Context(), "warm-up", nil, time.Now().Add(time.Second), 0); err != nil {
		t.Fatal(err)
	}
	// So do the owner index's scripts.
	if err := s.IndexAdd(t.Context(), "warm-up", store.IndexEntry{ID: "x", Deadline: time.Now().Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IndexList(t.Context(), "warm-up"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.IndexAddList(t.Context(), "warm-up", store.IndexEntry{ID: "x", Deadline: time.Now().Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := s.IndexRemove(t.Context(), "warm-up", "x"); err != nil {
		t.Fatal(err)
	}
	e2etest.Budget(t, s, func() int { return int(n.Load()) })
}

// countingRedis counts the commands sent through a rueidis client. A
// script's EVALSHA is one command, whatever the script runs on the server;
// a fallback to EVAL (NOSCRIPT) is a second one.
type countingRedis struct {
	rueidis.Client
	n *atomic.Int64
}

func (c countingRedis) Do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	c.n.Add(1)
	return c.Client.Do(ctx, cmd)
}

func (c countingRedis) DoMulti(ctx context.Context, cmds ...rueidis.Completed) []rueidis.RedisResult {
	c.n.Add(int64(len(cmds)))
	return c.Client.DoMulti(ctx, cmds...)
}

// TestBudgetMemcached counts the client's round trips: gomemcache writes
// each command with one flush, and a get of several keys (a record and
// the generation, see memcachedstore.Clear) is one command. Memcached's
// own stats count a get per key.
func TestBudgetMemcached(t *testing.T) {
	var n atomic.Int64
	c := memcache.New(testbackend.Memcached(t))
	c.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := new(net.Dialer).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return writeCounter{conn, &n}, nil
	}
	t.Cleanup(func() { c.Close() })
	s, err := memcachedstore.New(c)
	if err != nil {
		t.Fatal(err)
	}
	// A new record costs a get of the generation when the store has not
	// read it for a second (a cold process; a busy one reads it with every
	// load): read it, as the steady state has it.
	if _, _, err := s.Load(t.Context(), "warm"); err != nil {
		t.Fatal(err)
	}
	e2etest.Budget(t, s, func() int { return int(n.Load()) })
}

// writeCounter counts the writes to a connection.
type writeCounter struct {
	net.Conn
	n *atomic.Int64
}

func (c writeCounter) Write(p []byte) (int, error) {
	c.n.Add(1)
	return c.Conn.Write(p)
}

// TestBudgetMongo counts the data commands the driver sends the server.
func TestBudgetMongo(t *testing.T) {
	var n atomic.Int64
	monitor := &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		switch e.CommandName {
		case "find", "insert", "update", "delete", "findAndModify", "aggregate":
			n.Add(1)
		}
	}}
	coll := mongoCollection(t, "budget", options.Client().SetMonitor(monitor))
	s := mongoStore(t, coll, mongostore.WithCleanupInterval(0))
	e2etest.Budget(t, s, func() int { return int(n.Load()) })
}

// queryCounter counts every statement bun sends.
type queryCounter struct{ n atomic.Int64 }

func (q *queryCounter) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	q.n.Add(1)
	return ctx
}
func (q *queryCounter) AfterQuery(context.Context, *bun.QueryEvent) {}

func budgetSQL(t *testing.T, sqldb *sql.DB, d schema.Dialect) {
	db := bunDB(t, sqldb, d)
	s := sqlStore(t, db, sqlstore.WithCleanupInterval(0))
	q := &queryCounter{}
	db.AddQueryHook(q)
	e2etest.Budget(t, s, func() int { return int(q.n.Load()) })
}

func TestBudgetPostgres(t *testing.T) {
	budgetSQL(t, sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(testbackend.Postgres(t)))), pgdialect.New())
}

func TestBudgetMariaDB(t *testing.T) {
	budgetSQL(t, openMySQL(t, testbackend.MariaDB(t)), mysqldialect.New())
}

func TestBudgetSQLite(t *testing.T) {
	budgetSQL(t, sqliteDB(t), sqlitedialect.New())
}
