package store

import "errors"

// Errors shared by stores. Stores wrap them with %w and context, so test
// with errors.Is.
var (
	// ErrTooLarge reports a record bigger than the backend accepts.
	ErrTooLarge = errors.New("store: record too large")

	// ErrClosed reports a call on a store that has been closed.
	ErrClosed = errors.New("store: closed")

	// ErrConflict reports a conditional write (Versioned.SaveIf) that did
	// not happen because the record is no longer the version the caller
	// named: another write, a delete or expiry came first.
	ErrConflict = errors.New("store: version conflict")
)
