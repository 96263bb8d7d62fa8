package sessions_test

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/store"
)

// limitStores are the stores the limit is checked on: the manager's
// fallback in records, and the memory store's own index (indexStores).
func limitStores(t *testing.T) map[string]func() store.Store {
	stores := indexStores(t)
	stores["records"] = func() store.Store { return newVersionedSpy(t) }
	return stores
}

// indexStores are the memory store's own index: listed after each add,
// listed with the add (store.IndexAddLister), and with an IndexAddList
// that cannot tell.
func indexStores(t *testing.T) map[string]func() store.Store {
	return map[string]func() store.Store{
		"OwnerIndex":              func() store.Store { return newIndexedSpy(t) },
		"IndexAddLister":          func() store.Store { return newAddListSpy(t, false) },
		"IndexAddLister unlisted": func() store.Store { return newAddListSpy(t, true) },
	}
}

func TestWithOwnerLimitValidates(t *testing.T) {
	for _, opt := range []sessions.Option{
		sessions.WithOwnerLimit(0, sessions.EvictOldest),
		sessions.WithOwnerLimit(-1, sessions.RefuseNew),
		sessions.WithOwnerLimit(3, sessions.LimitPolicy(0)),
		sessions.WithOwnerLimit(3, sessions.LimitPolicy(9)),
	} {
		if _, err := sessions.New[profile](opt); !errors.Is(err, sessions.ErrInvalidConfig) {
			t.Errorf("New = %v, want an error wrapping ErrInvalidConfig", err)
		}
	}
}

// With EvictOldest, the login past the limit ends the owner's least
// recently active session: without an idle timeout the one that signed in
// first; the others, another owner's and the new one stay.
func TestOwnerLimitEvictsTheOldest(t *testing.T) {
	for name, newStore := range limitStores(t) {
		t.Run(name, func(t *testing.T) {
			a := newOwnerApp(t, sessions.WithStore(newStore()), sessions.WithOwnerLimit(2, sessions.EvictOldest), sessions.WithLogger(discard()))
			_, other := a.do("/login?user=bob", "")
			var tokens []string
			for range 4 {
				code, tok := a.do("/login?user=ann", "")
				if code != http.StatusOK || tok == "" {
					t.Fatalf("login: %d %q", code, tok)
				}
				tokens = append(tokens, tok)
			}
			for i, tok := range tokens {
				if want := i >= 2; a.alive(t, tok) != want {
					t.Errorf("login %d alive = %v, want %v", i+1, !want, want)
				}
			}
			if !a.alive(t, other) {
				t.Error("another owner's session was evicted")
			}
			list, err := a.m.Sessions(t.Context(), "ann")
			if err != nil || len(list) != 2 {
				t.Fatalf("Sessions = %d, %v; want 2", len(list), err)
			}
		})
	}
}

// With an idle timeout, activity decides: the session written last stays,
// though it signed in first.
func TestOwnerLimitEvictsTheLeastRecentlyActive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustNew[profile](t, sessions.WithStore(newIndexedSpy(t)), sessions.WithIdleTimeout(time.Hour),
			sessions.WithOwnerLimit(2, sessions.EvictOldest), sessions.WithLogger(discard()))
		login := func() string {
			ctx := ownedSession(t, m, "ann")
			token, _, err := m.Commit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return token
		}
		first := login()
		time.Sleep(time.Minute)
		second := login()
		time.Sleep(30 * time.Minute)
		ctx, _ := m.Load(t.Context(), first) // the first session is used
		m.Get(ctx).Visits++
		if _, _, err := m.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		third := login()
		for name, c := range map[string]struct {
			token string
			want  bool
		}{"first": {first, true}, "second": {second, false}, "third": {third, true}} {
			ctx, _ := m.Load(t.Context(), c.token)
			if got := sessionID(t, m, ctx) != ""; got != c.want {
				t.Errorf("%s session alive = %v, want %v", name, got, c.want)
			}
		}
	})
}

// With RefuseNew, the login past the limit fails with ErrTooManySessions
// and binds nothing; after a logout there is room again.
func TestOwnerLimitRefusesNew(t *testing.T) {
	for name, newStore := range limitStores(t) {
		t.Run(name, func(t *testing.T) {
			st := newStore()
			m := mustNew[profile](t, sessions.WithStore(st), sessions.WithOwnerLimit(2, sessions.RefuseNew), sessions.WithLogger(discard()))
			first := ownedSession(t, m, "ann")
			ownedSession(t, m, "ann")
			ctx, _ := m.Load(t.Context(), "")
			m.Get(ctx).Name = "third"
			if err := m.SetOwner(ctx, "ann"); !errors.Is(err, sessions.ErrTooManySessions) {
				t.Fatalf("SetOwner past the limit = %v, want ErrTooManySessions", err)
			}
			if id := sessionID(t, m, ctx); id != "" {
				t.Errorf("the refused session was saved as %s", id)
			}
			if n := indexLen(t, st, "ann"); n != 2 {
				t.Errorf("after the refusal the index has %d entries, want 2", n)
			}
			if err := m.Destroy(first); err != nil {
				t.Fatal(err)
			}
			if err := m.SetOwner(ctx, "ann"); err != nil {
				t.Fatalf("SetOwner after a logout: %v", err)
			}
			if list, err := m.Sessions(t.Context(), "ann"); err != nil || len(list) != 2 {
				t.Fatalf("Sessions = %d, %v; want 2", len(list), err)
			}
		})
	}
}

// Sessions that ended without leaving the index (an idle timeout) do not
// count: the login past them is not refused, and prunes them.
func TestOwnerLimitCountsLiveSessions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newIndexedSpy(t)
		m := mustNew[profile](t, sessions.WithStore(st), sessions.WithIdleTimeout(time.Hour),
			sessions.WithOwnerLimit(2, sessions.RefuseNew), sessions.WithLogger(discard()))
		ownedSession(t, m, "ann")
		ownedSession(t, m, "ann")
		time.Sleep(2 * time.Hour) // both idle out; the index still lists them
		for i := range 2 {
			ctx, _ := m.Load(t.Context(), "")
			m.Get(ctx).Name = "new"
			if err := m.SetOwner(ctx, "ann"); err != nil {
				t.Fatalf("login %d after the others idled out: %v", i+1, err)
			}
		}
	})
}

// Logins racing each other never leave more than the limit: with
// RefuseNew, the bound sessions at rest are at most the limit.
func TestOwnerLimitRacingLogins(t *testing.T) {
	for name, newStore := range indexStores(t) {
		for _, policy := range []sessions.LimitPolicy{sessions.RefuseNew, sessions.EvictOldest} {
			t.Run(name+"/"+policy.String(), func(t *testing.T) {
				racingLogins(t, newStore(), policy)
			})
		}
	}
}

func racingLogins(t *testing.T, st store.Store, policy sessions.LimitPolicy) {
	m := mustNew[profile](t, sessions.WithStore(st), sessions.WithOwnerLimit(3, policy), sessions.WithLogger(discard()))
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		ok  int
		bad []error
	)
	for range 12 {
		wg.Go(func() {
			ctx, _ := m.Load(t.Context(), "")
			m.Get(ctx).Name = "x"
			err := m.SetOwner(ctx, "crowd")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, sessions.ErrTooManySessions) && !errors.Is(err, sessions.ErrSessionChanged):
				bad = append(bad, err)
			}
		})
	}
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("SetOwner errors: %v", bad)
	}
	list, err := m.Sessions(t.Context(), "crowd")
	if err != nil || len(list) > 3 || len(list) == 0 {
		t.Fatalf("Sessions after racing logins = %d, %v; want 1 to 3", len(list), err)
	}
	t.Logf("%d logins succeeded, %d sessions left", ok, len(list))
}

// The store calls of a login with the limit on: under the limit, one more
// than without (the index is listed); on a store with its own index that
// is the add, the list and the session's write, and on one whose add
// lists (store.IndexAddLister), none more.
func TestOwnerLimitRoundTrips(t *testing.T) {
	type spy interface {
		store.Store
		take() []string
	}
	indexed := func() spy { return newIndexedSpy(t) }
	addList := func() spy { return newAddListSpy(t, false) }
	unlisted := func() spy { return newAddListSpy(t, true) }
	records := func() spy { return newVersionedSpy(t) }
	for _, c := range []struct {
		name     string
		limit    bool
		newStore func() spy
		want     []string
	}{
		{"OwnerIndex", false, indexed, []string{"indexadd", "saveif"}},
		{"OwnerIndex limit", true, indexed, []string{"indexadd", "indexlist", "saveif"}},
		{"IndexAddLister", false, addList, []string{"indexadd", "saveif"}},
		{"IndexAddLister limit", true, addList, []string{"indexaddlist", "saveif"}},
		{"IndexAddLister unlisted limit", true, unlisted, []string{"indexaddlist", "indexlist", "saveif"}},
		{"records", false, records, []string{"loadversion", "saveif", "saveif"}},
		{"records limit", true, records, []string{"loadversion", "saveif", "saveif"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := c.newStore()
			opts := []sessions.Option{sessions.WithStore(st)}
			if c.limit {
				opts = append(opts, sessions.WithOwnerLimit(5, sessions.EvictOldest))
			}
			m := mustNew[profile](t, opts...)
			ownedSession(t, m, "ann")
			ctx, _ := m.Load(t.Context(), "")
			st.take()
			if err := m.SetOwner(ctx, "ann"); err != nil {
				t.Fatal(err)
			}
			if got := st.take(); !equal(got, c.want) {
				t.Errorf("SetOwner: store calls %v, want %v", got, c.want)
			}
		})
	}
}

// Sessions on a store with its own index and batch loads: the record of
// an earlier version's index (one load), the index (one list), and the
// sessions in one batch, 1,000 of them included.
func TestSessionsRoundTrips(t *testing.T) {
	st := newIndexedSpy(t)
	m := mustNew[profile](t, sessions.WithStore(st))
	for i := range 1000 {
		ctx := ownedSession(t, m, "ann")
		m.Get(ctx).Visits = i
		if _, _, err := m.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	st.take()
	list, err := m.Sessions(t.Context(), "ann")
	if err != nil || len(list) != 1000 {
		t.Fatalf("Sessions = %d, %v; want 1000", len(list), err)
	}
	want := []string{"loadversion", "indexlist", "loadversions", "loadversions"}
	if got := st.take(); !equal(got, want) {
		t.Errorf("Sessions of 1,000: store calls %v, want %v", got, want)
	}
}

// Without the option there is no limit, and the index stays within
// WithMaxSize: on the fallback it grows chunks, none over the limit, and
// lists all.
func TestOwnerIndexChunksWithinMaxSize(t *testing.T) {
	spy := newVersionedSpy(t)
	const maxSize = 1 << 10 // 16 entries a chunk
	m := mustNew[profile](t, sessions.WithStore(spy), sessions.WithMaxSize(maxSize))
	const n = 100
	for range n {
		ownedSession(t, m, "ann")
	}
	for _, key := range spy.savedKeys() {
		b, found, err := spy.inner.Load(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		if found && len(b) > maxSize {
			t.Errorf("record %q is %d bytes, over the %d-byte limit", key, len(b), maxSize)
		}
	}
	list, err := m.Sessions(t.Context(), "ann")
	if err != nil || len(list) != n {
		t.Fatalf("Sessions = %d, %v; want %d", len(list), err, n)
	}
	if got, err := m.RevokeOwner(t.Context(), "ann"); err != nil || got != n {
		t.Fatalf("RevokeOwner = %d, %v; want %d", got, err, n)
	}
	if list, _ := m.Sessions(t.Context(), "ann"); len(list) != 0 {
		t.Errorf("after RevokeOwner %d sessions listed", len(list))
	}
	for _, key := range spy.savedKeys() {
		if _, found, _ := spy.inner.Load(t.Context(), key); found && len(key) > 60 {
			t.Errorf("an index chunk %q is left after RevokeOwner", key)
		}
	}
}

func ExampleWithOwnerLimit() {
	m, err := sessions.New[struct{ User string }](sessions.WithOwnerLimit(5, sessions.EvictOldest))
	if err != nil {
		panic(err)
	}
	defer m.Close()
	fmt.Println("at most 5 sessions per user")
	// Output: at most 5 sessions per user
}
