package store

import "errors"

// Errors shared by stores. Stores wrap them with %w and context, so test
// with errors.Is.
var (
	// ErrTooLarge reports a record bigger than the backend accepts.
	ErrTooLarge = errors.New("store: record too large")

	// ErrClosed reports a call on a store that has been closed.
	ErrClosed = errors.New("store: closed")
)
