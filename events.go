package sessions

import (
	"context"
	"time"

	"github.com/sessionkit/sessions/store"
)

// An EventKind names what an [Event] reports.
type EventKind uint8

// The kinds of events. Each fires once for what it reports, after the
// store confirmed it; see [WithEvents].
const (
	// EventCreated: a new session's first record was written (by a save,
	// Update or SetOwner).
	EventCreated EventKind = iota + 1
	// EventRenewed: Renew took effect; ID is the new ID, PreviousID the
	// old one, whose token no longer works.
	EventRenewed
	// EventOwnerBound: the session was written bound to Owner by SetOwner
	// ("" when SetOwner("") unbound it).
	EventOwnerBound
	// EventDestroyed: Destroy ended the session (Cause "Destroy"), or the
	// middleware ended one whose token was written but never sent because
	// the handler panicked (Cause "abandon").
	EventDestroyed
	// EventRevoked: a revocation ended the session; Cause names the call:
	// "Revoke", "RevokeOwner", "RevokeOthers" or "RevokeAll" (and the
	// name of any later limit revocation).
	EventRevoked
	// EventExpired: the session's lifetime or idle timeout passed, as seen
	// by a load that found its record past the deadline (Cause "load"; the
	// record is then removed) or by the store's removal of expired records
	// (Cause "sweep", from stores that implement store.ExpiredReporter).
	// A store that drops expired records on its own (Redis, memcached,
	// MongoDB's TTL monitor) reports nothing: to the manager such a
	// session is just gone.
	EventExpired
	// EventWriteConflict: a write of the session lost to another writer.
	// Cause says what followed: "merged" (this request's changed fields
	// were merged into the other writer's value, and the write is tried
	// again), "retried" (Update's function runs again on the new value),
	// "renewed" (a racing Renew moved the session: ID is the new ID,
	// PreviousID the old one, and the write goes there) or "ended" (another
	// request ended the session; this request's changes are dropped).
	EventWriteConflict
	// EventLoaded: a request (or a Load) read its session, on its first
	// use. ID is the session's, or "" when there was none and the session
	// is new. It fires for every request that uses its session: an audit
	// log keeps it at a debug level.
	EventLoaded
	// EventLoadFailed: the store failed to load the session; Err wraps
	// ErrLoadFailed and the store's error.
	EventLoadFailed
	// EventSaveFailed: a write of the session failed (a store error or
	// timeout, an encoding error, or a write that gave up after repeated
	// conflicts); Err is the error. Cause is "refresh" when the write only
	// slid the idle timeout. Nothing this event reports was written.
	EventSaveFailed
	// EventRefused: a record over the size limit was refused (WithMaxSize,
	// or the store's own limit) and nothing was written; Size is its size
	// in bytes and Err wraps store.ErrTooLarge.
	EventRefused
)

var eventNames = [...]string{
	EventCreated:       "created",
	EventRenewed:       "renewed",
	EventOwnerBound:    "owner_bound",
	EventDestroyed:     "destroyed",
	EventRevoked:       "revoked",
	EventExpired:       "expired",
	EventWriteConflict: "write_conflict",
	EventLoaded:        "loaded",
	EventLoadFailed:    "load_failed",
	EventSaveFailed:    "save_failed",
	EventRefused:       "refused",
}

// String returns the kind's name in snake case ("created",
// "owner_bound", "write_conflict", ...), as logs and metrics name it.
func (k EventKind) String() string {
	if int(k) < len(eventNames) && eventNames[k] != "" {
		return eventNames[k]
	}
	return "unknown"
}

// An Event reports one change in a session's life, or a failure, to the
// hook set with [WithEvents]. It never carries a token or session data.
type Event struct {
	Kind EventKind
	// ID is the session's ID, as [Manager.ID] and [Info.ID] name it: a
	// hash of its token, safe to log, never enough to use the session.
	// It is "" for a new session that has no record yet.
	ID string
	// PreviousID is the ID the session had before, for EventRenewed and
	// an EventWriteConflict that followed a racing Renew.
	PreviousID string
	// Owner is the owner the session is bound to (SetOwner), if any.
	Owner string
	// Time is when the event fired, right after the store confirmed it.
	Time time.Time
	// Cause qualifies the kind: the call that ended the session for
	// EventDestroyed and EventRevoked, where an expiry was seen for
	// EventExpired, what followed a conflict for EventWriteConflict (see
	// the kinds).
	Cause string
	// Size is the size in bytes of the refused record, for EventRefused.
	Size int
	// Err is the error, for EventLoadFailed, EventSaveFailed and
	// EventRefused.
	Err error
}

// WithEvents makes the manager call fn for every session event: creation,
// Renew, SetOwner, Destroy, revocation, expiry, write conflicts, loads and
// failed loads and saves (see [EventKind]). [SlogEvents] returns an fn
// that writes an audit log; the module
// github.com/sessionkit/sessions/otel one that feeds OpenTelemetry metrics.
// A nil fn (the default) turns events off, at no cost.
//
// Each event fires once, after the store confirmed what it reports (a
// write that failed gives EventSaveFailed, never the event of the write),
// synchronously in the goroutine that made the change, with that
// request's context (so a trace or a request ID in it can be logged); an
// expiry found by a store's cleanup fires in the cleanup's goroutine.
// Within one process the events of one session ID fire in the order of
// the store writes they report, even when racing requests make them: the
// manager holds a lock of the session's ID (one of 64 stripes) from the
// write to the end of fn. So fn must be quick, must not block on other
// requests, and must not call the Manager's methods that end or write
// sessions (Revoke, RevokeOwner, ...): hand such work to another
// goroutine. fn may be called from many goroutines at once.
func WithEvents(fn func(ctx context.Context, e Event)) Option {
	return func(c *config) error {
		c.events = nil
		if fn != nil {
			// Only this closure creates the event machinery, so a program
			// that never calls WithEvents links none of it.
			c.events = func(c *config, st store.Store) eventSink { return newEvents(fn, c, st) }
		}
		return nil
	}
}
