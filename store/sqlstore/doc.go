// Package sqlstore keeps sessions in an SQL table through
// github.com/uptrace/bun, on PostgreSQL, MySQL 8, MariaDB and SQLite.
//
// The table has three columns (DDL per dialect from Schema):
//
//	key         the record key; primary key (TEXT, or VARBINARY(255) on MySQL)
//	data        the record (BYTEA, LONGBLOB on MySQL, BLOB on SQLite)
//	expires_at  the deadline in Unix microseconds, BIGINT, indexed
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
// New creates the table and its index unless WithoutSchemaCreation is given;
// creation is idempotent on every dialect. Expired rows are never returned
// and are deleted by DeleteExpired, which a background goroutine runs every
// five minutes (WithCleanupInterval) until Close.
//
// # Capabilities per dialect
//
// Every store implements store.Store, store.Toucher and
// store.ExpiredDeleter. On PostgreSQL and SQLite, which have
// UPDATE ... RETURNING, the store New returns also implements
// store.LoadToucher, loading a record and moving its expiry in one
// statement. MySQL and MariaDB have no UPDATE ... RETURNING, so there the
// store does not implement store.LoadToucher; the manager then loads and
// touches in two statements.
//
// # Dialect notes
//
// On MySQL and MariaDB a statement must fit in max_allowed_packet, and bun
// sends data in hex, doubling it: Save rejects records larger than about
// half of max_allowed_packet (read once by New) with store.ErrTooLarge.
//
// SQLite allows one writer at a time. Open the database with a busy timeout
// (modernc.org/sqlite: _pragma=busy_timeout(5000)), preferably in WAL mode,
// or limit the pool to one connection with db.SetMaxOpenConns(1).
package sqlstore
