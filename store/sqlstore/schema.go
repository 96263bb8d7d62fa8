package sqlstore

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// maxTableLen keeps the table name and the index name derived from it
// within every dialect's identifier limit (63 bytes on PostgreSQL).
const maxTableLen = 48

// ownersSuffix follows the table's name in the name of the table of owner
// indexes (store.OwnerIndex): a row per entry.
const ownersSuffix = "_owners"

// Schema returns the statements that create the table and its index, and
// the table of owner indexes (named after the table, with "_owners") and
// its index, on the dialect d, as New runs them. Each statement is
// idempotent.
//
// A table created by an earlier release has no version column. New adds it
// unless WithoutSchemaCreation is given; applications that manage their
// schema themselves add it with the statement in the package
// documentation.
func Schema(d dialect.Name, table string) ([]string, error) {
	if err := validTable(table); err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	q, err := quoter(d)
	if err != nil {
		return nil, err
	}
	t, idx := q(table), q(table+"_expires_at_idx")
	key, data, exp, ver := q("key"), q("data"), q("expires_at"), q("version")
	ot, oidx := q(table+ownersSuffix), q(table+ownersSuffix+"_dl")
	owner, id, deadline, added := q("owner_key"), q("id"), q("deadline"), q("added")
	ownerCols := owner + ", " + id
	switch d {
	case dialect.PG:
		return []string{
			"CREATE TABLE IF NOT EXISTS " + t + " (" +
				key + ` TEXT COLLATE "C" PRIMARY KEY, ` +
				data + " BYTEA NOT NULL, " +
				exp + " BIGINT NOT NULL, " +
				ver + " BIGINT NOT NULL)",
			"CREATE INDEX IF NOT EXISTS " + idx + " ON " + t + " (" + exp + ")",
			"CREATE TABLE IF NOT EXISTS " + ot + " (" +
				owner + ` TEXT COLLATE "C" NOT NULL, ` +
				id + ` TEXT COLLATE "C" NOT NULL, ` +
				deadline + " BIGINT NOT NULL, " +
				added + " BIGINT NOT NULL, " +
				"PRIMARY KEY (" + ownerCols + "))",
			"CREATE INDEX IF NOT EXISTS " + oidx + " ON " + ot + " (" + deadline + ")",
		}, nil
	case dialect.SQLite:
		return []string{
			"CREATE TABLE IF NOT EXISTS " + t + " (" +
				key + " TEXT NOT NULL PRIMARY KEY, " +
				data + " BLOB NOT NULL, " +
				exp + " INTEGER NOT NULL, " +
				ver + " INTEGER NOT NULL)",
			"CREATE INDEX IF NOT EXISTS " + idx + " ON " + t + " (" + exp + ")",
			"CREATE TABLE IF NOT EXISTS " + ot + " (" +
				owner + " TEXT NOT NULL, " +
				id + " TEXT NOT NULL, " +
				deadline + " INTEGER NOT NULL, " +
				added + " INTEGER NOT NULL, " +
				"PRIMARY KEY (" + ownerCols + ")) WITHOUT ROWID",
			"CREATE INDEX IF NOT EXISTS " + oidx + " ON " + ot + " (" + deadline + ")",
		}, nil
	default: // dialect.MySQL: quoter rejected every other dialect
		// MySQL has no CREATE INDEX IF NOT EXISTS (MariaDB has), so the
		// index is part of the table definition. VARBINARY compares keys
		// byte for byte, without collation or trailing-space padding.
		return []string{
			"CREATE TABLE IF NOT EXISTS " + t + " (" +
				key + " VARBINARY(255) NOT NULL, " +
				data + " LONGBLOB NOT NULL, " +
				exp + " BIGINT NOT NULL, " +
				ver + " BIGINT NOT NULL, " +
				"PRIMARY KEY (" + key + "), " +
				"INDEX " + idx + " (" + exp + "))",
			"CREATE TABLE IF NOT EXISTS " + ot + " (" +
				owner + " VARBINARY(255) NOT NULL, " +
				id + " VARBINARY(255) NOT NULL, " +
				deadline + " BIGINT NOT NULL, " +
				added + " BIGINT NOT NULL, " +
				"PRIMARY KEY (" + ownerCols + "), " +
				"INDEX " + oidx + " (" + deadline + "))",
		}, nil
	}
}

// createSchema runs the statements of Schema, then adds the version column
// to a table that an earlier release created without it.
func createSchema(ctx context.Context, db *bun.DB, table string) error {
	stmts, err := Schema(db.Dialect().Name(), table)
	if err != nil {
		return err
	}
	for _, stmt := range stmts {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			// Two processes creating one table at once: PostgreSQL's
			// IF NOT EXISTS can fail on the loser, whose second try
			// finds the table.
			if _, again := db.ExecContext(ctx, stmt); again != nil {
				return wrap(ctx, "create schema", err)
			}
		}
	}
	return addVersionColumn(ctx, db, table)
}

// addVersionColumn adds the version column to table if it has none. Rows
// that were there get version 1, and so does any row that a process of an
// earlier release inserts during a rolling upgrade; every write of this
// release gives a row a random version. Where two processes add the column
// at once, the loser's error is ignored.
func addVersionColumn(ctx context.Context, db *bun.DB, table string) error {
	if ok, err := hasVersionColumn(ctx, db, table); ok || err != nil {
		return err
	}
	_, err := db.ExecContext(ctx, "ALTER TABLE ? ADD COLUMN ? BIGINT NOT NULL DEFAULT 1",
		bun.Ident(table), bun.Ident("version"))
	if err != nil {
		if ok, _ := hasVersionColumn(ctx, db, table); !ok {
			return wrap(ctx, "add the version column", err)
		}
	}
	return nil
}

// hasVersionColumn reports whether table has a column named version.
func hasVersionColumn(ctx context.Context, db *bun.DB, table string) (bool, error) {
	var query string
	switch db.Dialect().Name() {
	case dialect.PG:
		// to_regclass finds the table the way statements do, through the
		// search_path.
		query = "SELECT COUNT(*) FROM pg_catalog.pg_attribute" +
			" WHERE attrelid = to_regclass(?) AND attname = 'version' AND NOT attisdropped"
	case dialect.SQLite:
		query = "SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = 'version'"
	default:
		query = "SELECT COUNT(*) FROM information_schema.columns" +
			" WHERE table_schema = DATABASE() AND table_name = ? AND column_name = 'version'"
	}
	var n int
	if err := db.QueryRowContext(ctx, query, table).Scan(&n); err != nil {
		return false, wrap(ctx, "look for the version column", err)
	}
	return n > 0, nil
}

// validTable checks that name is a safe, portable table name.
func validTable(name string) error {
	ok := len(name) > 0 && len(name) <= maxTableLen && !isDigit(name[0])
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c == '_' || 'a' <= c && c <= 'z' || isDigit(c)
	}
	if !ok {
		return fmt.Errorf("invalid table name %q: want 1 to %d of [a-z0-9_], not starting with a digit", name, maxTableLen)
	}
	return nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// quoter returns the function that quotes identifiers on dialect d. It only
// quotes names that validTable accepted, which contain no quote characters.
func quoter(d dialect.Name) (func(string) string, error) {
	switch d {
	case dialect.PG, dialect.SQLite:
		return func(s string) string { return `"` + s + `"` }, nil
	case dialect.MySQL:
		return func(s string) string { return "`" + s + "`" }, nil
	default:
		return nil, fmt.Errorf("sqlstore: unsupported dialect %v: want PostgreSQL, MySQL/MariaDB or SQLite", d)
	}
}
