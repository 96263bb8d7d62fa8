package mongostore

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.uber.org/goleak"

	"github.com/sessionkit/sessions/internal/backendenv"
	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/storetest"
)

// testDatabase prefixes the databases the tests create.
const testDatabase = "sessions_test"

// connect returns a client for the test server, disconnected when the test
// ends, after which no goroutine the test started may remain.
func connect(t testing.TB, opts ...*options.ClientOptions) *mongo.Client {
	t.Helper()
	uri := backendenv.Mongo(t)
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	client, err := mongo.Connect(append([]*options.ClientOptions{options.Client().ApplyURI(uri)}, opts...)...)
	if err != nil {
		t.Fatalf("connect to %s: %v", uri, err)
	}
	t.Cleanup(func() {
		if err := client.Disconnect(context.Background()); err != nil {
			t.Errorf("disconnect: %v", err)
		}
	})
	return client
}

// newCollection returns a collection of its own, dropped when t ends.
func newCollection(t testing.TB, client *mongo.Client) *mongo.Collection {
	t.Helper()
	coll := client.Database(testDatabase).Collection("sessions_" + rand.Text()[:12])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := coll.Drop(ctx); err != nil {
			t.Errorf("drop %s: %v", coll.Name(), err)
		}
	})
	return coll
}

// newStore returns a Store on a collection of its own, closed when t ends.
func newStore(t testing.TB, client *mongo.Client, opts ...Option) *Store {
	t.Helper()
	s, err := New(t.Context(), newCollection(t, client), opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	client := connect(t)
	// Every check gets a collection of its own: FerretDB scans a whole
	// collection for any filter but {_id: key}. The collections are created
	// before the checks start and dropped after they end, because FerretDB
	// creates and drops collections under a server-wide lock that every
	// write waits for: a hundred checks doing so at once would hold each
	// other up past their 3-second deadlines.
	pool := make(chan *mongo.Collection, 128)
	for range cap(pool) {
		coll := newCollection(t, client)
		if err := coll.Database().CreateCollection(t.Context(), coll.Name()); err != nil {
			t.Fatalf("create %s: %v", coll.Name(), err)
		}
		pool <- coll
	}
	storetest.Run(t, func(t *testing.T) store.Store {
		var coll *mongo.Collection
		select {
		case coll = <-pool:
		default:
			t.Fatalf("more than %d checks: make the pool of collections bigger", cap(pool))
		}
		s, err := New(t.Context(), coll)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// serverIsFerretDB reports whether the server is FerretDB, which reports its
// version in buildInfo.
func serverIsFerretDB(t *testing.T, client *mongo.Client) bool {
	t.Helper()
	var info bson.M
	err := client.Database("admin").RunCommand(t.Context(), bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info)
	if err != nil {
		t.Fatalf("buildInfo: %v", err)
	}
	_, ok := info["ferretdbVersion"]
	return ok
}

// insertRaw inserts a record as is, bypassing Save.
func insertRaw(t *testing.T, coll *mongo.Collection, key string, expiresAt time.Time) {
	t.Helper()
	if _, err := coll.InsertOne(t.Context(), record{Key: key, Data: []byte(key), ExpiresAt: expiresAt}); err != nil {
		t.Fatalf("insert %q: %v", key, err)
	}
}

// count returns the number of documents in coll, expired or not.
func count(t *testing.T, coll *mongo.Collection) int64 {
	t.Helper()
	n, err := coll.CountDocuments(t.Context(), bson.D{})
	if err != nil {
		t.Fatalf("count: %v", err)
	}
	return n
}

// TestTTLIndexOrCleanup checks the path New took on this server: a TTL
// index where the server has one (MongoDB), a background cleanup where it
// has none (FerretDB), and that DeleteExpired removes expired documents
// either way.
func TestTTLIndexOrCleanup(t *testing.T) {
	client := connect(t)
	s := newStore(t, client)
	ferret := serverIsFerretDB(t, client)
	if s.ttlIndex == ferret {
		t.Errorf("ttlIndex = %v on a server where FerretDB = %v", s.ttlIndex, ferret)
	}
	if (s.locks != nil) != ferret {
		t.Errorf("write locks = %v on a server where FerretDB = %v", s.locks != nil, ferret)
	}
	if (s.cleaner == nil) != s.ttlIndex {
		t.Errorf("background cleanup running = %v with ttlIndex = %v; want exactly one of them", s.cleaner != nil, s.ttlIndex)
	}
	t.Logf("FerretDB = %v, TTL index = %v, background cleanup = %v", ferret, s.ttlIndex, s.cleaner != nil)

	if s.ttlIndex {
		specs, err := s.coll.Indexes().ListSpecifications(t.Context())
		if err != nil {
			t.Fatalf("list indexes: %v", err)
		}
		var found bool
		for _, spec := range specs {
			if spec.ExpireAfterSeconds != nil && *spec.ExpireAfterSeconds == 0 {
				found = true
			}
		}
		if !found {
			t.Errorf("no TTL index with expireAfterSeconds 0 among %v", specs)
		}
	}

	now := time.Now()
	for _, k := range []string{"expired1", "expired2", "expired3"} {
		insertRaw(t, s.coll, k, now.Add(-time.Minute))
	}
	insertRaw(t, s.coll, "live", now.Add(time.Hour))
	n, err := s.DeleteExpired(t.Context())
	if err != nil {
		t.Fatalf("DeleteExpired: %v", err)
	}
	// The TTL monitor of a real MongoDB may have removed some already.
	if n > 3 || (!s.ttlIndex && n != 3) {
		t.Errorf("DeleteExpired = %d, want 3", n)
	}
	if c := count(t, s.coll); c != 1 {
		t.Errorf("%d documents left, want only the live one", c)
	}
	if _, found, err := s.Load(t.Context(), "live"); err != nil || !found {
		t.Errorf("Load(live) = (%v, %v) after DeleteExpired", found, err)
	}
}

// TestIndexIdempotent: New twice on the same collection.
func TestIndexIdempotent(t *testing.T) {
	client := connect(t)
	coll := newCollection(t, client)
	for range 2 {
		s, err := New(t.Context(), coll, WithCleanupInterval(0))
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		s.Close()
	}
}

func TestBackgroundCleanup(t *testing.T) {
	client := connect(t)
	s := newStore(t, client, WithCleanupInterval(20*time.Millisecond))
	if s.ttlIndex {
		t.Skip("the server has TTL indexes; the store runs no background cleanup")
	}
	insertRaw(t, s.coll, "expired", time.Now().Add(-time.Minute))
	insertRaw(t, s.coll, "live", time.Now().Add(time.Hour))
	deadline := time.Now().Add(5 * time.Second)
	for count(t, s.coll) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the background cleanup did not remove the expired document within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCleanupOff(t *testing.T) {
	client := connect(t)
	s := newStore(t, client, WithCleanupInterval(0))
	if s.cleaner != nil {
		t.Error("WithCleanupInterval(0) started a background cleanup")
	}
}

// storedExpiry returns the expiresAt of the document under key.
func storedExpiry(t *testing.T, s *Store, key string) time.Time {
	t.Helper()
	var doc record
	if err := s.coll.FindOne(t.Context(), bson.D{{Key: "_id", Value: key}}).Decode(&doc); err != nil {
		t.Fatalf("find %q: %v", key, err)
	}
	return doc.ExpiresAt
}

func TestLoadAndTouchMovesExpiry(t *testing.T) {
	client := connect(t)
	s := newStore(t, client)
	first := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	if err := s.Save(t.Context(), "k", []byte("v"), first); err != nil {
		t.Fatal(err)
	}
	later := first.Add(time.Hour)
	data, found, err := s.LoadAndTouch(t.Context(), "k", later)
	if err != nil || !found || string(data) != "v" {
		t.Fatalf("LoadAndTouch = (%q, %v, %v), want (v, true, nil)", data, found, err)
	}
	if got := storedExpiry(t, s, "k"); !got.Equal(later) {
		t.Errorf("expiresAt after LoadAndTouch = %v, want %v", got, later)
	}
	earlier := first.Add(-30 * time.Minute)
	if err := s.Touch(t.Context(), "k", earlier); err != nil {
		t.Fatal(err)
	}
	if got := storedExpiry(t, s, "k"); !got.Equal(earlier) {
		t.Errorf("expiresAt after Touch = %v, want %v", got, earlier)
	}
}

// TestMillisecondPrecision pins down expiry at the edge of a BSON date's
// millisecond: a record is never returned at or after its deadline, and
// never hidden more than 1 ms before it.
func TestMillisecondPrecision(t *testing.T) {
	client := connect(t)
	s := newStore(t, client)
	deadline := time.Now().Add(time.Hour).Truncate(time.Millisecond).Add(400 * time.Microsecond)
	s.now = func() time.Time { return deadline.Add(-time.Minute) }
	if err := s.Save(t.Context(), "k", []byte("v"), deadline); err != nil {
		t.Fatal(err)
	}
	if got, want := storedExpiry(t, s, "k"), deadline.Add(600*time.Microsecond); !got.Equal(want) {
		t.Errorf("stored expiresAt = %v, want the deadline rounded up to %v", got, want)
	}
	for _, c := range []struct {
		before time.Duration // how long before the deadline the load runs
		found  bool
	}{
		{time.Minute, true},
		{time.Millisecond + time.Nanosecond, true},
		{time.Nanosecond, false}, // hidden at most 1 ms early
		{0, false},
		{-time.Nanosecond, false},
		{-time.Millisecond, false},
	} {
		s.now = func() time.Time { return deadline.Add(-c.before) }
		if _, found, err := s.Load(t.Context(), "k"); err != nil || found != c.found {
			t.Errorf("Load %v before the deadline = (found %v, %v), want found %v", c.before, found, err, c.found)
		}
	}
}

func TestLargeRecords(t *testing.T) {
	client := connect(t)
	s := newStore(t, client)
	exp := time.Now().Add(time.Hour)
	big := bytes.Repeat([]byte("0123456789abcdef"), 4<<20/16)
	if err := s.Save(t.Context(), "4MiB", big, exp); err != nil {
		t.Fatalf("Save 4 MiB: %v", err)
	}
	got, found, err := s.Load(t.Context(), "4MiB")
	if err != nil || !found || !bytes.Equal(got, big) {
		t.Fatalf("Load 4 MiB = (%d bytes, %v, %v)", len(got), found, err)
	}
	err = s.Save(t.Context(), "16MiB", make([]byte, 16<<20), exp)
	if !errors.Is(err, store.ErrTooLarge) {
		t.Errorf("Save 16 MiB = %v, want store.ErrTooLarge", err)
	}
}

// TestConcurrentUpserts saves one new key from many goroutines at once;
// upserts that race into a duplicate-key error must retry.
func TestConcurrentUpserts(t *testing.T) {
	client := connect(t)
	s := newStore(t, client)
	exp := time.Now().Add(time.Hour)
	for round := range 5 {
		key := "race" + rand.Text()
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if err := s.Save(t.Context(), key, []byte("v"), exp); err != nil {
					t.Errorf("round %d: concurrent Save: %v", round, err)
				}
			})
		}
		wg.Wait()
	}
}

func TestClose(t *testing.T) {
	client := connect(t)
	s := newStore(t, client, WithCleanupInterval(time.Millisecond))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, _, err := s.Load(t.Context(), "k"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Load after Close = %v, want store.ErrClosed", err)
	}
	exp := time.Now().Add(time.Hour)
	for name, err := range map[string]error{
		"Save":   s.Save(t.Context(), "k", nil, exp),
		"Delete": s.Delete(t.Context(), "k"),
		"Touch":  s.Touch(t.Context(), "k", exp),
		"LoadAndTouch": func() error {
			_, _, err := s.LoadAndTouch(t.Context(), "k", exp)
			return err
		}(),
		"DeleteExpired": func() error { _, err := s.DeleteExpired(t.Context()); return err }(),
		"LoadVersion": func() error {
			_, err := s.LoadVersion(t.Context(), "k", time.Time{})
			return err
		}(),
		"SaveIf": func() error { _, err := s.SaveIf(t.Context(), "k", nil, exp, 0); return err }(),
	} {
		if !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close = %v, want store.ErrClosed", name, err)
		}
	}
	// The client still works.
	if err := client.Ping(t.Context(), nil); err != nil {
		t.Errorf("Ping after Close: %v", err)
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	if s, err := New(t.Context(), nil); err == nil || s != nil {
		t.Errorf("New(nil collection) = %v, %v; want an error", s, err)
	}
}

// Servers without TTL indexes are cleaned up every minute by default, as
// in every store package.
func TestDefaultCleanupInterval(t *testing.T) {
	if DefaultCleanupInterval != time.Minute {
		t.Errorf("DefaultCleanupInterval = %v, want 1m", DefaultCleanupInterval)
	}
}

// A nil Option is ignored and a nil logger means slog.Default(), as
// everywhere in the module.
func TestNilOptionAndLoggerAreDefaults(t *testing.T) {
	newStore(t, connect(t), nil, WithLogger(nil))
}

func TestNegativeCleanupInterval(t *testing.T) {
	client := connect(t)
	s := newStore(t, client, WithCleanupInterval(-time.Second), nil)
	if s.cleaner != nil {
		t.Error("WithCleanupInterval(-1s) started a background cleanup")
	}
}

func TestCeilMilli(t *testing.T) {
	base := time.Date(2030, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	for in, want := range map[time.Duration]time.Duration{
		0:                0,
		time.Nanosecond:  time.Millisecond,
		999_999:          time.Millisecond,
		time.Millisecond: time.Millisecond,
	} {
		if got := ceilMilli(base.Add(in)); !got.Equal(base.Add(want)) {
			t.Errorf("ceilMilli(base+%v) = base+%v, want base+%v", in, got.Sub(base), want)
		}
	}
}
