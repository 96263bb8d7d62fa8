package testbackend_test

import (
	"bytes"
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	_ "github.com/go-sql-driver/mysql"
	"github.com/redis/rueidis"
	"github.com/uptrace/bun/driver/pgdriver"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sessionkit/sessions/internal/backendtests/testbackend"
)

func TestMain(m *testing.M) { testbackend.Main(m) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func TestRedis(t *testing.T) {
	t.Parallel()
	cl, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{testbackend.Redis(t)}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	roundTripRedis(t, cl, "k")
}

func TestRedisCluster(t *testing.T) {
	t.Parallel()
	addrs := testbackend.RedisCluster(t)
	if len(addrs) != 3 {
		t.Fatalf("got %d addresses %v, want 3", len(addrs), addrs)
	}
	cl, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: addrs[:1]})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if n := len(cl.Nodes()); n != 3 {
		t.Errorf("client sees %d nodes, want 3", n)
	}
	// These keys hash to slots 0-5460, 5461-10922 and 10923-16383: one per node.
	for _, key := range []string{"a", "b", "c", "d", "e", "f"} {
		roundTripRedis(t, cl, key)
	}
}

func roundTripRedis(t *testing.T, cl rueidis.Client, key string) {
	t.Helper()
	c := ctx(t)
	if err := cl.Do(c, cl.B().Set().Key(key).Value("v-"+key).Build()).Error(); err != nil {
		t.Fatalf("SET %s: %v", key, err)
	}
	got, err := cl.Do(c, cl.B().Get().Key(key).Build()).ToString()
	if err != nil || got != "v-"+key {
		t.Fatalf("GET %s = %q, %v; want %q", key, got, err, "v-"+key)
	}
}

func TestMemcached(t *testing.T) {
	t.Parallel()
	mc := memcache.New(testbackend.Memcached(t))
	mc.Timeout = 5 * time.Second
	value := bytes.Repeat([]byte("x"), 1<<20)
	if err := mc.Set(&memcache.Item{Key: "big", Value: value}); err != nil {
		t.Fatal(err)
	}
	it, err := mc.Get("big")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(it.Value, value) {
		t.Fatalf("got %d bytes back, want %d", len(it.Value), len(value))
	}
}

func TestMongo(t *testing.T) {
	t.Parallel()
	c := ctx(t)
	cl, err := mongo.Connect(options.Client().ApplyURI(testbackend.Mongo(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Disconnect(context.Background())
	coll := cl.Database("testbackend").Collection("docs")
	if _, err := coll.InsertOne(c, bson.D{{Key: "_id", Value: "x"}, {Key: "n", Value: 42}}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		N int `bson:"n"`
	}
	if err := coll.FindOne(c, bson.D{{Key: "_id", Value: "x"}}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.N != 42 {
		t.Fatalf("n = %d, want 42", doc.N)
	}
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(testbackend.Postgres(t))))
	defer db.Close()
	roundTripSQL(t, db, "SELECT $1")
}

func TestMariaDB(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("mysql", testbackend.MariaDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	roundTripSQL(t, db, "SELECT ?")
}

func TestMySQL(t *testing.T) {
	t.Parallel()
	dsn, ok := testbackend.MySQL(t)
	if !ok {
		t.Log("MySQL is optional and not configured: set SESSIONS_TEST_IMAGE_MYSQL or SESSIONS_TEST_MYSQL_DSN")
		return
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	roundTripSQL(t, db, "SELECT ?")
}

// roundTripSQL pings db and runs q, a query of one parameter, with 7.
func roundTripSQL(t *testing.T, db *sql.DB, q string) {
	t.Helper()
	c := ctx(t)
	if err := db.PingContext(c); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRowContext(c, q, 7).Scan(&n); err != nil || n != 7 {
		t.Fatalf("%s = %d, %v; want 7", q, n, err)
	}
}

// ParseClusterNodes reads CLUSTER NODES with or without RESP3's "txt:"
// prefix, bus ports cut off.
func TestParseClusterNodes(t *testing.T) {
	reply := "txt:aaa 10.0.0.1:7000@17000,host myself,master - 0 0 1 connected 0-8191\n" +
		"bbb 10.0.0.2:7001@17001,host slave aaa 0 0 1 connected\n"
	got := testbackend.ParseClusterNodes(reply)
	if len(got) != 2 || got[0].ID != "aaa" || got[0].Addr != "10.0.0.1:7000" || !got[0].Is("master") || got[0].Is("slave") ||
		got[1].MasterID != "aaa" || got[1].Addr != "10.0.0.2:7001" || !got[1].Is("slave") {
		t.Errorf("ParseClusterNodes = %+v", got)
	}
}
