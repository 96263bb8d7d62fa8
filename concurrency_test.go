package sessions_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/store/memstore"
)

// serve runs h behind m's middleware on a real HTTP server and returns a
// function that sends one request with the given session cookie and
// returns the status and the new cookie value ("" for none, "-" when the
// cookie was expired).
func serve[T any](t *testing.T, m *sessions.Manager[T], h http.HandlerFunc) func(path, token string) (int, string) {
	srv := httptest.NewServer(m.Middleware(h))
	t.Cleanup(srv.Close)
	return func(path, token string) (int, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Cookie", "session="+token)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Error(err)
			return 0, ""
		}
		res.Body.Close()
		return res.StatusCode, cookieOf(res)
	}
}

func TestUpdateLosesNoIncrement(t *testing.T) {
	m := mustNew[profile](t)
	do := serve(t, m, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/new" {
			m.Get(r.Context()).Name = "counter"
			return
		}
		if err := m.Update(r.Context(), func(p *profile) error { p.Visits++; return nil }); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
		}
	})
	_, token := do("/new", "")
	const n, rounds = 50, 3
	for round := 1; round <= rounds; round++ {
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				if code, _ := do("/inc", token); code != http.StatusOK {
					t.Errorf("Update request: status %d", code)
				}
			})
		}
		wg.Wait()
		ctx, _ := m.Load(t.Context(), token)
		if v := m.Get(ctx).Visits; v != n*round {
			t.Fatalf("round %d: %d increments stored, want %d", round, v, n*round)
		}
	}
}

func TestParallelFieldChangesMerge(t *testing.T) {
	m := mustNew[map[string]any](t)
	do := serve(t, m, func(w http.ResponseWriter, r *http.Request) {
		d := m.Get(r.Context())
		time.Sleep(10 * time.Millisecond) // all load before any saves
		if f := r.URL.Query().Get("f"); f != "" {
			(*d)[f] = f
		} else {
			(*d)["base"] = "x"
		}
	})
	_, token := do("/", "")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if code, _ := do("/?f=field"+strconv.Itoa(i), token); code != http.StatusOK {
				t.Errorf("status %d", code)
			}
		})
	}
	wg.Wait()
	ctx, _ := m.Load(t.Context(), token)
	d := *m.Get(ctx)
	for i := range 8 {
		if f := "field" + strconv.Itoa(i); d[f] != f {
			t.Errorf("%s lost: %v", f, d)
		}
	}
	if d["base"] != "x" {
		t.Errorf("base lost: %v", d)
	}
}

func TestStructFieldMergeKeepsOtherWritersFields(t *testing.T) {
	type prefs struct {
		A, B string
		N    int
	}
	m := mustNew[prefs](t)
	ctx1, _ := m.Load(t.Context(), "")
	m.Get(ctx1).N = 1
	token, _, err := m.Commit(ctx1)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := m.Load(t.Context(), token)
	b, _ := m.Load(t.Context(), token)
	m.Get(a).A = "from a"
	m.Get(b).B = "from b"
	m.Get(b).N = 2
	if _, _, err := m.Commit(a); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Commit(b); err != nil {
		t.Fatal(err)
	}
	c, _ := m.Load(t.Context(), token)
	if got := *m.Get(c); got != (prefs{A: "from a", B: "from b", N: 2}) {
		t.Errorf("merged %+v", got)
	}
	// Both change one field: the later writer's value wins.
	m.Get(a).N = 10
	m.Get(b).N = 20
	m.Commit(a)
	m.Commit(b)
	c, _ = m.Load(t.Context(), token)
	if got := m.Get(c).N; got != 20 {
		t.Errorf("same field: %d, want the later writer's 20", got)
	}
}

// A slow request that loaded the session before a logout (Destroy) or a
// login (Renew) in another request must not bring the old token back; a
// change it made follows the Renew.
func TestEndedSessionStaysDeadUnderARacingModify(t *testing.T) {
	for _, end := range []string{"destroy", "renew"} {
		t.Run(end, func(t *testing.T) {
			m := mustNew[profile](t, sessions.WithLogger(slog.New(slog.DiscardHandler)))
			loaded := make(chan struct{})
			releases := make(chan chan struct{}, 1)
			do := serve(t, m, func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/new":
					m.Get(r.Context()).Name = "me"
				case "/slow":
					p := m.Get(r.Context())
					release := <-releases
					loaded <- struct{}{}
					<-release
					p.Visits++
				case "/destroy":
					m.Destroy(r.Context())
				case "/renew":
					m.Renew(r.Context())
				case "/read":
					fmt.Fprint(w, m.Get(r.Context()).Name)
				}
			})
			for trial := range 30 {
				_, token := do("/new", "")
				release := make(chan struct{})
				releases <- release
				done := make(chan struct{})
				go func() {
					defer close(done)
					do("/slow", token)
				}()
				<-loaded
				_, renewed := do("/"+end, token)
				close(release)
				<-done
				_, got := do("/read", token)
				if ctx, _ := m.Load(t.Context(), token); sessionID(t, m, ctx) != "" {
					t.Fatalf("trial %d: old token after %s and a racing modify names a session: %+v", trial, end, *m.Get(ctx))
				}
				if end == "destroy" {
					if got != "-" {
						t.Fatalf("trial %d: old token after destroy and a racing modify: cookie %q, want it expired", trial, got)
					}
					continue
				}
				// Renewed away: the racing response carried the new token,
				// which a request with the old one must not clobber; the
				// modify landed in the renewed session (LIFECYCLE.md).
				if got != "" {
					t.Fatalf("trial %d: old token after renew: cookie %q, want it left alone", trial, got)
				}
				ctx, _ := m.Load(t.Context(), renewed)
				if p := m.Get(ctx); sessionID(t, m, ctx) == "" || p.Name != "me" || p.Visits != 1 {
					t.Fatalf("trial %d: renewed session after a racing modify: live %v, %+v; want me with 1 visit", trial, sessionID(t, m, ctx) != "", *p)
				}
			}
		})
	}
}

// losingStore is a memory store whose conditional writes all lose while
// lose is set, as if another writer always got in first.
type losingStore struct {
	*memstore.Store
	lose     atomic.Bool
	attempts atomic.Int32
}

func (s *losingStore) SaveIf(ctx context.Context, key string, data []byte, exp time.Time, v store.Version) (store.Version, error) {
	if !s.lose.Load() {
		return s.Store.SaveIf(ctx, key, data, exp, v)
	}
	if s.attempts.Add(1) > 100 {
		return 0, errors.New("losingStore: still retrying after 100 attempts")
	}
	return 0, store.ErrConflict
}

// A save or an Update that keeps losing the race gives up after eight
// attempts with ErrSessionChanged, rather than retrying forever or failing at
// the first loss.
func TestWritesGiveUpAfterEightLostRaces(t *testing.T) {
	inner, err := memstore.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inner.Close() })
	st := &losingStore{Store: inner}
	m := mustNew[profile](t, sessions.WithStore(st), sessions.WithLogger(discard()))
	token := savedSession(t, m, "ann")
	st.lose.Store(true)

	ctx, err := m.Load(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	m.Get(ctx).Visits++
	if _, _, err := m.Commit(ctx); !errors.Is(err, sessions.ErrSessionChanged) || st.attempts.Load() != 8 {
		t.Errorf("Commit: %v after %d attempts, want ErrSessionChanged after 8", err, st.attempts.Load())
	}

	st.attempts.Store(0)
	runs := 0
	if ctx, err = m.Load(t.Context(), token); err != nil {
		t.Fatal(err)
	}
	err = m.Update(ctx, func(p *profile) error { runs++; p.Visits++; return nil })
	if !errors.Is(err, sessions.ErrSessionChanged) || st.attempts.Load() != 8 || runs != 8 {
		t.Errorf("Update: %v after %d attempts and %d runs, want ErrSessionChanged after 8 of each", err, st.attempts.Load(), runs)
	}

	// The owner index too.
	st.attempts.Store(0)
	if err := m.SetOwner(ctx, "ann"); !errors.Is(err, sessions.ErrSessionChanged) || st.attempts.Load() != 8 {
		t.Errorf("SetOwner: %v after %d attempts, want ErrSessionChanged after 8", err, st.attempts.Load())
	}
}

// stallingStore is a memory store whose SaveIf runs stall first (while
// stall is set it sleeps that long, ignoring ctx, like a server that
// stopped answering and a driver without deadlines), and which records
// how many SaveIf calls ever ran at once.
type stallingStore struct {
	*memstore.Store
	stall             atomic.Int64 // nanoseconds; taken by the next SaveIf
	stallEach         atomic.Int64 // nanoseconds every SaveIf sleeps
	running, maxAtOnc atomic.Int32
}

func (s *stallingStore) SaveIf(ctx context.Context, key string, data []byte, exp time.Time, v store.Version) (store.Version, error) {
	n := s.running.Add(1)
	defer s.running.Add(-1)
	for {
		m := s.maxAtOnc.Load()
		if n <= m || s.maxAtOnc.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(time.Duration(s.stall.Swap(0) + s.stallEach.Load()))
	return s.Store.SaveIf(ctx, key, data, exp, v)
}

// stallingManager returns a manager on a stallingStore holding one
// session, and that session's token.
func stallingManager(t *testing.T, timeout time.Duration) (*sessions.Manager[profile], *stallingStore, string) {
	inner, err := memstore.New(memstore.WithCleanupInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inner.Close() })
	st := &stallingStore{Store: inner}
	m := mustNew[profile](t, sessions.WithStore(st), sessions.WithStoreTimeout(timeout), sessions.WithLogger(discard()))
	token := savedSession(t, m, "ann")
	return m, st, token
}

// updateAfter runs an Update of token's session after delay and reports
// how long it took.
func updateAfter(t *testing.T, m *sessions.Manager[profile], token string, delay time.Duration) <-chan time.Duration {
	took := make(chan time.Duration, 1)
	go func() {
		time.Sleep(delay)
		start := time.Now()
		ctx, err := m.Load(t.Context(), token)
		if err == nil {
			m.Update(ctx, func(p *profile) error { p.Visits++; return nil })
		}
		took <- time.Since(start)
	}()
	return took
}

// Writes of different sessions do not take turns: sixteen sessions written
// at once all reach the store together, but for the rare two whose keys
// share one of the manager's lock stripes (more than four such collisions
// among sixteen keys and 1,024 stripes: about one run in a million).
func TestWritesOfDifferentSessionsRunAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, st, _ := stallingManager(t, 3*time.Second)
		tokens := make([]string, 16)
		for i := range tokens {
			tokens[i] = savedSession(t, m, fmt.Sprint("user", i))
		}
		st.maxAtOnc.Store(0)
		st.stallEach.Store(int64(time.Second))
		var writes []<-chan time.Duration
		for _, token := range tokens {
			writes = append(writes, updateAfter(t, m, token, 0))
		}
		for _, took := range writes {
			<-took
		}
		if n := st.maxAtOnc.Load(); n < 12 {
			t.Errorf("writes of 16 sessions: at most %d ran at once, want at least 12", n)
		}
	})
}

// Within one process, writes of one session take turns: a second Update
// waits for the first one's slow write instead of writing beside it, also
// with no store timeout.
func TestWritesOfOneSessionTakeTurns(t *testing.T) {
	for _, timeout := range []time.Duration{0, 3 * time.Second} {
		synctest.Test(t, func(t *testing.T) {
			m, st, token := stallingManager(t, timeout)
			st.maxAtOnc.Store(0)
			st.stall.Store(int64(time.Second))
			first := updateAfter(t, m, token, 0)
			second := updateAfter(t, m, token, 10*time.Millisecond)
			<-first
			<-second
			if n := st.maxAtOnc.Load(); n != 1 {
				t.Errorf("store timeout %v: %d writes of one session ran at once, want 1", timeout, n)
			}
		})
	}
}

// A write stuck on a store that ignores its deadline holds the session's
// lock; the next write gives up waiting for it after the store timeout,
// not after the default one.
func TestStuckWriteHoldsTheLockForOneStoreTimeout(t *testing.T) {
	const timeout = 100 * time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		m, st, token := stallingManager(t, timeout)
		st.stall.Store(int64(10 * time.Second))
		stuck := updateAfter(t, m, token, 0)
		next := updateAfter(t, m, token, 10*time.Millisecond)
		if took := <-next; took > 3*timeout {
			t.Errorf("the write behind a stuck one took %v, want about %v (the lock wait, then its own write)", took, timeout)
		}
		<-stuck
	})
}

// A read whose idle refresh loses to a concurrent write is answered as
// usual: the write moved the expiry already.
func TestIdleRefreshLosingToAWriteIsNoError(t *testing.T) {
	// An idle timeout longer than the lifetime: every read rewrites the
	// record to cap its expiry at the deadline.
	m := mustNew[profile](t, sessions.WithLifetime(time.Hour), sessions.WithIdleTimeout(2*time.Hour),
		sessions.WithLogger(discard()))
	loaded, release := make(chan struct{}), make(chan struct{})
	do := serve(t, m, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/new":
			m.Get(r.Context()).Name = "me"
		case "/slowread":
			m.Get(r.Context())
			loaded <- struct{}{}
			<-release
			fmt.Fprint(w, "read")
		case "/visit":
			m.Get(r.Context()).Visits++
		}
	})
	_, token := do("/new", "")
	codes := make(chan int)
	go func() { code, _ := do("/slowread", token); codes <- code }()
	<-loaded
	if code, _ := do("/visit", token); code != http.StatusOK {
		t.Fatalf("visit: %d", code)
	}
	close(release)
	if code := <-codes; code != http.StatusOK {
		t.Errorf("the read whose refresh lost to a write answered %d, want 200", code)
	}
	ctx, _ := m.Load(t.Context(), token)
	if p := m.Get(ctx); p.Visits != 1 {
		t.Errorf("after the race the session has %d visits, want the write's 1", p.Visits)
	}
}

// The idle refresh of a read is one write, also when the handler writes a
// body (the commit then runs before the response and after it).
func TestIdleRefreshWritesOnce(t *testing.T) {
	spy := newVersionedSpy(t)
	m := mustNew[profile](t, sessions.WithStore(spy), sessions.WithLifetime(time.Hour),
		sessions.WithIdleTimeout(2*time.Hour), sessions.WithLogger(discard()))
	do := serve(t, m, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/new" {
			m.Get(r.Context()).Name = "me"
			return
		}
		fmt.Fprint(w, m.Get(r.Context()).Name)
	})
	_, token := do("/new", "")
	spy.take()
	if code, _ := do("/read", token); code != http.StatusOK {
		t.Fatalf("read: %d", code)
	}
	if got := spy.take(); !equal(got, []string{"loadversion", "saveif"}) {
		t.Errorf("a read with an idle refresh: store calls %v, want one load and one write", got)
	}
}
