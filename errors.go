package sessions

import "errors"

// Errors callers can branch on with errors.Is.
var (
	// ErrInvalidConfig wraps every configuration error New reports.
	ErrInvalidConfig = errors.New("sessions: invalid configuration")

	// ErrNoSession reports a context that carries no session: the handler
	// is not wrapped by Middleware and the context did not come from Load.
	ErrNoSession = errors.New("sessions: no session in context (wrap the handler with Manager.Middleware or use Manager.Load)")

	// ErrResponseStarted reports a [Manager.Renew], [Manager.SetPersistent]
	// or [Manager.Destroy] after the response headers were sent: the cookie
	// can no longer change. Renew and SetPersistent then change nothing;
	// Destroy still deletes the data.
	ErrResponseStarted = errors.New("sessions: response already started; the session cookie can no longer change")

	// ErrLoadFailed marks a session whose store load failed. Nothing is
	// saved for such a session, so stored data is never overwritten.
	ErrLoadFailed = errors.New("sessions: session could not be loaded")

	// ErrConflict reports a write that other writers kept beating: Update
	// ran its function several times and another process wrote the session
	// first every time, or another request ended the session (Destroy,
	// Renew, Revoke) while Update ran.
	ErrConflict = errors.New("sessions: session changed concurrently")

	// ErrNotEncodable reports a session value that a built-in codec
	// refuses to encode because it could not decode the result: nested
	// more than 256 levels deep, cyclic, or one of the other cases listed
	// in the CBOR and JSON docs. The save fails before anything is
	// written, and the stored session stays as it was.
	ErrNotEncodable = errors.New("sessions: session value not encodable")
)
