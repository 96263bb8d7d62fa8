package sqlstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/mysqldialect"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/sqliteshim"
	"github.com/uptrace/bun/schema"
	"go.uber.org/goleak"

	"github.com/sessionkit/sessions/internal/backendenv"
	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/storetest"
)

// backends are the databases every test runs on. open returns a database
// closed when the test ends, after which no goroutine the test started may
// remain; it skips the test when the server is not available.
var backends = []struct {
	name string
	open func(t testing.TB) *bun.DB
}{
	{"PostgreSQL", func(t testing.TB) *bun.DB {
		// pgx rather than bun's pgdriver, which imports OpenTelemetry: this
		// module's dependencies are its users' go.sum (internal/lean checks
		// it). The end-to-end tests in internal/backendtests use pgdriver.
		cfg, err := pgx.ParseConfig(backendenv.Postgres(t))
		if err != nil {
			t.Fatal(err)
		}
		// bun writes the arguments into the statement, as pgdriver sends it:
		// one round trip, no prepared statement.
		cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
		return openDB(t, stdlib.OpenDB(*cfg), pgdialect.New())
	}},
	{"MariaDB", func(t testing.TB) *bun.DB {
		return openMySQL(t, backendenv.MariaDB(t))
	}},
	{"MySQL", func(t testing.TB) *bun.DB {
		dsn, ok := backendenv.MySQL(t)
		if !ok {
			t.Skip("MySQL is optional and not configured (SESSIONS_TEST_MYSQL_DSN or SESSIONS_TEST_IMAGE_MYSQL)")
		}
		return openMySQL(t, dsn)
	}},
	{"SQLite", func(t testing.TB) *bun.DB {
		dsn := "file:" + t.TempDir() + "/sessions.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"
		sqldb, err := sql.Open(sqliteshim.ShimName, dsn)
		if err != nil {
			t.Fatal(err)
		}
		// One writer at a time: queue in the pool rather than in SQLite's
		// busy handler, which sleeps up to 100 ms between retries.
		sqldb.SetMaxOpenConns(1)
		return openDB(t, sqldb, sqlitedialect.New())
	}},
}

func openMySQL(t testing.TB, dsn string) *bun.DB {
	sqldb, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	return openDB(t, sqldb, mysqldialect.New())
}

func openDB(t testing.TB, sqldb *sql.DB, d schema.Dialect) *bun.DB {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	if sqldb.Stats().MaxOpenConnections == 0 {
		sqldb.SetMaxOpenConns(20)
	}
	db := bun.NewDB(sqldb, d)
	t.Cleanup(func() { db.Close() })
	if err := db.PingContext(t.Context()); err != nil {
		t.Fatalf("ping: %v", err)
	}
	return db
}

// forEachBackend runs test as a subtest on every backend.
func forEachBackend(t *testing.T, test func(t *testing.T, db *bun.DB)) {
	for _, b := range backends {
		if b.name == "MySQL" && !backendenv.MySQLConfigured() {
			continue // optional: no MySQL server package offline; see README
		}
		t.Run(b.name, func(t *testing.T) { test(t, b.open(t)) })
	}
}

// newTable returns a fresh table name, dropped when t ends.
func newTable(t testing.TB, db *bun.DB) string {
	t.Helper()
	table := "sessions_" + strings.ToLower(rand.Text()[:12])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS ?", bun.Ident(table)); err != nil {
			t.Errorf("drop %s: %v", table, err)
		}
	})
	return table
}

// newStore returns a Store on a table of its own, closed when t ends.
func newStore(t testing.TB, db *bun.DB, opts ...Option) (*Store, string) {
	t.Helper()
	table := newTable(t, db)
	s, err := New(t.Context(), db, append([]Option{WithTable(table)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, table
}

func TestConformance(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *bun.DB) {
		storetest.Run(t, func(t *testing.T) store.Store {
			s, _ := newStore(t, db)
			return s
		})
	})
}

// TestNotLoadToucher: MySQL and MariaDB cannot load and touch in one
// statement, so no dialect claims store.LoadToucher; LoadVersion's Touched
// says what happened instead.
func TestNotLoadToucher(t *testing.T) {
	var s any = (*Store)(nil)
	if _, ok := s.(store.LoadToucher); ok {
		t.Error("*Store implements store.LoadToucher")
	}
}

// storedExpiry returns the expires_at column of the row under key.
func storedExpiry(t *testing.T, db *bun.DB, table, key string) int64 {
	t.Helper()
	var exp int64
	err := db.QueryRowContext(t.Context(), "SELECT expires_at FROM ? WHERE ? = ?",
		bun.Ident(table), bun.Ident("key"), key).Scan(&exp)
	if err != nil {
		t.Fatalf("read expires_at of %q: %v", key, err)
	}
	return exp
}

// countRows returns the number of rows in table, expired or not.
func countRows(t *testing.T, db *bun.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM ?", bun.Ident(table)).Scan(&n); err != nil {
		t.Fatalf("count rows: %v", err)
	}
	return n
}

// TestSchemaIdempotent creates the schema three times on the same table:
// twice through New, once from the statements of Schema.
func TestSchemaIdempotent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *bun.DB) {
		table := newTable(t, db)
		for range 2 {
			s, err := New(t.Context(), db, WithTable(table), WithCleanupInterval(0))
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			s.Close()
		}
		stmts, err := Schema(db.Dialect().Name(), table)
		if err != nil {
			t.Fatal(err)
		}
		for _, stmt := range stmts {
			if _, err := db.ExecContext(t.Context(), stmt); err != nil {
				t.Errorf("%s: %v", stmt, err)
			}
		}
	})
}

func TestWithoutSchemaCreation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *bun.DB) {
		table := newTable(t, db)
		s, err := New(t.Context(), db, WithTable(table), WithoutSchemaCreation(), WithCleanupInterval(0))
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		defer s.Close()
		exp := time.Now().Add(time.Hour)
		if err := s.Save(t.Context(), "k", []byte("v"), exp); err == nil {
			t.Fatal("Save succeeded on a table New was told not to create")
		}
		stmts, _ := Schema(db.Dialect().Name(), table)
		for _, stmt := range stmts {
			if _, err := db.ExecContext(t.Context(), stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		if err := s.Save(t.Context(), "k", []byte("v"), exp); err != nil {
			t.Fatalf("Save after creating the schema: %v", err)
		}
	})
}

// TestLargeValue round-trips 4 MiB, more than a 64 KiB BLOB holds.
func TestLargeValue(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *bun.DB) {
		s, _ := newStore(t, db)
		big := make([]byte, 4<<20)
		rand.Read(big)
		if err := s.Save(t.Context(), "big", big, time.Now().Add(time.Hour)); err != nil {
			t.Fatalf("Save 4 MiB: %v", err)
		}
		got, found, err := s.Load(t.Context(), "big")
		if err != nil || !found || !bytes.Equal(got, big) {
			t.Fatalf("Load 4 MiB = (%d bytes, %v, %v)", len(got), found, err)
		}
	})
}

// TestTooLarge: on MySQL a record that cannot fit in max_allowed_packet is
// rejected before it reaches the server.
// Only MySQL limits the statement size below what sessions need.
func TestTooLarge(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *bun.DB) {
		if db.Dialect().Name() != dialect.MySQL {
			return // nothing to reject: no limit below a session's size
		}
		s, _ := newStore(t, db)
		limit := s.maxData
		if limit <= 0 {
			t.Fatalf("maxData = %d, want the limit from max_allowed_packet", limit)
		}
		err := s.Save(t.Context(), "big", make([]byte, limit+1), time.Now().Add(time.Hour))
		if !errors.Is(err, store.ErrTooLarge) {
			t.Errorf("Save of %d bytes = %v, want store.ErrTooLarge", limit+1, err)
		}
	})
}

// TestMicrosecondPrecision pins down expiry at the edge of a microsecond:
// the column keeps sub-second deadlines, a record is never returned at or
// after its deadline, and never hidden more than 1 µs before it.
func TestMicrosecondPrecision(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *bun.DB) {
		s, table := newStore(t, db, WithCleanupInterval(0))
		b := s.table
		deadline := time.Now().Add(time.Hour).Truncate(time.Second).Add(123456789 * time.Nanosecond)
		b.now = func() time.Time { return deadline.Add(-time.Minute) }
		if err := s.Save(t.Context(), "k", []byte("v"), deadline); err != nil {
			t.Fatal(err)
		}
		if got, want := storedExpiry(t, db, table, "k"), deadline.Add(211*time.Nanosecond).UnixMicro(); got != want {
			t.Errorf("stored expires_at = %d, want the deadline rounded up to %d", got, want)
		}
		for _, c := range []struct {
			before time.Duration // how long before the deadline the load runs
			found  bool
		}{
			{time.Minute, true},
			{time.Millisecond, true},
			{time.Microsecond + time.Nanosecond, true},
			{time.Nanosecond, false}, // hidden at most 1 µs early
			{0, false},
			{-time.Nanosecond, false},
			{-time.Millisecond, false},
		} {
			b.now = func() time.Time { return deadline.Add(-c.before) }
			if _, found, err := s.Load(t.Context(), "k"); err != nil || found != c.found {
				t.Errorf("Load %v before the deadline = (found %v, %v), want found %v", c.before, found, err, c.found)
			}
		}
	})
}

// TestSubSecondExpiry checks expiry against the real clock with a deadline
// 300 ms ahead, which a column of whole seconds would get wrong.
func TestSubSecondExpiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *bun.DB) {
		s, _ := newStore(t, db)
		deadline := time.Now().Add(300 * time.Millisecond)
		if err := s.Save(t.Context(), "k", []byte("v"), deadline); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Until(deadline.Add(-100 * time.Millisecond)))
		if _, found, err := s.Load(t.Context(), "k"); err != nil || !found {
			t.Fatalf("Load 100 ms before the deadline = (found %v, %v)", found, err)
		}
		time.Sleep(time.Until(deadline))
		if _, found, err := s.Load(t.Context(), "k"); err != nil || found {
			t.Fatalf("Load at the deadline = (found %v, %v)", found, err)
		}
	})
}

func TestClose(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *bun.DB) {
		s, _ := newStore(t, db, WithCleanupInterval(time.Millisecond))
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		ctx, exp := t.Context(), time.Now().Add(time.Hour)
		for name, call := range map[string]func() error{
			"Load":   func() error { _, _, err := s.Load(ctx, "k"); return err },
			"Save":   func() error { return s.Save(ctx, "k", []byte("v"), exp) },
			"Delete": func() error { return s.Delete(ctx, "k") },
			"Touch":  func() error { return s.Touch(ctx, "k", exp) },
			"LoadVersion": func() error {
				_, err := s.LoadVersion(ctx, "k", exp)
				return err
			},
			"SaveIf": func() error {
				_, err := s.SaveIf(ctx, "k", []byte("v"), exp, 0)
				return err
			},
			"DeleteExpired": func() error { _, err := s.DeleteExpired(ctx); return err },
		} {
			if err := call(); !errors.Is(err, store.ErrClosed) {
				t.Errorf("%s after Close = %v, want an error wrapping store.ErrClosed", name, err)
			}
		}
		if err := db.PingContext(t.Context()); err != nil {
			t.Errorf("the database must stay open after Close: %v", err)
		}
	})
}

func TestBadKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *bun.DB) {
		s, _ := newStore(t, db)
		exp := time.Now().Add(time.Hour)
		for _, key := range []string{strings.Repeat("k", MaxKeyLen+1), "a\x00b", "a\xffb"} {
			if err := s.Save(t.Context(), key, []byte("v"), exp); err == nil {
				t.Errorf("Save(%q) succeeded, want an error", key)
			}
			if _, _, err := s.Load(t.Context(), key); err == nil {
				t.Errorf("Load(%q) succeeded, want an error", key)
			}
		}
		longest := strings.Repeat("k", MaxKeyLen)
		if err := s.Save(t.Context(), longest, []byte("v"), exp); err != nil {
			t.Errorf("Save of a %d-byte key: %v", MaxKeyLen, err)
		}
		if _, found, err := s.Load(t.Context(), longest); err != nil || !found {
			t.Errorf("Load of a %d-byte key = (found %v, %v)", MaxKeyLen, found, err)
		}
	})
}

func TestNewRejectsBadInput(t *testing.T) {
	if _, err := New(t.Context(), nil); err == nil {
		t.Error("New(nil) succeeded")
	}
	db := backends[len(backends)-1].open(t) // SQLite: no server needed
	for _, table := range []string{"", "1sessions", "Sessions", "sessions; DROP TABLE x", `a"b`, "a.b", strings.Repeat("s", maxTableLen+1)} {
		if _, err := New(t.Context(), db, WithTable(table)); err == nil || !strings.HasPrefix(err.Error(), "sqlstore: WithTable: ") {
			t.Errorf("New(WithTable(%q)) = %v, want an error naming the package and the option", table, err)
		}
	}
}

// A nil Option is ignored and a nil logger means slog.Default(), as
// everywhere in the module.
func TestNilOptionAndLoggerAreDefaults(t *testing.T) {
	db := backends[len(backends)-1].open(t) // SQLite: no server needed
	s, err := New(t.Context(), db, nil, WithTable("nil_options_"+strings.ToLower(rand.Text()[:8])), WithLogger(nil))
	if err != nil {
		t.Fatalf("New(nil, WithLogger(nil)): %v", err)
	}
	if s.cleaner == nil {
		t.Error("no background cleanup by default")
	}
	s.Close()
}

func TestDefaultCleanupInterval(t *testing.T) {
	if DefaultCleanupInterval != time.Minute {
		t.Errorf("DefaultCleanupInterval = %v, want 1m, as in every store", DefaultCleanupInterval)
	}
}

func TestMicros(t *testing.T) {
	base := time.Date(2030, 1, 2, 3, 4, 5, 6_000, time.UTC)
	for in, want := range map[time.Duration]int64{0: 0, 1: 1, 999: 1, 1000: 1} {
		if got := micros(base.Add(in)) - base.UnixMicro(); got != want {
			t.Errorf("micros(base+%v) = base+%dµs, want base+%dµs", in, got, want)
		}
	}
}
