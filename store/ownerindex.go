package store

import (
	"context"
	"time"
)

// An IndexEntry is one session in an owner index: its ID (a hash of its
// token, never the token), its absolute deadline, and when the entry was
// added.
type IndexEntry struct {
	ID       string
	Deadline time.Time // after it, the entry is gone
	Added    time.Time
}

// OwnerIndex is implemented by stores that keep the manager's owner
// indexes (which sessions SetOwner bound to one user) in the backend's own
// structures: a map in memory, a Redis hash and sorted set, rows in SQL,
// documents in MongoDB. An add or a remove then costs one round trip
// however many entries the index holds. A store without it gets the
// manager's fallback, an index kept in records written with
// Versioned.SaveIf, whose cost grows with the number of entries.
//
// An index is a set of entries named by a key, separate from the record
// under that key: the manager never stores a record under a key it uses
// for an index, and a store may keep an index under a name derived from
// its key. The rules:
//
//   - IndexAdd adds an entry, replacing the entry with the same ID if
//     there is one; its cost does not grow with the number of entries.
//   - IndexRemove removes the entries with the given IDs; IDs that are not
//     there, and an index that does not exist, are not an error.
//   - IndexList returns every entry whose deadline has not passed, once
//     each, in no particular order, with the deadline and added time as
//     they were added (to the microsecond at least). Entries whose
//     deadline has passed are never returned, and the store forgets them
//     (on a later call or in its cleanup): what an index keeps is bounded
//     by the entries that are live.
//   - Each call is atomic: a racing list sees an add or a remove entirely
//     or not at all, and racing adds and removes lose nothing.
//   - Every call honours ctx, as Store's methods do.
type OwnerIndex interface {
	IndexAdd(ctx context.Context, key string, e IndexEntry) error
	IndexRemove(ctx context.Context, key string, ids ...string) error
	IndexList(ctx context.Context, key string) ([]IndexEntry, error)
}

// IndexAddLister is implemented by owner indexes that can tell, in the
// round trips of an add alone, what the index holds right after the add:
// with sessions.WithOwnerLimit the manager adds a login's entry and then
// needs the index to count the owner's sessions, and saves the round trip
// of an IndexList when the add can answer.
//
// IndexAddList adds e as IndexAdd does. When listed is true, entries are
// what IndexList would have returned right after the add, in the same
// atomic step: every entry whose deadline has not passed, once each, in
// no particular order; e among them unless its deadline has passed, and
// every entry whose add returned before the call began unless it was
// removed since. Of two racing calls, the later one lists the other's
// entry, so that two logins at once cannot both pass a full limit. When
// listed is false (entries nil), the store could not tell without more
// round trips: the add was made all the same, and the caller lists the
// index. The error is the add's.
type IndexAddLister interface {
	OwnerIndex
	IndexAddList(ctx context.Context, key string, e IndexEntry) (entries []IndexEntry, listed bool, err error)
}

// MultiLoader is implemented by versioned stores that can read many
// records in one round trip, or a few (Redis MGET, memcached get with many
// keys, an SQL IN list, a MongoDB $in query): the manager lists an
// owner's sessions with it.
//
// LoadVersions returns one Loaded per key, in the order of keys (a key
// may appear more than once), each as LoadVersion without a touch returns
// it: a missing or expired record is a Loaded with the zero version. The
// data follows the rules of Store.Load. A store may split a long list into
// batches; it honours ctx as Store's methods do.
type MultiLoader interface {
	LoadVersions(ctx context.Context, keys []string) ([]Loaded, error)
}
