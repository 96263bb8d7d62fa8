package sessions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sessionkit/sessions/store"
)

// maxWriteAttempts bounds the conditional writes of one commit or Update
// when other writers keep getting in first.
const maxWriteAttempts = 8

// commit writes what changed: the record if its encoding differs from the
// baseline (or a Renew, SetOwner or SetPersistent asked for it), else just the
// idle timeout. It never writes for a session that failed to load, nor for
// one that another request ended. With detach, the store calls run without
// ctx's cancellation (see commitDetached); a commit with nothing to write
// costs no context.
func (s *session[T]) commit(ctx context.Context, detach bool) error {
	if !s.loaded || s.loadErr != nil || s.ended {
		return nil
	}
	m := s.m
	buf := getBuffer()
	defer putBuffer(buf)
	payload, err := encode(m.cfg.codec, s.data, buf)
	if err != nil {
		if ev := m.ev; ev != nil {
			ev.writeFailed(ctx, s.storedKey(), s.bound, "", err)
		}
		return fmt.Errorf("sessions: encode session: %w", err)
	}
	changed := s.dirty || s.noBaseline || !bytes.Equal(payload, s.saved)
	if !changed && !s.refresh && s.discardKey == "" {
		return nil
	}
	if detach {
		ctx = context.WithoutCancel(ctx)
	}
	switch {
	case changed:
		if !s.exists && s.started {
			m.logAt(ctx, slog.LevelError, "sessions: a new session was changed after the response started; its cookie cannot be sent, so it is not saved", "", nil)
			return nil
		}
		if err := s.persistEncoded(ctx, payload, buf); err != nil {
			return err
		}
	case s.refresh:
		if err := s.slide(ctx); err != nil {
			return fmt.Errorf("sessions: refresh idle timeout: %w", err)
		}
	}
	if s.discardKey != "" {
		if err := m.delete(ctx, s.discardKey); err != nil {
			return fmt.Errorf("sessions: delete unreadable session: %w", err)
		}
		s.discardKey = ""
	}
	return nil
}

// persist writes the session now, as LIFECYCLE.md describes: a new
// session gets its first token; a renewed one moves to a new token, its
// old record turning into a forward; a session with a new owner is added
// to that owner's index before the write and removed from the previous
// owner's after it. Every write is conditional on the version this request
// loaded. When another request wrote first, persist reads the record
// again: for a live one it merges the fields this request changed into
// the other writer's value (or, given fn, from Update, reapplies fn to it)
// and tries again; for a forward it follows the racing Renew; for an ended
// session it stops, with s ended and nothing written.
func (s *session[T]) persist(ctx context.Context, fn func(*T) error) error {
	s.m.useRebinder()
	buf := getBuffer()
	defer putBuffer(buf)
	return s.writeReported(ctx, &write[T]{s: s, fn: fn, buf: buf})
}

// persistEncoded is persist for a value already encoded into buf.
func (s *session[T]) persistEncoded(ctx context.Context, payload []byte, buf *encodeBuffer) error {
	return s.writeReported(ctx, &write[T]{s: s, buf: buf, encoded: payload})
}

// write runs w's attempts (see persist).
func (s *session[T]) write(ctx context.Context, w *write[T]) error {
	m := s.m
	if m.versioned == nil {
		return s.persistUnversioned(ctx, w)
	}
	if s.exists {
		defer unlockKey(m.lockKey(s.key))
	}
	if !s.exists || s.next != "" {
		w.token = s.nextToken()
		w.key = storeKey(m.cfg.keyPrefix, w.token)
	}
	for attempt := 1; ; attempt++ {
		done, err := w.attempt(ctx)
		if done || err != nil {
			if err != nil || s.ended {
				w.unindex(ctx)
			}
			return err
		}
		if attempt == maxWriteAttempts {
			w.unindex(ctx)
			return fmt.Errorf("sessions: save: %w after %d attempts", ErrSessionChanged, attempt)
		}
		w.undo() // fn runs again on the value reload brings
		key, owner := s.key, s.bound
		followed, err := s.reload(ctx)
		if err != nil {
			w.unindex(ctx)
			return fmt.Errorf("sessions: save: %w", err)
		}
		if ev := m.ev; ev != nil {
			ev.conflict(ctx, key, owner, s.key, s.bound, s.ended, w.fn != nil)
		}
		if s.ended {
			w.unindex(ctx)
			return nil
		}
		if followed && w.key != "" {
			// A racing Renew won: this request's writes go to its session,
			// and this request's own new token is never used.
			w.unindex(ctx)
			w.token, w.key = "", ""
			s.next = ""
		}
	}
}

// A write is one persist call's state across its attempts.
type write[T any] struct {
	s         *session[T]
	fn        func(*T) error
	buf       *encodeBuffer
	token     string // the new token: a new session's, or the one Renew moves to
	key       string // its store key; "" when the session keeps its key
	applied   bool   // fn has been applied to s.data
	fnFailed  bool   // fn's last run failed: the write ends with its error
	before    []byte // the encoding of s.data before fn
	indexed   string // the owner whose index got indexedID in this call
	indexedID string
	encoded   []byte // the value's encoding, for the first attempt (aliases buf)
}

// attempt makes one try: it reports done when the session is written (or
// ended), and false when another writer came first and the caller must
// reload.
func (w *write[T]) attempt(ctx context.Context) (done bool, err error) {
	s, m := w.s, w.s.m
	payload, err := w.value()
	if err != nil {
		return false, err
	}
	target, version := s.key, s.version
	if w.key != "" {
		target, version = w.key, 0
	}
	rec, plain, expires, err := s.record(target, payload)
	if err != nil {
		return false, err
	}
	// Index first: a revocation that races this write then finds the
	// session (see RevokeOwner). This branch, the renewal's and the
	// removal of the old entry need a SetOwner or a new token for a stored
	// session, whose calls set m.rebind (see rebinder).
	if id := m.id(target); s.owner != "" && (w.key != "" || s.owner != s.bound) && (w.indexed != s.owner || w.indexedID != id) {
		limited := m.cfg.ownerLimit > 0 && s.owner != s.bound // a new binding, not a Renew of one
		added, err := m.rebind.addIndexEntry(ctx, s.owner, id, s.deadline, limited)
		if added {
			w.indexed, w.indexedID = s.owner, id // on an error, the caller removes it
		}
		if err != nil {
			return false, err
		}
	}
	renewing := s.exists && w.key != ""
	var forward store.Version
	if renewing {
		// Retire the old record into a forward, conditionally on the
		// loaded version: where the Renew takes effect.
		if forward, err = s.retire(ctx, m.id(w.key)); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return false, nil
			}
			return false, fmt.Errorf("sessions: renew: %w", err)
		}
	}
	newVersion, err := s.store(ctx, target, rec, expires, version)
	switch {
	case err == nil && renewing && m.rebind.clearedDuring(forward, newVersion):
		// RevokeAll cleared the store (store.Clearer) between the forward
		// and the new record: the session ended, the new record must not
		// outlive it.
		m.logAt(ctx, slog.LevelWarn, "sessions: every session was revoked while this one was being renewed; it ends", "", nil)
		if _, err := m.rebind.putMarker(ctx, target, record{revoked: true}, newVersion); err != nil && !errors.Is(err, store.ErrConflict) {
			return false, fmt.Errorf("sessions: renew: end the session renewed during RevokeAll: %w", err)
		}
		s.end(false)
		return true, nil
	case err == nil:
	case errors.Is(err, store.ErrConflict) && w.key != "":
		// A tombstone under the new key: a revocation ended the session
		// (listed in the index, not written yet) first.
		m.logAt(ctx, slog.LevelWarn, "sessions: the session was revoked before its new record was written; it ends", "", nil)
		if renewing {
			m.rebind.removeForward(ctx, s.key, forward) // it leads nowhere: the old token reads as ended
		}
		s.end(false)
		return true, nil
	case errors.Is(err, store.ErrConflict) && w.key == "":
		return false, nil
	case renewing:
		// The write may have happened (a timeout): the index entry stays,
		// so that RevokeOwner finds the record if it is there.
		w.indexed, w.indexedID = "", ""
		s.end(false)
		return false, fmt.Errorf("sessions: renew: the old session was retired but the new one could not be written (the user must sign in again): %w", err)
	default:
		w.indexed, w.indexedID = "", "" // as above
		return false, fmt.Errorf("sessions: save: %w", err)
	}
	oldID, oldOwner := "", s.bound
	if s.exists {
		oldID = m.id(s.key)
	}
	s.wrote(w, plain, payload, newVersion)
	s.bound = s.owner
	w.indexed, w.indexedID = "", "" // in use now
	if oldOwner != "" && (renewing || oldOwner != s.owner) {
		m.rebind.dropIndexEntry(ctx, oldOwner, oldID) // the old ID, or the session's under another owner
	}
	return true, nil
}

// clearedBetween reports whether the store was cleared (RevokeAll on a
// store.Clearer) between the writes that returned versions a and b.
func (m *core) clearedBetween(a, b store.Version) bool {
	cl, ok := m.store.(store.Clearer)
	return ok && !cl.SameGeneration(a, b)
}

// value applies fn (once per attempt) and encodes the session value.
func (w *write[T]) value() ([]byte, error) {
	s := w.s
	if w.encoded != nil {
		payload := w.encoded
		w.encoded = nil
		return payload, nil
	}
	if w.fn != nil {
		before, err := encode(s.m.cfg.codec, s.data, w.buf)
		if err != nil {
			return nil, fmt.Errorf("sessions: encode session: %w", err)
		}
		w.before = append(w.before[:0], before...)
		if err := s.runUpdate(w.fn); err != nil {
			s.restore(w.before)
			w.fnFailed = true
			return nil, err
		}
		w.applied = true
	}
	payload, err := encode(s.m.cfg.codec, s.data, w.buf)
	if err != nil {
		return nil, fmt.Errorf("sessions: encode session: %w", err)
	}
	return payload, nil
}

// wrote records that w wrote the session with payload as version (in
// the record plain, nil when sealed: see keepWritten), under the token w
// issued if it issued one.
func (s *session[T]) wrote(w *write[T], plain, payload []byte, version store.Version) {
	if w.key != "" {
		s.token, s.key = w.token, w.key
		s.cookie, s.issued = cookieSet, true
	}
	s.keepWritten(plain, payload)
	s.version = version
	s.exists, s.dirty, s.refresh, s.next = true, false, false, ""
}

// undo takes fn's change back, so that a retry does not apply it twice
// and a failed Update leaves the session as it was.
func (w *write[T]) undo() {
	if w.applied {
		w.s.restore(w.before)
		w.applied = false
	}
}

// unindex takes fn's change back and removes the index entry this call
// added, when it is not used after all.
func (w *write[T]) unindex(ctx context.Context) {
	w.undo()
	if w.indexed != "" {
		w.s.m.rebind.dropIndexEntry(ctx, w.indexed, w.indexedID)
		w.indexed, w.indexedID = "", ""
	}
}

// forget removes id from owner's index; a failure only leaves an entry
// that Sessions prunes later.
func (m *core) forget(ctx context.Context, owner, id string) {
	if err := m.removeIndex(ctx, owner, id); err != nil {
		m.logAt(ctx, slog.LevelWarn, "sessions: removing a session from its owner's index failed; it is pruned later", "", err)
	}
}

// record builds the record of the session with payload to store under
// key, and the expiry it gets if written now, refusing a record over the
// size limit before anything is written. With WithEncryption the record is
// sealed where it is built, and plain is nil; else stored and plain are
// the same record.
func (s *session[T]) record(key string, payload []byte) (stored, plain []byte, expires time.Time, err error) {
	m := s.m
	size := recordSize(s.owner, payload)
	if m.cfg.keys != nil {
		size += sealedOverhead
	}
	if size > m.cfg.maxSize {
		return nil, nil, time.Time{}, &tooLargeError{size: size, limit: m.cfg.maxSize}
	}
	now := time.Now()
	expires = m.expiry(s.deadline, now)
	r := record{
		deadline:   s.deadline,
		expires:    expires,
		created:    s.created,
		authAt:     s.authAt,
		seen:       now,
		persistent: s.persistent,
		owner:      s.owner,
		payload:    payload,
	}
	if m.cfg.keys == nil {
		plain = appendRecord(make([]byte, 0, recordSize(s.owner, payload)), r)
		return plain, plain, expires, nil
	}
	env := m.cfg.keys.envelope(key, recordSize(s.owner, payload))
	if stored, err = m.cfg.keys.sealAppended(kindSession, key, appendRecord(env, r)); err != nil {
		return nil, nil, time.Time{}, fmt.Errorf("sessions: seal record: %w", err)
	}
	return stored, nil, expires, nil
}

// retire turns the loaded record into a forward to the session's new ID,
// if it is still the version this request loaded.
func (s *session[T]) retire(ctx context.Context, newID string) (store.Version, error) {
	return s.m.rebind.putMarker(ctx, s.key, record{forward: true, owner: s.owner, payload: []byte(newID)}, s.version)
}

// store writes rec under key until expires, conditionally on version
// where the store can, and returns the new version. With an event hook it
// reports what the write confirmed (see eventSink.stored), holding the
// event lock of key from the write to the last event.
func (s *session[T]) store(ctx context.Context, key string, rec []byte, expires time.Time, version store.Version) (store.Version, error) {
	m := s.m
	ev := m.ev
	if ev != nil {
		defer ev.lock(key).Unlock()
	}
	sctx, cancel := m.storeContext(ctx)
	defer cancel()
	var newVersion store.Version
	var err error
	switch {
	case m.versioned == nil:
		newVersion, err = unversioned, m.lastWriter.plainSave(sctx, key, rec, expires)
	case m.fast.SaveIf != nil:
		// rec is new and never modified: the store may keep it.
		newVersion, err = m.fast.SaveIf(sctx, key, rec, expires, version)
	default:
		newVersion, err = m.versioned.SaveIf(sctx, key, rec, expires, version)
	}
	if ev != nil {
		ev.stored(ctx, key, s.storedKey(), s.bound, s.owner, len(rec), err)
	}
	return newVersion, err
}

// persistUnversioned is persist for a store without conditional writes:
// last writer wins. Update starts from the stored value; a Renew writes
// the new record, then deletes the old one.
func (s *session[T]) persistUnversioned(ctx context.Context, w *write[T]) error {
	m := s.m
	if s.exists {
		defer unlockKey(m.lockKey(s.key))
		if w.fn != nil {
			if _, err := s.reload(ctx); err != nil {
				return fmt.Errorf("sessions: update: %w", err)
			}
			if s.ended {
				return nil
			}
		}
	}
	payload, err := w.value()
	if err == nil {
		err = s.writeUnversioned(ctx, w, payload)
	}
	if err != nil {
		w.undo()
	}
	return err
}

// writeUnversioned is persistUnversioned's write of payload.
func (s *session[T]) writeUnversioned(ctx context.Context, w *write[T], payload []byte) error {
	m := s.m
	target := s.key
	if !s.exists || s.next != "" {
		w.token = s.nextToken()
		w.key = storeKey(m.cfg.keyPrefix, w.token)
		target = w.key
	}
	rec, plain, expires, err := s.record(target, payload)
	if err != nil {
		w.token, w.key = "", ""
		return err
	}
	if _, err := s.store(ctx, target, rec, expires, 0); err != nil {
		return fmt.Errorf("sessions: save: %w", err)
	}
	if w.key != "" && s.exists {
		if err := m.delete(ctx, s.key); err != nil {
			m.logAt(ctx, slog.LevelWarn, "sessions: deleting the renewed-away record failed", "", err)
		}
	}
	s.wrote(w, plain, payload, unversioned)
	return nil
}

// slide rewrites the unchanged record to move its idle expiry. When
// another request wrote it in the meantime, that write moved the expiry
// already.
func (s *session[T]) slide(ctx context.Context) error {
	rec, plain, expires, err := s.record(s.key, s.saved)
	if err != nil {
		return err
	}
	version, err := s.store(ctx, s.key, rec, expires, s.version)
	switch {
	case errors.Is(err, store.ErrConflict):
		s.refresh = false
		return nil
	case err != nil:
		if ev := s.m.ev; ev != nil {
			ev.writeFailed(ctx, s.key, s.bound, "refresh", err)
		}
		return err
	}
	if plain != nil { // else sealed: saved stays the baseline
		s.setSaved(plain[len(plain)-len(s.saved):], nil)
	}
	s.version, s.refresh = version, false
	return nil
}

// maxForwards bounds how many forwards reload follows.
const maxForwards = 4

// forwardWait is how long reload waits for the record a forward names
// before it counts the session as ended: the racing Renew writes that
// record right after the forward, in one store call that the store
// timeout bounds. It only runs out when that write failed.
func (m *core) forwardWait() time.Duration {
	if m.cfg.storeTimeout > 0 {
		return m.cfg.storeTimeout
	}
	return DefaultStoreTimeout
}

// sleep pauses for d, or returns ctx's error if it ends first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// reload reads the record again after a conflict and merges into it the
// fields this request changed (see mergeChanges). A forward is followed to
// the renewed session, which this request then writes (followed is true;
// its token stays unknown here). A record that is gone, a tombstone or
// expired means another request ended the session: s is marked ended and
// this request's changes are dropped.
func (s *session[T]) reload(ctx context.Context) (followed bool, err error) {
	m := s.m
	key := s.key
	var waited time.Duration // for the record the last forward names
	for hops := 0; ; {
		sctx, cancel := m.storeContext(ctx)
		l, err := m.loadRecord(sctx, key, time.Time{})
		cancel()
		if err != nil {
			return false, err
		}
		var rec record
		if l.Found() {
			rec, err = m.openRecord(key, l.Data)
		}
		if !l.Found() && followed && waited < m.forwardWait() {
			pause := min(max(waited, time.Millisecond), m.forwardWait()-waited)
			if err := sleep(ctx, pause); err != nil {
				return false, err
			}
			waited += pause
			continue
		}
		if l.Found() && err == nil && rec.forward && hops < maxForwards {
			hops, followed, waited = hops+1, true, 0
			key = m.cfg.keyPrefix + string(rec.payload)
			continue
		}
		var theirs *T
		if l.Found() && err == nil && rec.live(time.Now()) {
			theirs = m.newValue()
			err = m.decodeValue(rec.payload, theirs)
		}
		if theirs == nil || err != nil {
			m.logAt(ctx, slog.LevelWarn, "sessions: the session was ended by another request (Destroy, Revoke or expiry); this request's changes are dropped", "", nil)
			s.end(false)
			return false, nil
		}
		if s.noBaseline {
			return false, fmt.Errorf("%w: the request is over (Middleware returned), so its changes cannot be merged with another request's", ErrSessionChanged)
		}
		base, next := m.newValue(), m.newValue()
		if err := m.decodeValue(s.saved, base); err != nil {
			return false, fmt.Errorf("decode baseline: %w", err)
		}
		if err := m.decodeValue(rec.payload, next); err != nil {
			return false, err
		}
		// The next baseline is their value but for the fields this
		// request changed, which keep the old baseline's: they stay
		// this request's changes if another conflict comes.
		if err := mergeChanges(m.cfg.codec, next, s.data, base); err != nil {
			return false, err
		}
		if err := mergeChanges(m.cfg.codec, theirs, base, s.data); err != nil {
			return false, err
		}
		saved, err := m.cfg.codec.Marshal(next)
		if err != nil {
			return false, fmt.Errorf("encode baseline: %w", err)
		}
		*s.data = *theirs
		s.setSaved(saved, nil)
		s.version, s.deadline, s.created = l.Version, rec.deadline, rec.created
		if followed {
			s.token, s.key = "", key
		}
		if !s.ownerSet {
			s.owner = rec.owner // this request did not bind it
		}
		if !s.authSet {
			s.authAt = rec.authAt
		}
		s.bound = rec.owner
		if !s.dirty {
			s.persistent = rec.persistent
		}
		return followed, nil
	}
}
