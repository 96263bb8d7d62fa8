// Package sqlstore keeps sessions in an SQL table through
// github.com/uptrace/bun, on PostgreSQL, MySQL 8, MariaDB and SQLite.
//
// The table has four columns (DDL per dialect from Schema):
//
//	key         the record key; primary key (TEXT, or VARBINARY(255) on MySQL)
//	data        the record (BYTEA, LONGBLOB on MySQL, BLOB on SQLite)
//	expires_at  the deadline in Unix microseconds, BIGINT, indexed
//	version     the version of the record, a random non-zero BIGINT
//
// The deadline is an integer on every dialect so that comparisons are exact
// and independent of server time zones, session settings and drivers. It is
// rounded up to the microsecond when saved and compared with the current
// time, taken in Go and rounded the same way, so a record is never returned
// after its deadline. To read it as a time: to_timestamp(expires_at / 1e6)
// on PostgreSQL, FROM_UNIXTIME(expires_at / 1000000) on MySQL,
// datetime(expires_at / 1000000, 'unixepoch', 'subsec') on SQLite.
//
// Keys are case-sensitive byte strings of valid UTF-8 without NUL bytes, at
// most 255 bytes long (MaxKeyLen); other keys are rejected with an error.
//
// Owner indexes (store.OwnerIndex) live in a second table, named after
// the first with "_owners": a row per entry, with the index key, the
// session ID (together the primary key), the deadline (Unix microseconds,
// indexed) and the time added.
//
// New creates the tables and their indexes unless WithoutSchemaCreation is given;
// creation is idempotent on every dialect. Expired rows are never returned
// and are deleted by DeleteExpired, which a background goroutine runs every
// five minutes (WithCleanupInterval) until Close, or until the Store is
// garbage collected.
//
// # Capabilities
//
// A Store implements store.Store, store.Versioned, store.Toucher and
// store.ExpiredDeleter on every dialect, each call in one statement. Every
// Save and SaveIf gives the record a new random version; SaveIf is an
// UPDATE ... WHERE version = ?, or for the zero version an insert that
// replaces only an expired row (INSERT ... ON CONFLICT DO UPDATE ... WHERE
// on PostgreSQL and SQLite, INSERT ... ON DUPLICATE KEY UPDATE on MySQL).
//
// LoadVersion with a touch moves the record's expiry in the same statement
// on PostgreSQL and SQLite (UPDATE ... RETURNING) and reports Touched.
// MySQL and MariaDB have no UPDATE ... RETURNING: there LoadVersion ignores
// the touch and reports Touched == false. For the same reason the Store
// does not implement store.LoadToucher on any dialect.
//
// # Upgrading a table without the version column
//
// Releases before versions created the table without the version column.
// New adds it (ALTER TABLE, once, when the column is missing); with
// WithoutSchemaCreation, add it yourself before deploying, on every
// dialect with:
//
//	ALTER TABLE sessions ADD COLUMN version BIGINT NOT NULL DEFAULT 1
//
// Rows already in the table get version 1. The default also lets processes
// of the earlier release keep writing during a rolling upgrade, but their
// writes do not change versions, so conflicts are only detected reliably
// once every process runs this release.
//
// # Dialect notes
//
// On MySQL and MariaDB a statement must fit in max_allowed_packet, and bun
// sends data in hex, doubling it: Save and SaveIf reject records larger
// than about half of max_allowed_packet (read once by New) with
// store.ErrTooLarge. SaveIf tells an insert from a conflict by the number
// of affected rows, so the DSN must not set clientFoundRows=true.
//
// SQLite allows one writer at a time. Open the database with a busy timeout
// (modernc.org/sqlite: _pragma=busy_timeout(5000)), preferably in WAL mode,
// or limit the pool to one connection with db.SetMaxOpenConns(1).
package sqlstore
