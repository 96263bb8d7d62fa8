package e2etest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/store"
)

// races runs the scenarios of many requests on one session at once: no
// Update is lost, parallel changes of different fields all land, and a
// session ended by Destroy or Renew stays dead under a racing modify. It
// logs one line with the numbers.
func races(t *testing.T, newStore func(t *testing.T) store.Store) {
	var line []string
	t.Run("update", func(t *testing.T) { line = append(line, raceUpdate(t, newStore(t))) })
	t.Run("fields", func(t *testing.T) { line = append(line, raceFields(t, newStore(t))) })
	for _, end := range []string{"destroy", "renew"} {
		t.Run(end, func(t *testing.T) { line = append(line, raceEnd(t, newStore(t), end)) })
	}
	t.Logf("races: %s", strings.Join(line, "; "))
}

// raceUpdate sends rounds of parallel Update requests (count++) on one
// session and counts the increments that did not land and the requests
// that were not answered 2xx. Inside one process Updates of one session
// queue, so none may end in ErrSessionChanged.
func raceUpdate(t *testing.T, st store.Store) string {
	const n, rounds = 50, 3
	m := newManager[data](t, st)
	a := serve(t, m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		switch r.URL.Path {
		case "/new":
			m.Get(ctx).Name = "counter"
		case "/inc":
			if err := m.Update(ctx, func(d *data) error { d.Count++; return nil }); err != nil {
				http.Error(w, "Update: "+err.Error(), http.StatusConflict)
				return
			}
		}
		fmt.Fprint(w, m.Get(ctx).Count)
	})))
	token := a.newSession("/new")
	var ok atomic.Int64
	var failure onceString
	for range rounds {
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				r := a.get("/inc", token)
				if r.ok() {
					ok.Add(1)
				} else {
					failure.set(r.String())
				}
			})
		}
		wg.Wait()
	}
	r := a.get("/", token)
	stored, err := strconv.Atoi(r.body)
	if !r.ok() || err != nil {
		t.Fatalf("reading the counter: %v", r)
	}
	total := n * rounds
	lost := total - stored
	if lost != 0 {
		t.Errorf("%d parallel Updates in %d rounds: %d stored, %d lost", total, rounds, stored, lost)
	}
	if int(ok.Load()) != total {
		t.Errorf("%d of %d Update requests answered 2xx; first failure: %s", ok.Load(), total, failure.get())
	}
	return fmt.Sprintf("update lost %d/%d, 2xx %d/%d", lost, total, ok.Load(), total)
}

// raceFields sends rounds of parallel requests on one map session, each
// setting a key of its own; every handler holds its loaded value until all
// have loaded, so every save but the first meets a newer version and must
// merge. No key may be lost, nor the one set before.
func raceFields(t *testing.T, st store.Store) string {
	const n, rounds = 8, 3
	m := newManager[map[string]string](t, st)
	var (
		mu      sync.Mutex
		arrived int
		all     = make(chan struct{})
	)
	a := serve(t, m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		d := m.Get(ctx)
		switch k := r.URL.Query().Get("k"); {
		case r.URL.Path == "/new":
			(*d)["base"] = "x"
		case k != "":
			mu.Lock()
			arrived++
			ready := all
			if arrived == n {
				close(all)
				arrived, all = 0, make(chan struct{})
			}
			mu.Unlock()
			select { // hold the loaded value until every request has loaded
			case <-ready:
			case <-time.After(5 * time.Second):
				t.Errorf("field %s: the other requests did not arrive", k)
			}
			(*d)[k] = k
		}
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range *d {
				if !yield(k) {
					return
				}
			}
		})
		fmt.Fprint(w, strings.Join(keys, ","))
	})))
	token := a.newSession("/new")
	var ok atomic.Int64
	var failure onceString
	lost := 0
	for round := range rounds {
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				r := a.get(fmt.Sprintf("/?k=r%df%d", round, i), token)
				if r.ok() {
					ok.Add(1)
				} else {
					failure.set(r.String())
				}
			})
		}
		wg.Wait()
		r := a.get("/", token)
		have := strings.Split(r.body, ",")
		for i := range n {
			if k := fmt.Sprintf("r%df%d", round, i); !slices.Contains(have, k) {
				lost++
				t.Errorf("round %d: key %s lost; stored keys: %s", round, k, r.body)
			}
		}
		if !slices.Contains(have, "base") {
			t.Errorf("round %d: the key set before the race was lost; stored keys: %s", round, r.body)
		}
	}
	total := n * rounds
	if int(ok.Load()) != total {
		t.Errorf("%d of %d field requests answered 2xx; first failure: %s", ok.Load(), total, failure.get())
	}
	return fmt.Sprintf("fields lost %d/%d, 2xx %d/%d", lost, total, ok.Load(), total)
}

// raceEnd ends a session (Destroy or Renew) while a slow request that
// loaded it with the old token is still to change it, and checks the old
// token is dead afterwards (and, after a Renew, that the change landed in
// the renewed session). In even trials the slow request changes the
// value after the ending request has finished; in odd ones it waits 20 ms,
// mostly while the ending request is in flight.
func raceEnd(t *testing.T, st store.Store, end string) string {
	const trials = 30
	m := newManager[data](t, st)
	loaded := make(chan struct{})
	releases := make(chan chan struct{}, 1)
	a := serve(t, m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var err error
		switch r.URL.Path {
		case "/new":
			m.Get(ctx).Name = "me"
		case "/slow":
			d := m.Get(ctx)
			release := <-releases
			loaded <- struct{}{}
			select {
			case <-release:
			case <-time.After(10 * time.Second):
				t.Error("slow request: never released")
			}
			d.Count++
		case "/destroy":
			err = m.Destroy(ctx)
		case "/renew":
			err = m.Renew(ctx)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if r.URL.Path == "/count" {
			fmt.Fprintf(w, "%s|%d", m.Get(ctx).Name, m.Get(ctx).Count)
			return
		}
		fmt.Fprint(w, m.Get(ctx).Name)
	})))
	alive := 0
	for trial := range trials {
		token := a.newSession("/new")
		release := make(chan struct{})
		releases <- release
		slow := make(chan reply, 1)
		go func() { slow <- a.get("/slow", token) }()
		select {
		case <-loaded:
		case <-time.After(10 * time.Second):
			t.Fatalf("trial %d: the slow request did not load the session", trial)
		}
		var ended reply
		if trial%2 == 0 {
			ended = a.get("/"+end, token)
			close(release)
		} else {
			time.AfterFunc(20*time.Millisecond, func() { close(release) })
			ended = a.get("/"+end, token)
		}
		if r := <-slow; !r.ok() {
			t.Errorf("trial %d: the slow modify: %v", trial, r)
		}
		if !ended.ok() {
			t.Fatalf("trial %d: %s: %v", trial, end, ended)
		}
		if end == "renew" {
			// The racing modify follows the Renew (LIFECYCLE.md).
			if r := a.get("/count", ended.cookie); r.body != "me|1" || ended.cookie == "" || ended.cookie == "-" {
				t.Errorf("trial %d: the renewed token (%q) reads %v, want the data kept with the racing change", trial, ended.cookie, r)
			}
		}
		// A destroyed token's cookie is expired; a renewed-away one is
		// left alone (the racing response carried the new token).
		wantCookie := map[string]string{"destroy": "-", "renew": ""}[end]
		if r := a.get("/", token); r.cookie != wantCookie || r.body != "" {
			alive++
			t.Errorf("trial %d: old token after %s and a racing modify: %v, want cookie %q and an empty session", trial, end, r, wantCookie)
		}
	}
	return fmt.Sprintf("%s race alive %d/%d", end, alive, trials)
}

// keyPrefixes holds the key prefix of the managers the race and owner
// scenarios build on each store: one per store, random, so that scenarios
// sharing a server keep apart (an owner's index is under a fixed key), and
// known, so that tests can find the keys the manager uses.
var keyPrefixes sync.Map // store.Store -> string

// keyPrefix returns the key prefix of the managers on st.
func keyPrefix(st store.Store) string {
	p, _ := keyPrefixes.LoadOrStore(st, fmt.Sprintf("e2e:%016x:", rand.Uint64()))
	return p.(string)
}

// newManager returns a Manager on st, closed when t ends, whose error
// responses carry the error and whose error-level logs fail t. Warnings
// (a change dropped because another request ended the session) are
// expected under races and discarded.
func newManager[T any](t *testing.T, st store.Store, opts ...sessions.Option) *sessions.Manager[T] {
	m, err := sessions.New[T](append([]sessions.Option{
		sessions.WithStore(st),
		sessions.WithKeyPrefix(keyPrefix(st)),
		sessions.WithLifetime(time.Hour),
		sessions.WithIdleTimeout(30 * time.Minute),
		sessions.WithLogger(slog.New(failOnError{t})),
		sessions.WithErrorHandler(func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// failOnError is a slog.Handler that fails the test on error records.
type failOnError struct{ t *testing.T }

func (h failOnError) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelError }

func (h failOnError) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.t.Errorf("the manager logged an error: %s%s", r.Message, b.String())
	return nil
}

func (h failOnError) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h failOnError) WithGroup(string) slog.Handler      { return h }

// app is a real HTTP server and a client that passes session tokens by
// hand, so that parallel requests and replays of old tokens are easy.
type app struct {
	t      *testing.T
	url    string
	client *http.Client
}

// serve runs h on a real HTTP server until t ends.
func serve(t *testing.T, h http.Handler) *app {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c := srv.Client()
	c.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	return &app{t: t, url: srv.URL, client: c}
}

// A reply is an answer of the app.
type reply struct {
	code int
	body string
	// cookie is the session cookie the response set: a token, "-" when
	// it expired the cookie, "" when it sent none.
	cookie string
}

func (r reply) ok() bool { return r.code >= 200 && r.code < 300 }

func (r reply) String() string {
	return fmt.Sprintf("status %d, body %q, cookie %q", r.code, strings.TrimSpace(r.body), r.cookie)
}

// get requests path with the session token (none if empty). It is safe
// to call from several goroutines; a transport error fails the test.
func (a *app) get(path, token string) reply {
	req, err := http.NewRequest(http.MethodGet, a.url+path, nil)
	if err != nil {
		a.t.Error(err)
		return reply{}
	}
	if token != "" {
		req.Header.Set("Cookie", "session="+token)
	}
	res, err := a.client.Do(req)
	if err != nil {
		a.t.Errorf("GET %s: %v", path, err)
		return reply{}
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	r := reply{code: res.StatusCode, body: string(body)}
	for _, c := range res.Cookies() {
		if c.Name == "session" {
			r.cookie = c.Value
			if c.MaxAge < 0 {
				r.cookie = "-"
			}
		}
	}
	return r
}

// newSession requests path without a token and returns the token of the
// session it created.
func (a *app) newSession(path string) string {
	a.t.Helper()
	r := a.get(path, "")
	if !r.ok() || r.cookie == "" || r.cookie == "-" {
		a.t.Fatalf("GET %s created no session: %v", path, r)
	}
	return r.cookie
}

// onceString keeps the first string it is given, for reporting the first
// of many failures.
type onceString struct {
	mu sync.Mutex
	s  string
}

func (o *onceString) set(s string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.s == "" {
		o.s = s
	}
}

func (o *onceString) get() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.s
}
