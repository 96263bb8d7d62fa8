package sessions

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"sync"
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
	// "Revoke", "RevokeOwner" or "RevokeOthers" (and the name of any
	// later mass or limit revocation).
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
	return func(c *config) error { c.events, c.subscribe = fn, subscribeExpired; return nil }
}

// subscribeExpired subscribes fn to the expiry reports of st, if it makes
// them, and returns how to stop. It is reached through WithEvents only,
// so that a program without events links no reporting.
func subscribeExpired(st store.Store, fn func(context.Context, string, []byte)) (stop func()) {
	if r, ok := st.(store.ExpiredReporter); ok {
		return r.ReportExpired(fn)
	}
	return nil
}

// events is a manager's event machinery; nil without a hook.
type events struct {
	fn        func(context.Context, Event)
	seed      maphash.Seed
	stripes   [eventStripes]sync.Mutex
	stopSweep func() // stops the store's expiry reports; nil without
}

// eventStripes is how many locks order the events of one session.
const eventStripes = 64

// startEvents sets up the manager's event machinery if it has a hook, and
// subscribes to the store's expiry reports where it has them.
func (m *Manager[T]) startEvents() {
	if m.cfg.events == nil {
		return
	}
	m.ev = &events{fn: m.cfg.events, seed: maphash.MakeSeed()}
	m.ev.stopSweep = m.cfg.subscribe(m.store, m.swept)
}

// stop ends the store's expiry reports. It is safe on a nil events.
func (ev *events) stop() {
	if ev != nil && ev.stopSweep != nil {
		ev.stopSweep()
	}
}

// emit sends e, if there is a hook. It is small enough to inline, so a
// manager without a hook pays a nil check.
func (ev *events) emit(ctx context.Context, e Event) {
	if ev != nil {
		ev.send(ctx, e)
	}
}

// send calls the hook with e, stamped with the time.
func (ev *events) send(ctx context.Context, e Event) {
	e.Time = time.Now()
	ev.fn(ctx, e)
}

// lock takes the lock that orders the events of the session under key,
// and returns it.
func (ev *events) lock(key string) *sync.Mutex {
	mu := &ev.stripes[maphash.String(ev.seed, key)%eventStripes]
	mu.Lock()
	return mu
}

// loaded reports the first load of a request's session: id is "" for a
// new session.
func (ev *events) loaded(ctx context.Context, id, owner string) {
	if ev != nil {
		ev.send(ctx, Event{Kind: EventLoaded, ID: id, Owner: owner})
	}
}

// storeWrite is session.store for the write of an attempt, reporting what
// it confirms: a new session (EventCreated), a Renew (EventRenewed), a new
// binding (EventOwnerBound), a refusal by the store (EventRefused) and a
// tombstone where the new record was to go (EventWriteConflict, "ended").
// The event lock of target is held from the write to the last event.
func (s *session[T]) storeWrite(ctx context.Context, w *write[T], target string, rec []byte, expires time.Time, version store.Version) (store.Version, error) {
	ev := s.m.ev
	if ev == nil {
		return s.store(ctx, target, rec, expires, version)
	}
	defer ev.lock(target).Unlock()
	newVersion, err := s.store(ctx, target, rec, expires, version)
	m := s.m
	id, oldID := m.id(target), ""
	if s.exists {
		oldID = m.id(s.key)
	}
	switch {
	case errors.Is(err, store.ErrTooLarge):
		ev.send(ctx, Event{Kind: EventRefused, ID: oldID, Owner: s.bound, Size: len(rec), Err: err})
	case errors.Is(err, store.ErrConflict) && w.key != "" && s.exists:
		ev.send(ctx, Event{Kind: EventWriteConflict, ID: oldID, Owner: s.bound, Cause: "ended"})
	case err != nil:
	case w.key == "":
	case s.exists:
		ev.send(ctx, Event{Kind: EventRenewed, ID: id, PreviousID: oldID, Owner: s.owner})
	default:
		ev.send(ctx, Event{Kind: EventCreated, ID: id, Owner: s.owner})
	}
	if err == nil && s.owner != s.bound {
		ev.send(ctx, Event{Kind: EventOwnerBound, ID: id, Owner: s.owner})
	}
	return newVersion, err
}

// writeReported is session.write, reporting a failure as EventSaveFailed,
// or EventRefused for a record over the size limit. An error of Update's
// function is the caller's, not a failed write.
func (s *session[T]) writeReported(ctx context.Context, w write[T]) error {
	ev := s.m.ev
	if ev == nil {
		return s.write(ctx, w)
	}
	// An error of fn ends the write at once: the write failed unless
	// fn's last run did.
	var fnFailed *bool
	if fn := w.fn; fn != nil {
		fnFailed = new(bool)
		w.fn = func(v *T) error {
			err := fn(v)
			*fnFailed = err != nil
			return err
		}
	}
	id, owner := s.storedID(), s.bound
	err := s.write(ctx, w)
	if err != nil && (fnFailed == nil || !*fnFailed) {
		ev.writeFailed(ctx, id, owner, err)
	}
	return err
}

// writeFailed reports a write of the session id that failed with err: as
// EventRefused for a record over the manager's size limit (one over the
// store's storeWrite reported), else as EventSaveFailed.
func (ev *events) writeFailed(ctx context.Context, id, owner string, err error) {
	tooLarge := asTooLarge(err)
	switch {
	case tooLarge != nil:
		ev.send(ctx, Event{Kind: EventRefused, ID: id, Owner: owner, Size: tooLarge.size, Err: err})
	case !errors.Is(err, store.ErrTooLarge):
		ev.send(ctx, Event{Kind: EventSaveFailed, ID: id, Owner: owner, Err: err})
	}
}

// saveFailed reports a failed write of the session that did not go
// through writeReported; cause qualifies it.
func (s *session[T]) saveFailed(ctx context.Context, cause string, err error) {
	if ev := s.m.ev; ev != nil {
		ev.send(ctx, Event{Kind: EventSaveFailed, ID: s.storedID(), Owner: s.bound, Cause: cause, Err: err})
	}
}

// asTooLarge returns the tooLargeError err wraps, or nil. (Not errors.As,
// which would link reflection into every program.)
func asTooLarge(err error) *tooLargeError {
	for ; err != nil; err = errors.Unwrap(err) {
		if e, ok := err.(*tooLargeError); ok {
			return e
		}
	}
	return nil
}

// A tooLargeError refuses a record over the manager's size limit
// (WithMaxSize).
type tooLargeError struct{ size, limit int }

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("sessions: session record of %d bytes is over the %d-byte limit (WithMaxSize): %v", e.size, e.limit, store.ErrTooLarge)
}

func (e *tooLargeError) Unwrap() error { return store.ErrTooLarge }

// storedID is the ID of the session's record, or "" when it has none.
func (s *session[T]) storedID() string {
	if !s.exists {
		return ""
	}
	return s.m.id(s.key)
}

// reloadReported is session.reload after a lost conditional write,
// reporting the conflict and what followed it (see EventWriteConflict),
// in order after the event of the write that won.
func (s *session[T]) reloadReported(ctx context.Context, rerun bool) (followed bool, err error) {
	ev := s.m.ev
	if ev == nil {
		return s.reload(ctx)
	}
	m := s.m
	id, owner := m.id(s.key), s.bound
	followed, err = s.reload(ctx)
	if err != nil {
		return followed, err // the write fails: EventSaveFailed
	}
	e := Event{Kind: EventWriteConflict, ID: id, Owner: owner, Cause: "merged"}
	switch {
	case s.ended:
		e.Cause = "ended"
	case followed:
		e.Cause, e.ID, e.PreviousID, e.Owner = "renewed", m.id(s.key), id, s.bound
	case rerun:
		e.Cause = "retried"
	}
	defer ev.lock(s.key).Unlock()
	ev.send(ctx, e)
	return followed, nil
}

// An endingKey carries, in the context of an operation that ends
// sessions, the event that reports each session it ends.
type endingKey struct{}

type ending struct {
	kind  EventKind
	cause string
}

// ending returns ctx marked so that the sessions endSession ends under it
// are reported as kind, with cause. Without a hook it returns ctx.
func (m *Manager[T]) ending(ctx context.Context, kind EventKind, cause string) context.Context {
	if m.ev == nil {
		return ctx
	}
	return context.WithValue(ctx, endingKey{}, ending{kind, cause})
}

// tombstone ends the record under key with a tombstone if it is still
// version (0: if there is no live record; see endSession), and reports the
// session id (bound to owner) as ended, as the context says (see ending):
// id is the key's own ID for a live record, and for a tombstone planted
// where a Renew had not written its new record yet the ID the session had
// before that Renew (the Renew fails). id "" reports nothing.
func (m *Manager[T]) tombstone(ctx context.Context, key string, version store.Version, id, owner string) error {
	write := func() error {
		if version == 0 {
			return m.plantTombstone(ctx, key)
		}
		_, err := m.writeMarker(ctx, key, record{revoked: true}, version)
		return err
	}
	ev := m.ev
	if ev == nil {
		return write()
	}
	defer ev.lock(key).Unlock()
	err := write()
	if e, ok := ctx.Value(endingKey{}).(ending); ok && err == nil && id != "" {
		ev.send(ctx, Event{Kind: e.kind, ID: id, Owner: owner, Cause: e.cause})
	}
	return err
}

// renewedFrom is the ID a session had before the Renew whose forward led
// endSession to a missing record: the last record it passed, if it came
// through a forward.
func renewedFrom(ended []endedSession, viaForward bool) string {
	if !viaForward || len(ended) == 0 {
		return ""
	}
	return ended[len(ended)-1].id
}

// expiredFound reports a record under key, of the given version, that a
// load found past its deadline while the store still held it: it removes
// the record, if it is still that version, and reports the expiry. Whoever
// removes the record reports it (here, or the store's sweep), so a racing
// load or sweep does not report it again. Without a hook it does nothing:
// the record is removed at the end of the request, or by the store.
func (m *Manager[T]) expiredFound(ctx context.Context, key string, version store.Version, owner string) {
	ev := m.ev
	if ev == nil {
		return
	}
	defer ev.lock(key).Unlock()
	if m.versioned != nil && m.deleteIf(ctx, key, version) != nil {
		return // changed or removed meanwhile: not this load's to report
	}
	ev.send(ctx, Event{Kind: EventExpired, ID: m.id(key), Owner: owner, Cause: "load"})
}

// swept reports a record the store's cleanup removed as expired, if it is
// one of this manager's live sessions (not an owner index, a forward or a
// tombstone). It is the manager's store.ExpiredReporter callback.
func (m *Manager[T]) swept(ctx context.Context, key string, data []byte) {
	id, ok := strings.CutPrefix(key, m.cfg.keyPrefix)
	if !ok || !validToken(id) {
		return
	}
	rec, err := m.openRecord(key, data)
	if err != nil || rec.revoked || rec.forward {
		return
	}
	defer m.ev.lock(key).Unlock()
	m.ev.send(ctx, Event{Kind: EventExpired, ID: id, Owner: rec.owner, Cause: "sweep"})
}
