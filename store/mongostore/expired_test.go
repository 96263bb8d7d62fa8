package mongostore

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"testing"
	"time"
	"weak"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.uber.org/goleak"

	"github.com/sessionkit/sessions/internal/backendenv"
)

// TestForgottenClose drops a Store with a running cleanup without closing
// it: the Store must become unreachable and its goroutine must end.
func TestForgottenClose(t *testing.T) {
	client := connect(t)
	coll := newCollection(t, client)
	// A first store warms up the client's connections, so that the
	// goroutines left afterwards are the test's business only.
	first, err := New(t.Context(), coll, WithCleanupInterval(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if first.cleaner == nil {
		t.Skip("the server has TTL indexes; the store runs no background cleanup")
	}
	first.Close()
	ignore := goleak.IgnoreCurrent()

	gone := func() weak.Pointer[Store] {
		s, err := New(t.Context(), coll, WithCleanupInterval(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // let the cleanup run a few times
		return weak.Make(s)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for gone.Value() != nil {
		if time.Now().After(deadline) {
			t.Fatal("the dropped Store is still reachable after 10s of garbage collection")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	// The cleanup that stops the goroutine runs after the collection;
	// goleak.Find retries for a while.
	runtime.GC()
	if err := goleak.Find(ignore); err != nil {
		t.Fatalf("the dropped Store's goroutine still runs: %v", err)
	}
}

// recorder is a slog.Handler that keeps the records it handles.
type recorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec)
	return nil
}

// first returns the first record, if any.
func (r *recorder) first() (slog.Record, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.records) == 0 {
		return slog.Record{}, false
	}
	return r.records[0], true
}

// TestLoggerGetsCleanupErrors breaks the client under a running cleanup and
// expects the failure in the logger, at level Warn, under the key "error".
func TestLoggerGetsCleanupErrors(t *testing.T) {
	client, err := mongo.Connect(options.Client().ApplyURI(backendenv.Mongo(t)))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	s, err := New(t.Context(), client.Database(testDatabase).Collection("logger_"+rand.Text()[:12]),
		WithCleanupInterval(5*time.Millisecond), WithLogger(slog.New(rec)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.cleaner == nil {
		t.Skip("the server has TTL indexes; the store runs no background cleanup")
	}
	if err := client.Disconnect(t.Context()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, ok := rec.first()
		if ok {
			var logged any
			r.Attrs(func(a slog.Attr) bool {
				if a.Key == "error" {
					logged = a.Value.Any()
				}
				return true
			})
			if r.Level != slog.LevelWarn || logged == nil {
				t.Fatalf("logged %q at %v with no \"error\" attribute", r.Message, r.Level)
			}
			t.Logf("logged %q: %v", r.Message, logged)
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no cleanup failure logged within 5s of disconnecting the client")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDeleteExpiredBatches deletes more expired documents than one batch
// of the FerretDB cleanup holds, and keeps the live ones.
func TestDeleteExpiredBatches(t *testing.T) {
	s := newStore(t, connect(t), WithCleanupInterval(0))
	docs := make([]any, 0, 2*expiredBatch+10)
	past, future := time.Now().Add(-time.Minute), time.Now().Add(time.Hour)
	for i := range cap(docs) {
		docs = append(docs, record{Key: fmt.Sprint("expired", i), Data: []byte{}, ExpiresAt: past})
	}
	for i := range 5 {
		docs = append(docs, record{Key: fmt.Sprint("live", i), Data: []byte{}, ExpiresAt: future})
	}
	if _, err := s.coll.InsertMany(t.Context(), docs); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeleteExpired(t.Context())
	// A MongoDB TTL monitor may have removed some already.
	if err != nil || n > 2*expiredBatch+10 || (s.locks != nil && n != 2*expiredBatch+10) {
		t.Fatalf("DeleteExpired = %d, %v; want %d", n, err, 2*expiredBatch+10)
	}
	if c := count(t, s.coll); c != 5 {
		t.Fatalf("%d documents left, want the 5 live ones", c)
	}
}
