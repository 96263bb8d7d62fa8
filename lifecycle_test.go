package sessions_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessions"
)

// The tests of LIFECYCLE.md's promises where Renew, the owner index,
// conditional writes and handler failures meet, each forced into the
// interleaving that broke it.

// answer is what a client saw of one response: the status (0 when the
// connection failed, as after a handler panic) and the session cookie ("",
// "-" for a deleted one, or the token).
type answer struct {
	code   int
	cookie string
}

// lifecycleServer serves h and returns a request function that tolerates
// a failed connection.
func lifecycleServer(t *testing.T, m *sessions.Manager[profile], h http.HandlerFunc) func(path, token string) answer {
	srv := httptest.NewServer(m.Middleware(h))
	t.Cleanup(srv.Close)
	return func(path, token string) answer {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Cookie", "session="+token)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			return answer{}
		}
		res.Body.Close()
		return answer{code: res.StatusCode, cookie: cookieOf(res)}
	}
}

// apply is what a browser holding jar does with a response's cookie.
func (a answer) apply(jar string) string {
	switch a.cookie {
	case "":
		return jar
	case "-":
		return ""
	}
	return a.cookie
}

// live reports whether token names a live session of m.
func live(t *testing.T, m *sessions.Manager[profile], token string) bool {
	t.Helper()
	if token == "" || token == "-" {
		return false
	}
	ctx, err := m.Load(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	return sessionID(t, m, ctx) != ""
}

// listed returns how many sessions Sessions lists for owner.
func listed(t *testing.T, m *sessions.Manager[profile], owner string) int {
	t.Helper()
	list, err := m.Sessions(t.Context(), owner)
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

// After any request of a bound session, no token is live but the one its
// client was last sent, and RevokeOwner leaves none: however the Renew in
// it ended.
func TestRenewLeavesOnlyTheSentTokenLive(t *testing.T) {
	for _, tc := range []struct {
		path string
		// whether the client is sent a new token, and whether the
		// session survives the request at all
		newToken, survives bool
	}{
		{"/renew-twice", true, true},
		{"/renew-panic", false, true},
		{"/renew-too-large", false, true},
		{"/renew-bind-panic", false, false},
		{"/renew-bind-too-large", true, true},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			m := mustNew[profile](t, sessions.WithLogger(discard()), sessions.WithMaxSize(512))
			do := lifecycleServer(t, m, func(w http.ResponseWriter, r *http.Request) {
				ctx := r.Context()
				switch r.URL.Path {
				case "/login":
					m.Get(ctx).Name = "me"
					m.SetOwner(ctx, "ann")
				case "/renew-twice":
					m.Renew(ctx)
					m.Renew(ctx)
				case "/renew-panic":
					m.Renew(ctx)
					m.Get(ctx).Visits++
					panic(http.ErrAbortHandler)
				case "/renew-too-large":
					m.Renew(ctx)
					m.Get(ctx).Name = strings.Repeat("x", 1000)
				case "/renew-bind-panic":
					m.Renew(ctx)
					if err := m.SetOwner(ctx, "ann"); err != nil {
						t.Error(err)
					}
					panic(http.ErrAbortHandler)
				case "/renew-bind-too-large":
					m.Renew(ctx)
					if err := m.SetOwner(ctx, "ann"); err != nil {
						t.Error(err)
					}
					m.Get(ctx).Name = strings.Repeat("x", 1000)
				}
			})
			token := do("/login", "").cookie
			a := do(tc.path, token)
			jar := a.apply(token)
			if got := jar != token; got != tc.newToken {
				t.Fatalf("response %+v: new token %v, want %v", a, got, tc.newToken)
			}
			if live(t, m, jar) != tc.survives {
				t.Errorf("the client's token live: %v, want %v", !tc.survives, tc.survives)
			}
			if jar != token && live(t, m, token) {
				t.Error("the renewed-away token is still live")
			}
			want := 0
			if tc.survives {
				want = 1
			}
			if n := listed(t, m, "ann"); n != want {
				t.Errorf("Sessions lists %d, want %d", n, want)
			}
			if n, err := m.RevokeOwner(t.Context(), "ann"); n != want || err != nil {
				t.Errorf("RevokeOwner = %d, %v; want %d", n, err, want)
			}
			for _, tok := range []string{token, jar} {
				if live(t, m, tok) {
					t.Errorf("a token survived RevokeOwner")
				}
			}
		})
	}
}

// gate holds a handler after it loaded the session until the test lets it
// go on.
type gate struct {
	loaded  chan struct{}
	release chan struct{}
}

func newGate() *gate { return &gate{make(chan struct{}), make(chan struct{})} }

func (g *gate) hold() {
	g.loaded <- struct{}{}
	<-g.release
}

// raceServer serves the racing requests of these tests. /slow* paths load
// the session, wait at the gate, then act.
func raceServer(t *testing.T, m *sessions.Manager[profile], g *gate) func(path, token string) answer {
	return lifecycleServer(t, m, func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		fail := func(err error) {
			if err != nil {
				http.Error(w, err.Error(), http.StatusConflict)
			}
		}
		incr := func(p *profile) error { p.Visits++; return nil }
		switch r.URL.Path {
		case "/login":
			m.Get(ctx).Name = "me"
			fail(m.SetOwner(ctx, "ann"))
		case "/renew":
			fail(m.Renew(ctx))
		case "/incr":
			fail(m.Update(ctx, incr))
		case "/destroy":
			fail(m.Destroy(ctx))
		case "/slow-renew":
			m.Get(ctx)
			g.hold()
			fail(m.Renew(ctx))
		case "/slow-incr":
			m.Get(ctx)
			g.hold()
			fail(m.Update(ctx, incr))
		case "/slow-destroy":
			m.Get(ctx)
			g.hold()
			fail(m.Destroy(ctx))
		case "/slow-login":
			m.Get(ctx)
			g.hold()
			fail(m.Renew(ctx))
			fail(m.SetOwner(ctx, "ann"))
			m.Get(ctx).Name = "ann"
		}
	})
}

// start runs a request in the background and returns its answer's channel.
func start(do func(path, token string) answer, path, token string) chan answer {
	c := make(chan answer, 1)
	go func() { c <- do(path, token) }()
	return c
}

// A Renew racing an Update increment loses no acknowledged increment,
// whichever of them writes first.
func TestRenewLosesNoConcurrentUpdate(t *testing.T) {
	for _, slow := range []string{"renew", "incr"} {
		t.Run("slow-"+slow, func(t *testing.T) {
			m := mustNew[profile](t, sessions.WithLogger(discard()))
			g := newGate()
			do := raceServer(t, m, g)
			fast := map[string]string{"renew": "/incr", "incr": "/renew"}[slow]
			for trial := range 20 {
				token := do("/login", "").cookie
				slowAnswer := start(do, "/slow-"+slow, token)
				<-g.loaded
				fastAnswer := do(fast, token)
				close(g.release)
				sa := <-slowAnswer
				g.release = make(chan struct{})
				incr, renew := sa, fastAnswer
				if slow == "renew" {
					incr, renew = fastAnswer, sa
				}
				if incr.code != http.StatusOK || renew.code != http.StatusOK {
					t.Fatalf("trial %d: incr %+v, renew %+v; want both 200", trial, incr, renew)
				}
				ctx, _ := m.Load(t.Context(), renew.apply(token))
				if p := m.Get(ctx); p.Visits != 1 || p.Name != "me" {
					t.Fatalf("trial %d: the renewed session holds %+v, want the acknowledged increment", trial, *p)
				}
				if live(t, m, token) {
					t.Fatalf("trial %d: the old token is live", trial)
				}
			}
		})
	}
}

// Two logins of one session at once (a double-clicked button) leave the
// browser with a live session whichever commits first and whichever
// response arrives last, and the second one's change is not lost.
func TestTwoConcurrentLoginsKeepTheBrowserSignedIn(t *testing.T) {
	m := mustNew[profile](t, sessions.WithLogger(discard()))
	g := newGate()
	do := raceServer(t, m, g)
	for trial := range 20 {
		token := do("/renew", "").cookie // an anonymous session
		if token == "" {
			t.Fatal("no session")
		}
		results := make(chan answer, 2)
		for range 2 {
			go func() { results <- do("/slow-login", token) }()
		}
		<-g.loaded
		<-g.loaded
		g.release <- struct{}{} // one of them commits first
		a := <-results
		g.release <- struct{}{}
		b := <-results
		for _, order := range [][2]answer{{a, b}, {b, a}} {
			jar := order[1].apply(order[0].apply(token))
			if !live(t, m, jar) {
				t.Fatalf("trial %d: responses %+v then %+v left the browser with %q, not a live session", trial, order[0], order[1], jar)
			}
			ctx, _ := m.Load(t.Context(), jar)
			if p := m.Get(ctx); p.Name != "ann" {
				t.Fatalf("trial %d: the signed-in session holds %+v", trial, *p)
			}
		}
		if live(t, m, token) {
			t.Fatalf("trial %d: the pre-login token is still live", trial)
		}
		if n := listed(t, m, "ann"); n != 1 {
			t.Fatalf("trial %d: %d sessions listed for the owner, want 1", trial, n)
		}
		if _, err := m.RevokeOwner(t.Context(), "ann"); err != nil {
			t.Fatal(err)
		}
	}
}

// Unforced: many double logins at once; every browser ends up signed in.
func TestConcurrentLoginsUnforced(t *testing.T) {
	m := mustNew[profile](t, sessions.WithLogger(discard()))
	do := lifecycleServer(t, m, func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if r.URL.Path == "/new" {
			m.Get(ctx).Name = "anon"
			return
		}
		m.Renew(ctx)
		if err := m.SetOwner(ctx, "bob"); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
		}
	})
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			token := do("/new", "").cookie
			var a, b answer
			var pair sync.WaitGroup
			pair.Go(func() { a = do("/login", token) })
			pair.Go(func() { b = do("/login", token) })
			pair.Wait()
			for _, jar := range []string{b.apply(a.apply(token)), a.apply(b.apply(token))} {
				if !live(t, m, jar) {
					t.Errorf("responses %+v and %+v can leave the browser signed out", a, b)
				}
			}
		})
	}
	wg.Wait()
}

// After Destroy returns, neither the destroyed token nor any token a
// racing Renew moved the session to is live.
func TestDestroyEndsARacingRenew(t *testing.T) {
	m := mustNew[profile](t, sessions.WithLogger(discard()))
	g := newGate()
	do := raceServer(t, m, g)
	for trial := range 20 {
		token := do("/login", "").cookie
		destroyed := start(do, "/slow-destroy", token)
		<-g.loaded
		renewed := do("/renew", token).apply(token)
		close(g.release)
		if a := <-destroyed; a.code != http.StatusOK || a.cookie != "-" {
			t.Fatalf("trial %d: destroy answered %+v", trial, a)
		}
		g.release = make(chan struct{})
		if renewed == token {
			t.Fatalf("trial %d: renew sent no new token", trial)
		}
		if live(t, m, token) || live(t, m, renewed) {
			t.Fatalf("trial %d: a token survived the logout (old %v, renewed %v)", trial, live(t, m, token), live(t, m, renewed))
		}
		if n := listed(t, m, "ann"); n != 0 {
			t.Fatalf("trial %d: %d sessions listed after the logout", trial, n)
		}
	}
}

// A map session set to nil is saved as such and loads as an empty map.
func TestNilMapSessionLoadsEmpty(t *testing.T) {
	m := mustNew[map[string]any](t)
	srv := httptest.NewServer(m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := m.Get(r.Context())
		switch r.URL.Path {
		case "/set":
			(*d)["k"] = "v"
		case "/nil":
			*d = nil
		case "/again":
			(*d)["k"] = "again"
		}
		fmt.Fprint(w, len(*d))
	})))
	t.Cleanup(srv.Close)
	jar := ""
	get := func(path string) int {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if jar != "" {
			req.Header.Set("Cookie", "session="+jar)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatalf("%s: %v (the handler panicked?)", path, err)
		}
		res.Body.Close()
		for _, c := range res.Cookies() {
			if c.Name == "session" && c.MaxAge >= 0 {
				jar = c.Value
			}
		}
		return res.StatusCode
	}
	for _, path := range []string{"/set", "/nil", "/again", "/read"} {
		if code := get(path); code != http.StatusOK {
			t.Fatalf("%s: %d", path, code)
		}
	}
	ctx, _ := m.Load(t.Context(), jar)
	if d := *m.Get(ctx); d == nil || d["k"] != "again" {
		t.Errorf("after nil and a new key: %v", d)
	}
}

// Inside Update's function, the reading calls work and the changing ones
// fail at once: none of them waits for the lock Update holds.
func TestCallsInsideUpdate(t *testing.T) {
	m := mustNew[profile](t, sessions.WithLogger(discard()))
	ctx := ownedSession(t, m, "ann")
	id := sessionID(t, m, ctx)
	done := make(chan error, 1)
	go func() {
		done <- m.Update(ctx, func(p *profile) error {
			var errs []error
			if got := sessionID(t, m, ctx); got != id {
				errs = append(errs, fmt.Errorf("ID = %q, want %q", got, id))
			}
			if got := m.Get(ctx); got != p {
				errs = append(errs, errors.New("Get returned another value than the one being updated"))
			}
			if got, err := m.Fetch(ctx); got != p || err != nil {
				errs = append(errs, fmt.Errorf("Fetch = %p, %v", got, err))
			}
			if list, err := m.Sessions(ctx, "ann"); err != nil || len(list) != 1 || !list[0].Current {
				errs = append(errs, fmt.Errorf("Sessions = %+v, %v", list, err))
			}
			for name, call := range map[string]func() error{
				"SetOwner":      func() error { return m.SetOwner(ctx, "bob") },
				"Renew":         func() error { return m.Renew(ctx) },
				"Destroy":       func() error { return m.Destroy(ctx) },
				"SetPersistent": func() error { return m.SetPersistent(ctx, false) },
				"Update":        func() error { return m.Update(ctx, func(*profile) error { return nil }) },
				"RevokeOthers":  func() error { _, err := m.RevokeOthers(ctx); return err },
				"Commit":        func() error { _, _, err := m.Commit(ctx); return err },
			} {
				if err := call(); err == nil || !strings.Contains(err.Error(), "inside Update") {
					errs = append(errs, fmt.Errorf("%s inside Update: %v, want an error saying so", name, err))
				}
			}
			p.Visits++
			return errors.Join(errs...)
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a call inside Update's function hangs")
	}
	if p := m.Get(ctx); p.Visits != 1 {
		t.Errorf("after Update: %+v", *p)
	}
	if got, _ := m.Sessions(context.Background(), "ann"); len(got) != 1 || got[0].Data.Visits != 1 {
		t.Errorf("stored after Update: %+v", got)
	}
}

// A logout whose token a racing login renewed away (it arrives holding
// the old token) ends the session the token was renewed into: the
// browser is signed out whichever response it gets last.
func TestDestroyWithARenewedAwayTokenEndsTheRenewedSession(t *testing.T) {
	m := mustNew[profile](t)
	old := savedSession(t, m, "ann")

	ctx, err := m.Load(t.Context(), old)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	renewed, _, err := m.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}

	ctx, err = m.Load(t.Context(), old) // the logout, sent before the login's answer
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if live(t, m, renewed) {
		t.Error("the session the logout's token was renewed into is still live")
	}
}
