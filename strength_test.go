package sessions_test

// Tests that pin behaviours a deliberate break of the code once survived
// (issue 14). Each test names the break it catches.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/store/memstore"
)

// logRecorder is a slog.Handler that keeps every record.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logRecorder) WithGroup(string) slog.Handler            { return h }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.recs = append(h.recs, r.Clone())
	h.mu.Unlock()
	return nil
}

// find returns the first record at level whose message contains substr.
func (h *logRecorder) find(level slog.Level, substr string) (slog.Record, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.recs {
		if r.Level == level && strings.Contains(r.Message, substr) {
			return r, true
		}
	}
	return slog.Record{}, false
}

// writes returns the store calls in calls that write a record.
func writes(calls []string) []string {
	var w []string
	for _, c := range calls {
		if c == "save" || c == "saveif" {
			w = append(w, c)
		}
	}
	return w
}

// newBubbleSpy is newSpy for a synctest bubble: its memstore has no
// background cleanup, whose runtime cleanup would run outside the bubble.
func newBubbleSpy(t *testing.T) *spyStore {
	inner, err := memstore.New(memstore.WithCleanupInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inner.Close() })
	return &spyStore{inner: inner, keys: map[string]bool{}}
}

// lingeringStore wraps a memstore but keeps every record an hour past the
// expiry it is given, like a backend whose own expiry lags (MongoDB's TTL
// monitor) or that has none: the manager's own check of the absolute
// deadline is all that ends the session.
type lingeringStore struct{ inner *memstore.Store }

const linger = time.Hour

func newLingering(t *testing.T) lingeringStore {
	inner, err := memstore.New(memstore.WithCleanupInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inner.Close() })
	return lingeringStore{inner}
}

func (s lingeringStore) Load(ctx context.Context, key string) ([]byte, bool, error) {
	return s.inner.Load(ctx, key)
}

func (s lingeringStore) Save(ctx context.Context, key string, data []byte, exp time.Time) error {
	return s.inner.Save(ctx, key, data, exp.Add(linger))
}

func (s lingeringStore) Delete(ctx context.Context, key string) error {
	return s.inner.Delete(ctx, key)
}

// lingeringVersioned adds store.Versioned, so the manager takes its usual
// path on built-in stores.
type lingeringVersioned struct{ lingeringStore }

func (s lingeringVersioned) LoadVersion(ctx context.Context, key string, touch time.Time) (store.Loaded, error) {
	if !touch.IsZero() {
		touch = touch.Add(linger)
	}
	return s.inner.LoadVersion(ctx, key, touch)
}

func (s lingeringVersioned) SaveIf(ctx context.Context, key string, data []byte, exp time.Time, v store.Version) (store.Version, error) {
	return s.inner.SaveIf(ctx, key, data, exp.Add(linger), v)
}

// Item 2. Break: drop the deadline check in session.fetch (the stores'
// expiry covered it in every other test).
func TestManagerEnforcesTheDeadlineItself(t *testing.T) {
	for name, wrap := range map[string]func(lingeringStore) store.Store{
		"plain":     func(s lingeringStore) store.Store { return s },
		"versioned": func(s lingeringStore) store.Store { return lingeringVersioned{s} },
	} {
		for _, idle := range []time.Duration{0, time.Hour} {
			t.Run(name+"/idle="+idle.String(), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					ls := newLingering(t)
					m := mustNew[profile](t, sessions.WithStore(wrap(ls)),
						sessions.WithLifetime(10*time.Minute), sessions.WithIdleTimeout(idle))
					var seen profile
					write := true
					c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
						p := m.Get(r.Context())
						seen = *p
						if write {
							p.Name = "ann"
						}
					})
					c.do()
					write = false
					c.do()
					if seen.Name != "ann" {
						t.Fatalf("within the lifetime: %+v", seen)
					}
					time.Sleep(10*time.Minute + time.Second)
					res := c.do() // read-only, after the deadline
					if seen.Name != "" {
						t.Errorf("a read after the absolute deadline saw %+v, want a fresh session", seen)
					}
					if sc := sessionCookie(res); !strings.Contains(sc, "Max-Age=0") {
						t.Errorf("Set-Cookie %q, want the dead cookie expired", sc)
					}
					if n := ls.inner.Len(); n != 0 {
						t.Errorf("the store still holds %d records: the dead one must be deleted", n)
					}
				})
			})
		}
	}
}

// Item 3. Break: drop the "token == \"\" && started" guard in
// session.commit (the new session would be saved without a cookie), or
// its log line.
func TestNewSessionChangedAfterResponseStartedIsNotSaved(t *testing.T) {
	spy := newVersionedSpy(t)
	logs := &logRecorder{}
	m := mustNew[profile](t, sessions.WithStore(spy), sessions.WithLogger(slog.New(logs)))
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("body first"))
		m.Get(r.Context()).Visits++ // a new session, changed too late
	})
	res := c.do()
	if got := writes(spy.take()); len(got) != 0 {
		t.Errorf("store writes %v for a new session changed after the response started, want none", got)
	}
	if sc := sessionCookie(res); sc != "" {
		t.Errorf("Set-Cookie %q after the response started", sc)
	}
	if _, ok := logs.find(slog.LevelError, "after the response started"); !ok {
		t.Errorf("no error log line for the dropped change; logs: %v", logs.recs)
	}
}

// Item 4. Break: overwrite Cache-Control always (or drop one of the two
// tokens) in session.setHeaders.
func TestCacheControlPrivateOrNoStoreIsKept(t *testing.T) {
	m := mustNew[profile](t)
	for _, cc := range []string{"private", "private, max-age=60", "no-store", "no-cache, No-Store", "max-age=0, PRIVATE=\"Set-Cookie\""} {
		h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", cc)
			m.Get(r.Context()).Visits++
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if sessionCookie(rec.Result()) == "" {
			t.Fatalf("%q: no session cookie", cc)
		}
		if got := rec.Header().Values("Cache-Control"); len(got) != 1 || got[0] != cc {
			t.Errorf("handler's Cache-Control %q became %q, want it kept", cc, got)
		}
	}
	// Other directives do not keep a shared cache away.
	for _, cc := range []string{"public, max-age=60", "no-cache", "max-age=0, private-ish"} {
		h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", cc)
			m.Get(r.Context()).Visits++
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if got := rec.Header().Get("Cache-Control"); got != "no-store" {
			t.Errorf("handler's Cache-Control %q became %q, want no-store", cc, got)
		}
	}
}

// expirySpy records the expiry of every write and touch the manager makes.
type expirySpy struct {
	inner *memstore.Store
	mu    sync.Mutex
	ops   []expiryOp
}

type expiryOp struct {
	op  string
	exp time.Time
}

func newExpirySpy(t *testing.T) *expirySpy {
	inner, err := memstore.New(memstore.WithCleanupInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inner.Close() })
	return &expirySpy{inner: inner}
}

func (s *expirySpy) note(op string, exp time.Time) {
	s.mu.Lock()
	s.ops = append(s.ops, expiryOp{op, exp})
	s.mu.Unlock()
}

// take returns the operations since the last take.
func (s *expirySpy) take() []expiryOp {
	s.mu.Lock()
	defer s.mu.Unlock()
	ops := s.ops
	s.ops = nil
	return ops
}

func (s *expirySpy) Load(ctx context.Context, key string) ([]byte, bool, error) {
	return s.inner.Load(ctx, key)
}

func (s *expirySpy) Save(ctx context.Context, key string, data []byte, exp time.Time) error {
	s.note("save", exp)
	return s.inner.Save(ctx, key, data, exp)
}

func (s *expirySpy) Delete(ctx context.Context, key string) error {
	s.note("delete", time.Time{})
	return s.inner.Delete(ctx, key)
}

// versionedExpirySpy adds store.Versioned, whose LoadVersion touches.
type versionedExpirySpy struct{ *expirySpy }

func (s versionedExpirySpy) LoadVersion(ctx context.Context, key string, touch time.Time) (store.Loaded, error) {
	if !touch.IsZero() {
		s.note("touch", touch)
	}
	return s.inner.LoadVersion(ctx, key, touch)
}

func (s versionedExpirySpy) SaveIf(ctx context.Context, key string, data []byte, exp time.Time, v store.Version) (store.Version, error) {
	s.note("saveif", exp)
	return s.inner.SaveIf(ctx, key, data, exp, v)
}

// Item 5. Break: make Manager.expiry return now+idle even when that is
// after the deadline (or the deadline when now+idle is before it), or drop
// the slide after a touch past the deadline.
func TestStoreExpiryNeverPassesTheDeadline(t *testing.T) {
	const lifetime, idle, step = time.Hour, 10 * time.Minute, 5 * time.Minute
	for name, wrap := range map[string]func(*expirySpy) store.Store{
		"plain":     func(s *expirySpy) store.Store { return s },
		"versioned": func(s *expirySpy) store.Store { return versionedExpirySpy{s} },
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				spy := newExpirySpy(t)
				m := mustNew[profile](t, sessions.WithStore(wrap(spy)),
					sessions.WithLifetime(lifetime), sessions.WithIdleTimeout(idle))
				start := time.Now() // the fake clock stands still between Sleeps
				deadline := start.Add(lifetime)
				token := ""
				// A request every 5 minutes, a change every other one; the
				// last ones come when now+idle is past the deadline.
				for k := 0; k < int(lifetime/step); k++ {
					now := time.Now()
					want := now.Add(idle)
					if want.After(deadline) {
						want = deadline
					}
					change := k%2 == 0
					ctx, _ := m.Load(t.Context(), token)
					p := m.Get(ctx)
					if p.Visits != k/2+k%2 {
						t.Fatalf("at +%v: visits %d, want %d", now.Sub(start), p.Visits, k/2+k%2)
					}
					if change {
						p.Visits++
					}
					tok, exp, err := m.Commit(ctx)
					if err != nil {
						t.Fatal(err)
					}
					token = tok
					if !exp.Equal(want) {
						t.Errorf("at +%v: Commit returned expiry +%v, want +%v", now.Sub(start), exp.Sub(start), want.Sub(start))
					}
					ops := spy.take()
					n := 0
					for _, op := range ops {
						if op.op == "save" || op.op == "saveif" {
							n++
							if !op.exp.Equal(want) {
								t.Errorf("at +%v: %s with expiry +%v, want +%v", now.Sub(start), op.op, op.exp.Sub(start), want.Sub(start))
							}
						}
					}
					if len(ops) > 0 && ops[len(ops)-1].exp.After(deadline) {
						t.Errorf("at +%v: store calls %v end past the deadline", now.Sub(start), ops)
					}
					if change && n != 1 {
						t.Errorf("at +%v: %d writes for a change, want 1", now.Sub(start), n)
					}
					if name == "versioned" && !change && now.Add(idle).After(deadline) && n != 1 {
						t.Errorf("at +%v: read-only request touched past the deadline and wrote %d times, want 1 write back to it (calls %v)", now.Sub(start), n, ops)
					}
					time.Sleep(step)
				}
			})
		})
	}
}

// Item 6. Break: drop the one-minute cap of Manager.refreshWindow (a long
// idle timeout then lets a session lag by a tenth of it).
func TestIdleRefreshWindowIsCappedAtAMinute(t *testing.T) {
	for _, tc := range []struct {
		idle   time.Duration
		window time.Duration
	}{
		{time.Hour, time.Minute},              // idle/10 = 6 min: capped
		{24 * time.Hour, time.Minute},         // idle/10 = 2.4 h: capped
		{5 * time.Minute, 30 * time.Second},   // idle/10 below the cap
		{10 * time.Minute, time.Minute},       // exactly the cap
		{100 * time.Second, 10 * time.Second}, // small idle timeouts keep a tenth
	} {
		t.Run(tc.idle.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				spy := newBubbleSpy(t) // no load-and-touch, no conditional writes
				m := mustNew[profile](t, sessions.WithStore(spy), sessions.WithIdleTimeout(tc.idle),
					sessions.WithLifetime(1000*time.Hour)) // the deadline never caps the expiry here
				write := true
				c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
					p := m.Get(r.Context())
					if write {
						p.Name = "x"
					}
				})
				c.do()
				write = false
				spy.take()
				// At exactly the window the record is not rewritten yet.
				time.Sleep(tc.window)
				c.do()
				if got := spy.take(); !equal(got, []string{"load"}) {
					t.Errorf("read %v after the save: calls %v, want [load]", tc.window, got)
				}
				// Just past it, it is.
				time.Sleep(time.Nanosecond)
				c.do()
				if got := spy.take(); !equal(got, []string{"load", "save"}) {
					t.Errorf("read just past %v after the save: calls %v, want [load save]", tc.window, got)
				}
				// And the window starts again from the rewrite.
				time.Sleep(tc.window)
				c.do()
				if got := spy.take(); !equal(got, []string{"load"}) {
					t.Errorf("read %v after the rewrite: calls %v, want [load]", tc.window, got)
				}
			})
		})
	}
}

// Item 7. Break: commit with the request's own context instead of
// context.WithoutCancel (the store sees a cancelled context and the
// handler's changes are lost).
func TestSaveSurvivesTheClientHangingUp(t *testing.T) {
	for _, started := range []bool{false, true} {
		name := "before the response"
		if started {
			name = "after the response started"
		}
		t.Run(name, func(t *testing.T) {
			logs := &logRecorder{}
			var handled error
			m := mustNew[profile](t, sessions.WithLogger(slog.New(logs)),
				sessions.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
					handled = err
					w.WriteHeader(http.StatusInternalServerError)
				}))
			ctx, _ := m.Load(t.Context(), "")
			m.Get(ctx).Name = "ann"
			token, _, err := m.Commit(ctx)
			if err != nil {
				t.Fatal(err)
			}

			reqCtx, hangUp := context.WithCancel(context.Background())
			defer hangUp()
			req := httptest.NewRequestWithContext(reqCtx, "GET", "/", nil)
			req.Header.Set("Cookie", "session="+token)
			h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				p := m.Get(r.Context()) // loaded while the client is there
				if started {
					w.Write([]byte("partial"))
				}
				p.Visits = 7
				hangUp()
			}))
			h.ServeHTTP(httptest.NewRecorder(), req)
			if handled != nil {
				t.Errorf("error handler called: %v", handled)
			}
			if r, ok := logs.find(slog.LevelError, ""); ok {
				t.Errorf("error logged: %s", r.Message)
			}
			ctx, _ = m.Load(t.Context(), token)
			if p := m.Get(ctx); p.Visits != 7 || p.Name != "ann" {
				t.Errorf("after the client hung up: %+v, want the handler's change saved", *p)
			}
		})
	}
}

// Item 8. Break: call the underlying Hijack without starting the response
// (the session would only be saved when the handler returns, after the
// connection was handed over, or never if the handler runs for the life
// of the connection).
func TestHijackSavesFirst(t *testing.T) {
	spy := newVersionedSpy(t)
	m := mustNew[profile](t, sessions.WithStore(spy))
	var atHijack []string
	srv, _ := newServer(t, m, func(w http.ResponseWriter, r *http.Request) {
		m.Get(r.Context()).Visits++
		spy.take()
		conn, rw, err := http.NewResponseController(w).Hijack()
		atHijack = spy.take()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		rw.Flush()
	})
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if got := writes(atHijack); len(got) != 1 {
		t.Errorf("store calls when Hijack returned: %v, want the session saved by then", atHijack)
	}
}

// Item 9. Break: compare all but the last character of the cookie name in
// appendTokens.
func TestLookAlikeCookieNameIsIgnored(t *testing.T) {
	spy := newSpy(t)
	m := mustNew[profile](t, sessions.WithStore(spy), sessions.WithCookie(sessions.CookieName("sid")))
	ctx, _ := m.Load(t.Context(), "")
	m.Get(ctx).Name = "ann"
	token, _, err := m.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var seen profile
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = *m.Get(r.Context())
	}))
	for _, name := range []string{"siD", "sie", "si", "sidd", "xsid", "SID"} {
		spy.take()
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", name+"="+token)
		h.ServeHTTP(httptest.NewRecorder(), req)
		if seen.Name != "" {
			t.Errorf("cookie %s= was taken for the session cookie sid=", name)
		}
		if got := spy.take(); len(got) != 0 {
			t.Errorf("cookie %s=: store calls %v, want none", name, got)
		}
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Cookie", "sid="+token)
	h.ServeHTTP(httptest.NewRecorder(), req)
	if seen.Name != "ann" {
		t.Errorf("the real cookie no longer works: %+v", seen)
	}
}

// nested returns depth arrays, one inside the other, around a 1.
func nested(depth int) any {
	var v any = 1
	for range depth {
		v = []any{v}
	}
	return v
}

// nestedMaps returns depth maps, one inside the other, around a 1.
func nestedMaps(depth int) any {
	var v any = 1
	for range depth {
		v = map[string]any{"k": v}
	}
	return v
}

// Item 10. Break: move any of the CBOR limits (256 levels, 2^31-1
// elements, 2^31-1 pairs) by one, on either side: the encoder must refuse
// exactly what the decoder would not read.
func TestCBORLimitsAtTheirBoundaries(t *testing.T) {
	c := sessions.CBOR()
	roundTrips := func(what string, v any) {
		t.Helper()
		b, err := c.Marshal(v)
		if err != nil {
			t.Fatalf("%s: Marshal: %v", what, err)
		}
		var out any
		if err := c.Unmarshal(b, &out); err != nil {
			t.Errorf("%s: Unmarshal: %v", what, err)
		}
	}
	refused := func(what string, v any) {
		t.Helper()
		if _, err := c.Marshal(v); !errors.Is(err, sessions.ErrNotEncodable) {
			t.Errorf("%s: Marshal error %v, want ErrNotEncodable", what, err)
		}
	}
	decodes := func(what string, b []byte, want bool) {
		t.Helper()
		var out any
		if err := c.Unmarshal(b, &out); (err == nil) != want {
			t.Errorf("%s: Unmarshal error %v, want accepted = %v", what, err, want)
		}
	}
	// A level is an array or map; the 1 inside the innermost is not one.
	roundTrips("256 nested arrays", nested(256))
	refused("257 nested arrays", nested(257))
	roundTrips("256 nested maps", nestedMaps(256))
	refused("257 nested maps", nestedMaps(257))
	deep := func(head []byte, n int) []byte { return append(bytes.Repeat(head, n), 0x01) }
	decodes("256 nested arrays, hand-made", deep([]byte{0x81}, 256), true)
	decodes("257 nested arrays, hand-made", deep([]byte{0x81}, 257), false)
	decodes("256 nested maps, hand-made", deep([]byte{0xa1, 0x61, 'k'}, 256), true)
	decodes("257 nested maps, hand-made", deep([]byte{0xa1, 0x61, 'k'}, 257), false)

	// Element counts: the limit is the largest the decoder takes. A claim
	// of exactly 2^31-1 gets past the limit and fails at the end of the
	// data; one more is over it.
	lengthErr := func(what string, head []byte, limit bool) {
		t.Helper()
		var out any
		err := c.Unmarshal(append(head, 0x01), &out)
		var arr *cbor.MaxArrayElementsError
		var pairs *cbor.MaxMapPairsError
		if got := errors.As(err, &arr) || errors.As(err, &pairs); got != limit || err == nil {
			t.Errorf("%s: Unmarshal error %v, want a limit error = %v", what, err, limit)
		}
	}
	lengthErr("2^31-1 array elements", []byte{0x9a, 0x7f, 0xff, 0xff, 0xff}, false)
	lengthErr("2^31 array elements", []byte{0x9a, 0x80, 0, 0, 0}, true)
	lengthErr("2^31-1 map pairs", []byte{0xba, 0x7f, 0xff, 0xff, 0xff}, false)
	lengthErr("2^31 map pairs", []byte{0xba, 0x80, 0, 0, 0}, true)

	roundTrips("65537 array elements", make([]int, 65537))
	keys := func(n int) map[string]bool {
		m := make(map[string]bool, n)
		for i := range n {
			m[strconv.Itoa(i)] = true
		}
		return m
	}
	roundTrips("65537 map pairs", keys(65537))

	// The same for session data decoded into a typed value.
	type data struct {
		Items []int
		Set   map[int]bool
	}
	in := data{Items: make([]int, 65537), Set: make(map[int]bool, 65537)}
	for i := range 65537 {
		in.Set[i] = true
	}
	b, err := c.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out data
	if err := c.Unmarshal(b, &out); err != nil || len(out.Items) != 65537 || len(out.Set) != 65537 {
		t.Errorf("typed value with 65537 items and pairs: %d, %d, %v", len(out.Items), len(out.Set), err)
	}
}
