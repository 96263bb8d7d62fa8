package store

import "context"

// Clearer is implemented by stores that can end every record they hold
// at once without listing them: memcached, which cannot list its keys
// (Scanner), keeps a generation number that every record carries. The
// sessions manager's RevokeAll uses it on a store that has no Scanner.
//
// The rules, on top of Versioned's (a Clearer is a Versioned store):
//
//   - After Clear returns, every record written before it reads as
//     missing (Load, LoadVersion), and Scan, where the store has it, no
//     longer returns its key.
//   - A conditional write (SaveIf) with a version read before Clear never
//     makes a record live again: it fails with an error wrapping
//     ErrConflict, or it succeeds and the record still reads as missing.
//   - Records written after Clear returns are not affected.
//   - SameGeneration(a, b), for versions that LoadVersion or SaveIf
//     returned (under any keys), reports whether no Clear came between
//     the two writes they name: true when none did, false when one did.
//     The manager checks with it that a session it moved to a new key
//     (Renew: a forward, then a new record) was not ended in between.
//   - Clear honours ctx, as Store's methods do.
type Clearer interface {
	Versioned
	Clear(ctx context.Context) error
	SameGeneration(a, b Version) bool
}
