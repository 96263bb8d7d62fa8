package sessions_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sessionkit/sessions"
)

func TestUntouchedRequestCostsNothing(t *testing.T) {
	spy := newSpy(t)
	m := mustNew[profile](t, sessions.WithStore(spy))
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("static")) })

	for _, cookie := range []string{"", "not-a-token", strings.Repeat("A", 43)} {
		c.cookie = cookie
		res := c.do()
		if got := spy.take(); len(got) != 0 {
			t.Errorf("cookie %q: store calls %v for a request that never called Get", cookie, got)
		}
		if res.Header.Get("Set-Cookie") != "" || res.Header.Get("Vary") != "" {
			t.Errorf("cookie %q: headers %v on an untouched request", cookie, res.Header)
		}
	}
}

func TestNewSessionReadOnlyWritesNothing(t *testing.T) {
	spy := newSpy(t)
	m := mustNew[profile](t, sessions.WithStore(spy))
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
		_ = m.Get(r.Context()).Visits
	})
	res := c.do()
	if got := spy.take(); len(got) != 0 {
		t.Errorf("store calls %v: a new untouched session must not be written", got)
	}
	if sessionCookie(res) != "" {
		t.Errorf("Set-Cookie %q for an untouched new session", sessionCookie(res))
	}
	if res.Header.Get("Vary") != "Cookie" {
		t.Errorf("Vary = %q, want Cookie on a response that read the session", res.Header.Get("Vary"))
	}
}

func TestSessionLifecycle(t *testing.T) {
	spy := newSpy(t)
	m := mustNew[profile](t, sessions.WithStore(spy))
	var seen profile
	var modify bool
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
		p := m.Get(r.Context())
		seen = *p
		if modify {
			p.Visits++
			p.Cart = append(p.Cart, "apple")
		}
		w.Write([]byte("ok"))
	})

	// A change creates the session: one save, a cookie, not cacheable.
	modify = true
	res := c.do()
	if got := spy.take(); !equal(got, []string{"save"}) {
		t.Fatalf("first modify: calls %v, want [save]", got)
	}
	sc := sessionCookie(res)
	for _, want := range []string{"HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=86400", "Expires="} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %q", sc, want)
		}
	}
	if len(c.cookie) != 43 {
		t.Fatalf("token %q is not 43 characters", c.cookie)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q on a Set-Cookie response", cc)
	}

	// Read-only: one load, no write, no cookie.
	modify = false
	res = c.do()
	if got := spy.take(); !equal(got, []string{"load"}) {
		t.Errorf("read-only: calls %v, want [load]", got)
	}
	if seen.Visits != 1 || len(seen.Cart) != 1 {
		t.Errorf("read back %+v", seen)
	}
	if sessionCookie(res) != "" {
		t.Errorf("read-only request sent Set-Cookie %q", sessionCookie(res))
	}

	// Modify: load + save, same token.
	modify = true
	token := c.cookie
	c.do()
	if got := spy.take(); !equal(got, []string{"load", "save"}) {
		t.Errorf("modify: calls %v, want [load save]", got)
	}
	if c.cookie != token {
		t.Errorf("token changed without Renew")
	}
	modify = false
	c.do()
	if seen.Visits != 2 {
		t.Errorf("Visits = %d after two changes", seen.Visits)
	}
}

func TestUnknownTokenIsNotAdopted(t *testing.T) {
	spy := newSpy(t)
	m := mustNew[profile](t, sessions.WithStore(spy))
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
		m.Get(r.Context()).Name = "x"
	})
	planted := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	c.cookie = planted
	c.do()
	if c.cookie == planted || c.cookie == "" {
		t.Fatalf("cookie after an unknown token = %q; want a fresh token", c.cookie)
	}
}

func TestDeadCookieIsExpired(t *testing.T) {
	m := mustNew[profile](t)
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) { m.Get(r.Context()) })
	c.cookie = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	res := c.do()
	if sc := sessionCookie(res); !strings.Contains(sc, "Max-Age=0") {
		t.Errorf("Set-Cookie %q: a cookie naming no session should be deleted", sc)
	}
}

func TestRenew(t *testing.T) {
	spy := newSpy(t)
	m := mustNew[profile](t, sessions.WithStore(spy))
	var action string
	var seen profile
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
		p := m.Get(r.Context())
		seen = *p
		switch action {
		case "set":
			p.Name = "ann"
		case "login":
			if err := m.Renew(r.Context()); err != nil {
				t.Errorf("Renew: %v", err)
			}
			p.Visits = 7
		}
	})
	action = "set"
	c.do()
	old := c.cookie
	spy.take()

	action = "login"
	c.do()
	if got := spy.take(); len(got) > 3 || !equal(got, []string{"load", "save", "delete"}) {
		t.Errorf("renew: calls %v, want [load save delete]", got)
	}
	if c.cookie == old || c.cookie == "" {
		t.Fatalf("Renew kept token")
	}
	action = ""
	c.do()
	if seen.Name != "ann" || seen.Visits != 7 {
		t.Errorf("after renew: %+v, want data kept", seen)
	}

	// The old token is dead.
	c.cookie = old
	c.do()
	if seen.Name != "" {
		t.Errorf("old token still reads %+v", seen)
	}
}

func TestRenewAfterResponseStarted(t *testing.T) {
	m := mustNew[profile](t)
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
		m.Get(r.Context()).Name = "x"
		w.Write([]byte("hi"))
		if err := m.Renew(r.Context()); !errors.Is(err, sessions.ErrResponseStarted) {
			t.Errorf("Renew after write: %v, want ErrResponseStarted", err)
		}
	})
	c.do()
}

func TestDestroy(t *testing.T) {
	spy := newSpy(t)
	m := mustNew[profile](t, sessions.WithStore(spy))
	var destroy bool
	var seen profile
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
		if destroy {
			if err := m.Destroy(r.Context()); err != nil {
				t.Errorf("Destroy: %v", err)
			}
			seen = *m.Get(r.Context())
			return
		}
		m.Get(r.Context()).Name = "bob"
	})
	c.do()
	token := c.cookie
	spy.take()

	destroy = true
	res := c.do()
	if got := spy.take(); !equal(got, []string{"load", "delete"}) {
		t.Errorf("destroy: calls %v, want [load delete] (the load finds an owner index to update)", got)
	}
	if sc := sessionCookie(res); !strings.Contains(sc, "Max-Age=0") {
		t.Errorf("destroy: Set-Cookie %q does not expire the cookie", sc)
	}
	if seen.Name != "" {
		t.Errorf("Get after Destroy = %+v, want a fresh session", seen)
	}
	destroy = false
	c.cookie = token
	c.do()
	if c.cookie == token {
		t.Errorf("destroyed token was adopted again")
	}
}

func TestSetPersistent(t *testing.T) {
	m := mustNew[profile](t)
	var remember *bool
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
		if remember != nil {
			if err := m.SetPersistent(r.Context(), *remember); err != nil {
				t.Errorf("SetPersistent: %v", err)
			}
		}
		m.Get(r.Context()).Visits++
	})
	no, yes := false, true
	remember = &no
	res := c.do()
	if sc := sessionCookie(res); strings.Contains(sc, "Expires") || strings.Contains(sc, "Max-Age") {
		t.Errorf("browser-session cookie %q must not expire", sc)
	}
	remember = nil
	if res = c.do(); sessionCookie(res) != "" {
		t.Errorf("unchanged choice re-sent the cookie")
	}
	remember = &yes
	res = c.do()
	if sc := sessionCookie(res); !strings.Contains(sc, "Expires") {
		t.Errorf("remembered cookie %q has no expiry", sc)
	}
}

func TestBrowserSessionCookieDefault(t *testing.T) {
	m := mustNew[profile](t, sessions.WithCookie(sessions.CookiePersistent(false), sessions.CookieName("sid")))
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { m.Get(r.Context()).Visits++ }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	sc := rec.Header().Get("Set-Cookie")
	if !strings.HasPrefix(sc, "sid=") || strings.Contains(sc, "Expires") {
		t.Errorf("Set-Cookie %q, want a browser-session cookie named sid", sc)
	}
}

func TestChangesAfterResponseStartedAreSaved(t *testing.T) {
	m := mustNew[profile](t)
	var seen profile
	step := 0
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
		p := m.Get(r.Context())
		seen = *p
		switch step {
		case 0:
			p.Name = "first"
		case 1:
			w.Write([]byte("body first"))
			http.NewResponseController(w).Flush()
			p.Name = "late"
		}
	})
	c.do()
	step = 1
	c.do()
	step = 2
	c.do()
	if seen.Name != "late" {
		t.Errorf("Name = %q: a change made after the response started was dropped", seen.Name)
	}
}

func TestStoreDownOnLoad(t *testing.T) {
	spy := newSpy(t)
	var handled error
	m := mustNew[profile](t, sessions.WithStore(spy), sessions.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
		handled = err
		http.Error(w, "try later", http.StatusServiceUnavailable)
	}))
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
		p := m.Get(r.Context())
		p.Name = "overwrite attempt"
		w.Write([]byte("handler body"))
	})
	c.do()
	token := c.cookie
	spy.down.Store(true)
	res := c.do()
	spy.down.Store(false)
	if !errors.Is(handled, errDown) || !errors.Is(handled, sessions.ErrLoadFailed) {
		t.Fatalf("error handler got %v", handled)
	}
	body := new(bytes.Buffer)
	body.ReadFrom(res.Body)
	if res.StatusCode != http.StatusServiceUnavailable || strings.Contains(body.String(), "handler body") {
		t.Errorf("status %d body %q: the error handler must answer alone", res.StatusCode, body)
	}
	if got := spy.take(); !equal(got[len(got)-1:], []string{"load"}) || len(got) != 2 {
		t.Errorf("calls %v: nothing may be written after a failed load", got)
	}
	if c.cookie != token {
		t.Errorf("cookie changed after a failed load")
	}
}

func TestFetchReturnsLoadError(t *testing.T) {
	spy := newSpy(t)
	m := mustNew[profile](t, sessions.WithStore(spy))
	var fetchErr error
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
		p, err := m.Fetch(r.Context())
		fetchErr = err
		if err == nil {
			p.Visits++
		}
		w.WriteHeader(http.StatusTeapot)
	})
	c.do()
	spy.down.Store(true)
	res := c.do()
	if !errors.Is(fetchErr, errDown) {
		t.Errorf("Fetch error %v", fetchErr)
	}
	if res.StatusCode != http.StatusTeapot {
		t.Errorf("status %d: Fetch leaves the response to the handler", res.StatusCode)
	}
}

func TestStoreDownOnSave(t *testing.T) {
	spy := newSpy(t)
	m := mustNew[profile](t, sessions.WithStore(spy), sessions.WithLogger(slog.New(slog.DiscardHandler)))
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
		m.Get(r.Context()).Visits++
		w.Write([]byte("handler body"))
	})
	spy.down.Store(true)
	res := c.do()
	if res.StatusCode != http.StatusInternalServerError || sessionCookie(res) != "" {
		t.Errorf("status %d cookie %q: a failed save must be a 500 without a cookie", res.StatusCode, sessionCookie(res))
	}
}

func TestUndecodableDataGivesFreshSession(t *testing.T) {
	spy := newSpy(t)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	m := mustNew[profile](t, sessions.WithStore(spy), sessions.WithLogger(logger))
	var seen profile
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) { seen = *m.Get(r.Context()); m.Get(r.Context()).Visits++ })
	c.do()
	// Corrupt every record in the store.
	for _, key := range spy.savedKeys() {
		spy.inner.Save(context.Background(), key, []byte("\x01\x00garbage-garbage-garbage"), time.Now().Add(time.Hour))
	}
	spy.take()
	res := c.do()
	if res.StatusCode != http.StatusOK || seen.Visits != 0 {
		t.Errorf("status %d seen %+v: want a fresh session", res.StatusCode, seen)
	}
	if !strings.Contains(logs.String(), "does not decode") {
		t.Errorf("no log line for undecodable data: %q", logs.String())
	}
	if got := spy.take(); !equal(got, []string{"load", "save", "delete"}) {
		t.Errorf("calls %v: want the fresh session saved and the unreadable record deleted", got)
	}
}

func TestIdleTimeout(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap func(*spyStore) sessionsStore
		read []string // calls for a read-only request
	}{
		// Requests further apart than the refresh window (a tenth of
		// the idle timeout): a store that touches on load never
		// rewrites (without conditional writes it keeps no owner
		// index, so no Info.LastSeen; TestLastSeen has those).
		{"LoadToucher", func(s *spyStore) sessionsStore { return loadTouchSpy{touchSpy{s}} }, []string{"loadtouch"}},
		{"Toucher", func(s *spyStore) sessionsStore { return touchSpy{s} }, []string{"load", "save"}},
		{"plain", func(s *spyStore) sessionsStore { return s }, []string{"load", "save"}},
	} {
		// On the fake clock of a synctest bubble: the sleeps take no time.
		synctest.Test(t, func(t *testing.T) {
			t.Log(tc.name)
			spy := newSpy(t)
			m := mustNew[profile](t, sessions.WithStore(tc.wrap(spy)), sessions.WithIdleTimeout(time.Second))
			var seen profile
			create := true
			c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
				p := m.Get(r.Context())
				seen = *p
				if create {
					p.Name = "idle"
				}
			})
			c.do()
			create = false
			spy.take()
			// Activity every 300ms keeps it alive past the idle timeout.
			for range 5 {
				time.Sleep(300 * time.Millisecond)
				c.do()
				if seen.Name != "idle" {
					t.Fatalf("session expired despite activity")
				}
				if got := spy.take(); !equal(got, tc.read) {
					t.Fatalf("read-only calls %v, want %v", got, tc.read)
				}
			}
			time.Sleep(1200 * time.Millisecond)
			c.do()
			if seen.Name != "" {
				t.Errorf("session survived its idle timeout")
			}
		})
	}
}

func TestAbsoluteLifetime(t *testing.T) { synctest.Test(t, testAbsoluteLifetime) }

func testAbsoluteLifetime(t *testing.T) {
	m := mustNew[profile](t, sessions.WithLifetime(1500*time.Millisecond), sessions.WithIdleTimeout(time.Hour))
	var seen profile
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
		p := m.Get(r.Context())
		seen = *p
		p.Visits++
	})
	c.do()
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline.Add(-500 * time.Millisecond)) {
		c.do()
		if seen.Visits == 0 {
			t.Fatalf("session ended before its lifetime")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Until(deadline) + 50*time.Millisecond)
	c.do()
	if seen.Visits != 0 {
		t.Errorf("session outlived its absolute lifetime despite activity (visits %d)", seen.Visits)
	}
}

func TestConcurrentRequestsOneSession(t *testing.T) {
	m := mustNew[profile](t)
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := m.Get(r.Context())
		p.Visits++
		w.Write([]byte("x"))
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	cookie := rec.Result().Cookies()[0]
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			req := httptest.NewRequest("GET", "/", nil)
			req.AddCookie(cookie)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				t.Errorf("status %d", rec.Code)
			}
		})
	}
	wg.Wait()
}

func TestGetOutsideMiddleware(t *testing.T) {
	m := mustNew[profile](t, sessions.WithLogger(slog.New(slog.DiscardHandler)))
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "Middleware") {
				t.Errorf("Get outside middleware: recovered %v, want a panic naming Middleware", r)
			}
		}()
		m.Get(context.Background())
	}()
	if _, err := m.Fetch(context.Background()); !errors.Is(err, sessions.ErrNoSession) {
		t.Errorf("Fetch: %v, want ErrNoSession", err)
	}
	for name, err := range map[string]error{
		"Renew":   m.Renew(context.Background()),
		"Destroy": m.Destroy(context.Background()),
		"Update":  m.Update(context.Background(), func(*profile) error { return nil }),
	} {
		if !errors.Is(err, sessions.ErrNoSession) {
			t.Errorf("%s: %v, want ErrNoSession", name, err)
		}
	}
}

func TestCacheControlOverride(t *testing.T) {
	m := mustNew[profile](t)
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		m.Get(r.Context()).Visits++
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q: a public response must not carry a session cookie", cc)
	}
}

func TestKeyPrefixAndHashedKeys(t *testing.T) {
	spy := newSpy(t)
	m := mustNew[profile](t, sessions.WithStore(spy), sessions.WithKeyPrefix("app1:"))
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) { m.Get(r.Context()).Visits++ })
	c.do()
	keys := spy.savedKeys()
	if len(keys) != 1 || !strings.HasPrefix(keys[0], "app1:") || strings.Contains(keys[0], c.cookie) {
		t.Errorf("store keys %q: want one prefixed key that does not contain the token %q", keys, c.cookie)
	}
}

// TestIdleRefreshIsThrottled: on a store without a one-trip load-and-touch,
// read-only requests rewrite the record only once its stored expiry lags
// the idle timeout by the refresh window (a tenth of it, at most a minute).
func TestIdleRefreshIsThrottled(t *testing.T) { synctest.Test(t, testIdleRefreshIsThrottled) }

func testIdleRefreshIsThrottled(t *testing.T) {
	spy := newSpy(t)
	m := mustNew[profile](t, sessions.WithStore(touchSpy{spy}), sessions.WithIdleTimeout(10*time.Second))
	create := true
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
		p := m.Get(r.Context())
		if create {
			p.Name = "x"
		}
	})
	c.do()
	create = false
	spy.take()
	for range 5 {
		c.do()
	}
	if got := spy.take(); !equal(got, []string{"load", "load", "load", "load", "load"}) {
		t.Errorf("reads right after a save: calls %v, want loads only", got)
	}
	time.Sleep(1100 * time.Millisecond) // past the 1s window
	c.do()
	c.do()
	if got := spy.take(); !equal(got, []string{"load", "save", "load"}) {
		t.Errorf("reads after the window: calls %v, want one rewrite then loads", got)
	}
}

// Destroy on a request that has no session sends no cookie at all.
func TestDestroyWithoutASessionSendsNoCookie(t *testing.T) {
	m := mustNew[profile](t)
	do := serve(t, m, func(w http.ResponseWriter, r *http.Request) {
		if err := m.Destroy(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	if code, cookie := do("/", ""); code != http.StatusOK || cookie != "" {
		t.Errorf("Destroy without a session: %d, cookie %q; want 200 and no cookie", code, cookie)
	}
}
