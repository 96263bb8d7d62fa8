// Package store defines the contract between a sessions.Manager and the
// place session records live.
//
// A Store holds opaque records under string keys, each with an absolute
// expiry. The manager derives keys from a hash of the session token, encodes
// the session value, and decides when to write; a store only has to keep
// bytes safely and forget them when they expire.
//
// Every store must pass the conformance suite in package storetest.
package store

import (
	"context"
	"time"
)

// Store keeps session records.
//
// The rules every implementation follows:
//
//   - A missing or expired record is reported as found == false with a nil
//     error. Expiry is enforced on read, whatever the backend's own TTL
//     mechanism does.
//   - Save overwrites both the data and the expiry of an existing record.
//     Saving with an expiresAt that has passed succeeds and leaves no
//     record. Empty data is a record (found, zero length), not a missing one.
//   - Keys are compared byte for byte (case matters). A store that cannot
//     keep a record of some size returns an error wrapping ErrTooLarge;
//     records of 1 MiB should fit.
//   - Deleting a missing key is not an error.
//   - Save copies data before it returns; Load returns bytes the caller may
//     keep and modify.
//   - Every call honours ctx: a cancelled or expired context makes the call
//     return an error that wraps ctx.Err().
//   - All methods are safe for concurrent use.
type Store interface {
	// Load returns the record stored under key.
	Load(ctx context.Context, key string) (data []byte, found bool, err error)
	// Save stores data under key until expiresAt, replacing any record.
	Save(ctx context.Context, key string, data []byte, expiresAt time.Time) error
	// Delete removes the record stored under key, if any.
	Delete(ctx context.Context, key string) error
}

// Toucher is implemented by stores that can move a record's expiry without
// the caller sending the data again (Redis PEXPIREAT, an SQL UPDATE of one
// column). The manager slides idle timeouts with LoadToucher where a store
// has it, and otherwise with an occasional rewrite that also updates the
// expiry it keeps inside the record; Toucher serves tools and applications
// that extend sessions out of band.
//
// Touching a missing or expired record is not an error and must not create
// or revive it. An expiresAt that is not in the future leaves the record
// expired, as Save with such a deadline does.
type Toucher interface {
	Touch(ctx context.Context, key string, expiresAt time.Time) error
}

// LoadToucher is implemented by stores that can read a record and move its
// expiry in one round trip (Redis GETEX, MongoDB findAndModify, SQL
// UPDATE ... RETURNING). A store that needs more than one round trip must
// not implement it: the manager then loads, and rewrites only when due.
// The returned data follows the same rules as Store.Load. A missing or
// expired record is not created or revived. An expiresAt that is not in the
// future returns the live record as it was (found == true) and leaves it
// expired, as Versioned.LoadVersion does with such a touch.
type LoadToucher interface {
	LoadAndTouch(ctx context.Context, key string, expiresAt time.Time) (data []byte, found bool, err error)
}

// ExpiredDeleter is implemented by stores whose backend does not drop
// expired records on its own (files, SQL tables, MongoDB without a TTL
// index). DeleteExpired removes every record whose expiry has passed and
// reports how many it removed.
type ExpiredDeleter interface {
	DeleteExpired(ctx context.Context) (deleted int, err error)
}
