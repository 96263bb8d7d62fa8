package sessions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/sessionkit/sessions/store"
)

// An endedSession is a record endSession ended or passed: its ID and the
// owner whose index may list it.
type endedSession struct{ id, owner string }

// maxEndSteps bounds the reads and conditional deletes of one endSession
// when other writers keep getting in first or forwards keep coming.
const maxEndSteps = maxWriteAttempts + maxForwards

// endSession ends the session stored under key and every session a Renew
// moved it to, deleting the forwards on the way: Destroy, Revoke and
// RevokeOwner all end sessions this way (see LIFECYCLE.md). The session's
// record is replaced by a short-lived tombstone (its data is gone), so
// that a forward still leading to it reads as ended, while a forward to
// a missing record is a Renew whose new record is not written yet. The
// write is conditional on version, the version the caller loaded (owner
// is its owner), or with version 0 on the version endSession reads; when
// another request wrote first it reads again, so a racing save never
// brings the session back. A forward is followed to the renewed session;
// where the Renew has not written that session yet, a tombstone takes its
// place so that it never will. For a key from an owner index (mode other
// than endKnown), a missing record gets a tombstone too (a SetOwner may
// not have written it yet), and a record bound to another owner than
// owner is left alone, with the forwards that led to it, and reported as
// errLeftAlone (an entry of a SetOwner still in flight, or one left
// behind by a SetOwner that failed). The session keep (an ID, or "") and
// every session a Renew moved it to, written or with its forward written,
// are left alone too (errLeftAlone): RevokeOthers keeps the current
// session even when it was renewed since the request loaded it, or an
// older ID in the index was renewed into it.
//
// It returns the records it ended or passed, and whether a session that
// was live (or being renewed into) ended.
func (m *core) endSession(ctx context.Context, key string, version store.Version, owner string, mode endMode, keep string) (ended []endedSession, live bool, err error) {
	// The forwards passed go too, after the session they lead to (last
	// passed, first dropped), so that the chain never looks ended while
	// its end still answers; not when the end is another owner's.
	var forwards []markedRecord
	defer func() {
		if !errors.Is(err, errLeftAlone) {
			for _, f := range slices.Backward(forwards) {
				m.dropForward(ctx, f.key, f.version)
			}
		}
	}()
	viaForward, want := false, owner
	for range maxEndSteps {
		// The session the tombstone ends, as its event names it, and
		// whether it was live (see tombstone).
		id, live := m.id(key), true
		if version == 0 {
			sctx, cancel := m.storeContext(ctx)
			l, err := m.loadRecord(sctx, key, time.Time{})
			cancel()
			if err != nil {
				return ended, false, err
			}
			if !l.Found() {
				switch {
				case !viaForward && mode == endKnown:
					return ended, false, nil
				case !viaForward && keep != "" && m.renewedInto(ctx, keep, m.id(key)):
					return nil, false, errLeftAlone // the session kept, being renewed
				}
				// The tombstone goes where a SetOwner or a Renew is about
				// to write: that write fails.
				id, live = renewedFrom(ended, viaForward), viaForward
			} else {
				rec, perr := m.openRecord(key, l.Data)
				switch {
				case perr != nil:
					return ended, false, m.delete(ctx, key)
				case rec.revoked:
					return ended, false, nil
				case mode != endKnown && rec.owner != want:
					return nil, false, errLeftAlone
				case keep != "" && !viaForward && m.renewedInto(ctx, keep, m.id(key)):
					return nil, false, errLeftAlone // the session kept, renewed
				case rec.forward:
					if string(rec.payload) == keep {
						return ended, false, nil // leads to the session kept: stays
					}
					forwards = append(forwards, markedRecord{key, l.Version})
					ended = append(ended, endedSession{m.id(key), rec.owner})
					key, owner, viaForward = m.cfg.keyPrefix+string(rec.payload), rec.owner, true
					continue
				case !rec.live(time.Now()):
					m.expiredFound(ctx, key, l.Version, rec.owner)
					return ended, false, nil
				}
				version, owner = l.Version, rec.owner
			}
		}
		// A tombstone, not a delete: a forward that leads here then reads
		// as ended, where a missing record would be a Renew in flight.
		err := m.tombstone(ctx, key, version, id, owner)
		if errors.Is(err, store.ErrConflict) {
			version = 0 // written meanwhile: read it again
			continue
		}
		if err != nil {
			return ended, false, err
		}
		return append(ended, endedSession{m.id(key), owner}), live, nil
	}
	return ended, false, fmt.Errorf("%w: the session kept changing while it was being ended", ErrSessionChanged)
}

// A markedRecord is a marker record endSession passed: its key and version.
type markedRecord struct {
	key     string
	version store.Version
}

// An endMode says what endSession is given.
type endMode uint8

const (
	endKnown  endMode = iota // a session the caller names (Destroy, Revoke, RevokeAll)
	endListed                // an owner index entry (RevokeOwner, RevokeOthers, the owner limit)
)

// errLeftAlone reports an owner index entry endSession leaves alone: bound
// to another owner, or the session RevokeOthers keeps.
var errLeftAlone = errors.New("sessions: the session is not one to end")

// renewedInto reports whether the session keep (an ID) was renewed into
// the session id, through one Renew or more: a Renew writes its forward
// before the new record, so a record found under id before this call is
// seen here if it is one.
func (m *core) renewedInto(ctx context.Context, keep, id string) bool {
	key := m.cfg.keyPrefix + keep
	for range maxForwards {
		sctx, cancel := m.storeContext(ctx)
		l, err := m.loadRecord(sctx, key, time.Time{})
		cancel()
		if err != nil || !l.Found() {
			return false
		}
		rec, err := m.openRecord(key, l.Data)
		if err != nil || !rec.forward {
			return false
		}
		if string(rec.payload) == id {
			return true
		}
		key = m.cfg.keyPrefix + string(rec.payload)
	}
	return false
}

// dropForward deletes the forward under key if it is still version: a
// forward is never written again, and one that is gone already is fine.
func (m *core) dropForward(ctx context.Context, key string, version store.Version) {
	if err := m.deleteIf(ctx, key, version); err != nil && !errors.Is(err, store.ErrConflict) {
		m.logAt(ctx, slog.LevelWarn, "sessions: deleting a forward failed; it expires on its own", "", err)
	}
}

// deleteIf deletes the record under key if it is still version (a
// conditional write whose expiry has passed removes the record).
func (m *core) deleteIf(ctx context.Context, key string, version store.Version) error {
	sctx, cancel := m.storeContext(ctx)
	defer cancel()
	_, err := m.versioned.SaveIf(sctx, key, nil, time.Unix(1, 0), version)
	return err
}

// writeMarker writes r, a tombstone or a forward, under key for the
// pending grace, if the record there is still version, and returns the
// marker's version.
func (m *core) writeMarker(ctx context.Context, key string, r record, version store.Version) (store.Version, error) {
	r.deadline = time.Now().Add(m.pendingGrace())
	r.expires = r.deadline
	stored, err := m.sealed(kindSession, key, appendRecord(nil, r))
	if err != nil {
		return 0, err
	}
	sctx, cancel := m.storeContext(ctx)
	defer cancel()
	return m.versioned.SaveIf(sctx, key, stored, r.expires, version)
}

// unlist removes ended sessions from their owners' indexes.
func (m *core) unlist(ctx context.Context, ended []endedSession) error {
	byOwner := map[string][]string{}
	for _, e := range ended {
		if e.owner != "" {
			byOwner[e.owner] = append(byOwner[e.owner], e.id)
		}
	}
	for owner, ids := range byOwner {
		if err := m.removeIndex(ctx, owner, ids...); err != nil {
			return err
		}
	}
	return nil
}

// destroy ends the session (following a racing Renew), removes it from
// its owner's index, and leaves a fresh session behind. After the response
// started the record is still deleted, but the cookie cannot be expired
// any more: destroy then reports ErrResponseStarted.
func (s *session[T]) destroy(ctx context.Context) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	m := s.m
	if !s.loaded {
		// A load error leaves the candidates to delete.
		if s.load(ctx) != nil {
			for _, token := range s.candidates {
				if err := m.delete(ctx, storeKey(m.cfg.keyPrefix, token)); err != nil {
					return fmt.Errorf("sessions: destroy: %w", err)
				}
			}
		}
	}
	if s.exists {
		if m.versioned == nil {
			if err := m.delete(ctx, s.key); err != nil {
				return fmt.Errorf("sessions: destroy: %w", err)
			}
			if m.ev != nil {
				m.ev.destroyed(ctx, s.key, s.bound)
			}
		} else {
			ended, _, err := m.endSession(m.ending(ctx, "Destroy"), s.key, s.version, s.bound, endKnown, "")
			if err != nil {
				return fmt.Errorf("sessions: destroy: %w", err)
			}
			if err := m.unlist(ctx, ended); err != nil {
				return fmt.Errorf("sessions: destroy: %w", err)
			}
		}
	}
	if !s.exists && s.forwardKey != "" && m.versioned != nil {
		// The token presented was renewed by a racing request: the
		// logout ends the session it was renewed into.
		ended, _, err := m.endSession(ctx, s.forwardKey, 0, "", endKnown, "")
		if err == nil {
			err = m.unlist(ctx, ended)
		}
		if err != nil {
			return fmt.Errorf("sessions: destroy: %w", err)
		}
	}
	if s.discardKey != "" {
		if err := m.delete(ctx, s.discardKey); err != nil {
			return fmt.Errorf("sessions: destroy: %w", err)
		}
	}
	if s.presented || s.token != "" || s.cookie == cookieSet {
		s.cookie = cookieExpire
	}
	s.token, s.key, s.discardKey, s.forwardKey, s.issued = "", "", "", "", false
	s.loaded, s.loadErr, s.ended = true, nil, false
	s.reset(time.Now())
	if s.started {
		return ErrResponseStarted
	}
	return nil
}

// abandon ends a session whose token this request issued but never sent
// (the handler panicked after SetOwner or Update wrote it): nobody could
// ever present it, and an owner's list must not show it. Only persist,
// the writes before the response, issues such a token; it creates the
// rebinder, which does the ending.
func (s *session[T]) abandon() {
	if !s.mu.TryLock() {
		return // the panic came from inside a commit, which holds the lock
	}
	defer s.mu.Unlock()
	if s.started || !s.issued || !s.exists || s.ended || s.m.versioned == nil || s.m.rebind == nil {
		return
	}
	m := s.m
	ctx := context.WithoutCancel(s.r.Context())
	if err := m.rebind.endUnsent(ctx, s.key, s.version, s.bound); err != nil {
		m.logAt(ctx, slog.LevelError, "sessions: ending a session whose token was never sent failed", "", err)
	}
	s.end(false)
}
