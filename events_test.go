package sessions_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/store/fsstore"
	"github.com/sessionkit/sessions/store/memstore"
)

// eventLog records the events of a manager. At each event it also reads
// the store (when it has one), so that a test can check that the store had
// confirmed what the event reports when it fired.
type eventLog struct {
	st store.Store // read at each event; may be nil

	mu     sync.Mutex
	events []sessions.Event
	states []string // the state of the event's ID in st at the event
}

func (l *eventLog) hook(ctx context.Context, e sessions.Event) {
	state := ""
	if l.st != nil && e.ID != "" {
		state = recordState(l.st, e.ID)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
	l.states = append(l.states, state)
}

// take returns the events since the last take, and the store states.
func (l *eventLog) take() ([]sessions.Event, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, s := l.events, l.states
	l.events, l.states = nil, nil
	return e, s
}

// kinds returns the events since the last take but the loads, described
// (see describe).
func (l *eventLog) kinds(names map[string]string) []string {
	events, _ := l.take()
	var out []string
	for i, d := range describe(events, names) {
		if events[i].Kind != sessions.EventLoaded {
			out = append(out, d)
		}
	}
	return out
}

// describe returns events as "kind name owner cause" strings, where names
// maps IDs to names ("new" for no ID, "?" for an unknown one), for
// readable failures.
func describe(events []sessions.Event, names map[string]string) []string {
	out := []string{}
	for _, e := range events {
		name := names[e.ID]
		switch {
		case e.ID == "":
			name = "new"
		case name == "":
			name = "?"
		}
		if e.ID == "" && e.Kind != sessions.EventLoaded {
			name = ""
		}
		out = append(out, strings.Join(strings.Fields(fmt.Sprintf("%v %s %s %s", e.Kind, name, e.Owner, e.Cause)), " "))
	}
	return out
}

// recordState reads the record of the session id under the default
// prefix: "live", "forward", "tombstone" or "missing". The record's
// second byte holds its flags (see record.go).
func recordState(st store.Store, id string) string {
	b, found, err := st.Load(context.Background(), "session:"+id)
	switch {
	case err != nil:
		return "error"
	case !found:
		return "missing"
	case len(b) > 1 && b[1]&2 != 0:
		return "tombstone"
	case len(b) > 1 && b[1]&4 != 0:
		return "forward"
	}
	return "live"
}

// idOf is the ID of the session whose token is token: the base64url
// SHA-256 of the token.
func idOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func newMemstore(t *testing.T, opts ...memstore.Option) *memstore.Store {
	t.Helper()
	st, err := memstore.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// eventManager returns a manager on st reporting to a new eventLog.
func eventManager(t *testing.T, st store.Store, opts ...sessions.Option) (*sessions.Manager[profile], *eventLog) {
	t.Helper()
	log := &eventLog{st: st}
	opts = append([]sessions.Option{sessions.WithStore(st), sessions.WithLogger(discard()), sessions.WithEvents(log.hook)}, opts...)
	return mustNew[profile](t, opts...), log
}

func want(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !equal(got, want) {
		t.Errorf("%s: events\n  %q\nwant\n  %q", what, got, want)
	}
}

// A session's life through the middleware: each event fires once, after
// the store has the record it reports, names the session by its ID (never
// its token), and the events come in the order of the writes.
func TestEventsOfALife(t *testing.T) {
	st := newMemstore(t)
	m, log := eventManager(t, st)
	var tokens []string
	names := map[string]string{}
	h := func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		switch r.URL.Path {
		case "/visit":
			m.Get(ctx).Visits++
		case "/read":
			_ = m.Get(ctx).Visits
		case "/login":
			if err := m.Renew(ctx); err != nil {
				t.Error(err)
			}
			if err := m.SetOwner(ctx, "ann"); err != nil {
				t.Error(err)
			}
		case "/logout":
			if err := m.Destroy(ctx); err != nil {
				t.Error(err)
			}
		}
		if id, err := m.ID(ctx); err == nil && id != "" && names[id] == "" && r.URL.Path != "/visit" {
			names[id] = fmt.Sprintf("s%d", len(names)+1)
		}
	}
	c := newClient(t, m, h)
	do := func(path string) {
		t.Helper()
		req, _ := http.NewRequest("GET", path, nil)
		if c.cookie != "" {
			req.Header.Set("Cookie", "session="+c.cookie)
		}
		rec := httptest.NewRecorder()
		c.handler.ServeHTTP(rec, req)
		for _, ck := range rec.Result().Cookies() {
			if ck.MaxAge < 0 {
				c.cookie = ""
			} else {
				c.cookie = ck.Value
				tokens = append(tokens, ck.Value)
			}
		}
	}

	do("/visit")
	events, states := log.take()
	if len(events) != 2 || events[0].Kind != sessions.EventLoaded || events[0].ID != "" || events[1].Kind != sessions.EventCreated {
		t.Fatalf("first visit: events %+v, want a load of a new session and its creation", events)
	}
	if states[1] != "live" {
		t.Errorf("created fired with the record %s, want live", states[1])
	}
	s1 := events[1].ID
	if s1 != idOf(c.cookie) {
		t.Errorf("created names ID %q, not the session's ID (the hash of its token)", s1)
	}
	names[s1] = "s1"
	if time.Since(events[1].Time) > time.Minute || events[1].Time.IsZero() {
		t.Errorf("event time %v", events[1].Time)
	}

	do("/read")
	events, _ = log.take()
	if len(events) != 1 || events[0].Kind != sessions.EventLoaded || events[0].ID != s1 {
		t.Errorf("read: events %+v, want one load of s1", events)
	}

	do("/login")
	events, states = log.take()
	want(t, "login", describe(events, names), "loaded s1", "renewed s2 ann", "owner_bound s2 ann")
	if len(events) == 3 {
		if events[1].PreviousID != s1 {
			t.Errorf("renewed: previous ID %q, want s1's", events[1].PreviousID)
		}
		if states[1] != "live" || states[2] != "live" || recordState(st, s1) == "live" {
			t.Errorf("renewed fired with the new record %s; the old one is %s", states[1], recordState(st, s1))
		}
	}

	do("/visit")
	want(t, "visit", log.kinds(names))

	do("/logout")
	events, states = log.take()
	want(t, "logout", describe(events, names), "loaded s2 ann", "destroyed s2 ann Destroy")
	if len(states) == 2 && states[1] != "tombstone" {
		t.Errorf("destroyed fired with the record %s, want ended", states[1])
	}

	// No event carries a token.
	for _, e := range log.events {
		for _, tok := range tokens {
			if strings.Contains(fmt.Sprint(e), tok) {
				t.Errorf("event %+v carries a token", e)
			}
		}
	}
}

// Revocations report each live session they end once, with the call as
// the cause, after the tombstone replaced its record; ending a session
// that already ended reports nothing.
func TestEventsOfRevocations(t *testing.T) {
	st := newMemstore(t)
	m, log := eventManager(t, st)
	names := map[string]string{}
	bind := func(name, owner string) context.Context {
		ctx := ownedSession(t, m, owner)
		names[sessionID(t, m, ctx)] = name
		return ctx
	}
	a1, b1 := bind("a1", "ann"), bind("b1", "bob")
	a2, a3 := bind("a2", "ann"), bind("a3", "ann")
	want(t, "binding", log.kinds(names),
		"created a1 ann", "owner_bound a1 ann", "created b1 bob", "owner_bound b1 bob",
		"created a2 ann", "owner_bound a2 ann", "created a3 ann", "owner_bound a3 ann")

	if err := m.Revoke(t.Context(), sessionID(t, m, b1)); err != nil {
		t.Fatal(err)
	}
	events, states := log.take()
	want(t, "Revoke", describe(events, names), "revoked b1 bob Revoke")
	if len(states) == 1 && states[0] != "tombstone" {
		t.Errorf("revoked fired with the record %s", states[0])
	}
	if err := m.Revoke(t.Context(), sessionID(t, m, b1)); err != nil {
		t.Fatal(err)
	}
	want(t, "Revoke again", log.kinds(names))

	n, err := m.RevokeOthers(a3)
	if err != nil || n != 2 {
		t.Fatalf("RevokeOthers = %d, %v", n, err)
	}
	got := log.kinds(names)
	if !equal(got, []string{"revoked a1 ann RevokeOthers", "revoked a2 ann RevokeOthers"}) &&
		!equal(got, []string{"revoked a2 ann RevokeOthers", "revoked a1 ann RevokeOthers"}) {
		t.Errorf("RevokeOthers: events %q, want a1 and a2 revoked", got)
	}
	_, _ = a1, a2

	n, err = m.RevokeOwner(t.Context(), "ann")
	if err != nil || n != 1 {
		t.Fatalf("RevokeOwner = %d, %v", n, err)
	}
	want(t, "RevokeOwner", log.kinds(names), "revoked a3 ann RevokeOwner")
	if n, _ := m.RevokeOwner(t.Context(), "ann"); n != 0 {
		t.Fatalf("RevokeOwner again ended %d", n)
	}
	want(t, "RevokeOwner again", log.kinds(names))

	c1, c2 := bind("c1", "cid"), bind("c2", "")
	log.take()
	if n, err := m.RevokeAll(t.Context()); err != nil || n != 2 {
		t.Fatalf("RevokeAll = %d, %v", n, err)
	}
	got = log.kinds(names)
	if !equal(got, []string{"revoked c1 cid RevokeAll", "revoked c2 RevokeAll"}) &&
		!equal(got, []string{"revoked c2 RevokeAll", "revoked c1 cid RevokeAll"}) {
		t.Errorf("RevokeAll: events %q, want c1 and c2 revoked", got)
	}
	_, _ = c1, c2
}

// skewStore holds every record an hour longer than asked, as a store
// whose clock lags the application's would: a load then finds records
// past their deadline.
type skewStore struct{ versionedSpy }

func (s skewStore) SaveIf(ctx context.Context, key string, data []byte, exp time.Time, v store.Version) (store.Version, error) {
	if exp.After(time.Unix(1, 0)) {
		exp = exp.Add(time.Hour)
	}
	return s.versionedSpy.SaveIf(ctx, key, data, exp, v)
}

// An expiry is reported once, by whoever removes the record: the store's
// sweep, or a load that finds the record past its deadline.
func TestEventsOfExpiry(t *testing.T) {
	type sweeper interface {
		store.Versioned
		store.ExpiredDeleter
	}
	sweepers := map[string]func(t *testing.T) sweeper{
		"memstore": func(t *testing.T) sweeper {
			return newMemstore(t, memstore.WithCleanupInterval(0))
		},
		"fsstore": func(t *testing.T) sweeper {
			if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
				t.Skip("fsstore names files by a hash of the key on case-insensitive file systems, and cannot report their keys")
			}
			st, err := fsstore.New(t.TempDir(), fsstore.WithCleanupInterval(0))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
	for name, newStore := range sweepers {
		t.Run("sweep/"+name, func(t *testing.T) {
			st := newStore(t)
			m, log := eventManager(t, st, sessions.WithLifetime(50*time.Millisecond))
			ctx := ownedSession(t, m, "ann")
			id := sessionID(t, m, ctx)
			savedSession(t, m, "anonymous")
			log.take()
			// Two sessions and ann's index (unless the store keeps owner
			// indexes in its own structures, store.OwnerIndex); a slow
			// machine may write the last of them late, so sweep until all
			// expired.
			want := 3
			if _, ok := st.(store.OwnerIndex); ok {
				want = 2
			}
			n := 0
			for deadline := time.Now().Add(5 * time.Second); n < want && time.Now().Before(deadline); {
				time.Sleep(60 * time.Millisecond)
				k, err := st.DeleteExpired(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				n += k
			}
			if n != want {
				t.Fatalf("DeleteExpired removed %d records, want %d", n, want)
			}
			events, states := log.take()
			var bound int
			for i, e := range events {
				if e.Kind != sessions.EventExpired || e.Cause != "sweep" || states[i] != "missing" {
					t.Errorf("event %+v (record %s), want an expiry seen by the sweep, after it", e, states[i])
				}
				if e.ID == id && e.Owner == "ann" {
					bound++
				}
			}
			if len(events) != 2 || bound != 1 {
				t.Errorf("events %+v, want the two sessions expired, ann's with its owner", events)
			}
			if n, _ := st.DeleteExpired(t.Context()); n != 0 {
				t.Errorf("second sweep removed %d", n)
			}
			if events, _ := log.take(); len(events) != 0 {
				t.Errorf("second sweep: events %+v", events)
			}
		})
	}
	t.Run("load", func(t *testing.T) {
		spy := newVersionedSpy(t)
		st := skewStore{spy}
		m, log := eventManager(t, st, sessions.WithLifetime(50*time.Millisecond))
		log.st = spy.inner
		token := savedSession(t, m, "x")
		log.take()
		time.Sleep(60 * time.Millisecond)
		var wg sync.WaitGroup
		for range 4 { // racing loads: one reports
			wg.Go(func() {
				if _, err := m.Load(context.Background(), token); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		events, states := log.take()
		var expired []sessions.Event
		for i, e := range events {
			if e.Kind == sessions.EventExpired {
				expired = append(expired, e)
				if e.Cause != "load" || states[i] != "missing" {
					t.Errorf("expired %+v with the record %s, want seen by a load, after its removal", e, states[i])
				}
			}
		}
		if len(expired) != 1 {
			t.Errorf("%d expired events from four racing loads, want 1: %+v", len(expired), events)
		}
		if n, _ := spy.inner.DeleteExpired(t.Context()); n != 0 {
			t.Errorf("the sweep found %d expired records after the load removed it", n)
		}
	})
}

// Write conflicts report how they were resolved, after the event of the
// write that won.
func TestEventsOfWriteConflicts(t *testing.T) {
	st := newMemstore(t)
	m, log := eventManager(t, st)
	names := map[string]string{}
	load := func(token string) context.Context {
		ctx, err := m.Load(t.Context(), token)
		if err != nil {
			t.Fatal(err)
		}
		return ctx
	}
	commit := func(ctx context.Context) string {
		token, _, err := m.Commit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return token
	}
	token := savedSession(t, m, "x")
	names[sessionID(t, m, load(token))] = "s1"
	log.take()

	a, b := load(token), load(token)
	m.Get(a).Visits++
	m.Get(b).Name = "y"
	commit(a)
	commit(b)
	want(t, "two saves", log.kinds(names), "write_conflict s1 merged")

	a, b = load(token), load(token)
	inc := func(p *profile) error { p.Visits++; return nil }
	if err := m.Update(a, inc); err != nil {
		t.Fatal(err)
	}
	if err := m.Update(b, inc); err != nil {
		t.Fatal(err)
	}
	want(t, "two Updates", log.kinds(names), "write_conflict s1 retried")

	a, b = load(token), load(token)
	if err := m.Renew(a); err != nil {
		t.Fatal(err)
	}
	token = commit(a)
	names[sessionID(t, m, load(token))] = "s2"
	m.Get(b).Visits++
	commit(b)
	events, _ := log.take()
	want(t, "a save racing a Renew", describe(events, names), "loaded s1", "loaded s1", "renewed s2", "loaded s2", "write_conflict s2 renewed")
	if n := len(events); n > 0 && events[n-1].PreviousID != "" && names[events[n-1].PreviousID] != "s1" {
		t.Errorf("conflict after a Renew: previous ID %q, want s1's", events[n-1].PreviousID)
	}

	a, b = load(token), load(token)
	if err := m.Destroy(a); err != nil {
		t.Fatal(err)
	}
	m.Get(b).Visits++
	commit(b)
	want(t, "a save racing a Destroy", log.kinds(names), "destroyed s2 Destroy", "write_conflict s2 ended")
}

// failStore fails every call while down; armed, it fails the next write
// of a session record after making it (a timeout after the store acted).
type failStore struct {
	versionedSpy
	armed atomic.Bool
}

func (s *failStore) SaveIf(ctx context.Context, key string, data []byte, exp time.Time, v store.Version) (store.Version, error) {
	version, err := s.versionedSpy.SaveIf(ctx, key, data, exp, v)
	if err == nil && !strings.Contains(key, "owner:") && s.armed.CompareAndSwap(true, false) {
		return 0, context.DeadlineExceeded
	}
	return version, err
}

// A failed load or save reports a failure, and never the event of the
// write it failed; a refused record reports only its refusal; an error of
// Update's function is no failure of the store.
func TestEventsOfFailures(t *testing.T) {
	spy := newVersionedSpy(t)
	st := &failStore{versionedSpy: spy}
	m, log := eventManager(t, st, sessions.WithMaxSize(256))
	log.st = nil
	token := savedSession(t, m, "x")
	ctx, err := m.Load(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	id := sessionID(t, m, ctx)
	log.take()

	spy.down.Store(true)
	if _, err := m.Load(t.Context(), token); err == nil {
		t.Fatal("Load on a store that is down: no error")
	}
	events, _ := log.take()
	if len(events) != 1 || events[0].Kind != sessions.EventLoadFailed || events[0].ID != id || !errors.Is(events[0].Err, sessions.ErrLoadFailed) || !errors.Is(events[0].Err, errDown) {
		t.Errorf("failed load: events %+v, want one load_failed of the session with the error", events)
	}

	for _, tc := range []struct {
		name  string
		fault func()
	}{
		{"before the write", func() { spy.down.Store(true) }},
		{"after the write", func() { st.armed.Store(true) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spy.down.Store(false)
			for _, renew := range []bool{false, true} {
				ctx, err := m.Load(t.Context(), token)
				if err != nil {
					t.Fatal(err)
				}
				if renew {
					m.Renew(ctx)
				}
				m.Get(ctx).Visits++
				log.take()
				tc.fault()
				if _, _, err := m.Commit(ctx); err == nil {
					t.Fatal("Commit: no error")
				}
				spy.down.Store(false)
				events, _ := log.take()
				if len(events) != 1 || events[0].Kind != sessions.EventSaveFailed || events[0].ID != id || events[0].Err == nil {
					t.Errorf("renew %v: events %+v, want one save_failed of the session", renew, events)
				}
				if renew {
					return // the session ended with the failed Renew
				}
			}
		})
	}

	token = savedSession(t, m, "y")
	ctx, err = m.Load(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	id = sessionID(t, m, ctx)
	log.take()
	m.Get(ctx).Name = strings.Repeat("x", 300)
	if _, _, err := m.Commit(ctx); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("Commit of a record over the limit: %v", err)
	}
	events, _ = log.take()
	if len(events) != 1 || events[0].Kind != sessions.EventRefused || events[0].ID != id || events[0].Size <= 256 || !errors.Is(events[0].Err, store.ErrTooLarge) {
		t.Errorf("refused save: events %+v, want one refused with its size", events)
	}

	ctx, err = m.Load(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	log.take()
	errNo := errors.New("no")
	if err := m.Update(ctx, func(*profile) error { return errNo }); err != errNo {
		t.Fatalf("Update = %v", err)
	}
	if events, _ := log.take(); len(events) != 0 {
		t.Errorf("Update whose function failed: events %+v, want none", events)
	}
}

// A store without conditional writes reports creation, Renew and Destroy
// too.
func TestEventsOnAPlainStore(t *testing.T) {
	spy := newSpy(t)
	m, log := eventManager(t, spy)
	log.st = spy.inner
	names := map[string]string{}
	ctx, _ := m.Load(t.Context(), "")
	m.Get(ctx).Visits++
	token, _, err := m.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names[sessionID(t, m, ctx)] = "s1"
	ctx, _ = m.Load(t.Context(), token)
	m.Renew(ctx)
	if _, _, err := m.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	names[sessionID(t, m, ctx)] = "s2"
	if err := m.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	want(t, "plain store", log.kinds(names), "created s1", "renewed s2", "destroyed s2 Destroy")
}

// A handler that panics after SetOwner wrote a new session: the middleware
// ends it, and reports that.
func TestEventsOfAnAbandonedSession(t *testing.T) {
	st := newMemstore(t)
	m, log := eventManager(t, st)
	do := lifecycleServer(t, m, func(w http.ResponseWriter, r *http.Request) {
		if err := m.SetOwner(r.Context(), "ann"); err != nil {
			t.Error(err)
		}
		panic(http.ErrAbortHandler)
	})
	do("/", "")
	events, states := log.take()
	got := describe(events, map[string]string{events[len(events)-1].ID: "s"})
	want(t, "panic after SetOwner", got, "loaded new", "created s ann", "owner_bound s ann", "destroyed s ann abandon")
	if states[len(states)-1] != "tombstone" {
		t.Errorf("destroyed fired with the record %s", states[len(states)-1])
	}
}

// Racing logins, saves and revocations of one owner: for every session
// ID, the events come in the order of the writes (created or renewed
// before owner_bound before revoked or destroyed), each at most once.
func TestEventsInOrderUnderRaces(t *testing.T) {
	st := newMemstore(t)
	m, log := eventManager(t, st)
	log.st = nil
	for round := range 30 {
		token := savedSession(t, m, "x")
		ctx, _ := m.Load(t.Context(), token)
		if err := m.SetOwner(ctx, "ann"); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			ctx, _ := m.Load(context.Background(), token)
			m.Renew(ctx)
			m.SetOwner(ctx, "ann")
			m.Commit(ctx)
		})
		wg.Go(func() {
			ctx, _ := m.Load(context.Background(), token)
			m.Get(ctx).Visits++
			m.Commit(ctx)
		})
		wg.Go(func() {
			if _, err := m.RevokeOwner(context.Background(), "ann"); err != nil && !errors.Is(err, sessions.ErrSessionChanged) {
				t.Error(err)
			}
		})
		if round%2 == 0 {
			wg.Go(func() {
				ctx, _ := m.Load(context.Background(), token)
				m.Destroy(ctx)
			})
		}
		wg.Wait()
		m.RevokeOwner(t.Context(), "ann")
	}
	// Per ID: created or renewed first, then owner_bound, then at most
	// one end, after which nothing; a renewed-away ID gets nothing more.
	const (
		none = iota
		live
		over
	)
	state := map[string]int{}
	events, _ := log.take()
	n := 0
	for _, e := range events {
		if e.ID == "" {
			continue
		}
		from, to := -1, -1
		switch e.Kind {
		case sessions.EventCreated:
			from, to = none, live
		case sessions.EventRenewed:
			from, to = none, live
			if state[e.PreviousID] != live {
				t.Errorf("renewed %s from %s, which was not live", e.ID, e.PreviousID)
			}
			state[e.PreviousID] = over
		case sessions.EventOwnerBound:
			from, to = live, live
		case sessions.EventRevoked, sessions.EventDestroyed, sessions.EventExpired:
			from, to = live, over
		default:
			continue
		}
		n++
		if state[e.ID] != from {
			t.Errorf("session %s: %v out of order (state %d)", e.ID, e.Kind, state[e.ID])
		}
		state[e.ID] = to
	}
	if n == 0 {
		t.Fatal("no events")
	}
}

// SlogEvents writes one line per event with queryable attributes.
func TestSlogEvents(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	m := mustNew[profile](t, sessions.WithLogger(discard()), sessions.WithEvents(sessions.SlogEvents(logger)), sessions.WithMaxSize(256))
	ctx := ownedSession(t, m, "ann")
	id := sessionID(t, m, ctx)
	if err := m.Revoke(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	ctx, _ = m.Load(t.Context(), "")
	m.Get(ctx).Name = strings.Repeat("x", 300)
	m.Commit(ctx)

	var lines []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		delete(rec, "time")
		lines = append(lines, rec)
	}
	wantLines := []map[string]any{
		{"level": "INFO", "msg": "session created", "session_event": "created", "session_id": id, "owner": "ann"},
		{"level": "INFO", "msg": "session owner_bound", "session_event": "owner_bound", "session_id": id, "owner": "ann"},
		{"level": "INFO", "msg": "session revoked", "session_event": "revoked", "session_id": id, "owner": "ann", "cause": "Revoke"},
		{"level": "WARN", "msg": "session refused", "session_event": "refused", "size": float64(367),
			"error": "sessions: session record of 367 bytes is over the 256-byte limit (WithMaxSize): store: record too large"},
	}
	if len(lines) != len(wantLines) {
		t.Fatalf("log lines:\n%s\nwant %d (loads are at debug level)", buf.String(), len(wantLines))
	}
	for i, w := range wantLines {
		if fmt.Sprint(lines[i]) != fmt.Sprint(w) {
			t.Errorf("line %d:\n  %v\nwant\n  %v", i, lines[i], w)
		}
	}
}

// BenchmarkEvents measures requests on the memory store without an event
// hook and with a hook that does nothing: the cost of the events
// themselves. Compare "none" with BenchmarkMiddleware/memstore of a build
// without events for the cost of a nil hook.
//
//	go test -run '^$' -bench Events -benchmem .
func BenchmarkEvents(b *testing.B) {
	body := []byte("ok")
	for _, kind := range []string{"readonly", "modify"} {
		for _, hook := range []string{"none", "noop"} {
			b.Run(kind+"/"+hook, func(b *testing.B) {
				opts := []sessions.Option{sessions.WithMemory()}
				if hook == "noop" {
					opts = append(opts, sessions.WithEvents(func(context.Context, sessions.Event) {}))
				}
				m, err := sessions.New[profile](opts...)
				if err != nil {
					b.Fatal(err)
				}
				defer m.Close()
				h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					p := m.Get(r.Context())
					if kind == "modify" {
						p.Visits++
					}
					w.Write(body)
				}))
				create := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					*m.Get(r.Context()) = profile{Name: "bench", Visits: 1, Cart: []string{"a", "b"}}
				}))
				rec := httptest.NewRecorder()
				create.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
				req := httptest.NewRequest("GET", "/", nil)
				req.AddCookie(rec.Result().Cookies()[0])
				w := &discardWriter{h: http.Header{}}
				b.ReportAllocs()
				for b.Loop() {
					clear(w.h)
					h.ServeHTTP(w, req)
				}
			})
		}
	}
}
