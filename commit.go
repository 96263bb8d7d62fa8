package sessions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sessionkit/sessions/store"
)

// maxWriteAttempts bounds the conditional writes of one commit or Update
// when other writers keep getting in first.
const maxWriteAttempts = 8

// commit writes what changed: the record if its encoding differs from the
// baseline (or a Renew or RememberMe asked for it), else just the idle
// timeout; then it deletes a stale record. It never writes for a session
// that failed to load, nor for one that another request ended. With
// detach, the store calls run without ctx's cancellation (see
// commitDetached); a commit with nothing to write costs no context.
func (s *session[T]) commit(ctx context.Context, detach bool) error {
	if !s.loaded || s.loadErr != nil {
		return nil
	}
	m := s.m
	if s.ended {
		// Nothing of an ended session is written; a record it renewed away
		// from must still go (a revocation may not have seen it).
		if s.staleKey == "" {
			return nil
		}
		if detach {
			ctx = context.WithoutCancel(ctx)
		}
		if err := m.delete(ctx, s.staleKey); err != nil {
			return fmt.Errorf("sessions: delete old session: %w", err)
		}
		s.staleKey, s.staleVer = "", 0
		return nil
	}
	buf := getBuffer()
	defer putBuffer(buf)
	payload, err := encode(m.cfg.codec, s.data, buf) // may alias buf
	if err != nil {
		return fmt.Errorf("sessions: encode session: %w", err)
	}
	changed := s.dirty || !bytes.Equal(payload, s.saved)
	if !changed && !s.refresh && s.staleKey == "" {
		return nil
	}
	if detach {
		ctx = context.WithoutCancel(ctx)
	}
	switch {
	case changed:
		if s.token == "" && s.started {
			m.cfg.logger.ErrorContext(ctx, "sessions: a new session was changed after the response started; its cookie cannot be sent, so it is not saved")
			return nil
		}
		if err := s.save(ctx, payload, buf); err != nil {
			return err
		}
	case s.refresh:
		if err := s.slide(ctx); err != nil {
			return fmt.Errorf("sessions: refresh idle timeout: %w", err)
		}
	}
	if s.staleKey != "" {
		if err := s.deleteStale(ctx); err != nil {
			return fmt.Errorf("sessions: delete old session: %w", err)
		}
	}
	return nil
}

// deleteStale deletes the record the session no longer uses. A record this
// request renewed away from is deleted only if it is still the version
// this request loaded: if another request ended the session meanwhile
// (Destroy, Revoke), the renewed session ends too, so that a Renew never
// brings an ended session back under a new token.
func (s *session[T]) deleteStale(ctx context.Context) error {
	m := s.m
	key, version := s.staleKey, s.staleVer
	s.staleKey, s.staleVer = "", 0
	if m.versioned == nil || version == 0 {
		return m.delete(ctx, key)
	}
	sctx, cancel := m.storeContext(ctx)
	defer cancel()
	_, err := m.versioned.SaveIf(sctx, key, nil, time.Unix(1, 0), version)
	if !errors.Is(err, store.ErrConflict) {
		return err
	}
	// Changed since this request loaded it: still there (another request
	// wrote it), or ended?
	l, err := m.loadRecord(sctx, key, time.Time{})
	if err != nil {
		return err
	}
	if l.Found() {
		if rec, err := parseRecord(l.Data); err == nil && !rec.revoked && time.Now().Before(rec.deadline) {
			return m.store.Delete(sctx, key) // still live: the renew goes on
		}
	}
	m.cfg.logger.WarnContext(ctx, "sessions: the session was ended by another request during Renew; the renewed session ends too")
	if err := m.store.Delete(sctx, s.key); err != nil {
		return err
	}
	s.end(true)
	return nil
}

// save writes payload as the session's new data: a new session gets a
// token first. On a store with conditional writes the write only lands on
// the version this request loaded; when another request wrote first, the
// fields this request changed are merged into the other writer's data and
// the write is tried again. buf is the buffer payload may alias.
func (s *session[T]) save(ctx context.Context, payload []byte, buf *encodeBuffer) error {
	m := s.m
	token, key, version := s.token, s.key, s.version
	if token == "" {
		token = newToken()
		key = storeKey(m.cfg.keyPrefix, token)
		version = 0
	}
	defer unlockKey(m.lockKey(key))
	for attempt := 1; ; attempt++ {
		rec, newVersion, err := s.write(ctx, key, payload, version)
		if err == nil {
			if token != s.token {
				s.token, s.key = token, key
				s.cookie = cookieSet
			}
			s.saved, s.version = rec[len(rec)-len(payload):], newVersion
			s.exists, s.dirty, s.refresh = true, false, false
			return nil
		}
		if !errors.Is(err, store.ErrConflict) || token != s.token {
			return fmt.Errorf("sessions: save: %w", err)
		}
		if attempt == maxWriteAttempts {
			return fmt.Errorf("sessions: save: %w after %d attempts", ErrConflict, attempt)
		}
		if err := s.reload(ctx); err != nil {
			return fmt.Errorf("sessions: save: %w", err)
		}
		if s.ended {
			return nil
		}
		if payload, err = encode(m.cfg.codec, s.data, buf); err != nil {
			return fmt.Errorf("sessions: encode session: %w", err)
		}
		version = s.version
	}
}

// slide rewrites the unchanged record to move its idle expiry. When
// another request wrote it in the meantime, that write moved the expiry
// already.
func (s *session[T]) slide(ctx context.Context) error {
	rec, version, err := s.write(ctx, s.key, s.saved, s.version)
	switch {
	case errors.Is(err, store.ErrConflict):
		s.refresh = false
		return nil
	case err != nil:
		return err
	}
	s.saved, s.version, s.refresh = rec[len(rec)-len(s.saved):], version, false
	return nil
}

// reload reads the record again after a conflict and merges into it the
// fields this request changed (see mergeChanges). If the record is gone,
// expired or unreadable, another request ended the session: s is marked
// ended and this request's changes are dropped.
func (s *session[T]) reload(ctx context.Context) error {
	m := s.m
	sctx, cancel := m.storeContext(ctx)
	l, err := m.loadRecord(sctx, s.key, time.Time{})
	cancel()
	if err != nil {
		return err
	}
	var (
		rec    record
		theirs *T
	)
	if l.Found() {
		rec, theirs, err = s.decode(l.Data)
	}
	if !l.Found() || err != nil || rec.revoked || !time.Now().Before(rec.deadline) {
		m.cfg.logger.WarnContext(ctx, "sessions: the session was ended by another request (Destroy, Renew, Revoke or expiry); this request's changes are dropped")
		// Only this request's own new token died with it: an older one
		// may be a racing login's.
		s.end(s.cookie == cookieSet)
		return nil
	}
	base := m.newValue()
	if err := m.cfg.codec.Unmarshal(s.saved, base); err != nil {
		return fmt.Errorf("decode baseline: %w", err)
	}
	if err := mergeChanges(m.cfg.codec, theirs, base, s.data); err != nil {
		return err
	}
	*s.data = *theirs
	s.saved, s.version, s.deadline, s.created = rec.payload, l.Version, rec.deadline, rec.created
	if !s.dirty {
		s.persistent, s.owner = rec.persistent, rec.owner
	}
	return nil
}

// write saves payload under key with the session's deadline and the expiry
// the idle timeout gives it now, conditionally on version where the store
// can, and returns the record it saved with its new version.
func (s *session[T]) write(ctx context.Context, key string, payload []byte, version store.Version) ([]byte, store.Version, error) {
	m := s.m
	expires := m.expiry(s.deadline, time.Now())
	size := recordSize(s.owner, payload)
	if size > m.cfg.maxSize {
		return nil, 0, fmt.Errorf("sessions: session record of %d bytes is over the %d-byte limit (WithMaxSize): %w", size, m.cfg.maxSize, store.ErrTooLarge)
	}
	rec := appendRecord(make([]byte, 0, size), record{
		deadline:   s.deadline,
		expires:    expires,
		created:    s.created,
		persistent: s.persistent,
		owner:      s.owner,
		payload:    payload,
	})
	ctx, cancel := m.storeContext(ctx)
	defer cancel()
	var (
		newVersion store.Version
		err        error
	)
	switch {
	case m.versioned == nil:
		return rec, unversioned, m.store.Save(ctx, key, rec, expires)
	case m.sharedSave != nil:
		// rec is new and never modified: the store may keep it.
		newVersion, err = m.sharedSave.SaveIfShared(ctx, key, rec, expires, version)
	default:
		newVersion, err = m.versioned.SaveIf(ctx, key, rec, expires, version)
	}
	return rec, newVersion, err
}
