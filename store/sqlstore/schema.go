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

// Schema returns the statements that create the table and its index on the
// dialect d, as New runs them. Each statement is idempotent.
func Schema(d dialect.Name, table string) ([]string, error) {
	if err := validTable(table); err != nil {
		return nil, err
	}
	q, err := quoter(d)
	if err != nil {
		return nil, err
	}
	t, idx := q(table), q(table+"_expires_at_idx")
	key, data, exp := q("key"), q("data"), q("expires_at")
	switch d {
	case dialect.PG:
		return []string{
			"CREATE TABLE IF NOT EXISTS " + t + " (" +
				key + ` TEXT COLLATE "C" PRIMARY KEY, ` +
				data + " BYTEA NOT NULL, " +
				exp + " BIGINT NOT NULL)",
			"CREATE INDEX IF NOT EXISTS " + idx + " ON " + t + " (" + exp + ")",
		}, nil
	case dialect.SQLite:
		return []string{
			"CREATE TABLE IF NOT EXISTS " + t + " (" +
				key + " TEXT NOT NULL PRIMARY KEY, " +
				data + " BLOB NOT NULL, " +
				exp + " INTEGER NOT NULL)",
			"CREATE INDEX IF NOT EXISTS " + idx + " ON " + t + " (" + exp + ")",
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
				"PRIMARY KEY (" + key + "), " +
				"INDEX " + idx + " (" + exp + "))",
		}, nil
	}
}

// createSchema runs the statements of Schema.
func createSchema(ctx context.Context, db *bun.DB, table string) error {
	stmts, err := Schema(db.Dialect().Name(), table)
	if err != nil {
		return err
	}
	for _, stmt := range stmts {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return wrap(ctx, "create schema", err)
		}
	}
	return nil
}

// validTable checks that name is a safe, portable table name.
func validTable(name string) error {
	ok := len(name) > 0 && len(name) <= maxTableLen && !isDigit(name[0])
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c == '_' || 'a' <= c && c <= 'z' || isDigit(c)
	}
	if !ok {
		return fmt.Errorf("sqlstore: invalid table name %q: want 1 to %d of [a-z0-9_], not starting with a digit", name, maxTableLen)
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
