package sessions

import (
	"context"
	"errors"
	"fmt"

	"github.com/sessionkit/sessions/store"
)

// Update changes the session with fn and saves the result before it
// returns, without losing a concurrent change: use it for counters, carts
// and rate limits, where two requests at once must both count.
//
// fn runs on the freshest value: when another request saved the session
// since this one loaded it, Update reloads it and runs fn again (so fn may
// run more than once and should only change the value it is given). Within
// one process, Updates of one session queue rather than conflict; after a
// few lost races against other processes Update gives up with an error
// wrapping ErrConflict, as it does when another request ended the session
// (Destroy, Renew, Revoke). If fn returns an error, Update returns it and
// the session is as it was. Other changes this request made to the session
// are saved with fn's. Afterwards the *T from Get shows the result.
//
// On a store without conditional writes (a store.Store that is not a
// store.Versioned), Update reloads the value first and saves with a plain
// write: concurrent Updates in one process still add up, but across
// processes the last writer wins.
func (m *Manager[T]) Update(ctx context.Context, fn func(*T) error) error {
	s := m.session(ctx)
	if s == nil {
		return ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.update(ctx, fn)
}

func (s *session[T]) update(ctx context.Context, fn func(*T) error) error {
	if err := s.load(ctx); err != nil {
		return err
	}
	m := s.m
	if s.ended {
		return fmt.Errorf("sessions: update: %w: another request ended the session", ErrConflict)
	}
	token, key, version := s.token, s.key, s.version
	if token == "" {
		if s.started {
			return ErrResponseStarted // a new session's cookie can no longer be sent
		}
		token = newToken()
		key = storeKey(m.cfg.keyPrefix, token)
		version = 0
	}
	defer unlockKey(m.lockKey(key))
	if m.versioned == nil && token == s.token {
		// No conditional write to catch a stale value: start from the
		// stored one.
		if err := s.reload(ctx); err != nil {
			return fmt.Errorf("sessions: update: %w", err)
		}
	}
	buf := getBuffer()
	defer putBuffer(buf)
	for attempt := 1; ; attempt++ {
		if s.ended {
			return fmt.Errorf("sessions: update: %w: another request ended the session", ErrConflict)
		}
		before, err := encode(m.cfg.codec, s.data, buf)
		if err != nil {
			return fmt.Errorf("sessions: encode session: %w", err)
		}
		before = append([]byte(nil), before...)
		if err := fn(s.data); err != nil {
			s.restore(before)
			return err
		}
		payload, err := encode(m.cfg.codec, s.data, buf)
		if err != nil {
			s.restore(before)
			return fmt.Errorf("sessions: encode session: %w", err)
		}
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
		// Undo fn, so that a retry does not apply it twice.
		s.restore(before)
		if !errors.Is(err, store.ErrConflict) || token != s.token {
			return fmt.Errorf("sessions: update: %w", err)
		}
		if attempt == maxWriteAttempts {
			return fmt.Errorf("sessions: update: %w after %d attempts", ErrConflict, attempt)
		}
		if err := s.reload(ctx); err != nil {
			return fmt.Errorf("sessions: update: %w", err)
		}
		version = s.version
	}
}

// restore sets the session value back to the encoding b, keeping the
// pointer Get handed out.
func (s *session[T]) restore(b []byte) {
	v := s.m.newValue()
	if err := s.m.cfg.codec.Unmarshal(b, v); err == nil {
		*s.data = *v
	}
}
