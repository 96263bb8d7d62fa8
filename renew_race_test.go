package sessions_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/store/memstore"
)

// A request that loaded the session before another request ended it
// (logout, "sign out everywhere", revoking this device) and only then
// calls Renew (a login step-up, a periodic ID rotation) must not bring
// the ended session back under a new token.
func TestRenewCannotResurrectAnEndedSession(t *testing.T) {
	for _, end := range []string{"destroy", "revokeowner", "revoke", "revokeall"} {
		t.Run(end, func(t *testing.T) {
			m := mustNew[profile](t, sessions.WithLogger(discard()))
			do, loaded, release := slowRenewServer(t, m, "ann")
			_, token := do("/login", "")
			type answer struct {
				code   int
				cookie string
			}
			got := make(chan answer)
			go func() { code, c := do("/slowrenew", token); got <- answer{code, c} }()
			<-loaded
			do("/"+end, token)
			close(release)
			a := <-got
			// Losing to the end is no error: the request is answered as
			// usual, and leaves the cookie alone (it may be a racing
			// login's).
			if a.code != http.StatusOK || a.cookie != "" {
				t.Errorf("the renew that lost to %s answered %d with cookie %q, want 200 and the cookie left alone", end, a.code, a.cookie)
			}
			if renewed := a.cookie; renewed != "" && renewed != "-" {
				ctx, _ := m.Load(t.Context(), renewed)
				if sessionID(t, m, ctx) != "" {
					t.Errorf("after %s, a racing Renew revived the session under a new token: data %+v", end, *m.Get(ctx))
				}
			}
		})
	}
}

// pausingStore pauses the first insert (SaveIf with version 0) of a
// session record after it is armed, until released.
type pausingStore struct {
	*memstoreVersioned
	armed          atomic.Bool
	paused, resume chan struct{}
}

type memstoreVersioned = memstore.Store

func (p *pausingStore) SaveIf(ctx context.Context, key string, data []byte, exp time.Time, v store.Version) (store.Version, error) {
	if v == 0 && !strings.Contains(key, "owner:") && p.armed.CompareAndSwap(true, false) {
		p.paused <- struct{}{}
		<-p.resume
	}
	return p.memstoreVersioned.SaveIf(ctx, key, data, exp, v)
}

// RevokeOwner running between Renew's index update and its write of the
// new record must still end the session: the old token must not stay
// valid outside the index.
func TestRevokeOwnerBetweenRenewIndexAndSave(t *testing.T) {
	inner, err := memstore.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inner.Close() })
	st := &pausingStore{memstoreVersioned: inner, paused: make(chan struct{}), resume: make(chan struct{})}
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
	_, token := do("/login", "")
	st.armed.Store(true)
	done := make(chan string)
	codes := make(chan int, 1)
	go func() { code, c := do("/renew", token); codes <- code; done <- c }()
	select {
	case <-st.paused:
	case c := <-done:
		// The manager must write through the wrapper's SaveIf, not a
		// method promoted from the memstore it embeds.
		t.Fatalf("the renew finished (cookie %q) without its insert going through the wrapping store", c)
	}
	n, err := m.RevokeOwner(t.Context(), "ann")
	close(st.resume)
	renewed := <-done
	t.Logf("RevokeOwner = %d, %v; renew response cookie %q", n, err, renewed)
	if err != nil {
		t.Errorf("RevokeOwner with a login in flight: %v", err)
	}
	// The renew's new token died with the session before it was sent:
	// the request is still answered as usual, leaving the cookie alone.
	if code := <-codes; code != http.StatusOK || renewed != "" {
		t.Errorf("renew racing RevokeOwner answered %d with cookie %q, want 200 and the cookie left alone", code, renewed)
	}
	if n != 1 {
		t.Errorf("RevokeOwner = %d, want 1: the session being renewed", n)
	}
	for name, tok := range map[string]string{"old": token, "renewed": renewed} {
		if tok == "" || tok == "-" {
			continue
		}
		ctx, _ := m.Load(t.Context(), tok)
		if id := sessionID(t, m, ctx); id != "" {
			list, _ := m.Sessions(t.Context(), "ann")
			t.Errorf("the %s token names a live session after RevokeOwner (listed by Sessions: %d sessions)", name, len(list))
		}
	}
}

// A request that changed the session while another renewed it does not end
// it, and its change is not lost: the renewed session lives on under its
// new token with the change, the old one is gone.
func TestRenewSurvivesARacingModify(t *testing.T) {
	m := mustNew[profile](t, sessions.WithLogger(discard()))
	do, loaded, release := slowRenewServer(t, m, "")
	_, token := do("/login", "")
	got := make(chan string)
	go func() { _, c := do("/slowrenew", token); got <- c }()
	<-loaded
	if code, _ := do("/visit", token); code != http.StatusOK {
		t.Fatalf("visit: %d", code)
	}
	close(release)
	renewed := <-got
	if renewed == "" || renewed == "-" {
		t.Fatalf("the renew that raced a modify answered with cookie %q, want a new token", renewed)
	}
	ctx, _ := m.Load(t.Context(), renewed)
	if p := m.Get(ctx); sessionID(t, m, ctx) == "" || p.Name != "me" || p.Visits != 1 {
		t.Errorf("the renewed session after a racing modify: live %v, %+v; want me with the visit", sessionID(t, m, ctx) != "", *p)
	}
	if ctx, _ := m.Load(t.Context(), token); sessionID(t, m, ctx) != "" {
		t.Errorf("the old token still names a session after Renew")
	}
}

// slowRenewServer serves m for the renew races: /login starts a session
// named "me" (bound to owner, if not empty); /slowrenew loads the session,
// signals loaded, waits for release and renews (/slowvisit changes it
// instead); /destroy, /revokeowner (of owner), /revoke (of the request's
// own session) and /revokeall end it; /visit changes it.
func slowRenewServer(t *testing.T, m *sessions.Manager[profile], owner string) (do func(path, token string) (int, string), loaded, release chan struct{}) {
	loaded, release = make(chan struct{}), make(chan struct{})
	do = serve(t, m, func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		switch r.URL.Path {
		case "/login":
			m.Get(ctx).Name = "me"
			if owner != "" {
				m.SetOwner(ctx, owner)
			}
		case "/slowrenew":
			m.Get(ctx)
			loaded <- struct{}{}
			<-release
			m.Renew(ctx)
		case "/destroy":
			m.Destroy(ctx)
		case "/revokeowner":
			m.RevokeOwner(ctx, owner)
		case "/revoke":
			m.Revoke(ctx, sessionID(t, m, ctx))
		case "/revokeall":
			m.RevokeAll(ctx)
		case "/slowvisit":
			m.Get(ctx)
			loaded <- struct{}{}
			<-release
			m.Get(ctx).Visits++
		case "/visit":
			m.Get(ctx).Visits++
		}
	})
	return do, loaded, release
}

// A change that loses its write to a Renew follows the forward to the
// renewed session even when the renewing request is slow to write it
// (a loaded machine, a slow store): it waits for the new record up to the
// store timeout instead of taking the session for ended and dropping the
// change.
func TestAChangeWaitsForASlowRenew(t *testing.T) {
	inner, err := memstore.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inner.Close() })
	st := &pausingStore{memstoreVersioned: inner, paused: make(chan struct{}), resume: make(chan struct{})}
	// Two processes on one store: their key locks do not serialize them.
	m := mustNew[profile](t, sessions.WithStore(st), sessions.WithLogger(discard()), sessions.WithStoreTimeout(2*time.Second))
	other := mustNew[profile](t, sessions.WithStore(st), sessions.WithLogger(discard()), sessions.WithStoreTimeout(2*time.Second))
	visitLoaded, visitGo := make(chan struct{}), make(chan struct{})
	visit := serve(t, other, func(w http.ResponseWriter, r *http.Request) {
		p := other.Get(r.Context())
		visitLoaded <- struct{}{}
		<-visitGo
		p.Visits++
	})
	do := serve(t, m, func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		switch r.URL.Path {
		case "/login":
			m.Get(ctx).Name = "me"
		case "/renew":
			m.Renew(ctx)
		}
	})
	_, token := do("/login", "")
	visited := make(chan int)
	go func() { code, _ := visit("/visit", token); visited <- code }()
	<-visitLoaded
	st.armed.Store(true)
	renewed := make(chan string)
	go func() { _, c := do("/renew", token); renewed <- c }()
	<-st.paused // the old record is a forward now; the new one is not written
	close(visitGo)
	time.Sleep(200 * time.Millisecond) // far longer than a Renew's two writes take
	close(st.resume)
	if code := <-visited; code != http.StatusOK {
		t.Errorf("the visit racing a slow Renew answered %d", code)
	}
	tok := <-renewed
	if tok == "" || tok == "-" {
		t.Fatalf("the slow Renew answered with cookie %q, want a new token", tok)
	}
	ctx, _ := m.Load(t.Context(), tok)
	if p := m.Get(ctx); p.Name != "me" || p.Visits != 1 {
		t.Errorf("after a visit raced a slow Renew the session holds %+v, want me with the visit", *p)
	}
}
