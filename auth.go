package sessions

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Reauthenticated records that the user of the request's session has just
// authenticated again (entered their password before a sensitive change,
// as OWASP ASVS 7.5.1 asks) and gives the session a new token, as
// [Manager.Renew] does (ASVS 7.2.4 counts re-authentication as
// authentication). It writes the session now, so a failure is returned
// here; it works on a session that was never saved. After the response
// started the token cannot change: it returns [ErrResponseStarted].
//
// [Manager.SetOwner] records the time of authentication at login; call
// Reauthenticated only after checking the user's credentials again.
func (m *Manager[T]) Reauthenticated(ctx context.Context) error {
	s := m.session(ctx)
	if s == nil {
		return ErrNoSession
	}
	if err := s.lockForNewToken(ctx, "Reauthenticated"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	type state struct {
		next              string
		deadline, created time.Time
		authAt            time.Time
		authSet, dirty    bool
	}
	old := state{s.next, s.deadline, s.created, s.authAt, s.authSet, s.dirty}
	now := time.Now()
	if s.next == "" {
		s.next = newToken()
		s.deadline, s.created = m.deadline(now), now
	}
	s.authAt, s.authSet, s.dirty = now, true, true
	if err := s.persist(ctx, nil); err != nil {
		if !s.ended {
			s.next, s.deadline, s.created = old.next, old.deadline, old.created
			s.authAt, s.authSet, s.dirty = old.authAt, old.authSet, old.dirty
		}
		return err
	}
	if s.ended {
		return fmt.Errorf("sessions: Reauthenticated: %w: another request ended the session", ErrSessionChanged)
	}
	return nil
}

// AuthAge returns how long ago the user of the request's session last
// authenticated ([Manager.SetOwner] or [Manager.Reauthenticated]), and
// false when the session never did (a new session, one written before
// the time was recorded, one unbound with SetOwner("")) or cannot be
// loaded. A time in the future (clocks of two servers apart) counts as
// now.
func (m *Manager[T]) AuthAge(ctx context.Context) (time.Duration, bool) {
	at, err := m.authenticatedAt(ctx)
	if err != nil || at.IsZero() {
		return 0, false
	}
	return max(time.Since(at), 0), true
}

// authenticatedAt loads the request's session if needed and returns when
// its user last authenticated, or the zero time.
func (m *Manager[T]) authenticatedAt(ctx context.Context) (time.Time, error) {
	s := m.session(ctx)
	if s == nil {
		return time.Time{}, ErrNoSession
	}
	if s.reentry.Load() != nil {
		// Inside Update's function, whose goroutine holds the lock.
		return s.authAt, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(ctx); err != nil {
		return time.Time{}, err
	}
	if s.ended {
		return time.Time{}, nil
	}
	return s.authAt, nil
}

// RequireRecentAuth returns middleware for routes that change what only
// the account holder may change (password, email, MFA, payment details:
// OWASP ASVS 7.5.1, 7.5.3). It serves reauth instead of the wrapped
// handler when the user of the request's session never authenticated or
// did so more than maxAge ago; reauth typically asks for the password and,
// once it is right, calls [Manager.Reauthenticated] and sends the user
// back. Put it inside [Manager.Middleware]. A session that fails to load
// goes to the error handler ([WithErrorHandler]), as [Manager.Get] does.
func (m *Manager[T]) RequireRecentAuth(maxAge time.Duration, reauth http.Handler) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			at, err := m.authenticatedAt(r.Context())
			switch {
			case errors.Is(err, ErrNoSession):
				m.handleError(w, r, fmt.Errorf("sessions: RequireRecentAuth outside Middleware: %w", err))
			case err != nil:
				m.session(r.Context()).reportLoadError(err)
			case at.IsZero() || time.Since(at) > maxAge:
				reauth.ServeHTTP(w, r)
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}
