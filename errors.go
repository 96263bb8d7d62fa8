package sessions

import "errors"

// Errors callers can branch on with errors.Is.
var (
	// ErrInvalidConfig wraps every configuration error New reports.
	ErrInvalidConfig = errors.New("sessions: invalid configuration")

	// ErrNoSession reports a context that carries no session: the handler
	// is not wrapped by Middleware and the context did not come from Load.
	ErrNoSession = errors.New("sessions: no session in context (wrap the handler with Manager.Middleware or use Manager.Load)")

	// ErrResponseStarted reports a Renew or RememberMe after the response
	// headers were sent: the new cookie can no longer reach the client, so
	// nothing was changed.
	ErrResponseStarted = errors.New("sessions: response already started; the session cookie can no longer change")

	// ErrLoadFailed marks a session whose store load failed. Nothing is
	// saved for such a session, so stored data is never overwritten.
	ErrLoadFailed = errors.New("sessions: session could not be loaded")
)
