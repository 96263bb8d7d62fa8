package sessions

import (
	"context"
	"errors"
	"fmt"
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
// wrapping [ErrSessionChanged], as it does when another request ended the
// session ([Manager.Destroy], [Manager.Revoke], expiry). When a racing request renewed the
// session, fn's change lands in the renewed session. If fn returns an error, Update
// returns it and the session is as it was. Other changes this request made
// to the session (a pending Renew or SetOwner included) are saved with
// fn's. Afterwards the *T from Get shows the result.
//
// Inside fn, [Manager.Get], [Manager.Fetch] and [Manager.ID] work (Get
// returns the value fn is changing); the calls that change the session
// ([Manager.Renew], [Manager.SetOwner], [Manager.Destroy], Update,
// [Manager.SetPersistent], [Manager.Commit], [Manager.RevokeOthers]) fail
// at once with an error.
//
// On a store without conditional writes (a [store.Store] that is not a
// [store.Versioned]), Update reloads the value first and saves with a plain
// write: concurrent Updates in one process still add up, but across
// processes the last writer wins.
func (m *Manager[T]) Update(ctx context.Context, fn func(*T) error) error {
	s := m.session(ctx)
	if s == nil {
		return ErrNoSession
	}
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	return s.update(ctx, fn)
}

func (s *session[T]) update(ctx context.Context, fn func(*T) error) error {
	if err := s.load(ctx); err != nil {
		return err
	}
	if s.ended {
		return fmt.Errorf("sessions: update: %w: another request ended the session", ErrSessionChanged)
	}
	if !s.exists && s.started {
		return ErrResponseStarted // a new session's cookie can no longer be sent
	}
	if err := s.persist(ctx, fn); err != nil {
		return err
	}
	if s.ended {
		return fmt.Errorf("sessions: update: %w: another request ended the session", ErrSessionChanged)
	}
	return nil
}

// A reentry is what the manager's calls see while Update's function runs
// (they cannot take the session's lock, which Update holds).
type reentry[T any] struct {
	data *T
	id   string
}

// errReentrant reports a call that would change the session from inside
// Update's function.
var errReentrant = errors.New("sessions: called from inside Update's function; change the value fn is given, and call Renew, SetOwner, Destroy, Update or SetPersistent before or after Update")

// runUpdate runs fn on the session value. Meanwhile Get, Fetch and ID
// answer from a snapshot, and calls that would change the session fail
// at once with errReentrant instead of waiting for the lock Update holds.
func (s *session[T]) runUpdate(fn func(*T) error) error {
	s.reentry.Store(&reentry[T]{data: s.data, id: s.id()})
	defer s.reentry.Store(nil)
	return fn(s.data)
}

// restore sets the session value back to the encoding b, keeping the
// pointer Get handed out.
func (s *session[T]) restore(b []byte) {
	v := s.m.newValue()
	if err := s.m.decodeValue(b, v); err == nil {
		*s.data = *v
	}
}
