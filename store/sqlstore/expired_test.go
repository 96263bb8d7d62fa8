package sqlstore

import (
	"context"
	"crypto/rand"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"
)

// insertRows inserts expired and live rows into table directly, since Save
// does not store expired records.
func insertRows(t *testing.T, db *bun.DB, table string, expired, live int) {
	t.Helper()
	now := time.Now()
	for done := 0; done < expired+live; {
		query := "INSERT INTO ? (?, ?, ?, ?) VALUES "
		args := []any{bun.Ident(table), bun.Ident("key"), bun.Ident("data"), bun.Ident("expires_at"), bun.Ident("version")}
		for i := done; i < min(done+500, expired+live); i++ {
			exp := now.Add(-time.Minute)
			if i >= expired {
				exp = now.Add(time.Hour)
			}
			if i > done {
				query += ", "
			}
			query += "(?, ?, ?, ?)"
			args = append(args, "k"+rand.Text(), []byte("v"), micros(exp), newVersion(0))
		}
		if _, err := db.ExecContext(t.Context(), query, args...); err != nil {
			t.Fatalf("insert: %v", err)
		}
		done = min(done+500, expired+live)
	}
}

// TestDeleteExpiredBatches deletes more rows than one statement does.
func TestDeleteExpiredBatches(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *bun.DB) {
		for _, c := range []struct{ batch, expired int }{{3, 10}, {5, 10}, {deleteBatch, 2*deleteBatch + 500}} {
			s, table := newStore(t, db, WithCleanupInterval(0))
			s.batch = c.batch
			insertRows(t, db, table, c.expired, 4)
			n, err := s.DeleteExpired(t.Context())
			if err != nil || n != c.expired {
				t.Errorf("batches of %d: DeleteExpired = (%d, %v), want (%d, nil)", c.batch, n, err, c.expired)
			}
			if got := countRows(t, db, table); got != 4 {
				t.Errorf("batches of %d: %d rows left, want the 4 live ones", c.batch, got)
			}
		}
	})
}

func TestBackgroundCleanup(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *bun.DB) {
		_, table := newStore(t, db, WithCleanupInterval(20*time.Millisecond))
		insertRows(t, db, table, 3, 1)
		deadline := time.Now().Add(5 * time.Second)
		for countRows(t, db, table) != 1 {
			if time.Now().After(deadline) {
				t.Fatal("the background cleanup did not remove the expired rows within 5s")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// sqliteDB opens a SQLite database, which needs no server, for the tests
// of the cleanup goroutine: a server's driver may start goroutines of its
// own.
func sqliteDB(t *testing.T) *bun.DB {
	for _, b := range backends {
		if b.name == "SQLite" {
			return b.open(t)
		}
	}
	panic("no SQLite backend")
}

// cleaners returns how many cleanup goroutines run.
func cleaners() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "created by github.com/sessionkit/sessions/internal/cleanup.Start")
}

// waitCleaners waits up to five seconds, collecting garbage meanwhile,
// until n cleanup goroutines run, and reports whether they do.
func waitCleaners(n int) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if cleaners() == n {
			return true
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

func TestCleanupOff(t *testing.T) {
	db := sqliteDB(t)
	for _, d := range []time.Duration{0, -time.Second} {
		s, table := newStore(t, db, WithCleanupInterval(d))
		if n := cleaners(); n != 0 {
			t.Errorf("WithCleanupInterval(%v): %d cleanup goroutines run, want none", d, n)
		}
		insertRows(t, db, table, 2, 1)
		if n, err := s.DeleteExpired(t.Context()); err != nil || n != 2 {
			t.Errorf("WithCleanupInterval(%v): DeleteExpired = (%d, %v), want (2, nil)", d, n, err)
		}
		s.Close()
	}
}

func TestCloseStopsCleaner(t *testing.T) {
	s, _ := newStore(t, sqliteDB(t), WithCleanupInterval(time.Millisecond))
	if n := cleaners(); n != 1 {
		t.Fatalf("%d cleanup goroutines run, want 1", n)
	}
	s.Close()
	// Close returns once the goroutine is done; it may take a moment more
	// to leave the stack dump.
	if !waitCleaners(0) {
		t.Fatalf("Close left %d cleanup goroutines running", cleaners())
	}
}

// TestForgottenClose: a Store dropped without Close is collected, and its
// cleanup goroutine stops. (The database's cleanup then checks that no
// goroutine is left.)
func TestForgottenClose(t *testing.T) {
	db := sqliteDB(t)
	table := newTable(t, db)
	func() {
		_, err := New(t.Context(), db, WithTable(table), WithCleanupInterval(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond) // let it clean a few times
		if n := cleaners(); n != 1 {
			t.Fatalf("%d cleanup goroutines run, want 1", n)
		}
	}()
	if !waitCleaners(0) {
		t.Fatal("a Store dropped without Close left its cleanup goroutine running")
	}
}

// logRecords is a slog.Handler that sends every record to a channel.
type logRecords chan slog.Record

func (c logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (c logRecords) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c logRecords) WithGroup(string) slog.Handler            { return c }
func (c logRecords) Handle(_ context.Context, r slog.Record) error {
	select {
	case c <- r:
	default:
	}
	return nil
}

// TestLoggerGetsCleanupErrors: failures of the background cleanup reach
// the logger of WithLogger, under the key "error".
func TestLoggerGetsCleanupErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *bun.DB) {
		logs := make(logRecords, 10)
		_, table := newStore(t, db, WithCleanupInterval(10*time.Millisecond), WithLogger(slog.New(logs)))
		if _, err := db.ExecContext(t.Context(), "DROP TABLE ?", bun.Ident(table)); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-logs:
			var logged error
			r.Attrs(func(a slog.Attr) bool {
				if a.Key == "error" {
					logged, _ = a.Value.Any().(error)
				}
				return true
			})
			if r.Level != slog.LevelWarn || logged == nil {
				t.Errorf("logged %v %q with error %v, want a warning with an error under the key \"error\"", r.Level, r.Message, logged)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no cleanup failure logged within 5s of dropping the table")
		}
	})
}
