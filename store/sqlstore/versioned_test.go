package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/sessionkit/sessions/store"
)

// statements counts the statements bun sends.
type statements struct{ n atomic.Int64 }

func (c *statements) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *statements) AfterQuery(context.Context, *bun.QueryEvent) {}

// countStatements returns a function that runs f and reports how many
// statements it sent to db.
func countStatements(db *bun.DB) func(f func()) int {
	c := &statements{}
	db.AddQueryHook(c)
	return func(f func()) int {
		before := c.n.Load()
		f()
		return int(c.n.Load() - before)
	}
}

// row is a row of the table, as stored.
type row struct {
	data    string
	exp     int64
	version int64
}

// readRow returns the row under key, expired or not.
func readRow(t *testing.T, db *bun.DB, table, key string) (row, bool) {
	t.Helper()
	var r row
	err := db.QueryRowContext(t.Context(), "SELECT ?, ?, ? FROM ? WHERE ? = ?",
		bun.Ident("data"), bun.Ident("expires_at"), bun.Ident("version"), bun.Ident(table), bun.Ident("key"), key).
		Scan(&r.data, &r.exp, &r.version)
	if errors.Is(err, sql.ErrNoRows) {
		return row{}, false
	}
	if err != nil {
		t.Fatalf("read the row of %q: %v", key, err)
	}
	return r, true
}

// wantRow checks the row under key.
func wantRow(t *testing.T, db *bun.DB, table, key string, want row, why string) {
	t.Helper()
	if got, ok := readRow(t, db, table, key); !ok || got != want {
		t.Fatalf("%s: row of %q = %+v (found %v), want %+v", why, key, got, ok, want)
	}
}

// TestLoadVersionPerDialect: LoadVersion is one statement on every
// dialect; with a touch, PostgreSQL and SQLite move the expiry in it and
// report Touched, MySQL and MariaDB move nothing.
func TestLoadVersionPerDialect(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *bun.DB) {
		s, table := newStore(t, db, WithCleanupInterval(0))
		count := countStatements(db)
		canTouch := db.Dialect().Name() != dialect.MySQL
		first := time.Now().Add(time.Hour)
		v, err := s.SaveIf(t.Context(), "k", []byte("v"), first, 0)
		if err != nil {
			t.Fatal(err)
		}
		stored := row{"v", micros(first), int64(v)}
		wantRow(t, db, table, "k", stored, "SaveIf")

		var l store.Loaded
		if n := count(func() { l, err = s.LoadVersion(t.Context(), "k", time.Time{}) }); n != 1 {
			t.Errorf("LoadVersion without a touch sent %d statements, want 1", n)
		}
		if err != nil || string(l.Data) != "v" || l.Version != v || l.Touched {
			t.Fatalf("LoadVersion = (%+v, %v), want v, version %d, not touched", l, err, v)
		}

		later := first.Add(time.Hour)
		if n := count(func() { l, err = s.LoadVersion(t.Context(), "k", later) }); n != 1 {
			t.Errorf("LoadVersion with a touch sent %d statements, want 1", n)
		}
		if err != nil || string(l.Data) != "v" || l.Version != v || l.Touched != canTouch {
			t.Fatalf("LoadVersion with a touch = (%+v, %v), want v, version %d, touched %v", l, err, v, canTouch)
		}
		if canTouch {
			stored.exp = micros(later)
		}
		wantRow(t, db, table, "k", stored, "LoadVersion with a touch")

		// A touch of an expired row neither revives it nor reports it.
		s.now = func() time.Time { return later.Add(time.Second) }
		if l, err := s.LoadVersion(t.Context(), "k", later.Add(time.Hour)); err != nil || l.Found() || l.Touched || l.Data != nil {
			t.Fatalf("LoadVersion with a touch of an expired row = (%+v, %v), want nothing", l, err)
		}
		wantRow(t, db, table, "k", stored, "LoadVersion with a touch of an expired row")
	})
}

// TestSaveIfPerDialect checks what each of SaveIf's statements leaves in
// the table, and that each is one statement.
func TestSaveIfPerDialect(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *bun.DB) {
		s, table := newStore(t, db, WithCleanupInterval(0))
		count := countStatements(db)
		start := time.Now().Truncate(time.Microsecond)
		s.now = func() time.Time { return start }
		exp := start.Add(time.Hour)
		saveIf := func(data string, exp time.Time, v store.Version) (nv store.Version, err error) {
			t.Helper()
			if n := count(func() { nv, err = s.SaveIf(t.Context(), "k", []byte(data), exp, v) }); n != 1 {
				t.Errorf("SaveIf(%q, version %d) sent %d statements, want 1", data, v, n)
			}
			return nv, err
		}
		mustSaveIf := func(data string, exp time.Time, v store.Version) row {
			t.Helper()
			nv, err := saveIf(data, exp, v)
			if err != nil || nv == 0 || nv == v {
				t.Fatalf("SaveIf(%q, version %d) = (%d, %v), want a new version", data, v, nv, err)
			}
			want := row{data, micros(exp), int64(nv)}
			wantRow(t, db, table, "k", want, "SaveIf")
			return want
		}
		conflict := func(data string, exp time.Time, v store.Version, want row, why string) {
			t.Helper()
			if nv, err := saveIf(data, exp, v); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("%s: SaveIf(%q, version %d) = (%d, %v), want store.ErrConflict", why, data, v, nv, err)
			}
			wantRow(t, db, table, "k", want, why+": the row must not change")
		}

		// Insert, then conflict with the live row: the upsert's WHERE (or
		// MySQL's IF) leaves it alone.
		r := mustSaveIf("first", exp, 0)
		conflict("second", exp.Add(time.Hour), 0, r, "version 0 over a live row")

		// Update, then conflict with a stale version.
		old := r
		r = mustSaveIf("second", exp.Add(time.Minute), store.Version(r.version))
		conflict("third", exp, store.Version(old.version), r, "a stale version")

		// At its deadline the row is expired: its version no longer
		// matches, and version 0 replaces every column of it (on MySQL,
		// expires_at is assigned last, so the other columns see the old
		// one).
		s.now = func() time.Time { return exp.Add(time.Minute) }
		conflict("revived", exp.Add(time.Hour), store.Version(r.version), r, "the version of an expired row")
		r = mustSaveIf("replaced", exp.Add(time.Hour), 0)

		// A plain Save gives a new version.
		if err := s.Save(t.Context(), "k", []byte("saved"), exp.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		saved, _ := readRow(t, db, table, "k")
		if saved.version == r.version || saved.version == 0 || saved.data != "saved" {
			t.Fatalf("Save left the row %+v, want a new version after %d", saved, r.version)
		}
		conflict("stale", exp.Add(time.Hour), store.Version(r.version), saved, "a version Save replaced")

		// A past deadline with the right version deletes the row; with a
		// stale one it conflicts.
		past := s.now().Add(-time.Second)
		conflict("gone", past, store.Version(r.version), saved, "a past deadline with a stale version")
		conflict("gone", past, 0, saved, "a past deadline with version 0 over a live row")
		if nv, err := saveIf("gone", past, store.Version(saved.version)); err != nil || nv != 0 {
			t.Fatalf("SaveIf with a past deadline and the current version = (%d, %v), want (0, nil)", nv, err)
		}
		if r, ok := readRow(t, db, table, "k"); ok {
			t.Fatalf("SaveIf with a past deadline left the row %+v", r)
		}
		if nv, err := saveIf("gone", past, 0); err != nil || nv != 0 {
			t.Fatalf("SaveIf with a past deadline and version 0 on a missing key = (%d, %v), want (0, nil)", nv, err)
		}
	})
}

// TestSaveIfEmptyData: empty data is stored as an empty value, not NULL.
func TestSaveIfEmptyData(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *bun.DB) {
		s, _ := newStore(t, db, WithCleanupInterval(0))
		exp := time.Now().Add(time.Hour)
		v, err := s.SaveIf(t.Context(), "k", nil, exp, 0)
		if err != nil {
			t.Fatal(err)
		}
		if v, err = s.SaveIf(t.Context(), "k", nil, exp, v); err != nil {
			t.Fatal(err)
		}
		l, err := s.LoadVersion(t.Context(), "k", time.Time{})
		if err != nil || l.Data == nil || len(l.Data) != 0 || l.Version != v {
			t.Fatalf("LoadVersion = (%+v, %v), want empty non-nil data with version %d", l, err, v)
		}
	})
}

// oldSchema is the schema of the release before versions.
func oldSchema(d dialect.Name, table string) []string {
	switch d {
	case dialect.PG:
		return []string{
			`CREATE TABLE "` + table + `" ("key" TEXT COLLATE "C" PRIMARY KEY, "data" BYTEA NOT NULL, "expires_at" BIGINT NOT NULL)`,
			`CREATE INDEX "` + table + `_expires_at_idx" ON "` + table + `" ("expires_at")`,
		}
	case dialect.SQLite:
		return []string{
			`CREATE TABLE "` + table + `" ("key" TEXT NOT NULL PRIMARY KEY, "data" BLOB NOT NULL, "expires_at" INTEGER NOT NULL)`,
			`CREATE INDEX "` + table + `_expires_at_idx" ON "` + table + `" ("expires_at")`,
		}
	default:
		return []string{"CREATE TABLE `" + table + "` (`key` VARBINARY(255) NOT NULL, `data` LONGBLOB NOT NULL, " +
			"`expires_at` BIGINT NOT NULL, PRIMARY KEY (`key`), INDEX `" + table + "_expires_at_idx` (`expires_at`))"}
	}
}

// TestAddVersionColumn: New adds the version column to a table of the
// previous release, once, also when several processes start at once, and
// the rows already there keep working.
func TestAddVersionColumn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *bun.DB) {
		table := newTable(t, db)
		for _, stmt := range oldSchema(db.Dialect().Name(), table) {
			if _, err := db.ExecContext(t.Context(), stmt); err != nil {
				t.Fatal(err)
			}
		}
		exp := micros(time.Now().Add(time.Hour))
		if _, err := db.ExecContext(t.Context(), "INSERT INTO ? (?, ?, ?) VALUES ('old', 'data', ?)",
			bun.Ident(table), bun.Ident("key"), bun.Ident("data"), bun.Ident("expires_at"), exp); err != nil {
			t.Fatal(err)
		}
		stores := make([]*Store, 4)
		errs := make([]error, len(stores))
		var wg sync.WaitGroup
		for i := range stores {
			wg.Go(func() { stores[i], errs[i] = New(t.Context(), db, WithTable(table), WithCleanupInterval(0)) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("New #%d on a table without the version column: %v", i, err)
			}
			t.Cleanup(func() { stores[i].Close() })
		}
		s := stores[0]
		wantRow(t, db, table, "old", row{"data", exp, 1}, "a row from before the version column")
		l, err := s.LoadVersion(t.Context(), "old", time.Time{})
		if err != nil || string(l.Data) != "data" || l.Version != 1 {
			t.Fatalf("LoadVersion of an old row = (%+v, %v), want its data with version 1", l, err)
		}
		v, err := s.SaveIf(t.Context(), "old", []byte("new"), time.Now().Add(time.Hour), 1)
		if err != nil || v == 1 {
			t.Fatalf("SaveIf over an old row = (%d, %v), want a new version", v, err)
		}
		// A process of the previous release still inserts rows.
		if _, err := db.ExecContext(t.Context(), "INSERT INTO ? (?, ?, ?) VALUES ('older', 'data', ?)",
			bun.Ident(table), bun.Ident("key"), bun.Ident("data"), bun.Ident("expires_at"), exp); err != nil {
			t.Fatalf("an insert without the version column fails after the upgrade: %v", err)
		}
		if s, err := New(t.Context(), db, WithTable(table), WithCleanupInterval(0)); err != nil {
			t.Fatalf("New on the upgraded table: %v", err)
		} else {
			s.Close()
		}
	})
}
