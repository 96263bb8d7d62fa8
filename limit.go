package sessions

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// A LimitPolicy says what [Manager.SetOwner] does when the owner already
// has as many sessions as [WithOwnerLimit] allows.
type LimitPolicy int

const (
	// EvictOldest ends the owner's least recently active session (as
	// [Manager.Revoke] does) to make room for the new one, as Spring
	// Security's concurrent-session control does by default.
	EvictOldest LimitPolicy = iota + 1
	// RefuseNew refuses the new binding: SetOwner returns an error
	// wrapping [ErrTooManySessions] and the session stays unbound.
	RefuseNew
)

func (p LimitPolicy) String() string {
	switch p {
	case EvictOldest:
		return "EvictOldest"
	case RefuseNew:
		return "RefuseNew"
	}
	return fmt.Sprintf("LimitPolicy(%d)", int(p))
}

// WithOwnerLimit bounds how many sessions one owner may have at once
// (OWASP ASVS 7.1.2): when [Manager.SetOwner] binds a session to an owner
// who has n already, policy decides: [EvictOldest] ends the least recently
// active one, [RefuseNew] refuses the binding with [ErrTooManySessions].
//
// A session's activity is its [Info].LastSeen: the last request that used
// it, exact to the idle-refresh window with [WithIdleTimeout], else the
// last request that changed it. The limit counts the sessions whose records are
// live and bound to the owner, and the bindings of racing logins not yet
// written: two logins at once never both pass a full limit. Under the
// limit a login costs at most one store round trip more than without it
// (the owner's index is listed, unless the store's add returns it:
// [store.IndexAddLister]); at the limit it also reads the owner's
// sessions (one round trip on stores with [store.MultiLoader]) and, for
// EvictOldest, ends one as Revoke does.
//
// n must be positive. Without WithOwnerLimit there is no limit (the
// owner index still stays bounded: see docs/owners.md).
func WithOwnerLimit(n int, policy LimitPolicy) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("%w: owner limit must be positive, got %d", ErrInvalidConfig, n)
		}
		if policy != EvictOldest && policy != RefuseNew {
			return fmt.Errorf("%w: owner limit policy %v is not EvictOldest or RefuseNew", ErrInvalidConfig, policy)
		}
		c.ownerLimit, c.refuseNew = n, policy == RefuseNew
		return nil
	}
}

// An ownedSession is one entry of an owner's index, with what its record
// says when it is a live session of the owner.
type ownedSession struct {
	entry    indexEntry
	live     bool      // the record is a live session of the owner
	pending  bool      // no record yet: a binding in flight, within the grace
	activity time.Time // last activity of a live session; added for a pending one
	rec      record
}

// lastSeen is when the session of rec, whose record the store keeps until
// expires (zero: the store does not say), was last used (Info.LastSeen):
// the record's time of writing, or, with an idle timeout, the load that
// set its expiry to that load's time plus the idle timeout, if later. A
// write sets the expiry to its own time plus the idle timeout at most, so
// the later of the two is the last request that used the session.
func (m *core) lastSeen(rec record, expires, now time.Time) time.Time {
	if m.cfg.idleTimeout <= 0 || expires.IsZero() || rec.seen.IsZero() {
		return rec.seen
	}
	loaded := expires.Add(-m.cfg.idleTimeout)
	if loaded.After(now) { // a clock that moved, or another idle timeout
		loaded = now
	}
	if loaded.After(rec.seen) {
		return loaded
	}
	return rec.seen
}

// activity is when the session of rec was last active: its LastSeen,
// else (a record of an earlier format) with an idle timeout its last
// write, else its creation (or last Renew).
func (m *core) activity(rec record) time.Time {
	if !rec.seen.IsZero() {
		return rec.seen // Info.LastSeen
	}
	if m.cfg.idleTimeout > 0 && rec.expires.Before(rec.deadline) {
		return rec.expires.Add(-m.cfg.idleTimeout)
	}
	return rec.created
}

// enforceLimit applies WithOwnerLimit to the binding of id, just added to
// owner's index (entries is the index as that add saw it, or nil): it
// returns an error wrapping ErrTooManySessions under RefuseNew, and ends
// the least recently active sessions under EvictOldest.
func (m *core) enforceLimit(ctx context.Context, owner, id string, entries []indexEntry) error {
	limit := m.cfg.ownerLimit
	if entries == nil {
		var err error
		if entries, err = m.listIndex(ctx, owner); err != nil {
			return fmt.Errorf("sessions: owner limit: %w", err)
		}
	}
	others := slices.DeleteFunc(entries, func(e indexEntry) bool { return e.id == id })
	if len(others) < limit {
		return nil // the index may list ended sessions, never fewer than the live ones
	}
	owned, err := m.owned(ctx, owner, others)
	if err != nil {
		return fmt.Errorf("sessions: owner limit: %w", err)
	}
	var counted []ownedSession
	for _, o := range owned {
		if o.live || o.pending {
			counted = append(counted, o)
		}
	}
	if len(counted) < limit {
		return nil
	}
	if m.cfg.refuseNew {
		return fmt.Errorf("sessions: SetOwner: %d sessions, limit %d: %w", len(counted), limit, ErrTooManySessions)
	}
	// Least recently active first; a pending binding counts as active
	// when it was added, so a racing login's comes last.
	slices.SortStableFunc(counted, func(a, b ownedSession) int { return cmp.Compare(a.activity.UnixNano(), b.activity.UnixNano()) })
	for _, o := range counted[:len(counted)-limit+1] {
		ended, _, err := m.endSession(ctx, m.cfg.keyPrefix+o.entry.id, 0, owner, endListed, "")
		if err != nil && !errors.Is(err, errLeftAlone) {
			return fmt.Errorf("sessions: owner limit: evict: %w", err)
		}
		// Never the request's own session (its lock is held here): the
		// limit applies to a new binding, whose old ID, if any, is in
		// another owner's index.
		if err := m.unlist(ctx, ended); err != nil {
			return fmt.Errorf("sessions: owner limit: evict: %w", err)
		}
	}
	return nil
}
