package sessions

import (
	"errors"
	"fmt"

	"github.com/sessionkit/sessions/store"
)

// Errors callers can branch on with [errors.Is].
var (
	// ErrInvalidConfig wraps every configuration error [New] reports.
	ErrInvalidConfig = errors.New("sessions: invalid configuration")

	// ErrNoSession reports a context that carries no session: the handler
	// is not wrapped by [Manager.Middleware] and the context did not come
	// from [Manager.Load].
	ErrNoSession = errors.New("sessions: no session in context (wrap the handler with Manager.Middleware or use Manager.Load)")

	// ErrResponseStarted reports a [Manager.Renew], [Manager.SetPersistent]
	// or [Manager.Destroy] after the response headers were sent: the cookie
	// can no longer change. Renew and SetPersistent then change nothing;
	// Destroy still deletes the data.
	ErrResponseStarted = errors.New("sessions: response already started; the session cookie can no longer change")

	// ErrLoadFailed marks a session whose store load failed. Nothing is
	// saved for such a session, so stored data is never overwritten.
	// [Manager.Fetch] and [Manager.ID] return errors wrapping it.
	ErrLoadFailed = errors.New("sessions: session could not be loaded")

	// ErrSessionChanged reports an operation that gave up because the
	// session changed under it: another request ended the session
	// ([Manager.Destroy], [Manager.Renew], [Manager.Revoke]) while it ran,
	// or other processes wrote the session first at every attempt
	// ([Manager.Update], [Manager.SetOwner], a save, an ending). The operation did not complete; answering 409 Conflict or
	// retrying the request are both sound.
	//
	// It is not [store.ErrConflict], which a store returns for one
	// conditional write that lost (SaveIf of [store.Versioned]): the manager
	// handles those itself, reloading and retrying, and reports
	// ErrSessionChanged only once it gives up.
	ErrSessionChanged = errors.New("sessions: session changed concurrently")

	// ErrInvalidID reports a string passed to [Manager.Revoke] that no
	// session ID can be.
	ErrInvalidID = errors.New("sessions: malformed session ID")

	// ErrNotEncodable reports a session value that a built-in codec
	// refuses to encode because it could not decode the result: nested
	// more than 256 levels deep, cyclic, or one of the other cases listed
	// in the [CBOR] and [JSON] docs. The save fails before anything is
	// written, and the stored session stays as it was.
	ErrNotEncodable = errors.New("sessions: session value not encodable")

	// ErrTooManySessions reports a [Manager.SetOwner] refused because the
	// owner already has as many sessions as [WithOwnerLimit] allows, with
	// the [RefuseNew] policy. The session stays as it was, not bound.
	ErrTooManySessions = errors.New("sessions: the owner has too many sessions")
)

// A tooLargeError refuses a record over the manager's size limit
// (WithMaxSize): EventRefused reports its size.
type tooLargeError struct{ size, limit int }

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("sessions: session record of %d bytes is over the %d-byte limit (WithMaxSize): %v", e.size, e.limit, store.ErrTooLarge)
}

func (e *tooLargeError) Unwrap() error { return store.ErrTooLarge }
