package store

import (
	"context"
	"time"
)

// A Version names one write of a record. Versions are opaque: a store
// chooses them and callers only hand them back to the same store. The zero
// Version means "no record". A store never gives a key a version that key
// had before, so a caller holding an old version can never write after the
// record was replaced, deleted or expired (no ABA).
type Version uint64

// A Loaded record, as a versioned load returns it.
type Loaded struct {
	// Data follows the rules of Store.Load: the caller may keep it. It is
	// nil when the record was not found.
	Data []byte
	// Version is the version of the record that was read, or zero when it
	// was not found.
	Version Version
	// Touched reports that the load also moved the record's expiry to the
	// time the caller asked for. It is false when the record was not found.
	Touched bool
	// Expires is when the record expires as the store keeps it after this
	// load (and its touch), to the millisecond at least, or zero when the
	// store does not say. A store that reports it on a touched load
	// reports it for every record MultiLoader's LoadVersions finds, or,
	// without MultiLoader, on every LoadVersion: the manager then tells
	// when a session was last used from the expiry its last load set,
	// and needs no write to keep Info.LastSeen.
	Expires time.Time
}

// Found reports whether a record was found.
func (l Loaded) Found() bool { return l.Version != 0 }

// Versioned is implemented by stores that can write a record only if it is
// still the version the caller loaded, in the same number of round trips
// as a plain Save. It is what lets two requests for one session run at
// once without losing each other's changes, and what keeps a deleted
// session deleted while another request still holds it.
//
// The rules, on top of Store's:
//
//   - Every successful Save or SaveIf gives the record a new version.
//     Moving a record's expiry (LoadVersion's touch, Toucher, LoadToucher)
//     does not change its version.
//   - An expired record counts as absent: its version no longer matches,
//     and SaveIf with the zero version may replace it.
//   - A conflict writes nothing and returns an error wrapping ErrConflict.
type Versioned interface {
	Store

	// LoadVersion returns the record stored under key with its version.
	// When touch is not the zero time and the store can move the record's
	// expiry to touch in the same round trip as the read, it does so and
	// reports Touched; otherwise it moves nothing and reports Touched ==
	// false. A touch never creates or revives a record. A touch that is not
	// in the future returns the record as it was (found); a store that
	// touches then leaves it expired, one that does not leaves it as it is.
	LoadVersion(ctx context.Context, key string, touch time.Time) (Loaded, error)

	// SaveIf stores data under key until expiresAt, but only if the live
	// record under key has the given version, or, for the zero version, if
	// no live record exists. It returns the record's new version, the one
	// LoadVersion returns until the next write, or zero when expiresAt is
	// not in the future (the record is then removed, as Save does).
	SaveIf(ctx context.Context, key string, data []byte, expiresAt time.Time, version Version) (Version, error)
}
