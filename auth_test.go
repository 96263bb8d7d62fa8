package sessions_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/store"
)

// authServer serves /login (Renew and SetOwner "ann"), /reauth
// (Reauthenticated), /age (AuthAge as "age ok"), /visit (a change) and
// /secret behind RequireRecentAuth(maxAge), whose reauth handler answers
// 401.
func authServer(t *testing.T, m *sessions.Manager[profile], maxAge time.Duration) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		if err := m.Renew(r.Context()); err != nil {
			t.Error(err)
		}
		if err := m.SetOwner(r.Context(), "ann"); err != nil {
			t.Error(err)
		}
	})
	mux.HandleFunc("/reauth", func(w http.ResponseWriter, r *http.Request) {
		if err := m.Reauthenticated(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
		}
	})
	mux.HandleFunc("/age", func(w http.ResponseWriter, r *http.Request) {
		age, ok := m.AuthAge(r.Context())
		w.Header().Set("X-Age", age.String())
		if !ok {
			w.Header().Set("X-Age", "none")
		}
	})
	mux.HandleFunc("/visit", func(w http.ResponseWriter, r *http.Request) { m.Get(r.Context()).Visits++ })
	reauth := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "enter your password again", http.StatusUnauthorized)
	})
	mux.Handle("/secret", m.RequireRecentAuth(maxAge, reauth)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("secret"))
	})))
	return m.Middleware(mux)
}

// browser sends requests with one cookie jar of a single session cookie.
type authBrowser struct {
	t      *testing.T
	h      http.Handler
	cookie string
}

func (b *authBrowser) get(path string) *http.Response {
	b.t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if b.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "session", Value: b.cookie})
	}
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	res := rec.Result()
	for _, c := range res.Cookies() {
		if c.Name == "session" {
			b.cookie = c.Value
			if c.MaxAge < 0 {
				b.cookie = ""
			}
		}
	}
	return res
}

// RequireRecentAuth lets a request through only within maxAge of the
// last authentication; Reauthenticated restarts the clock and gives the
// session a new token, the old one ending.
func TestRequireRecentAuth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustNew[profile](t, sessions.WithLogger(discard()))
		b := &authBrowser{t: t, h: authServer(t, m, 5*time.Minute)}
		if res := b.get("/secret"); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("never authenticated: /secret answered %d, want 401", res.StatusCode)
		}
		if got := b.get("/age").Header.Get("X-Age"); got != "none" {
			t.Errorf("never authenticated: AuthAge %s, want none", got)
		}
		b.get("/login")
		if res := b.get("/secret"); res.StatusCode != http.StatusOK {
			t.Fatalf("just signed in: /secret answered %d, want 200", res.StatusCode)
		}
		time.Sleep(4 * time.Minute)
		if got := b.get("/age").Header.Get("X-Age"); got != "4m0s" {
			t.Errorf("4 minutes after login: AuthAge %s, want 4m0s", got)
		}
		time.Sleep(time.Minute + time.Second)
		if res := b.get("/secret"); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("5m1s after login: /secret answered %d, want 401", res.StatusCode)
		}
		old := b.cookie
		if res := b.get("/reauth"); res.StatusCode != http.StatusOK || b.cookie == old || b.cookie == "" {
			t.Fatalf("Reauthenticated answered %d, cookie %q (was %q): want 200 and a new token", res.StatusCode, b.cookie, old)
		}
		if res := b.get("/secret"); res.StatusCode != http.StatusOK {
			t.Errorf("after Reauthenticated: /secret answered %d, want 200", res.StatusCode)
		}
		stale := &authBrowser{t: t, h: b.h, cookie: old}
		if got := stale.get("/age").Header.Get("X-Age"); got != "none" {
			t.Errorf("the token from before Reauthenticated still has a session authenticated %s ago", got)
		}
		list, err := m.Sessions(t.Context(), "ann")
		if err != nil || len(list) != 1 {
			t.Fatalf("Sessions = %v, %v; want the one session", list, err)
		}
		if at := list[0].AuthenticatedAt; !at.Equal(time.Now()) {
			t.Errorf("Info.AuthenticatedAt = %v, want now (%v)", at, time.Now())
		}
	})
}

// A Renew keeps the time of authentication; SetOwner("") clears it.
func TestAuthTimeAcrossRenewAndUnbind(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustNew[profile](t)
		ctx, err := m.Load(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		if err := m.SetOwner(ctx, "ann"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Hour)
		if err := m.Renew(ctx); err != nil {
			t.Fatal(err)
		}
		if err := m.Update(ctx, func(p *profile) error { p.Name = "x"; return nil }); err != nil {
			t.Fatal(err)
		}
		if age, ok := m.AuthAge(ctx); !ok || age != time.Hour {
			t.Errorf("after Renew: AuthAge = %v, %v; want 1h, true", age, ok)
		}
		if err := m.SetOwner(ctx, ""); err != nil {
			t.Fatal(err)
		}
		if age, ok := m.AuthAge(ctx); ok {
			t.Errorf("after SetOwner(\"\"): AuthAge = %v, true; want false", age)
		}
		if _, ok := m.AuthAge(context.Background()); ok {
			t.Error("AuthAge without a session reported one")
		}
	})
}

// A request that saves a change while another reauthenticates the same
// session: the change lands in the renewed session, which keeps the new
// time of authentication, whichever of the two loads first.
func TestReauthenticatedRacingASave(t *testing.T) {
	for _, first := range []string{"visit", "reauth"} {
		t.Run(first+" loads first", func(t *testing.T) {
			m := mustNew[profile](t, sessions.WithLogger(discard()))
			loaded, release := make(chan struct{}), make(chan struct{})
			mux := http.NewServeMux()
			mux.Handle("/", authServer(t, m, time.Minute))
			slow := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				m.Get(r.Context()) // load
				close(loaded)
				<-release
				if first == "visit" {
					m.Get(r.Context()).Visits++
				} else if err := m.Reauthenticated(r.Context()); err != nil {
					t.Error(err)
				}
			}))
			b := &authBrowser{t: t, h: mux}
			b.get("/login")
			time.Sleep(10 * time.Millisecond)
			before := time.Now() // before the reauthentication, after the login
			token := b.cookie
			other := map[string]string{"visit": "/reauth", "reauth": "/visit"}[first]
			slowB, fastB := *b, *b
			slowB.h = slow
			done := make(chan struct{})
			go func() { defer close(done); slowB.get("/") }()
			<-loaded
			fastB.get(other)
			close(release)
			<-done
			renewed := slowB.cookie
			if first == "visit" {
				renewed = fastB.cookie
			}
			if renewed == token {
				t.Fatal("Reauthenticated sent no new token")
			}
			ctx, err := m.Load(t.Context(), renewed)
			if err != nil {
				t.Fatal(err)
			}
			if v := m.Get(ctx).Visits; v != 1 {
				t.Errorf("the racing save was lost: Visits = %d, want 1", v)
			}
			if age, ok := m.AuthAge(ctx); !ok || age > time.Since(before) {
				t.Errorf("after the race: AuthAge = %v, %v; want the reauthentication's", age, ok)
			}
			if old, _ := m.Load(t.Context(), token); sessionID(t, m, old) != "" {
				t.Error("the token from before Reauthenticated is still live")
			}
		})
	}
}

// LastSeen follows the requests that use a session. On a store that
// touches on load and reports the expiry it set (store.Loaded.Expires),
// such as the memory store, it is exact and no read-only request writes;
// on one that does not report it, it is exact to the refresh window and the
// record is rewritten once per window.
func TestLastSeen(t *testing.T) {
	for _, tc := range []struct {
		name       string
		wrap       func(versionedSpy) store.Versioned
		minW, maxW int           // rewrites in 30 requests 10 s apart
		within     time.Duration // how far LastSeen may lag the last request
	}{
		{"expiry reported", func(s versionedSpy) store.Versioned { return s }, 0, 0, 0},
		{"expiry not reported", func(s versionedSpy) store.Versioned { return noExpiry{s} }, 4, 6, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				spy := newVersionedSpy(t)     // the memory store: it touches on load
				const idle = 10 * time.Minute // refresh window: 1 minute
				m := mustNew[profile](t, sessions.WithStore(tc.wrap(spy)), sessions.WithIdleTimeout(idle))
				c := annReading(t, m)
				spy.take()
				writes := 0
				for range 30 { // every 10 s for 5 minutes
					time.Sleep(10 * time.Second)
					c.do()
					last := time.Now() // the fake clock: the request's time
					if calls := spy.take(); len(calls) > 1 {
						writes++
					}
					list, err := m.Sessions(t.Context(), "ann")
					if err != nil || len(list) != 1 {
						t.Fatalf("Sessions = %v, %v", list, err)
					}
					spy.take()
					if seen := list[0].LastSeen; last.Sub(seen) > tc.within || seen.After(last) {
						t.Fatalf("LastSeen %v, last request %v: want at most %v apart", seen, last, tc.within)
					}
				}
				if writes < tc.minW || writes > tc.maxW {
					t.Errorf("%d rewrites in 5 minutes of read-only requests every 10 s, want %d to %d", writes, tc.minW, tc.maxW)
				}
			})
		})
	}
}

// In a session's last idle timeout (the idle timeout reaches past its
// absolute deadline) a load touches the record to the deadline, not past
// it, so no record outlives its deadline in the store, and the record is
// rewritten once per refresh window (to keep LastSeen), not on every
// request.
func TestLastIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spy := newVersionedSpy(t)
		const idle = 2 * time.Minute // refresh window: 12 s
		m := mustNew[profile](t, sessions.WithStore(spy), sessions.WithIdleTimeout(idle), sessions.WithLifetime(10*time.Minute))
		c := annReading(t, m)
		list, err := m.Sessions(t.Context(), "ann")
		if err != nil || len(list) != 1 {
			t.Fatalf("Sessions = %v, %v", list, err)
		}
		deadline := list[0].Expires
		spy.take()
		writes, final := 0, 0
		for time.Until(deadline) > 5*time.Second { // every 5 s until the deadline
			time.Sleep(5 * time.Second)
			c.do()
			last := time.Now()
			calls := spy.take()
			if len(calls) > 1 {
				writes++
			}
			if time.Until(deadline) < idle {
				final++
			}
			for _, key := range spy.savedKeys() {
				if l, err := spy.inner.LoadVersion(t.Context(), key, time.Time{}); err == nil && l.Found() && l.Expires.After(deadline) {
					t.Fatalf("%v before the deadline: a record expires %v after it", time.Until(deadline), l.Expires.Sub(deadline))
				}
			}
			list, err := m.Sessions(t.Context(), "ann")
			if err != nil || len(list) != 1 {
				t.Fatalf("Sessions = %v, %v", list, err)
			}
			spy.take()
			if seen := list[0].LastSeen; last.Sub(seen) > idle/10 || seen.After(last) {
				t.Fatalf("LastSeen %v, last request %v: more than the refresh window apart", seen, last)
			}
		}
		// 23 requests in the last idle timeout: about one rewrite per
		// refresh window, and none before.
		if writes < 5 || writes > 12 {
			t.Errorf("%d rewrites in %d requests of the last idle timeout, want one per refresh window (about 10)", writes, final)
		}
	})
}

// annReading returns a client of a handler that only reads the session,
// holding a new session of m bound to "ann".
func annReading(t *testing.T, m *sessions.Manager[profile]) *client {
	ctx, err := m.Load(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetOwner(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) { m.Get(r.Context()) })
	c.cookie = cookieOfCtx(t, m, ctx)
	return c
}

// noExpiry is a versioned store that touches on load but does not report
// the expiry it set.
type noExpiry struct{ versionedSpy }

func (s noExpiry) LoadVersion(ctx context.Context, key string, touch time.Time) (store.Loaded, error) {
	l, err := s.versionedSpy.LoadVersion(ctx, key, touch)
	l.Expires = time.Time{}
	return l, err
}

// cookieOfCtx returns the token of the session behind ctx, from Load.
func cookieOfCtx(t *testing.T, m *sessions.Manager[profile], ctx context.Context) string {
	t.Helper()
	tok, _, err := m.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
