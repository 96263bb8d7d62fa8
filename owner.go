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

// Info describes one of an owner's sessions, for a "your devices" page or
// an admin tool: [Manager.Sessions] lists them.
type Info[T any] struct {
	// ID names the session for [Manager.Revoke]. It is stable for the life
	// of the session ([Manager.Renew] gives the session a new one), safe to show and to put
	// in a form, and never enough to recover or forge its token: it is a
	// hash of the token.
	ID string
	// Created is when the session began or was last renewed: for a
	// session renewed at login, the time of sign-in.
	Created time.Time
	// Expires is the session's absolute deadline. With an idle timeout it
	// ends earlier unless it keeps being used.
	Expires time.Time
	// AuthenticatedAt is when the owner last authenticated in this
	// session: [Manager.SetOwner] at login, or [Manager.Reauthenticated].
	// It is zero for a session written before this field existed.
	AuthenticatedAt time.Time
	// LastSeen is when a request last used the session, with an idle
	// timeout ([WithIdleTimeout]) at no cost of its own: on a store that
	// moves a record's expiry as it loads it and reports it (the memory
	// store, Redis, MongoDB, PostgreSQL, SQLite) it is exact, told from
	// the expiry the last load set; on another, and in the session's
	// last idle timeout before its deadline, it is exact to the refresh
	// window (a tenth of the idle timeout, at most a minute), since the
	// record is rewritten that often to slide the timeout. Without an
	// idle timeout it is the last request that changed the session. It
	// is zero for a session written before this field existed.
	LastSeen time.Time
	// Persistent reports a persistent ("remember me") cookie: see
	// [Manager.SetPersistent].
	Persistent bool
	// Current marks the session of the request behind the context passed
	// to [Manager.Sessions].
	Current bool
	// Data is the session value as last saved.
	Data T
}

// ID returns the ID of the request's session, as [Manager.Sessions] lists it, or ""
// for a new session that has no record yet (or one another request ended).
// After [Manager.Renew] it is the ID the session gets when it is saved.
//
// ID loads the session if needed, and returns the error of a failed load
// (wrapping [ErrLoadFailed]), or [ErrNoSession] for a ctx that carries no
// session; "" with a nil error always means a session without a record.
func (m *Manager[T]) ID(ctx context.Context) (string, error) {
	id, _, err := m.currentIDs(ctx)
	return id, err
}

// currentIDs returns the ID of the request's session (see ID) and the ID
// of its record, which differ after Renew until the session is saved.
func (m *Manager[T]) currentIDs(ctx context.Context) (id, stored string, err error) {
	s := m.session(ctx)
	if s == nil {
		return "", "", ErrNoSession
	}
	if r := s.reentry.Load(); r != nil {
		return r.id, r.id, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(ctx); err != nil {
		return "", "", err
	}
	if s.ended {
		return "", "", nil
	}
	if s.exists {
		stored = m.id(s.key)
	}
	return s.id(), stored, nil
}

// id is the session's ID: the one its next write gives it after Renew,
// else its record's; "" when it has no record or another request ended it.
func (s *session[T]) id() string {
	switch {
	case s.ended:
		return ""
	case s.next != "":
		return s.m.id(storeKey(s.m.cfg.keyPrefix, s.next))
	case !s.exists:
		return ""
	}
	return s.m.id(s.key)
}

func (m *core) id(key string) string { return key[len(m.cfg.keyPrefix):] }

// SetOwner binds the request's session to owner (a user ID), so that
// [Manager.Sessions] lists it and [Manager.RevokeOwner] ends it. Call it
// at login, after [Manager.Renew]. It works on a session that was never saved (it is saved now) and
// keeps the binding across Renew; an empty owner unbinds the session.
// It records now as the time the owner authenticated ([Manager.AuthAge],
// [Info].AuthenticatedAt), and an empty owner clears that time; binding
// the session again to the owner it has, without a Renew, changes
// nothing (use [Manager.Reauthenticated] to record a new authentication).
// Owners are arbitrary strings of up to 4096 bytes; they are stored in the
// session's record, and hashed, never raw, in store keys.
//
// Binding costs two store round trips (the owner's index) plus the save of
// the session; later requests of a bound session cost nothing extra. It
// needs a store with conditional writes ([store.Versioned]: every built-in
// store); on other stores it returns an error wrapping
// [errors.ErrUnsupported].
func (m *Manager[T]) SetOwner(ctx context.Context, owner string) error {
	if len(owner) > maxOwnerLen {
		return fmt.Errorf("sessions: SetOwner: owner of %d bytes is longer than %d", len(owner), maxOwnerLen)
	}
	if m.versioned == nil {
		return fmt.Errorf("sessions: SetOwner: the store has no conditional writes (store.Versioned): %w", errors.ErrUnsupported)
	}
	s := m.session(ctx)
	if s == nil {
		return ErrNoSession
	}
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if err := s.load(ctx); err != nil {
		return err
	}
	if s.ended {
		return fmt.Errorf("sessions: SetOwner: %w: another request ended the session", ErrSessionChanged)
	}
	if s.owner == owner && s.exists && s.next == "" {
		return nil
	}
	if !s.exists && s.started {
		return ErrResponseStarted // a new session's cookie can no longer be sent
	}
	old, oldSet, oldAuth, oldAuthSet := s.owner, s.ownerSet, s.authAt, s.authSet
	s.owner, s.ownerSet, s.dirty = owner, true, true
	s.authAt, s.authSet = time.Time{}, true
	if owner != "" {
		s.authAt = time.Now()
	}
	if err := s.persist(ctx, nil); err != nil {
		s.owner, s.ownerSet, s.authAt, s.authSet = old, oldSet, oldAuth, oldAuthSet
		return err
	}
	if s.ended {
		return fmt.Errorf("sessions: SetOwner: %w: another request ended the session", ErrSessionChanged)
	}
	return nil
}

// Sessions returns owner's live sessions, oldest first. With a ctx from a
// request (or [Manager.Load]), the request's own session is marked
// Current, and a failure to load it is returned as [Manager.ID] returns
// it. It prunes the index of sessions that ended. Its cost: one store
// round trip for the owner's index (two on a built-in store, which also
// reads the index format of version 0.1), then the sessions in one round
// trip per 500 on stores with [store.MultiLoader] (every built-in store;
// the filesystem store reads one file each), else one per session.
func (m *Manager[T]) Sessions(ctx context.Context, owner string) ([]Info[T], error) {
	current, stored, err := m.currentIDs(ctx)
	if err != nil && !errors.Is(err, ErrNoSession) {
		return nil, err
	}
	entries, err := m.listOwned(ctx, owner)
	if err != nil {
		return nil, err
	}
	owned, err := m.owned(ctx, owner, entries)
	if err != nil {
		return nil, err
	}
	var (
		list  []Info[T]
		stale []string
		now   = time.Now()
	)
	for _, o := range owned {
		if !o.live {
			if m.stale(o.entry, now) {
				stale = append(stale, o.entry.id)
			}
			continue
		}
		info := Info[T]{ID: o.entry.id, Created: o.rec.created, Expires: o.rec.deadline, Persistent: o.rec.persistent,
			AuthenticatedAt: o.rec.authAt, LastSeen: o.rec.seen}
		data := m.newValue()
		if err := m.decodeValue(o.rec.payload, data); err != nil {
			continue
		}
		info.Data = *data
		info.Current = o.entry.id == current || o.entry.id == stored
		list = append(list, info)
	}
	if len(stale) > 0 {
		if err := m.removeIndex(ctx, owner, stale...); err != nil {
			m.logAt(ctx, slog.LevelWarn, "sessions: pruning an owner index failed", "", err)
		}
	}
	slices.SortStableFunc(list, func(a, b Info[T]) int { return a.Created.Compare(b.Created) })
	return list, nil
}

// multiBatch is how many records one LoadVersions call reads.
const multiBatch = 500

// owned reads the records the entries of owner's index name, in batches
// of multiBatch where the store has store.MultiLoader, and says which are
// live sessions of owner, and which are bindings still in flight.
func (m *core) owned(ctx context.Context, owner string, entries []indexEntry) ([]ownedSession, error) {
	keys := make([]string, len(entries))
	for i, e := range entries {
		keys[i] = m.cfg.keyPrefix + e.id
	}
	loaded := make([]store.Loaded, 0, len(keys))
	ml := m.multi()
	for len(keys) > 0 {
		batch := keys[:min(len(keys), multiBatch)]
		keys = keys[len(batch):]
		if ml != nil {
			sctx, cancel := m.storeContext(ctx)
			ls, err := ml.LoadVersions(sctx, batch)
			cancel()
			if err == nil && len(ls) != len(batch) {
				err = fmt.Errorf("LoadVersions returned %d records for %d keys", len(ls), len(batch))
			}
			if err != nil {
				return nil, fmt.Errorf("sessions: load sessions: %w", err)
			}
			loaded = append(loaded, ls...)
			continue
		}
		for _, key := range batch {
			sctx, cancel := m.storeContext(ctx)
			l, err := m.loadRecord(sctx, key, time.Time{})
			cancel()
			if err != nil {
				return nil, fmt.Errorf("sessions: load session: %w", err)
			}
			loaded = append(loaded, l)
		}
	}
	now := time.Now()
	owned := make([]ownedSession, len(entries))
	for i, e := range entries {
		o := ownedSession{entry: e}
		if !loaded[i].Found() {
			o.pending = !m.stale(e, now)
			o.activity = e.added
		} else if rec, err := m.openRecord(keyOf(m, e), loaded[i].Data); err == nil && rec.live(now) && rec.owner == owner {
			rec.seen = m.lastSeen(rec, loaded[i].Expires, now)
			o.live, o.rec, o.activity = true, rec, m.activity(rec)
		}
		owned[i] = o
	}
	return owned, nil
}

func keyOf(m *core, e indexEntry) string { return m.cfg.keyPrefix + e.id }

// Revoke ends the session with the given ID (from [Info].ID or
// [Manager.ID]) at once, with every session a racing [Manager.Renew]
// moved it to: its data is deleted, a
// request in flight with it cannot write it back, and its token then
// behaves like any unknown token. Revoking a session that already ended is
// not an error; a string that is not a session ID gives [ErrInvalidID].
//
// Check that the ID is one of the user's own (from [Manager.Sessions]) before
// revoking it on their behalf.
func (m *Manager[T]) Revoke(ctx context.Context, id string) error {
	if !validToken(id) {
		return ErrInvalidID
	}
	if m.versioned == nil {
		return fmt.Errorf("sessions: revoke: the store has no conditional writes (store.Versioned): %w", errors.ErrUnsupported)
	}
	ended, _, err := m.endSession(m.ending(ctx, "Revoke"), m.cfg.keyPrefix+id, 0, "", endKnown, "")
	m.endCurrent(ctx, ended)
	if err != nil {
		return fmt.Errorf("sessions: revoke: %w", err)
	}
	return m.unlist(ctx, ended)
}

// RevokeOwner ends every session bound to owner ("sign out everywhere")
// and returns how many live sessions it ended. A login of the owner that
// races it either is ended too or starts after it; no request in flight
// can bring an ended session back.
func (m *Manager[T]) RevokeOwner(ctx context.Context, owner string) (int, error) {
	return m.revokeOwner(m.ending(ctx, "RevokeOwner"), owner, "")
}

// RevokeOthers ends every other session of the owner of the request's
// session ("sign out my other devices") and returns how many it ended. A
// session without an owner has no others. The request's session stays,
// also when another request renewed it meanwhile: that costs one read
// more per other session.
func (m *Manager[T]) RevokeOthers(ctx context.Context) (int, error) {
	s := m.session(ctx)
	if s == nil {
		return 0, ErrNoSession
	}
	if err := s.lock(); err != nil {
		return 0, err
	}
	err := s.load(ctx)
	owner, key, bound := s.bound, s.key, s.exists && !s.ended
	s.mu.Unlock()
	if err != nil || owner == "" || !bound {
		return 0, err
	}
	return m.revokeOwner(m.ending(ctx, "RevokeOthers"), owner, m.id(key))
}

// revokeOwner ends owner's sessions but keep: it lists the index, ends
// each session listed (see endSession) and removes it from the index, and
// lists again until a list names no session it has not ended. A login
// that races it adds its entry before it writes its record, so it is
// either in a list, and ended, or starts after the last list. An entry
// whose record is not (yet) the owner's is looked at again in each list.
// An index in a single record (the fallback, for an owner with fewer than
// thousands of sessions) is instead emptied in one conditional update,
// with every session it lists ended inside it.
func (m *Manager[T]) revokeOwner(ctx context.Context, owner, keep string) (int, error) {
	done := map[string]bool{} // ended, by this call or along a forward
	var all []endedSession
	defer func() { m.endCurrent(ctx, all) }()
	n := 0
	if m.ownIndex() == nil && m.versioned != nil {
		// The index in records, a single one: every session it lists
		// ends inside one conditional update of it.
		err := m.updateHead(ctx, owner, func(entries []indexEntry) ([]indexEntry, error) {
			var kept []indexEntry
			for _, e := range entries {
				if e.id == keep {
					kept = append(kept, e)
					continue
				}
				if done[e.id] {
					continue
				}
				_, drop, live, err := m.revokeEntry(ctx, e, owner, keep, done, &all)
				if err != nil {
					return nil, err
				}
				if !drop {
					kept = append(kept, e)
				}
				if live {
					n++
				}
			}
			return kept, nil
		})
		if !errors.Is(err, errChunked) {
			return n, err
		}
	}
	// A store's own index: under the index's lock in this process, which
	// every add takes, so that no login of this process binds while the
	// revocation runs, as with an index in records.
	native := m.ownIndex() != nil
	if native {
		defer unlockKey(m.lockIndex(m.indexKey(owner)))
	}
	for round := 1; ; round++ {
		entries, err := m.listOwned(ctx, owner)
		if err != nil {
			return n, err
		}
		var gone []string
		fresh := false
		for _, e := range entries {
			switch {
			case e.id == keep:
				continue
			case done[e.id]:
				gone = append(gone, e.id)
				continue
			}
			tried, drop, live, err := m.revokeEntry(ctx, e, owner, keep, done, &all)
			if err != nil {
				return n, err
			}
			fresh = fresh || tried
			if drop {
				gone = append(gone, e.id)
			}
			if live {
				n++
			}
		}
		if len(gone) > 0 {
			remove := m.removeIndex
			if native {
				remove = func(ctx context.Context, owner string, ids ...string) error {
					return m.removeNative(ctx, m.indexKey(owner), ids)
				}
			}
			if err := remove(ctx, owner, gone...); err != nil {
				return n, err
			}
		}
		if !fresh {
			return n, nil
		}
		if round == maxWriteAttempts {
			return n, fmt.Errorf("sessions: revoke: %w: the owner's index kept changing", ErrSessionChanged)
		}
	}
}

// revokeEntry ends the session of owner's index entry e for revokeOwner
// (see endSession), marking in done what it ended or passed and adding
// that to all. It reports whether it tried (false: the entry is not, or
// not yet, the owner's session, and left alone), whether the entry leaves
// the index (ended, or left alone and stale: a SetOwner in flight keeps
// its entry, a failed one's goes), and whether a live session ended.
func (m *core) revokeEntry(ctx context.Context, e indexEntry, owner, keep string, done map[string]bool, all *[]endedSession) (tried, drop, live bool, err error) {
	ended, live, err := m.endSession(ctx, m.cfg.keyPrefix+e.id, 0, owner, endListed, keep)
	if errors.Is(err, errLeftAlone) {
		return false, m.stale(e, time.Now()), false, nil
	}
	done[e.id] = true
	for _, x := range ended {
		done[x.id] = true
	}
	*all = append(*all, ended...)
	if err != nil {
		return true, false, false, fmt.Errorf("sessions: revoke: %w", err)
	}
	return true, true, live, nil
}

// endCurrent marks the request's session as ended if it is one of ended:
// the request then writes nothing back and its response expires the
// cookie.
func (m *Manager[T]) endCurrent(ctx context.Context, ended []endedSession) {
	s := m.session(ctx)
	if s == nil || len(ended) == 0 || s.reentry.Load() != nil {
		return // inside Update, its conditional write finds the session ended
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.key == "" {
		return
	}
	id := m.id(s.key)
	for _, e := range ended {
		if e.id == id {
			s.end(true)
			return
		}
	}
}
