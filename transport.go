package sessions

import (
	"context"
	"time"
)

// Load starts a session for a transport without cookies (a token in an
// Authorization header, a WebSocket, gRPC metadata): it loads the session
// named by token and returns a context carrying it, for [Manager.Get],
// [Manager.Fetch], [Manager.Renew], [Manager.Destroy] and finally
// [Manager.Commit]. An empty, malformed or unknown token gives a new
// session, never an error; a store failure returns the error.
func (m *Manager[T]) Load(ctx context.Context, token string) (context.Context, error) {
	s := &session[T]{}
	if validToken(token) {
		s.tokenBuf[0] = token
		s.init(m, s.tokenBuf[:1])
	} else {
		s.init(m, nil)
	}
	s.mu.Lock()
	err := s.load(ctx)
	s.mu.Unlock()
	if err != nil {
		return ctx, err
	}
	return context.WithValue(ctx, m, s), nil
}

// Commit saves the session in ctx if it changed (and slides its idle
// timeout if it did not) and returns the token the client must present next
// time with the time the session expires unless used again. The token is
// empty when there is no session to come back to (it was never changed,
// or it was destroyed or revoked) and when a racing request renewed the
// session first: this request's changes went to the renewed session, whose
// token that request returned. Inside [Manager.Middleware], Commit saves early; the middleware
// still sends the cookie.
func (m *Manager[T]) Commit(ctx context.Context) (token string, expiresAt time.Time, err error) {
	s := m.session(ctx)
	if s == nil {
		return "", time.Time{}, ErrNoSession
	}
	if err := s.lock(); err != nil {
		return "", time.Time{}, err
	}
	defer s.mu.Unlock()
	if err := s.commit(ctx, false); err != nil {
		return "", time.Time{}, err
	}
	if s.token == "" || !s.exists {
		return "", time.Time{}, nil
	}
	return s.token, m.expiry(s.deadline, time.Now()), nil
}
