package sessions

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sessionkit/sessions/store"
)

// RevokeAll ends every session in the store under the manager's key
// prefix (after a leaked key, a breach, a change of policy: OWASP ASVS
// 7.4.5) and returns how many live sessions it ended, or -1 where the
// store cannot tell (memcached). No request in flight can bring an ended
// session back: a save of a session loaded before RevokeAll finds it
// ended, as after [Manager.Revoke], and so does a [Manager.Renew] in
// flight. The request behind ctx, if any, is ended too. Each session
// it ends is reported to [WithEvents] as [EventRevoked], cause
// "RevokeAll".
//
// How, and what it costs:
//
//   - On a store that can list its keys ([store.Scanner]: memory, files,
//     Redis, MongoDB, SQL) it goes through the keys under the prefix a
//     batch of 100 at a time, as [Manager.Rekey] does, and ends each
//     session as Revoke does: per live session a read and a conditional
//     write (a short-lived tombstone), per owner in a batch two round
//     trips to take its sessions off its index, plus one Scan call per
//     batch. It runs
//     alongside the application, each call bounded by the store timeout;
//     a session created while it runs may survive it.
//   - On a store that can end all its records at once ([store.Clearer]:
//     memcached) it is one round trip, and ends every record of the store,
//     whatever its key prefix: the sessions of every manager that shares
//     the store (on memcached, every application on the server without a
//     store of its own), and the owner indexes. It returns -1, and
//     [WithEvents] hears of no session it ended (it cannot name them).
//   - On any other store it returns an error wrapping
//     [errors.ErrUnsupported], as it does where a store's Scan does (a
//     file store on a case-insensitive file system names its files by
//     hashes of the keys and cannot list them).
//
// Like [Manager.Revoke] it needs a store with conditional writes
// ([store.Versioned]).
func (m *Manager[T]) RevokeAll(ctx context.Context) (int, error) {
	if m.versioned == nil {
		return 0, fmt.Errorf("sessions: revoke all: the store has no conditional writes (store.Versioned): %w", errors.ErrUnsupported)
	}
	if sc, ok := m.store.(store.Scanner); ok {
		return m.revokeScanned(m.ending(ctx, "RevokeAll"), sc)
	}
	if cl, ok := m.store.(store.Clearer); ok {
		sctx, cancel := m.storeContext(ctx)
		err := cl.Clear(sctx)
		cancel()
		if err != nil {
			return 0, fmt.Errorf("sessions: revoke all: %w", err)
		}
		if s := m.session(ctx); s != nil && s.reentry.Load() == nil {
			s.mu.Lock()
			if s.key != "" && s.exists {
				s.end(true)
			}
			s.mu.Unlock()
		}
		return -1, nil
	}
	return 0, fmt.Errorf("sessions: revoke all: the store can neither list keys (store.Scanner) nor clear them (store.Clearer): %w", errors.ErrUnsupported)
}

// revokeScanned is RevokeAll on a store that lists its keys.
func (m *Manager[T]) revokeScanned(ctx context.Context, sc store.Scanner) (int, error) {
	n := 0
	cursor := ""
	for {
		sctx, cancel := m.storeContext(ctx)
		keys, next, err := sc.Scan(sctx, m.cfg.keyPrefix, cursor, rekeyBatch)
		cancel()
		if err != nil {
			return n, fmt.Errorf("sessions: revoke all: list keys: %w", err)
		}
		var all []endedSession
		for _, key := range keys {
			rest, ours := strings.CutPrefix(key, m.cfg.keyPrefix)
			if !ours || len(rest) != tokenLen || !validToken(rest) {
				continue // an owner index, or not a key of this manager's
			}
			ended, live, err := m.endSession(ctx, key, 0, "", endKnown, "")
			all = append(all, ended...)
			if err != nil {
				m.endCurrent(ctx, all)
				return n, fmt.Errorf("sessions: revoke all: %w", err)
			}
			if live {
				n++
			}
		}
		m.endCurrent(ctx, all)
		if err := m.unlist(ctx, all); err != nil {
			return n, fmt.Errorf("sessions: revoke all: %w", err)
		}
		if next == "" {
			return n, nil
		}
		cursor = next
	}
}
