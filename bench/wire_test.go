package bench

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	scsmem "github.com/alexedwards/scs/v2/memstore"
	"github.com/redis/rueidis"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/internal/backendtests/testbackend"
	"github.com/sessionkit/sessions/store/fsstore"
	"github.com/sessionkit/sessions/store/redisstore"
)

// wireRounds is how many times BenchmarkWire measures every case. The
// rounds are interleaved (round 1 of every case, then round 2, ...), and
// within a round the libraries of a case run back to back, so a change in
// the machine's load hits a library and its baseline alike.
var wireRounds = flag.Int("wire.rounds", 1, "BenchmarkWire: interleaved rounds of every case")

// BenchmarkWire measures how close a request through this library comes
// to a handler that does the same store work without it ("close to the
// wire"). Unlike BenchmarkSessions, every iteration builds what a server
// builds for a request: a fresh httptest request carrying the session
// cookie and a fresh httptest.ResponseRecorder. The names are
//
//	BenchmarkWire/<store>/<scenario>/<lib>
//
// repeated -wire.rounds times (go test numbers repeats #01, #02, ...);
// cmd/wiretable runs it and prints the medians and the per-round ratios.
// See README.md for the cases and their baselines.
func BenchmarkWire(b *testing.B) {
	w := &wire{top: b}
	for range max(*wireRounds, 1) {
		for _, c := range wireCases {
			b.Run(c.name, func(b *testing.B) {
				for _, l := range c.libs {
					b.Run(l.name, func(b *testing.B) { w.run(b, c, l) })
				}
			})
		}
	}
}

// A wireCase is one comparison: the libraries of one store and scenario.
type wireCase struct {
	name     string // <store>/<scenario>
	parallel bool   // parallelClients goroutines, each its own client
	live     bool   // requests with cancellable contexts (see wireClient.live)
	libs     []wireLib
}

// A wireLib is one library (or baseline) in a case. open is called once
// per test process; it returns a function that makes one client.
type wireLib struct {
	name string
	open func(w *wire, b *testing.B) func(b *testing.B) *wireClient
}

// A wireClient sends one client's requests: a handler (for a baseline,
// one that knows its client's key) and the cookie it presents.
type wireClient struct {
	h      http.Handler
	cookie *http.Cookie
	n      int // requests sent, over all rounds
	bad    int // responses with an error status
	// check, if set, verifies the client's session after a run, given
	// the requests sent so far.
	check func(b *testing.B, n int)
	// live gives every request a context that can be cancelled, as
	// net/http gives a request (httptest's is context.Background).
	live bool
}

func (c *wireClient) do() {
	ctx := context.Background()
	if c.live {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
	}
	req := httptest.NewRequestWithContext(ctx, "GET", "/", nil)
	if c.cookie != nil {
		req.AddCookie(c.cookie)
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		c.bad++
	}
	c.n++
}

// wire keeps what BenchmarkWire sets up once per process: the stores, the
// sessions and the clients, reused by every round.
type wire struct {
	top     *testing.B // cleanups run when BenchmarkWire ends
	mu      sync.Mutex
	clients map[string][]*wireClient
	redis   rueidis.Client
	addr    string
	fs      map[int]*sessions.Manager[userData] // by number of files
}

func (w *wire) run(b *testing.B, c wireCase, l wireLib) {
	id := c.name + "/" + l.name
	clients := w.clients[id]
	if clients == nil {
		newClient := l.open(w, b)
		n := 1
		if c.parallel {
			procs := runtime.GOMAXPROCS(0)
			n = (parallelClients + procs - 1) / procs * procs
		}
		for range n {
			cl := newClient(b)
			cl.live = c.live
			clients = append(clients, cl)
		}
		if w.clients == nil {
			w.clients = map[string][]*wireClient{}
		}
		w.clients[id] = clients
	}

	b.ReportAllocs()
	cpu := cpuTime()
	var server time.Duration
	if w.redis != nil && strings.HasPrefix(c.name, "redis/") {
		server = w.redisCPU(b)
	}
	if !c.parallel {
		cl := clients[0]
		for b.Loop() {
			cl.do()
		}
	} else {
		procs := runtime.GOMAXPROCS(0)
		b.SetParallelism((parallelClients + procs - 1) / procs)
		var next atomic.Int64
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			cl := clients[next.Add(1)-1]
			for pb.Next() {
				cl.do()
			}
		})
		b.StopTimer()
	}
	b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
	if server != 0 {
		b.ReportMetric(float64((w.redisCPU(b)-server).Nanoseconds())/float64(b.N), "server-cpu-ns/op")
	}

	for _, cl := range clients {
		if cl.bad > 0 {
			b.Fatalf("%d of %d requests answered with an error status", cl.bad, cl.n)
		}
		if cl.check != nil {
			cl.check(b, cl.n)
		}
	}
}

// cpuTime is the CPU time (user and system) this process has used: on a
// machine shared with other work, CPU time per request is far less noisy
// than wall time, which also counts the time other processes ran.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// redisCPU is the CPU time the Redis server has used (INFO cpu: user and
// system, all its threads).
func (w *wire) redisCPU(b *testing.B) time.Duration {
	info, err := w.redis.Do(context.Background(), w.redis.B().Info().Section("cpu").Build()).ToString()
	if err != nil {
		b.Fatalf("INFO cpu: %v", err)
	}
	var total float64
	for line := range strings.Lines(info) {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		if k == "used_cpu_sys" || k == "used_cpu_user" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatalf("INFO cpu: %s: %v", line, err)
			}
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}

// The sizes of the value in the memory-<size> cases.
var wireSizes = []struct {
	name string
	n    int
}{{"100B", 100}, {"10kB", 10 << 10}, {"100kB", 100 << 10}}

var wireCases = func() []wireCase {
	cs := []wireCase{
		{name: "redis/readonly-parallel", parallel: true, libs: []wireLib{
			{"bare", bareRedis(wireGet)},
			{"floor", floorRedis(wireGet)},
			{"sessions", sessionsWireRedis(kindReadonly, false)},
		}},
		{name: "redis/readonly-parallel-live", parallel: true, live: true, libs: []wireLib{
			{"bare", bareRedis(wireGet)},
			{"sessions", sessionsWireRedis(kindReadonly, false)},
		}},
		{name: "redis/idle-readonly-parallel", parallel: true, libs: []wireLib{
			{"bare", bareRedis(wireGetex)},
			{"floor", floorRedis(wireGetex)},
			{"sessions", sessionsWireRedis(kindReadonly, true)},
		}},
		{name: "redis/modify-parallel", parallel: true, libs: []wireLib{
			{"bare", bareRedis(wireSaveIf)},
			{"bare-set", bareRedis(wireSet)},
			{"floor", floorRedis(wireSaveIf)},
			{"sessions", sessionsWireRedis(kindModify, false)},
		}},
		{name: "memory/readonly", libs: []wireLib{
			{"bare", bareNoStore},
			{"sessions", sessionsWireMemory(kindReadonly, 0)},
		}},
	}
	for _, sz := range wireSizes {
		for _, k := range []kind{kindReadonly, kindModify} {
			cs = append(cs, wireCase{name: "memory-" + sz.name + "/" + kindName(k), libs: []wireLib{
				{"sessions", sessionsWireMemory(k, sz.n)},
				{"scs", scsWireMemory(k, sz.n)},
			}})
		}
	}
	for _, parallel := range []bool{false, true} {
		name := "filesystem/readonly"
		if parallel {
			name += "-parallel"
		}
		cs = append(cs, wireCase{name: name, parallel: parallel, libs: []wireLib{
			{"files=100", sessionsWireFS(100)},
			{"files=100000", sessionsWireFS(100_000)},
		}})
	}
	return cs
}()

func kindName(k kind) string {
	switch k {
	case kindReadonly:
		return "readonly"
	case kindModify:
		return "modify"
	}
	return "new"
}

// sizedData is the session data of the memory-<size> cases: the user of
// the other cases plus a value of the case's size.
type sizedData struct {
	UserID int
	Name   string
	Visits int
	Value  []byte
}

// --- baselines ---

// bareNoStore is a handler without sessions and without a store: the cost
// of the request (with a session cookie, as the sessions rows have), the
// recorder and the body alone.
func bareNoStore(*wire, *testing.B) func(*testing.B) *wireClient {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
	return func(*testing.B) *wireClient {
		var token [32]byte
		cryptorand(token[:])
		return &wireClient{h: h, cookie: &http.Cookie{Name: cookieName, Value: base64.RawURLEncoding.EncodeToString(token[:])}}
	}
}

// The Redis work of a baseline request.
type wireOp int

const (
	wireGet    wireOp = iota // GET key
	wireGetex                // GETEX key PXAT now+idle
	wireSaveIf               // GET key, then EVALSHA of redisstore's SaveIf script: a new version of the same data
	wireSet                  // GET key, then SET key PXAT: the same new record without the version check
)

// saveIfScript is the Lua script redisstore's SaveIf sends with EVALSHA,
// copied here so that the baseline sends exactly the same command;
// saveIfSHA1 is its SHA-1, the one redisstore sends (SCRIPT LOAD checks
// that the copy still matches).
const (
	saveIfScript = `local cur = redis.call('GETRANGE', KEYS[1], 0, 7)
if #cur ~= 8 or cur == '\0\0\0\0\0\0\0\0' then cur = '' end
if cur ~= ARGV[1] then return 0 end
if ARGV[3] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
end
return 1
`
	saveIfSHA1 = "2d26b8259af362da4c74cbdbe8bc2366e6d4a5b5"
)

// loadSaveIf loads saveIfScript into the Redis server, so that its
// EVALSHA finds it, and checks that it is still redisstore's script.
func loadSaveIf(b *testing.B, client rueidis.Client) {
	sha, err := client.Do(context.Background(), client.B().ScriptLoad().Script(saveIfScript).Build()).ToString()
	if err != nil || sha != saveIfSHA1 {
		b.Fatalf("SCRIPT LOAD: %q, %v; redisstore's script is %s: update saveIfScript", sha, err, saveIfSHA1)
	}
}

// bareRedis is a handler without sessions that sends op's commands, with
// the same rueidis client as the sessions rows, on a session record the
// manager wrote (one per client, so the values have the same size). Its
// requests carry the session's cookie, as the sessions rows' do, but it
// knows its client's key: it parses no cookie, hashes nothing, decodes
// nothing, and fails the request when the record is missing.
func bareRedis(op wireOp) func(*wire, *testing.B) func(*testing.B) *wireClient {
	return func(w *wire, b *testing.B) func(*testing.B) *wireClient {
		client, _ := w.redisClient(b)
		m, prefix := w.redisManager(b, "bare", false)
		if op == wireSaveIf {
			loadSaveIf(b, client)
		}
		return func(b *testing.B) *wireClient {
			cookie := createWire(b, m, seed)
			key := prefix + storeKeyOf(cookie.Value)
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rec, err := client.Do(r.Context(), wireLoad(client, op, key)).ToString()
				if err != nil || len(rec) < 8 {
					http.Error(w, fmt.Sprint("load: ", err), http.StatusInternalServerError)
					return
				}
				if op == wireSaveIf || op == wireSet {
					// The same data under a new version.
					if err := wireSave(r.Context(), client, op, key, rec, rec[8:], nil); err != nil {
						http.Error(w, err.Error(), http.StatusInternalServerError)
						return
					}
				}
				w.Write(body)
			})
			return &wireClient{h: h, cookie: cookie}
		}
	}
}

// wireLoad is the command that loads the record under key for op: GETEX
// with the idle timeout for wireGetex, else GET.
func wireLoad(client rueidis.Client, op wireOp, key string) rueidis.Completed {
	if op == wireGetex {
		at := time.Now().Add(idleTimeout).UnixMilli()
		return client.B().Getex().Key(key).PxatMillisecondsTimestamp(at).Build()
	}
	return client.B().Get().Key(key).Build()
}

// wireSave writes head followed by payload under key as a new version of
// the record rec, as redisstore builds it: for wireSaveIf with
// redisstore's conditional EVALSHA on rec's version, for wireSet with a
// plain SET.
func wireSave(ctx context.Context, client rueidis.Client, op wireOp, key, rec, head string, payload []byte) error {
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], rand.Uint64()|1)
	value := string(v[:]) + head + string(payload)
	at := time.Now().Add(24 * time.Hour).UnixMilli()
	if op == wireSet {
		if err := client.Do(ctx, client.B().Set().Key(key).Value(value).PxatMillisecondsTimestamp(at).Build()).Error(); err != nil {
			return fmt.Errorf("save: %w", err)
		}
		return nil
	}
	n, err := client.Do(ctx, client.B().Evalsha().Sha1(saveIfSHA1).Numkeys(1).Key(key).Arg(rec[:8], value, strconv.FormatInt(at, 10)).Build()).AsInt64()
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	if n != 1 {
		return errors.New("save: conflict")
	}
	return nil
}

// storeKeyOf is the key the manager stores a session under, without its
// prefix: the base64url SHA-256 of the token (see the root's token.go).
// bareRedis fails if it drifts, since its GET then finds nothing.
func storeKeyOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// --- github.com/sessionkit/sessions ---

// redisClient returns the process's one rueidis client (its default
// options: commands of all goroutines pipelined over one connection),
// shared by the sessions rows and their baselines.
func (w *wire) redisClient(b *testing.B) (rueidis.Client, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.redis == nil {
		w.addr = testbackend.Redis(b)
		c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{w.addr}})
		if err != nil {
			b.Fatal(err)
		}
		w.redis = c
		w.top.Cleanup(c.Close) // after the managers' Close (LIFO)
	}
	return w.redis, w.addr
}

// redisManager returns a manager on the shared client under a prefix of
// its own, and that prefix.
func (w *wire) redisManager(b *testing.B, lib string, idle bool) (*sessions.Manager[userData], string) {
	client, addr := w.redisClient(b)
	prefix := redisPrefix(w.top, addr, "wire-"+lib)
	st, err := redisstore.New(client)
	if err != nil {
		b.Fatal(err)
	}
	opts := []sessions.Option{sessions.WithManagedStore(st), sessions.WithKeyPrefix(prefix)}
	if idle {
		opts = append(opts, sessions.WithIdleTimeout(idleTimeout))
	}
	m, err := sessions.New[userData](opts...)
	if err != nil {
		b.Fatal(err)
	}
	w.top.Cleanup(func() { m.Close() })
	return m, prefix
}

// wireHandler is the sessions handler of kind k on data D: read-only
// checks the user id, modify increments Visits; visits points at D's
// counter.
func wireHandler[D any](m *sessions.Manager[D], k kind, userID func(*D) int, visits func(*D) *int) http.Handler {
	return m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := m.Get(r.Context())
		switch k {
		case kindReadonly:
			if userID(d) != seed.UserID {
				w.WriteHeader(http.StatusInternalServerError)
			}
		case kindModify:
			*visits(d)++
		}
		w.Write(body)
	}))
}

// createWire creates a session holding data through m and returns its
// cookie.
func createWire[D any](b *testing.B, m *sessions.Manager[D], data D) *http.Cookie {
	b.Helper()
	rec := serve(m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*m.Get(r.Context()) = data
	})), nil)
	c := sessionCookie(rec)
	if rec.Code != http.StatusOK || c == nil {
		b.Fatalf("creating a session: status %d, cookie %v: %s", rec.Code, c, rec.Body)
	}
	return c
}

// checkWire returns a check that reads the session behind cookie and
// compares Visits with the seed plus the modify requests sent.
func checkWire[D any](m *sessions.Manager[D], k kind, cookie *http.Cookie, visits func(*D) *int) func(*testing.B, int) {
	return func(b *testing.B, n int) {
		var got int
		rec := serve(m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = *visits(m.Get(r.Context()))
		})), cookie)
		want := seed.Visits
		if k == kindModify {
			want += n
		}
		if rec.Code != http.StatusOK || got != want {
			b.Fatalf("after %d requests the session has %d visits (status %d), want %d", n, got, rec.Code, want)
		}
	}
}

func userIDOf(d *userData) int  { return d.UserID }
func visitsOf(d *userData) *int { return &d.Visits }

func sessionsWireRedis(k kind, idle bool) func(*wire, *testing.B) func(*testing.B) *wireClient {
	return func(w *wire, b *testing.B) func(*testing.B) *wireClient {
		m, _ := w.redisManager(b, "sessions", idle)
		h := wireHandler(m, k, userIDOf, visitsOf)
		return func(b *testing.B) *wireClient {
			c := createWire(b, m, seed)
			return &wireClient{h: h, cookie: c, check: checkWire(m, k, c, visitsOf)}
		}
	}
}

// sessionsWireMemory is the memory store with userData (size 0) or with
// sizedData holding a value of size bytes.
func sessionsWireMemory(k kind, size int) func(*wire, *testing.B) func(*testing.B) *wireClient {
	return func(w *wire, b *testing.B) func(*testing.B) *wireClient {
		if size == 0 {
			m := newWireManager[userData](w, b, sessions.WithMemory())
			h := wireHandler(m, k, userIDOf, visitsOf)
			return func(b *testing.B) *wireClient {
				c := createWire(b, m, seed)
				return &wireClient{h: h, cookie: c, check: checkWire(m, k, c, visitsOf)}
			}
		}
		m := newWireManager[sizedData](w, b, sessions.WithMemory())
		userID := func(d *sizedData) int { return d.UserID }
		visits := func(d *sizedData) *int { return &d.Visits }
		h := wireHandler(m, k, userID, visits)
		return func(b *testing.B) *wireClient {
			c := createWire(b, m, sizedSeed(size))
			return &wireClient{h: h, cookie: c, check: checkWire(m, k, c, visits)}
		}
	}
}

func newWireManager[D any](w *wire, b *testing.B, opts ...sessions.Option) *sessions.Manager[D] {
	m, err := sessions.New[D](opts...)
	if err != nil {
		b.Fatal(err)
	}
	w.top.Cleanup(func() { m.Close() })
	return m
}

// sizedSeed is seed with a value of size random bytes.
func sizedSeed(size int) sizedData {
	v := make([]byte, size)
	cryptorand(v)
	return sizedData{UserID: seed.UserID, Name: seed.Name, Visits: seed.Visits, Value: v}
}

func cryptorand(b []byte) { _, _ = crand.Read(b) }

// sessionsWireFS is the filesystem store (default fsync) in a directory
// that holds files session files in all: the clients' sessions and, to
// make up the number, records written through fsstore (without fsync, to
// save time) under random keys. The serial and the parallel case share
// the directory.
func sessionsWireFS(files int) func(*wire, *testing.B) func(*testing.B) *wireClient {
	return func(w *wire, b *testing.B) func(*testing.B) *wireClient {
		m := w.fsManager(b, files)
		h := wireHandler(m, kindReadonly, userIDOf, visitsOf)
		return func(b *testing.B) *wireClient {
			c := createWire(b, m, seed)
			return &wireClient{h: h, cookie: c, check: checkWire(m, kindReadonly, c, visitsOf)}
		}
	}
}

// fsManager returns the manager on the directory of files files.
func (w *wire) fsManager(b *testing.B, files int) *sessions.Manager[userData] {
	if m := w.fs[files]; m != nil {
		return m
	}
	dir := w.top.TempDir()
	st, err := fsstore.New(dir)
	if err != nil {
		b.Fatal(err)
	}
	m := newWireManager[userData](w, b, sessions.WithManagedStore(st))
	fill(b, dir, files-1-parallelClients) // the clients of the serial and the parallel case
	if w.fs == nil {
		w.fs = map[int]*sessions.Manager[userData]{}
	}
	w.fs[files] = m
	return m
}

// fill writes n records of 100 bytes under random keys into the fsstore
// directory dir.
func fill(b *testing.B, dir string, n int) {
	st, err := fsstore.New(dir, fsstore.WithSync(false), fsstore.WithCleanupInterval(0))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	start := time.Now()
	data := make([]byte, 100)
	var key [32]byte
	exp := time.Now().Add(24 * time.Hour)
	for range n {
		cryptorand(key[:])
		if err := st.Save(context.Background(), base64.RawURLEncoding.EncodeToString(key[:]), data, exp); err != nil {
			b.Fatal(err)
		}
	}
	if n > 1000 {
		b.Logf("wrote %d filler records in %v", n, time.Since(start).Round(time.Millisecond))
	}
}

// --- github.com/alexedwards/scs/v2 ---

// scsWireMemory is scs on its memstore with the same values as
// sizedData under four keys.
func scsWireMemory(k kind, size int) func(*wire, *testing.B) func(*testing.B) *wireClient {
	return func(w *wire, b *testing.B) func(*testing.B) *wireClient {
		st := scsmem.New()
		w.top.Cleanup(st.StopCleanup)
		sm := scs.New()
		sm.Store = st
		h := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			switch k {
			case kindReadonly:
				if sm.GetInt(ctx, keyUserID) != seed.UserID {
					w.WriteHeader(http.StatusInternalServerError)
				}
			case kindModify:
				sm.Put(ctx, keyVisits, sm.GetInt(ctx, keyVisits)+1)
			}
			w.Write(body)
		}))
		create := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d := sizedSeed(size)
			ctx := r.Context()
			sm.Put(ctx, keyUserID, d.UserID)
			sm.Put(ctx, keyName, d.Name)
			sm.Put(ctx, keyVisits, d.Visits)
			sm.Put(ctx, "value", d.Value)
		}))
		return func(b *testing.B) *wireClient {
			rec := serve(create, nil)
			c := sessionCookie(rec)
			if c == nil {
				b.Fatalf("scs: creating a session: status %d", rec.Code)
			}
			check := func(b *testing.B, n int) {
				var got, gotSize int
				serve(sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					got = sm.GetInt(r.Context(), keyVisits)
					gotSize = len(sm.GetBytes(r.Context(), "value"))
				})), c)
				want := seed.Visits
				if k == kindModify {
					want += n
				}
				if got != want || gotSize != size {
					b.Fatalf("scs: after %d requests the session has %d visits and a %d-byte value, want %d and %d", n, got, gotSize, want, size)
				}
			}
			return &wireClient{h: h, cookie: c, check: check}
		}
	}
}
