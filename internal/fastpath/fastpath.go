// Package fastpath lets the built-in stores hand the sessions manager
// uncopied versions of their conditional reads and writes without
// exporting them. A store package registers, from an init function, a
// function that recognizes its own store type; the manager asks Of about
// the store it was given.
//
// The uncopied operations alias the bytes they take or return, which is
// safe only because the manager never modifies a record it loaded or wrote:
// they are for the manager alone, so they live in this internal package
// rather than in the stores' method sets.
package fastpath

import (
	"context"
	"time"

	"github.com/sessionkit/sessions/store"
)

// Paths are the uncopied operations of one store. A nil func is one the
// store does not have: the caller uses the store's own method instead.
type Paths struct {
	// LoadVersion is store.Versioned's LoadVersion, except that Data may
	// be the store's own bytes, which the caller must not modify.
	LoadVersion func(ctx context.Context, key string, touch time.Time) (store.Loaded, error)
	// SaveIf is store.Versioned's SaveIf, except that the store may keep
	// data itself, which the caller must never modify again.
	SaveIf func(ctx context.Context, key string, data []byte, expiresAt time.Time, version store.Version) (store.Version, error)
	// NoWait says that the store's calls never block on I/O (an
	// in-process map), so they need no timeout.
	NoWait bool
}

// finders are the registered functions, in the order of registration.
// They are only appended to during package initialization, so Of needs no
// lock.
var finders []func(store.Store) (Paths, bool)

// Register adds find to the functions Of asks. find reports the paths of
// s when s is its package's store type itself; it must not match a type
// that merely embeds that store (a wrapper that instruments or overrides
// LoadVersion or SaveIf), whose own methods the paths would bypass. Call
// Register only from an init function.
func Register(find func(s store.Store) (Paths, bool)) {
	finders = append(finders, find)
}

// Of returns the uncopied operations of s, and false when no registered
// package recognizes s.
func Of(s store.Store) (Paths, bool) {
	for _, find := range finders {
		if p, ok := find(s); ok {
			return p, true
		}
	}
	return Paths{}, false
}
