package bench

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// userData is the session data every library holds: a user id, a name, a
// small cart and the counter that the modify scenario increments. scs and
// gorilla keep the same four values in their maps under the keys below.
type userData struct {
	UserID int
	Name   string
	Cart   []string
	Visits int
}

const (
	keyUserID = "userID"
	keyName   = "name"
	keyCart   = "cart"
	keyVisits = "visits"
)

// seed is what the new scenario writes and what the other scenarios find.
// The cart slice is shared (nobody changes it) so that no library is
// charged for building it.
var seed = userData{UserID: 42, Name: "Ada Lovelace", Cart: []string{"apple", "bread", "coffee"}, Visits: 1}

// body is what every handler writes after its session work.
var body = []byte("ok")

// cookieName is the session cookie of every library (the default of
// sessions and scs; gorilla takes it as an argument).
const cookieName = "session"

// idleTimeout is the idle timeout of the idle-readonly scenario.
const idleTimeout = time.Hour

// parallelClients is how many goroutines (concurrent clients, each with
// its own session) the -parallel scenarios run, whatever GOMAXPROCS is.
const parallelClients = 64

// A kind is the handler work of a scenario.
type kind int

const (
	kindNew      kind = iota // no cookie: the handler writes the seed data, creating a session
	kindReadonly             // an existing session: the handler reads the user id
	kindModify               // an existing session: the handler increments Visits
)

// A scenario is one column of the comparison.
type scenario struct {
	name     string
	kind     kind
	idle     bool // configure the idle timeout (only libraries that have one)
	parallel bool // parallelClients goroutines under b.RunParallel
}

var scenarios = func() []scenario {
	base := []scenario{
		{name: "new", kind: kindNew},
		{name: "readonly", kind: kindReadonly},
		{name: "modify", kind: kindModify},
		{name: "idle-readonly", kind: kindReadonly, idle: true},
	}
	all := base
	for _, s := range base {
		s.name += "-parallel"
		s.parallel = true
		all = append(all, s)
	}
	return all
}()

// A target is one library set up on one store.
type target struct {
	// handler returns the handler for the work of k wrapped the way the
	// library is meant to be used (sessions and scs: their middleware;
	// gorilla: store.Get and Save inside the handler). On a wrong value
	// read the handler answers 500, which fails the benchmark.
	handler func(k kind) http.Handler
	// dump returns a handler that copies the whole session into *out.
	dump func(out *userData) http.Handler
	// clientSide: the data travels in the cookie (gorilla's CookieStore),
	// so a client that never updates its cookie keeps presenting old data.
	clientSide bool
}

// discardWriter is the cheapest http.ResponseWriter (the idea of the root
// module's bench_test.go), so the benchmarks measure the libraries rather
// than a recorder. It counts error statuses so that a benchmark whose
// requests fail is reported as failed instead of measuring errors.
type discardWriter struct {
	h   http.Header
	bad int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(code int) {
	if code >= 400 {
		w.bad++
	}
}

// A client sends the benchmark's requests, one goroutine each.
//
// Request and writer: each client builds its *http.Request once (with
// httptest.NewRequest, plus its session cookie) and its discardWriter once,
// outside the timed loop. Before every request it restores the request
// struct from that pristine copy (a plain struct assignment into a field
// of the client: no allocation) and clears the writer's header map. The
// restore matters for gorilla, whose GetRegistry replaces *r in place
// with a copy carrying its registry: without it the second request would
// find the first request's registry and skip decoding entirely. sessions
// and scs do not mutate the request (they call r.WithContext), but they
// get exactly the same treatment. So allocations and time per op are the
// library's own: no request construction, no recorder.
type client struct {
	base   http.Request // built once; never handed to a library
	req    http.Request // what the library gets, reset from base every time
	w      discardWriter
	cookie *http.Cookie
	n      int // requests sent
}

func newClient(cookie *http.Cookie) *client {
	c := &client{base: *httptest.NewRequest("GET", "/", nil), w: discardWriter{h: http.Header{}}, cookie: cookie}
	if cookie != nil {
		c.base.AddCookie(cookie)
	}
	return c
}

func (c *client) do(h http.Handler) {
	c.req = c.base
	clear(c.w.h)
	h.ServeHTTP(&c.w, &c.req)
	c.n++
}

// run benchmarks one library on one store in one scenario.
func run(b *testing.B, t *target, sc scenario) {
	h := t.handler(sc.kind)
	verify(b, t, sc.kind)

	clients := []*client{nil}
	if sc.parallel {
		procs := runtime.GOMAXPROCS(0)
		p := (parallelClients + procs - 1) / procs
		b.SetParallelism(p)
		clients = make([]*client, p*procs) // RunParallel starts exactly p*GOMAXPROCS goroutines
	}
	for i := range clients {
		var cookie *http.Cookie
		if sc.kind != kindNew {
			cookie = create(b, t) // each client its own session
		}
		clients[i] = newClient(cookie)
	}

	b.ReportAllocs()
	if !sc.parallel {
		c := clients[0]
		for b.Loop() {
			c.do(h)
		}
	} else {
		var next atomic.Int64
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			c := clients[next.Add(1)-1]
			for pb.Next() {
				c.do(h)
			}
		})
		b.StopTimer()
	}

	// The requests must have succeeded and, for existing sessions, left
	// exactly the expected data behind.
	for _, c := range clients {
		if c.w.bad > 0 {
			b.Fatalf("%d of %d requests answered with an error status", c.w.bad, c.n)
		}
		if c.cookie == nil || t.clientSide {
			continue
		}
		want := seed
		if sc.kind == kindModify {
			want.Visits += c.n
		}
		if got := read(b, t, c.cookie); !reflect.DeepEqual(got, want) {
			b.Fatalf("after %d requests the session holds %+v, want %+v", c.n, got, want)
		}
	}
}

// verify checks, before measuring, that the library does the scenario's
// work: a new session holds the seed data, a read-only request sees it and
// changes nothing, a modify request increments Visits.
func verify(b *testing.B, t *target, k kind) {
	b.Helper()
	cookie := create(b, t)
	if got := read(b, t, cookie); !reflect.DeepEqual(got, seed) {
		b.Fatalf("a new session holds %+v, want %+v", got, seed)
	}
	if k == kindNew {
		return
	}
	rec := serve(t.handler(k), cookie)
	if rec.Code != http.StatusOK {
		b.Fatalf("scenario request: status %d: %s", rec.Code, rec.Body)
	}
	if c := sessionCookie(rec); c != nil && t.clientSide {
		cookie = c
	}
	want := seed
	if k == kindModify {
		want.Visits++
	}
	if got := read(b, t, cookie); !reflect.DeepEqual(got, want) {
		b.Fatalf("after the scenario request the session holds %+v, want %+v", got, want)
	}
}

// create makes a session with the seed data through the library's new
// handler and returns its cookie.
func create(b *testing.B, t *target) *http.Cookie {
	b.Helper()
	rec := serve(t.handler(kindNew), nil)
	c := sessionCookie(rec)
	if rec.Code != http.StatusOK || c == nil {
		b.Fatalf("creating a session: status %d, cookie %v: %s", rec.Code, c, rec.Body)
	}
	return c
}

// read returns the data of the session that cookie names, read through the
// library.
func read(b *testing.B, t *target, cookie *http.Cookie) userData {
	b.Helper()
	var out userData
	if rec := serve(t.dump(&out), cookie); rec.Code != http.StatusOK {
		b.Fatalf("reading a session: status %d: %s", rec.Code, rec.Body)
	}
	return out
}

func serve(h http.Handler, cookie *http.Cookie) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "/", nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// sessionCookie returns the live session cookie a response sets, or nil.
func sessionCookie(rec *httptest.ResponseRecorder) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == cookieName && c.Value != "" && c.MaxAge >= 0 {
			return c
		}
	}
	return nil
}
