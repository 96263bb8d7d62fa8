package sessions

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sessionkit/sessions/store"
)

// rekeyBatch is how many keys one Scan call of Rekey asks for.
const rekeyBatch = 100

// Rekey reseals, under the current key of WithEncryption, every record
// under the manager's key prefix still sealed under a previous key, and
// returns how many it resealed. Run it after making a new key current in
// every process, and drop the previous key once it returns without error:
// nobody is signed out.
//
// It goes through the store a batch of keys at a time (store.Scanner),
// each store call bounded by WithStoreTimeout, so it can run in the
// background of a live application. Every reseal is a conditional write
// on the version it read (store.Versioned), so it never overwrites a
// request's write, and never brings back a session that was ended: a
// record that changed meanwhile is read again. A record that does not
// open under any configured key is left for the request that presents it
// (which deletes it). Rekey counts as activity for the idle timeout: a
// resealed session's idle expiry restarts, never past its absolute
// deadline. Run it from a manager configured like the application's
// (prefix, lifetime, idle timeout and keys).
//
// Without previous keys (or without WithEncryption) there is nothing to
// reseal: Rekey returns 0 at once. On a store that cannot list keys (such
// as memcached) or has no conditional writes, it returns an error wrapping
// errors.ErrUnsupported: keep previous keys there for the session
// lifetime (WithLifetime) after the switch, by when every record written
// under them has expired.
func (m *Manager[T]) Rekey(ctx context.Context) (int, error) {
	if m.cfg.keys == nil || !m.cfg.keys.rotating() {
		return 0, nil
	}
	sc, ok := m.store.(store.Scanner)
	if !ok {
		return 0, fmt.Errorf("sessions: rekey: the store cannot list keys (store.Scanner): %w", errors.ErrUnsupported)
	}
	if m.versioned == nil {
		return 0, fmt.Errorf("sessions: rekey: the store has no conditional writes (store.Versioned): %w", errors.ErrUnsupported)
	}
	n := 0
	cursor := ""
	for {
		sctx, cancel := m.storeContext(ctx)
		keys, next, err := sc.Scan(sctx, m.cfg.keyPrefix, cursor, rekeyBatch)
		cancel()
		if err != nil {
			return n, fmt.Errorf("sessions: rekey: list keys: %w", err)
		}
		for _, key := range keys {
			resealed, err := m.reseal(ctx, key)
			if err != nil {
				return n, fmt.Errorf("sessions: rekey: %w", err)
			}
			if resealed {
				n++
			}
		}
		if next == "" {
			return n, nil
		}
		cursor = next
	}
}

// reseal seals the record under key under the current key, if a previous
// key sealed it, conditionally on the version it read: on a conflict it
// reads the record again. It reports whether it wrote.
func (m *core) reseal(ctx context.Context, key string) (bool, error) {
	keys := m.cfg.keys
	var kind byte
	rest, ours := strings.CutPrefix(key, m.cfg.keyPrefix)
	switch {
	case !ours:
		return false, nil // a store that lists more than it was asked for
	case len(rest) == tokenLen:
		kind = kindSession
	case strings.HasPrefix(rest, ownerKeyInfix) && m.ownIndex() == nil:
		kind = kindIndex
	default:
		return false, nil // not a key of this manager's
	}
	for range maxWriteAttempts {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		sctx, cancel := m.storeContext(ctx)
		l, err := m.loadRecord(sctx, key, time.Time{})
		cancel()
		if err != nil {
			return false, fmt.Errorf("load: %w", err)
		}
		if !l.Found() || !keys.stale(l.Data) {
			return false, nil // gone, in the clear (not ours to seal) or current
		}
		plain, err := keys.open(nil, kind, key, l.Data)
		if err != nil {
			m.cfg.logger.WarnContext(ctx, "sessions: rekey: leaving a record that does not open", "key_id", keyIDOf(err), "error", err)
			return false, nil
		}
		expires, ok := m.rekeyExpiry(kind, plain, time.Now())
		if !ok {
			return false, nil // expired, or not a record of this manager
		}
		stored, err := keys.seal(kind, key, plain)
		if err != nil {
			return false, fmt.Errorf("seal: %w", err)
		}
		sctx, cancel = m.storeContext(ctx)
		_, err = m.versioned.SaveIf(sctx, key, stored, expires, l.Version)
		cancel()
		switch {
		case err == nil:
			return true, nil
		case !errors.Is(err, store.ErrConflict):
			return false, fmt.Errorf("save: %w", err)
		}
	}
	return false, fmt.Errorf("%w: the record under %q kept changing", ErrSessionChanged, key)
}

// rekeyExpiry is the store expiry of a resealed record: a session's as if
// it were used now, a forward's or a tombstone's as written, an owner
// index's its latest entry deadline. It reports false for a record that
// has expired or does not parse.
func (m *core) rekeyExpiry(kind byte, plain []byte, now time.Time) (time.Time, bool) {
	var expires time.Time
	switch kind {
	case kindSession:
		rec, err := parseRecord(plain)
		if err != nil {
			return time.Time{}, false
		}
		expires = rec.expires // forwards and tombstones never slide
		if !rec.revoked && !rec.forward {
			expires = m.expiry(rec.deadline, now)
		}
	default:
		c, err := parseIndex(plain)
		if err != nil {
			return time.Time{}, false
		}
		expires = c.expiry // the latest deadline, or later for a head
	}
	return expires, now.Before(expires)
}
