package sessions_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/store/memstore"
)

// ownerApp is a tiny app with login (Renew + SetOwner), a page that
// changes the session, and the owner API behind test-only paths.
type ownerApp struct {
	m  *sessions.Manager[profile]
	do func(path, token string) (int, string)
}

func newOwnerApp(t *testing.T, opts ...sessions.Option) *ownerApp {
	a := &ownerApp{m: mustNew[profile](t, opts...)}
	m := a.m
	a.do = serve(t, m, func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		q := r.URL.Query()
		var err error
		switch r.URL.Path {
		case "/login":
			if err = m.Renew(ctx); err == nil {
				err = m.SetOwner(ctx, q.Get("user"))
			}
			m.Get(ctx).Name = q.Get("user")
		case "/visit":
			m.Get(ctx).Visits++
		case "/whoami":
			fmt.Fprint(w, m.Get(ctx).Name, " ", sessionID(t, m, ctx))
		case "/logout":
			err = m.Destroy(ctx)
		case "/others":
			var n int
			n, err = m.RevokeOthers(ctx)
			fmt.Fprint(w, n)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	return a
}

// alive reports whether token still names a session.
func (a *ownerApp) alive(t *testing.T, token string) bool {
	ctx, err := a.m.Load(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	return sessionID(t, a.m, ctx) != ""
}

func TestOwnerListAndRevoke(t *testing.T) {
	a := newOwnerApp(t)
	owner := strings.Repeat("ü:/", 300) + "\x00end" // arbitrary bytes, over 1 KB
	var tokens []string
	for range 3 {
		code, tok := a.do("/login?user="+urlEscape(owner), "")
		if code != http.StatusOK || tok == "" || tok == "-" {
			t.Fatalf("login: %d %q", code, tok)
		}
		tokens = append(tokens, tok)
	}
	a.do("/login?user=someone-else", "")

	ctx, _ := a.m.Load(t.Context(), tokens[1])
	list, err := a.m.Sessions(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("Sessions listed %d, want 3", len(list))
	}
	current := 0
	for _, info := range list {
		if info.Current {
			current++
			if info.ID != sessionID(t, a.m, ctx) {
				t.Errorf("Current session ID %q, want the request's %q", info.ID, sessionID(t, a.m, ctx))
			}
		}
		if info.Data.Name != owner || info.Created.IsZero() || info.Expires.IsZero() {
			t.Errorf("info %+v", info)
		}
		for _, tok := range tokens {
			if strings.Contains(info.ID, tok) || info.ID == tok {
				t.Error("a session ID gives away a token")
			}
		}
	}
	if current != 1 {
		t.Errorf("%d sessions marked Current, want 1", current)
	}

	// Revoke one.
	if err := a.m.Revoke(t.Context(), list[0].ID); err != nil {
		t.Fatal(err)
	}
	list, _ = a.m.Sessions(t.Context(), owner)
	if len(list) != 2 {
		t.Errorf("after Revoke: %d sessions, want 2", len(list))
	}
	// RevokeOwner ends the rest and counts them.
	n, err := a.m.RevokeOwner(t.Context(), owner)
	if err != nil || n != 2 {
		t.Errorf("RevokeOwner = %d, %v; want 2", n, err)
	}
	for i, tok := range tokens {
		if a.alive(t, tok) {
			t.Errorf("token %d alive after RevokeOwner", i)
		}
		// A revoked token behaves like an unknown one: a fresh session.
		if _, got := a.do("/whoami", tok); got != "-" {
			t.Errorf("token %d after revocation: cookie %q, want it expired", i, got)
		}
	}
	if list, _ := a.m.Sessions(t.Context(), "someone-else"); len(list) != 1 {
		t.Errorf("the other owner has %d sessions, want 1", len(list))
	}
	if err := a.m.Revoke(t.Context(), "not an id"); !errors.Is(err, sessions.ErrInvalidID) {
		t.Errorf("Revoke(malformed) = %v, want ErrInvalidID", err)
	}
}

func TestRevokeOthersKeepsTheCurrentSession(t *testing.T) {
	a := newOwnerApp(t)
	var tokens []string
	for range 3 {
		_, tok := a.do("/login?user=ada", "")
		tokens = append(tokens, tok)
	}
	if code, _ := a.do("/others", tokens[2]); code != http.StatusOK {
		t.Fatalf("RevokeOthers: %d", code)
	}
	if a.alive(t, tokens[0]) || a.alive(t, tokens[1]) || !a.alive(t, tokens[2]) {
		t.Error("RevokeOthers must end the other sessions and keep this one")
	}
}

func TestIDAfterRenewIsTheListedID(t *testing.T) {
	m := mustNew[profile](t)
	ctx, _ := m.Load(t.Context(), "")
	if id := sessionID(t, m, ctx); id != "" {
		t.Errorf("ID of a new unsaved session = %q, want empty", id)
	}
	// SetOwner before the session was ever saved.
	if err := m.SetOwner(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	first := sessionID(t, m, ctx)
	if err := m.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	id := sessionID(t, m, ctx)
	if id == "" || id == first {
		t.Fatalf("ID after Renew = %q (before %q), want a new non-empty ID", id, first)
	}
	token, _, err := m.Commit(ctx) // the token transport
	if err != nil {
		t.Fatal(err)
	}
	list, err := m.Sessions(ctx, "bob")
	if err != nil || len(list) != 1 || list[0].ID != id || !list[0].Current {
		t.Fatalf("Sessions after Renew = %+v, %v; want just %q, current", list, err, id)
	}
	// A read-only load of the session has the same ID.
	ctx2, _ := m.Load(t.Context(), token)
	if got := sessionID(t, m, ctx2); got != id {
		t.Errorf("read-only ID = %q, want %q", got, id)
	}
	// Destroy removes the session from the index.
	if err := m.Destroy(ctx2); err != nil {
		t.Fatal(err)
	}
	if list, _ := m.Sessions(t.Context(), "bob"); len(list) != 0 {
		t.Errorf("after Destroy: %d sessions listed", len(list))
	}
}

// ID tells a failed load from a new session: neither has an ID, but only
// the failure is an error.
func TestIDReportsAFailedLoad(t *testing.T) {
	spy := newSpy(t)
	m := mustNew[profile](t, sessions.WithStore(spy))
	var (
		id  string
		err error
	)
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
		if id, err = m.ID(r.Context()); err == nil {
			m.Get(r.Context()).Visits++
		}
	})
	if c.do(); id != "" || err != nil {
		t.Fatalf("ID of a new session = %q, %v; want \"\" and no error", id, err)
	}
	if c.do(); id == "" || err != nil {
		t.Fatalf("ID of a saved session = %q, %v; want an ID", id, err)
	}
	spy.down.Store(true)
	if c.do(); id != "" || !errors.Is(err, sessions.ErrLoadFailed) || !errors.Is(err, errDown) {
		t.Errorf("ID with the store down = %q, %v; want \"\" and the load error", id, err)
	}
	if _, err := m.ID(t.Context()); !errors.Is(err, sessions.ErrNoSession) {
		t.Errorf("ID outside a session: %v, want ErrNoSession", err)
	}
}

// A request in flight with a revoked session must not bring it back.
func TestRevokeOwnerRacingAModify(t *testing.T) {
	m := mustNew[profile](t)
	loaded, release := make(chan struct{}), make(chan struct{})
	do := serve(t, m, func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		switch r.URL.Path {
		case "/login":
			m.SetOwner(ctx, "eve")
		case "/slow":
			p := m.Get(ctx)
			loaded <- struct{}{}
			<-release
			p.Visits++
		}
	})
	_, token := do("/login", "")
	done := make(chan struct{})
	go func() { defer close(done); do("/slow", token) }()
	<-loaded
	if n, err := m.RevokeOwner(t.Context(), "eve"); n != 1 || err != nil {
		t.Fatalf("RevokeOwner = %d, %v", n, err)
	}
	close(release)
	<-done
	ctx, _ := m.Load(t.Context(), token)
	if sessionID(t, m, ctx) != "" {
		t.Error("a racing modify brought a revoked session back")
	}
}

// Logins that end (logout) or are revoked do not grow the index: it
// holds only live sessions.
func TestOwnerIndexStaysSmall(t *testing.T) {
	spy := newVersionedSpy(t)
	m := mustNew[profile](t, sessions.WithStore(spy))
	for range 200 {
		ctx, _ := m.Load(t.Context(), "")
		if err := m.SetOwner(ctx, "busy"); err != nil {
			t.Fatal(err)
		}
		if err := m.Destroy(ctx); err != nil {
			t.Fatal(err)
		}
	}
	ctx, _ := m.Load(t.Context(), "")
	m.SetOwner(ctx, "busy")
	if list, _ := m.Sessions(t.Context(), "busy"); len(list) != 1 {
		t.Errorf("%d sessions listed, want 1", len(list))
	}
	if n := indexLen(t, spy.inner, "busy"); n != 1 {
		t.Errorf("index holds %d entries after 200 logins and logouts, want 1", n)
	}
}

// Concurrent logins of one owner all land in the index.
func TestConcurrentLoginsAllIndexed(t *testing.T) {
	m := mustNew[profile](t)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			ctx, _ := m.Load(context.Background(), "")
			if err := m.SetOwner(ctx, "crowd"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if list, _ := m.Sessions(t.Context(), "crowd"); len(list) != 20 {
		t.Errorf("%d sessions listed, want 20", len(list))
	}
}

// ownerSpy returns a manager on a versioned spy store, and the spy.
func ownerSpy(t *testing.T) (*sessions.Manager[profile], versionedSpy) {
	spy := newVersionedSpy(t)
	return mustNew[profile](t, sessions.WithStore(spy), sessions.WithLogger(discard())), spy
}

// Binding costs the owner's index (a load and a conditional write) and
// the save of the session; binding again to the same owner costs nothing;
// moving to another owner also takes the session out of the first one's
// index.
func TestSetOwnerRoundTripsAndRebinding(t *testing.T) {
	m, spy := ownerSpy(t)
	ctx, err := m.Load(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	spy.take()
	if err := m.SetOwner(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	if got := spy.take(); !equal(got, []string{"loadversion", "saveif", "saveif"}) {
		t.Errorf("first SetOwner: store calls %v, want the index's load and write and the session's write", got)
	}
	if err := m.SetOwner(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	if got := spy.take(); len(got) != 0 {
		t.Errorf("SetOwner to the same owner again: store calls %v, want none", got)
	}
	if err := m.SetOwner(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	for owner, want := range map[string]int{"ann": 0, "bob": 1} {
		list, err := m.Sessions(t.Context(), owner)
		if err != nil || len(list) != want {
			t.Errorf("after moving the session from ann to bob: Sessions(%s) = %d sessions, %v; want %d", owner, len(list), err, want)
		}
	}
}

// Listing an index with nothing to prune writes nothing: one load of the
// index and one of each session.
func TestSessionsWithNothingStaleOnlyReads(t *testing.T) {
	m, spy := ownerSpy(t)
	for range 2 {
		ownedSession(t, m, "ann")
	}
	spy.take()
	if list, err := m.Sessions(t.Context(), "ann"); err != nil || len(list) != 2 {
		t.Fatalf("Sessions = %d, %v; want 2", len(list), err)
	}
	if got := spy.take(); !equal(got, []string{"loadversion", "loadversion", "loadversion"}) {
		t.Errorf("Sessions: store calls %v, want three loads and no write", got)
	}
}

// Owners are up to 4096 bytes.
func TestOwnerLengthLimit(t *testing.T) {
	m, _ := ownerSpy(t)
	ctx, err := m.Load(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetOwner(ctx, strings.Repeat("o", 4096)); err != nil {
		t.Errorf("owner of 4096 bytes: %v", err)
	}
	if err := m.SetOwner(ctx, strings.Repeat("o", 4097)); err == nil {
		t.Error("owner of 4097 bytes accepted")
	}
}

// Revoke takes the session out of its owner's index; reading a sound index
// logs nothing.
func TestRevokeUpdatesTheIndex(t *testing.T) {
	var logs strings.Builder
	spy := newVersionedSpy(t)
	m := mustNew[profile](t, sessions.WithStore(spy),
		sessions.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	var ids []string
	for range 2 {
		ctx := ownedSession(t, m, "ann")
		ids = append(ids, sessionID(t, m, ctx))
	}
	if err := m.Revoke(t.Context(), ids[0]); err != nil {
		t.Fatal(err)
	}
	if n := indexLen(t, spy.inner, "ann"); n != 1 {
		t.Errorf("after revoking one of two sessions the index has %d entries, want 1", n)
	}
	if list, err := m.Sessions(t.Context(), "ann"); err != nil || len(list) != 1 || list[0].ID != ids[1] {
		t.Errorf("Sessions after Revoke = %+v, %v; want the other session", list, err)
	}
	if logs.Len() != 0 {
		t.Errorf("logged:\n%s", logs.String())
	}
}

// A request that revokes its own session ends it (its cookie expires); one
// that revokes another session of the owner keeps its own.
func TestRevokeFromARequest(t *testing.T) {
	a := newOwnerApp(t)
	_, first := a.do("/login?user=ann", "")
	_, second := a.do("/login?user=ann", "")
	do := serve(t, a.m, func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		id := sessionID(t, a.m, ctx)
		if r.URL.Query().Get("other") != "" {
			list, _ := a.m.Sessions(ctx, "ann")
			for _, info := range list {
				if !info.Current {
					id = info.ID
				}
			}
		}
		if err := a.m.Revoke(ctx, id); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	if code, cookie := do("/?other=1", first); code != http.StatusOK || cookie != "" || !a.alive(t, first) || a.alive(t, second) {
		t.Errorf("revoking the other session: %d, cookie %q, this alive %v, other alive %v; want 200, no cookie, true, false",
			code, cookie, a.alive(t, first), a.alive(t, second))
	}
	if code, cookie := do("/", first); code != http.StatusOK || cookie != "-" || a.alive(t, first) {
		t.Errorf("revoking its own session: %d, cookie %q, alive %v; want 200, the cookie expired, false", code, cookie, a.alive(t, first))
	}
}

// hookStore is a memory store whose session records (not owner indexes)
// can fail to save, or be hidden from the next load.
type hookStore struct {
	*memstore.Store
	failSave atomic.Bool // SaveIf of a session record fails
	failLoad atomic.Bool // LoadVersion of a session record fails
	// With limitIndex, owner index writes fail once indexWrites more
	// have succeeded.
	limitIndex  atomic.Bool
	indexWrites atomic.Int32
	hideNext    atomic.Bool // the next LoadVersion of a session record finds nothing
}

func (h *hookStore) LoadVersion(ctx context.Context, key string, touch time.Time) (store.Loaded, error) {
	if !strings.Contains(key, "owner:") && h.hideNext.CompareAndSwap(true, false) {
		return store.Loaded{}, nil
	}
	if !strings.Contains(key, "owner:") && h.failLoad.Load() {
		return store.Loaded{}, errors.New("hookStore: load failed")
	}
	return h.Store.LoadVersion(ctx, key, touch)
}

func (h *hookStore) SaveIf(ctx context.Context, key string, data []byte, exp time.Time, v store.Version) (store.Version, error) {
	if !strings.Contains(key, "owner:") && h.failSave.Load() {
		return 0, errors.New("hookStore: save failed")
	}
	if strings.Contains(key, "owner:") && h.limitIndex.Load() && h.indexWrites.Add(-1) < 0 {
		return 0, errors.New("hookStore: index save failed")
	}
	return h.Store.SaveIf(ctx, key, data, exp, v)
}

func newHookManager(t *testing.T, logger *slog.Logger) (*sessions.Manager[profile], *hookStore) {
	inner, err := memstore.New(memstore.WithCleanupInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inner.Close() })
	h := &hookStore{Store: inner}
	return mustNew[profile](t, sessions.WithStore(h), sessions.WithLogger(logger)), h
}

// An index entry whose session record never came (the save after SetOwner
// failed, and so did taking the entry back: a crash) stays
// listed-as-pending for the grace period, a minute, and Sessions drops it
// once the grace is over, without a warning.
func TestPendingEntryPrunedAfterTheGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs strings.Builder
		m, h := newHookManager(t, slog.New(slog.NewTextHandler(&logs, nil)))
		ctx, err := m.Load(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		h.failSave.Store(true)
		h.indexWrites.Store(1)
		h.limitIndex.Store(true)
		if err := m.SetOwner(ctx, "ann"); err == nil {
			t.Fatal("SetOwner succeeded though the record could not be saved")
		}
		h.failSave.Store(false)
		h.limitIndex.Store(false)
		logs.Reset() // the failed removal of the entry
		if n := indexLen(t, h.Store, "ann"); n != 1 {
			t.Fatalf("after the failed SetOwner the index has %d entries, want the pending one", n)
		}
		list := func() int {
			t.Helper()
			l, err := m.Sessions(t.Context(), "ann")
			if err != nil {
				t.Fatal(err)
			}
			return len(l)
		}
		time.Sleep(time.Minute)
		if n := list(); n != 0 || indexLen(t, h.Store, "ann") != 1 {
			t.Errorf("at the end of the grace: %d listed, %d in the index; want 0 and the pending entry kept", n, indexLen(t, h.Store, "ann"))
		}
		time.Sleep(time.Nanosecond)
		if n := list(); n != 0 || indexLen(t, h.Store, "ann") != 0 {
			t.Errorf("after the grace: %d listed, %d in the index; want 0 and 0", n, indexLen(t, h.Store, "ann"))
		}
		if logs.Len() != 0 {
			t.Errorf("logged:\n%s", logs.String())
		}
	})
}

// A record that appears between RevokeOwner's load and its tombstone is
// ended all the same, and counted.
func TestRevokeOwnerEndsARecordThatAppearsMeanwhile(t *testing.T) {
	m, h := newHookManager(t, discard())
	token, _, err := m.Commit(ownedSession(t, m, "ann"))
	if err != nil {
		t.Fatal(err)
	}
	h.hideNext.Store(true)
	if n, err := m.RevokeOwner(t.Context(), "ann"); n != 1 || err != nil {
		t.Errorf("RevokeOwner = %d, %v; want 1, nil", n, err)
	}
	if ctx, _ := m.Load(t.Context(), token); sessionID(t, m, ctx) != "" {
		t.Error("the session survived RevokeOwner")
	}
}

// RevokeOthers keeps the request's session even when another request of
// the same browser renewed it after this one loaded it: the renewed
// session is the same session, under its new token.
func TestRevokeOthersKeepsItsSessionRenewedMeanwhile(t *testing.T) {
	for name, newStore := range limitStores(t) {
		t.Run(name, func(t *testing.T) {
			m := mustNew[profile](t, sessions.WithStore(newStore()))
			token, _, err := m.Commit(ownedSession(t, m, "ann"))
			if err != nil {
				t.Fatal(err)
			}
			other, _, err := m.Commit(ownedSession(t, m, "ann"))
			if err != nil {
				t.Fatal(err)
			}
			stale, err := m.Load(t.Context(), token) // loads the session
			if err != nil || sessionID(t, m, stale) == "" {
				t.Fatalf("Load = %v", err)
			}
			renewing, err := m.Load(t.Context(), token)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Renew(renewing); err != nil {
				t.Fatal(err)
			}
			renewed, _, err := m.Commit(renewing)
			if err != nil {
				t.Fatal(err)
			}
			if n, err := m.RevokeOthers(stale); n != 1 || err != nil {
				t.Errorf("RevokeOthers = %d, %v; want 1 (the other session), nil", n, err)
			}
			if ctx, _ := m.Load(t.Context(), renewed); sessionID(t, m, ctx) == "" {
				t.Error("RevokeOthers ended its own session, renewed by another request")
			}
			if ctx, _ := m.Load(t.Context(), other); sessionID(t, m, ctx) != "" {
				t.Error("the other session survived RevokeOthers")
			}
		})
	}
}

// Renew of a bound session moves its index entry when the session is
// saved: one entry, not two, listed as the current one; until then the
// session is listed, as the current one, under its old ID.
func TestRenewOfABoundSession(t *testing.T) {
	m, h := newHookManager(t, discard())
	do := serve(t, m, func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		switch r.URL.Path {
		case "/login":
			m.Get(ctx).Name = "ann"
			m.SetOwner(ctx, "ann")
		case "/renew":
			if err := m.Renew(ctx); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			list, err := m.Sessions(ctx, "ann")
			if err != nil || len(list) != 1 || !list[0].Current {
				http.Error(w, fmt.Sprintf("listed right after Renew: %+v, %v", list, err), http.StatusInternalServerError)
			}
		case "/list":
			list, err := m.Sessions(ctx, "ann")
			if err != nil || len(list) != 1 || !list[0].Current || list[0].ID != sessionID(t, m, ctx) {
				http.Error(w, fmt.Sprintf("listed after Renew: %+v, %v", list, err), http.StatusInternalServerError)
			}
		}
	})
	_, token := do("/login", "")
	code, renewed := do("/renew", token)
	if code != http.StatusOK || renewed == "" || renewed == token {
		t.Fatalf("renew: %d, cookie %q", code, renewed)
	}
	if n := indexLen(t, h.Store, "ann"); n != 1 {
		t.Errorf("after Renew the index has %d entries, want 1", n)
	}
	if code, _ := do("/list", renewed); code != http.StatusOK {
		t.Errorf("list after Renew: %d", code)
	}
}

// Destroy of a session that failed to load still deletes what the request
// presented, and reports success.
func TestDestroyAfterAFailedLoad(t *testing.T) {
	m, h := newHookManager(t, discard())
	do := serve(t, m, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/new" {
			m.Get(r.Context()).Name = "ann"
			return
		}
		if err := m.Destroy(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	_, token := do("/new", "")
	h.failLoad.Store(true)
	if code, cookie := do("/logout", token); code != http.StatusOK || cookie != "-" {
		t.Errorf("Destroy after a failed load: %d, cookie %q; want 200 and the cookie expired", code, cookie)
	}
	h.failLoad.Store(false)
	if ctx, _ := m.Load(t.Context(), token); sessionID(t, m, ctx) != "" {
		t.Error("the session survived Destroy")
	}
}

// indexFaultStore acts on every write, but reports the next write of an
// owner index as failed once armed: a timeout after the store acted.
type indexFaultStore struct {
	versionedSpy
	armed atomic.Bool
}

func (s *indexFaultStore) SaveIf(ctx context.Context, key string, data []byte, exp time.Time, v store.Version) (store.Version, error) {
	version, err := s.versionedSpy.SaveIf(ctx, key, data, exp, v)
	if err == nil && strings.Contains(key, "owner:") && s.armed.CompareAndSwap(true, false) {
		return 0, context.DeadlineExceeded
	}
	return version, err
}

// A SetOwner whose index write failed after it acted leaves an entry
// behind; when the session is then bound to another owner, the first
// owner's Sessions must not list it (that would show one user another's
// session) and RevokeOwner must not end it.
func TestStaleIndexEntryIsNotTheOwnersSession(t *testing.T) {
	st := &indexFaultStore{versionedSpy: newVersionedSpy(t)}
	m := mustNew[profile](t, sessions.WithStore(st))
	token := savedSession(t, m, "bob")

	ctx, err := m.Load(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	st.armed.Store(true)
	if err := m.SetOwner(ctx, "alice"); err == nil {
		t.Fatal("SetOwner: no error from a failed index write")
	}
	if _, _, err := m.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	ctx, err = m.Load(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetOwner(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	if n := listed(t, m, "alice"); n != 0 {
		t.Errorf("Sessions(alice) lists %d sessions; bob's session is not hers", n)
	}
	n, err := m.RevokeOwner(t.Context(), "alice")
	if err != nil || n != 0 {
		t.Errorf("RevokeOwner(alice) = %d, %v; want 0, nil", n, err)
	}
	if !live(t, m, token) {
		t.Error("RevokeOwner(alice) ended bob's session")
	}
	if n := listed(t, m, "bob"); n != 1 {
		t.Errorf("Sessions(bob) lists %d sessions, want 1", n)
	}
}
