package sessions

import (
	"context"
	"errors"
	"hash/maphash"
	"strings"
	"sync"
	"time"

	"github.com/sessionkit/sessions/store"
)

// An eventSink is a manager's event machinery: the Manager's event points
// hand it what happened, and it builds the Events and calls the hook. The
// Manager holds it as this small, non-generic interface, nil without
// WithEvents, and only WithEvents creates its one implementation,
// *events: a program without events links none of the code that builds
// or orders them, and the generic Manager, compiled anew for every
// session type, holds only nil checks and calls. Sessions are named by
// their store keys (the ID is the key without the prefix; "" for none).
// The methods share few signatures: each distinct one is a type the
// binary carries.
type eventSink interface {
	// lock takes the lock that orders the events of the session under
	// key, and returns it.
	lock(key string) *sync.Mutex
	// loaded reports a request's first load of its session: under key
	// ("" for a new session), bound to owner, or failed with err.
	loaded(ctx context.Context, key, owner string, err error)
	// stored reports a write of a session's record under key (see
	// session.store), with err its outcome: the session had the record
	// oldKey ("" for a new session) bound to bound (a key other than
	// oldKey is a new session's or a Renew's), owner is the owner written
	// and size the record's size.
	stored(ctx context.Context, key, oldKey, bound, owner string, size int, err error)
	// writeFailed reports a write of the session under key (bound to
	// owner) that failed with err; cause qualifies it ("refresh" for a
	// write that only slid the idle timeout).
	writeFailed(ctx context.Context, key, owner, cause string, err error)
	// conflict reports a lost conditional write of the session under
	// oldKey (bound to oldOwner), after the reload that followed it: the
	// session is now under key (another key if the reload followed a
	// Renew), bound to owner, or ended; rerun says Update's function runs
	// again.
	conflict(ctx context.Context, oldKey, oldOwner, key, owner string, ended, rerun bool)
	// withEnding returns ctx marked so that the sessions ended under it are
	// reported as ended by cause: EventDestroyed for "Destroy" and
	// "abandon", EventRevoked for the revocations.
	withEnding(ctx context.Context, cause string) context.Context
	// ended reports the session id (bound to owner) as ended, as ctx says
	// (see withEnding); id "" reports nothing.
	ended(ctx context.Context, id, owner string)
	// destroyed reports the session under key (bound to owner) as
	// destroyed by Destroy on a store without conditional writes, where
	// no tombstone ends it.
	destroyed(ctx context.Context, key, owner string)
	// expired reports the session under key, bound to owner, as expired
	// where a load found it (see Manager.expiredFound).
	expired(ctx context.Context, key, owner string)
	// stop ends the store's expiry reports.
	stop()
}

// events is the eventSink of a manager with a hook.
type events struct {
	fn        func(context.Context, Event)
	prefix    string // the manager's key prefix
	keys      sealer // the manager's WithEncryption keys, to open swept records
	seed      maphash.Seed
	stripes   [eventStripes]sync.Mutex
	stopSweep func() // stops the store's expiry reports; nil without
}

// eventStripes is how many locks order the events of one session.
const eventStripes = 64

// newEvents returns the event machinery of a manager configured by c on
// st, with hook fn, subscribed to st's expiry reports where it makes them.
func newEvents(fn func(context.Context, Event), c *config, st store.Store) eventSink {
	ev := &events{fn: fn, prefix: c.keyPrefix, keys: c.keys, seed: maphash.MakeSeed()}
	if r, ok := st.(store.ExpiredReporter); ok {
		ev.stopSweep = r.ReportExpired(ev.swept)
	}
	return ev
}

func (ev *events) stop() {
	if ev.stopSweep != nil {
		ev.stopSweep()
	}
}

// send calls the hook with e, stamped with the time.
func (ev *events) send(ctx context.Context, e Event) {
	e.Time = time.Now()
	ev.fn(ctx, e)
}

// id is the ID of the session under key, "" for "".
func (ev *events) id(key string) string {
	if key == "" {
		return ""
	}
	return key[len(ev.prefix):]
}

func (ev *events) lock(key string) *sync.Mutex {
	mu := &ev.stripes[maphash.String(ev.seed, key)%eventStripes]
	mu.Lock()
	return mu
}

func (ev *events) loaded(ctx context.Context, key, owner string, err error) {
	if err != nil {
		ev.send(ctx, Event{Kind: EventLoadFailed, ID: ev.id(key), Err: err})
		return
	}
	ev.send(ctx, Event{Kind: EventLoaded, ID: ev.id(key), Owner: owner})
}

func (ev *events) destroyed(ctx context.Context, key, owner string) {
	ev.send(ctx, Event{Kind: EventDestroyed, ID: ev.id(key), Owner: owner, Cause: "Destroy"})
}

// expired reports an expiry a load found, after the record's removal,
// under the event lock of key.
func (ev *events) expired(ctx context.Context, key, owner string) {
	defer ev.lock(key).Unlock()
	ev.send(ctx, Event{Kind: EventExpired, ID: ev.id(key), Owner: owner, Cause: "load"})
}

// stored reports what a write confirms: a new session (EventCreated), a
// Renew (EventRenewed), a new binding (EventOwnerBound), a refusal by the
// store (EventRefused) and a tombstone where the new record was to go
// (EventWriteConflict, "ended").
func (ev *events) stored(ctx context.Context, key, oldKey, bound, owner string, size int, err error) {
	id, oldID, newKey := ev.id(key), ev.id(oldKey), key != oldKey
	switch {
	case errors.Is(err, store.ErrTooLarge):
		ev.send(ctx, Event{Kind: EventRefused, ID: oldID, Owner: bound, Size: size, Err: err})
	case errors.Is(err, store.ErrConflict) && newKey && oldKey != "":
		ev.send(ctx, Event{Kind: EventWriteConflict, ID: oldID, Owner: bound, Cause: "ended"})
	case err != nil:
	case !newKey:
	case oldKey != "":
		ev.send(ctx, Event{Kind: EventRenewed, ID: id, PreviousID: oldID, Owner: owner})
	default:
		ev.send(ctx, Event{Kind: EventCreated, ID: id, Owner: owner})
	}
	if err == nil && owner != bound {
		ev.send(ctx, Event{Kind: EventOwnerBound, ID: id, Owner: owner})
	}
}

// writeFailed reports a failed write as EventRefused for a record over the
// manager's size limit (one over the store's, stored reported), else as
// EventSaveFailed.
func (ev *events) writeFailed(ctx context.Context, key, owner, cause string, err error) {
	tooLarge := asTooLarge(err)
	switch {
	case tooLarge != nil:
		ev.send(ctx, Event{Kind: EventRefused, ID: ev.id(key), Owner: owner, Size: tooLarge.size, Err: err})
	case !errors.Is(err, store.ErrTooLarge):
		ev.send(ctx, Event{Kind: EventSaveFailed, ID: ev.id(key), Owner: owner, Cause: cause, Err: err})
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

// conflict reports the conflict and what followed it (see
// EventWriteConflict), in order after the event of the write that won.
func (ev *events) conflict(ctx context.Context, oldKey, oldOwner, key, owner string, ended, rerun bool) {
	e := Event{Kind: EventWriteConflict, ID: ev.id(oldKey), Owner: oldOwner, Cause: "merged"}
	switch {
	case ended:
		e.Cause = "ended"
	case key != oldKey:
		e.Cause, e.ID, e.PreviousID, e.Owner = "renewed", ev.id(key), e.ID, owner
	case rerun:
		e.Cause = "retried"
	}
	defer ev.lock(key).Unlock()
	ev.send(ctx, e)
}

// An endingKey carries, in the context of an operation that ends
// sessions, the event that reports each session it ends.
type endingKey struct{}

type ending struct {
	kind  EventKind
	cause string
}

func (ev *events) withEnding(ctx context.Context, cause string) context.Context {
	kind := EventRevoked
	if cause == "Destroy" || cause == "abandon" {
		kind = EventDestroyed
	}
	return context.WithValue(ctx, endingKey{}, ending{kind, cause})
}

func (ev *events) ended(ctx context.Context, id, owner string) {
	if e, ok := ctx.Value(endingKey{}).(ending); ok && id != "" {
		ev.send(ctx, Event{Kind: e.kind, ID: id, Owner: owner, Cause: e.cause})
	}
}

// swept reports a record the store's cleanup removed as expired, if it is
// one of this manager's live sessions (not an owner index, a forward or a
// tombstone). It is the manager's store.ExpiredReporter callback.
func (ev *events) swept(ctx context.Context, key string, data []byte) {
	id, ok := strings.CutPrefix(key, ev.prefix)
	if !ok || !validToken(id) {
		return
	}
	rec, err := openRecord(ev.keys, key, data)
	if err != nil || rec.revoked || rec.forward {
		return
	}
	defer ev.lock(key).Unlock()
	ev.send(ctx, Event{Kind: EventExpired, ID: id, Owner: rec.owner, Cause: "sweep"})
}
