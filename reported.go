package sessions

import (
	"context"

	"github.com/sessionkit/sessions/store"
)

// The Manager's event points that take more than a nil check of its
// eventSink (nil without WithEvents) and a call; the others are in line
// (session.load, session.store, session.write, commit, slide, destroy).
// The Events are built in the sink, which is not generic: the generic
// code, compiled anew for every session type, stays small, and a program
// without events links none of the sink.

// writeReported is session.write, reporting a failure as EventSaveFailed,
// or EventRefused for a record over the size limit. An error of Update's
// function is the caller's, not a failed write.
func (s *session[T]) writeReported(ctx context.Context, w *write[T]) error {
	ev := s.m.ev
	var key, owner string
	if ev != nil {
		key, owner = s.storedKey(), s.bound
	}
	err := s.write(ctx, w)
	if ev != nil && err != nil && !w.fnFailed {
		ev.writeFailed(ctx, key, owner, "", err)
	}
	return err
}

// storedKey is the key of the session's record, or "" when it has none.
func (s *session[T]) storedKey() string {
	if !s.exists {
		return ""
	}
	return s.key
}

// ending returns ctx marked so that the sessions endSession ends under it
// are reported as ended by cause, the call that ends them (see
// eventSink.withEnding). Without a hook it returns ctx.
func (m *Manager[T]) ending(ctx context.Context, cause string) context.Context {
	if m.ev == nil {
		return ctx
	}
	return m.ev.withEnding(ctx, cause)
}

// tombstone ends the record under key with a tombstone if it is still
// version (0: if there is no live record; see endSession), and reports the
// session id (bound to owner) as ended, as the context says (see ending):
// id is the key's own ID for a live record, and for a tombstone planted
// where a Renew had not written its new record yet the ID the session had
// before that Renew (the Renew fails). id "" reports nothing. The event
// lock of key is held from the write to the event.
func (m *Manager[T]) tombstone(ctx context.Context, key string, version store.Version, id, owner string) error {
	ev := m.ev
	if ev != nil {
		defer ev.lock(key).Unlock()
	}
	_, err := m.writeMarker(ctx, key, record{revoked: true}, version)
	if ev != nil && err == nil {
		ev.ended(ctx, id, owner)
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
//
// The event lock is taken after the removal, not before: with the record
// gone, no other event of the session can come between.
func (m *Manager[T]) expiredFound(ctx context.Context, key string, version store.Version, owner string) {
	if m.ev != nil && (m.versioned == nil || m.deleteIf(ctx, key, version) == nil) {
		m.ev.expired(ctx, key, owner)
	}
}
