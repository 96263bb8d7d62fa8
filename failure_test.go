package sessions_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/store"
)

// hangStore wraps a store; while hang is set every call blocks until its
// context ends, like a frozen server.
type hangStore struct {
	store.Store
	hang atomic.Bool
}

func (s *hangStore) wait(ctx context.Context) error {
	if !s.hang.Load() {
		return nil
	}
	<-ctx.Done()
	return ctx.Err()
}

func (s *hangStore) Load(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.wait(ctx); err != nil {
		return nil, false, err
	}
	return s.Store.Load(ctx, key)
}

func (s *hangStore) Save(ctx context.Context, key string, data []byte, exp time.Time) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	return s.Store.Save(ctx, key, data, exp)
}

func (s *hangStore) Delete(ctx context.Context, key string) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	return s.Store.Delete(ctx, key)
}

func TestStoreTimeoutBoundsAFrozenStore(t *testing.T) {
	const timeout = 100 * time.Millisecond
	hs := &hangStore{Store: newSpy(t)}
	m := mustNew[profile](t, sessions.WithStore(hs), sessions.WithStoreTimeout(timeout),
		sessions.WithLogger(slog.New(slog.DiscardHandler)))
	lateSaveDone := make(chan time.Duration, 1)
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/late" {
			w.Write([]byte("body first"))
			m.Get(r.Context()).Visits++ // saved after the response started
			start := time.Now()
			defer func() { lateSaveDone <- time.Since(start) }()
			return
		}
		m.Get(r.Context()).Visits++
	})
	c.do()
	if c.cookie == "" {
		t.Fatal("no session")
	}
	hs.hang.Store(true)

	start := time.Now()
	res := c.do()
	if took := time.Since(start); res.StatusCode != http.StatusInternalServerError || took > timeout+time.Second {
		t.Errorf("frozen store: %d after %v, want 500 within %v plus slack", res.StatusCode, took, timeout)
	}

	// The save after the response started is detached from the client but
	// still bounded: the handler's goroutine is not pinned.
	hs.hang.Store(false)
	req := httptest.NewRequest("GET", "/late", nil)
	req.Header.Set("Cookie", "session="+c.cookie)
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.Get(r.Context()) // loaded while the store answers
		hs.hang.Store(true)
		w.Write([]byte("body first"))
		m.Get(r.Context()).Visits++
	}))
	start = time.Now()
	h.ServeHTTP(httptest.NewRecorder(), req)
	if took := time.Since(start); took > timeout+time.Second {
		t.Errorf("late save against a frozen store took %v, want about %v", took, timeout)
	}
}

func TestStoreTimeoutZeroMeansNoLimit(t *testing.T) {
	hs := &hangStore{Store: newSpy(t)}
	m := mustNew[profile](t, sessions.WithStore(hs), sessions.WithStoreTimeout(0))
	ctx, err := m.Load(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	m.Get(ctx).Visits = 1
	hs.hang.Store(true)
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, _, err := m.Commit(cctx); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) < 250*time.Millisecond {
		t.Errorf("Commit with no store timeout: %v after %v, want the caller's deadline", err, time.Since(start))
	}
}

func TestMaxSizeRefusesBeforeWriting(t *testing.T) {
	spy := newSpy(t)
	var handled error
	m := mustNew[profile](t, sessions.WithStore(spy), sessions.WithMaxSize(1024),
		sessions.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
			handled = err
			http.Error(w, "too big", http.StatusRequestEntityTooLarge)
		}))
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
		m.Get(r.Context()).Name = strings.Repeat("x", 2000)
	})
	res := c.do()
	if !errors.Is(handled, store.ErrTooLarge) || res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized session: error handler got %v, status %d; want ErrTooLarge", handled, res.StatusCode)
	}
	if got := spy.take(); len(got) != 0 {
		t.Errorf("oversized session: store calls %v, want none", got)
	}

	ctx, _ := m.Load(t.Context(), "")
	m.Get(ctx).Name = strings.Repeat("y", 2000)
	if _, _, err := m.Commit(ctx); !errors.Is(err, store.ErrTooLarge) {
		t.Errorf("Commit: %v, want ErrTooLarge", err)
	}
	// Just under the limit fits.
	m.Get(ctx).Name = strings.Repeat("y", 900)
	if _, _, err := m.Commit(ctx); err != nil {
		t.Errorf("Commit under the limit: %v", err)
	}
}

func TestDefaultMaxSizeIsOneMiB(t *testing.T) {
	m := mustNew[profile](t)
	ctx, _ := m.Load(t.Context(), "")
	m.Get(ctx).Name = strings.Repeat("z", 1<<20)
	if _, _, err := m.Commit(ctx); !errors.Is(err, store.ErrTooLarge) {
		t.Errorf("1 MiB value with the defaults: %v, want ErrTooLarge", err)
	}
}

func TestLongestDurationsDoNotWrap(t *testing.T) {
	for _, idle := range []time.Duration{0, time.Hour, math.MaxInt64} {
		m := mustNew[profile](t, sessions.WithLifetime(math.MaxInt64), sessions.WithIdleTimeout(idle))
		c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) { m.Get(r.Context()).Visits++ })
		res := c.do()
		ck := res.Cookies()[0]
		if ck.MaxAge <= 0 || ck.MaxAge > 400*24*3600 {
			t.Errorf("idle %v: cookie Max-Age %d, want at most 400 days", idle, ck.MaxAge)
		}
		token := c.cookie
		c.do()
		c.do()
		if c.cookie != token {
			t.Errorf("idle %v: MaxInt64 lifetime ended the session on the next request", idle)
		}
		ctx, _ := m.Load(t.Context(), token)
		if v := m.Get(ctx).Visits; v != 3 {
			t.Errorf("idle %v: visits %d, want 3", idle, v)
		}
	}
}

func TestErrorResponseStartsFromCleanHeaders(t *testing.T) {
	spy := newSpy(t)
	m := mustNew[profile](t, sessions.WithStore(spy), sessions.WithLogger(slog.New(slog.DiscardHandler)))
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Location", "/elsewhere")
		h.Set("Content-Encoding", "gzip")
		h.Add("Set-Cookie", "theirs=1")
		h.Set("Vary", "Accept-Encoding")
		m.Get(r.Context()).Visits++
		w.WriteHeader(http.StatusFound)
	})
	c.do()
	spy.down.Store(true)
	res := c.do()
	if res.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", res.StatusCode)
	}
	for _, h := range []string{"Location", "Content-Encoding", "Set-Cookie", "Vary"} {
		if v := res.Header.Values(h); len(v) > 0 {
			t.Errorf("error response carries the handler's %s: %q", h, v)
		}
	}
}

func TestVaryCookieAddedOnceWithoutAliasing(t *testing.T) {
	m := mustNew[profile](t)
	var handlerVary []string
	for _, preset := range [][]string{nil, {"Cookie"}, {"Accept-Encoding, cookie"}, {"Accept-Encoding"}} {
		c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
			if preset != nil {
				handlerVary = make([]string, len(preset), len(preset)+4) // room to append into
				copy(handlerVary, preset)
				w.Header()["Vary"] = handlerVary
			}
			m.Get(r.Context()).Visits++
		})
		res := c.do()
		n := 0
		for _, line := range res.Header.Values("Vary") {
			for part := range strings.SplitSeq(line, ",") {
				if strings.EqualFold(strings.TrimSpace(part), "Cookie") {
					n++
				}
			}
		}
		if n != 1 {
			t.Errorf("handler's Vary %q: response Vary %q names Cookie %d times, want 1", preset, res.Header.Values("Vary"), n)
		}
		if preset != nil && cap(handlerVary) > len(handlerVary) && handlerVary[:cap(handlerVary)][len(handlerVary)] != "" {
			t.Errorf("handler's Vary %q: the manager appended into the handler's slice", preset)
		}
	}
}

func TestPlantedCookieNeitherLogsOutNorIsAdopted(t *testing.T) {
	m := mustNew[profile](t)
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.Get(r.Context()).Visits++
	}))
	do := func(cookies ...string) *http.Response {
		req := httptest.NewRequest("GET", "/", nil)
		for _, c := range cookies {
			req.Header.Add("Cookie", "session="+c)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Result()
	}
	real := do().Cookies()[0].Value
	planted := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

	// The planted cookie comes first (longer Path or a sibling domain).
	res := do(planted, real)
	if sc := sessionCookie(res); sc != "" {
		t.Errorf("planted cookie before the real one: Set-Cookie %q, want none (the real session goes on)", sc)
	}
	ctx, _ := m.Load(t.Context(), real)
	if v := m.Get(ctx).Visits; v != 2 {
		t.Errorf("real session visits = %d, want 2", v)
	}
	// Alone, a planted token is not adopted.
	res = do(planted)
	for _, ck := range res.Cookies() {
		if ck.Value == planted {
			t.Error("planted token adopted")
		}
	}
	// A cookie whose name differs only in its last character is ignored.
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Cookie", "sessioN="+real)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	for _, ck := range rec.Result().Cookies() {
		if ck.Value == real {
			t.Error("cookie named sessioN was taken for the session cookie")
		}
	}
	ctx, _ = m.Load(t.Context(), real)
	if v := m.Get(ctx).Visits; v != 2 {
		t.Errorf("after a look-alike cookie: real session visits = %d, want 2", v)
	}
}

func TestDestroyAfterResponseStarted(t *testing.T) {
	m := mustNew[profile](t)
	var destroyErr error
	destroy := false
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
		m.Get(r.Context()).Visits++
		if destroy {
			w.Write([]byte("started"))
			destroyErr = m.Destroy(r.Context())
		}
	})
	c.do()
	token := c.cookie
	destroy = true
	c.do()
	if !errors.Is(destroyErr, sessions.ErrResponseStarted) {
		t.Errorf("Destroy after the response started: %v, want ErrResponseStarted", destroyErr)
	}
	ctx, _ := m.Load(t.Context(), token)
	if v := m.Get(ctx).Visits; v != 0 {
		t.Errorf("data still there after Destroy: visits %d", v)
	}
}
