package sessions

import (
	"context"
	"time"

	"github.com/sessionkit/sessions/store"
)

// A rebinder does the parts of a session's writes that only a new owner
// or a new token of a stored session needs (see write.attempt): the owner
// index entries and the owner limit (WithOwnerLimit), the forward that
// retires the renewed record, and the ending of a session whose new token
// was never sent (see abandon). The calls that can ask for them, renew
// and persist (Renew, SetOwner, Reauthenticated, Update), create the
// Manager's (useRebinder) before the session's next write: without them a
// write keeps the session's owner, and gives a token only to a new
// session, which has no owner. So a program that never calls them links
// none of this code (nor the owner indexes' and the limit's), and a
// session carries nothing for it. Its method names are its own: a method
// of core (or of any type in an interface) with one of these names and
// signatures would be linked wherever they are called.
type rebinder interface {
	addIndexEntry(ctx context.Context, owner, id string, deadline time.Time, limited bool) (bool, error)
	dropIndexEntry(ctx context.Context, owner, id string)
	putMarker(ctx context.Context, key string, r record, version store.Version) (store.Version, error)
	removeForward(ctx context.Context, key string, version store.Version)
	clearedDuring(a, b store.Version) bool
	endUnsent(ctx context.Context, key string, version store.Version, owner string) error
}

// rebinding is the Manager's rebinder.
type rebinding core

// useRebinder sets m.rebind, once: after it returns, the caller's session
// may use it.
func (m *core) useRebinder() {
	m.rebindOnce.Do(func() { m.rebind = (*rebinding)(m) })
}

// addIndexEntry adds id, a session with the given deadline, to owner's
// index (see addIndex), and reports whether it did. With limited, the
// binding is a new one, to which WithOwnerLimit applies (see
// enforceLimit): an error then may follow an add.
func (r *rebinding) addIndexEntry(ctx context.Context, owner, id string, deadline time.Time, limited bool) (bool, error) {
	m := (*core)(r)
	entries, err := m.addIndex(ctx, owner, id, deadline, limited)
	if err != nil {
		return false, err
	}
	if limited {
		return true, m.enforceLimit(ctx, owner, id, entries)
	}
	return true, nil
}

func (r *rebinding) dropIndexEntry(ctx context.Context, owner, id string) {
	(*core)(r).forget(ctx, owner, id)
}

func (r *rebinding) putMarker(ctx context.Context, key string, rec record, version store.Version) (store.Version, error) {
	return (*core)(r).writeMarker(ctx, key, rec, version)
}

func (r *rebinding) removeForward(ctx context.Context, key string, version store.Version) {
	(*core)(r).dropForward(ctx, key, version)
}

func (r *rebinding) clearedDuring(a, b store.Version) bool {
	return (*core)(r).clearedBetween(a, b)
}

// endUnsent is abandon's ending of the session under key, of the given
// version and bound to owner.
func (r *rebinding) endUnsent(ctx context.Context, key string, version store.Version, owner string) error {
	m := (*core)(r)
	ended, _, err := m.endSession(m.ending(ctx, "abandon"), key, version, owner, endKnown, "")
	if err == nil {
		err = m.unlist(ctx, ended)
	}
	return err
}
