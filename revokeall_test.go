package sessions_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/store/memstore"
)

// RevokeAll ends every session under the manager's key prefix, bound or
// not, and only those; the request's own session too.
func TestRevokeAll(t *testing.T) {
	st, err := memstore.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := mustNew[profile](t, sessions.WithStore(st), sessions.WithLogger(discard()))
	other := mustNew[profile](t, sessions.WithStore(st), sessions.WithKeyPrefix("other:"))
	var tokens []string
	for _, owner := range []string{"ann", "ann", "bob", ""} {
		ctx, err := m.Load(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		m.Get(ctx).Name = "x"
		if owner != "" {
			if err := m.SetOwner(ctx, owner); err != nil {
				t.Fatal(err)
			}
		}
		tokens = append(tokens, cookieOfCtx(t, m, ctx))
	}
	kept := savedSession(t, other, "other")
	ctx, err := m.Load(t.Context(), tokens[0]) // RevokeAll from a request of one of them
	if err != nil {
		t.Fatal(err)
	}
	n, err := m.RevokeAll(ctx)
	if err != nil || n != 4 {
		t.Fatalf("RevokeAll = %d, %v; want 4, nil", n, err)
	}
	if id := sessionID(t, m, ctx); id != "" {
		t.Errorf("the request's own session is still live after RevokeAll")
	}
	for i, tok := range tokens {
		if ctx, _ := m.Load(t.Context(), tok); sessionID(t, m, ctx) != "" {
			t.Errorf("session %d is live after RevokeAll", i)
		}
	}
	for _, owner := range []string{"ann", "bob"} {
		if list, err := m.Sessions(t.Context(), owner); err != nil || len(list) != 0 {
			t.Errorf("Sessions(%s) after RevokeAll = %d sessions, %v; want none", owner, len(list), err)
		}
	}
	if ctx, _ := other.Load(t.Context(), kept); other.Get(ctx).Name != "other" {
		t.Error("RevokeAll ended a session of another key prefix")
	}
	if n, err := m.RevokeAll(t.Context()); err != nil || n != 0 {
		t.Errorf("RevokeAll again = %d, %v; want 0, nil", n, err)
	}
}

// A request that loaded its session before RevokeAll and saves a change
// after it does not bring the session back.
func TestRevokeAllRacingASave(t *testing.T) {
	m := mustNew[profile](t, sessions.WithLogger(discard()))
	do, loaded, release := slowRenewServer(t, m, "ann")
	_, token := do("/login", "")
	got := make(chan string)
	go func() { _, c := do("/slowvisit", token); got <- c }()
	<-loaded
	if n, err := m.RevokeAll(t.Context()); err != nil || n != 1 {
		t.Fatalf("RevokeAll = %d, %v; want 1, nil", n, err)
	}
	close(release)
	if c := <-got; c != "" {
		t.Errorf("the save that lost to RevokeAll answered with cookie %q, want the cookie left alone", c)
	}
	if ctx, _ := m.Load(t.Context(), token); sessionID(t, m, ctx) != "" {
		t.Errorf("a save racing RevokeAll revived the session: %+v", *m.Get(ctx))
	}
}

// RevokeAll on a store that cannot list keys but can clear them
// (store.Clearer, as memcached): every session ends, the count is
// unknown (-1), and a Renew whose new record is written after the Clear
// (its forward before) does not survive it.
func TestRevokeAllOnClearer(t *testing.T) {
	st := newClearingStore(t)
	m := mustNew[profile](t, sessions.WithStore(st), sessions.WithLogger(discard()))
	do := serve(t, m, func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		switch r.URL.Path {
		case "/login":
			m.Get(ctx).Name = "me"
			m.SetOwner(ctx, "ann")
		case "/renew":
			m.Renew(ctx)
		}
	})
	_, first := do("/login", "")
	_, token := do("/login", "")
	st.armed.Store(true)
	done := make(chan string)
	go func() { _, c := do("/renew", token); done <- c }()
	<-st.paused
	n, err := m.RevokeAll(t.Context())
	if err != nil || n != -1 {
		t.Fatalf("RevokeAll on a store.Clearer = %d, %v; want -1, nil", n, err)
	}
	close(st.resume)
	renewed := <-done
	for name, tok := range map[string]string{"first": first, "renewing": token, "renewed": renewed} {
		if tok == "" || tok == "-" {
			continue
		}
		if ctx, _ := m.Load(t.Context(), tok); sessionID(t, m, ctx) != "" {
			t.Errorf("the %s token names a live session after RevokeAll", name)
		}
	}
	if _, fresh := do("/login", ""); fresh == "" {
		t.Error("no login after RevokeAll")
	} else if ctx, _ := m.Load(t.Context(), fresh); m.Get(ctx).Name != "me" {
		t.Error("a login after RevokeAll does not hold")
	}
}

// RevokeAll needs a store that can list or clear its keys.
func TestRevokeAllUnsupported(t *testing.T) {
	m := mustNew[profile](t, sessions.WithStore(newVersionedSpy(t)))
	if _, err := m.RevokeAll(t.Context()); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("RevokeAll on a store without Scan or Clear: %v, want errors.ErrUnsupported", err)
	}
}

// clearingStore is a store.Clearer on a memory store whose Scan it hides:
// Clear deletes every record and starts a new generation. Armed, it
// pauses the next insert of a session record (SaveIf with version 0).
type clearingStore struct {
	store.Versioned
	inner          *memstore.Store
	mu             sync.Mutex
	gen            uint64
	gens           map[store.Version]uint64
	armed          atomic.Bool
	paused, resume chan struct{}
}

func newClearingStore(t *testing.T) *clearingStore {
	inner, err := memstore.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inner.Close() })
	return &clearingStore{Versioned: inner, inner: inner, gens: map[store.Version]uint64{},
		paused: make(chan struct{}), resume: make(chan struct{})}
}

func (s *clearingStore) SaveIf(ctx context.Context, key string, data []byte, exp time.Time, v store.Version) (store.Version, error) {
	if v == 0 && len(key) == len("session:")+43 && s.armed.CompareAndSwap(true, false) {
		s.paused <- struct{}{}
		<-s.resume
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	nv, err := s.inner.SaveIf(ctx, key, data, exp, v)
	s.gens[nv] = s.gen
	return nv, err
}

func (s *clearingStore) Clear(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	cursor := ""
	for {
		keys, next, err := s.inner.Scan(ctx, "", cursor, 100)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := s.inner.Delete(ctx, k); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

func (s *clearingStore) SameGeneration(a, b store.Version) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gens[a] == s.gens[b]
}
