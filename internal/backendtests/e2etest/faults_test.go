package e2etest_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/go-sql-driver/mysql"
	"github.com/redis/rueidis"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/mysqldialect"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/driver/pgdriver"
	"github.com/uptrace/bun/schema"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.uber.org/goleak"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/internal/backendtests/testbackend"
	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/store/memcachedstore"
	"github.com/sessionkit/sessions/store/mongostore"
	"github.com/sessionkit/sessions/store/redisstore"
	"github.com/sessionkit/sessions/store/sqlstore"
)

// The fault scenario: 16 clients, each on a session of its own, send
// read-only and modifying requests through Manager.Middleware on a real
// HTTP server while the backend is frozen (docker pause) and resumed, then
// killed and restarted on the same port, without restarting the app.
//
// Checked: every request is answered within faultBound; every failure is
// the error handler's 500; after the resume every client is served again
// within faultRecover, and the failures stop (within faultGiveUp); no
// acknowledged write is lost or rolled back, except by a kill of a server
// that is not durable; no panic; no goroutine is left once the clients,
// the server, the manager, the store and the driver are closed.
const (
	faultTimeout  = 500 * time.Millisecond // WithStoreTimeout
	faultBound    = 2*faultTimeout + time.Second
	faultClients  = 16
	faultThink    = 100 * time.Millisecond // a client's pause between requests
	faultWarmup   = time.Second
	faultBaseline = time.Second
	faultFreeze   = 2 * time.Second
	faultSettle   = time.Second // failure-free traffic after a recovery
	// From the resume until every client was served again: a second, plus
	// one store timeout for a request that was already waiting on the
	// frozen server when it resumed and times out all the same.
	faultRecover = time.Second + faultTimeout
	faultGiveUp  = 15 * time.Second

	// FerretDB, our local stand-in for MongoDB, serializes writes on
	// SQLite (waiting up to 10 s for its lock) and ignores maxTimeMS on
	// updates: on a loaded 2-core machine 16 writers already see p99s
	// near the store timeout without any fault, and after a freeze it
	// still runs every abandoned write before new ones. So against it
	// recovery may take this long; every other check holds.
	faultRecoverFerretDB = 5 * time.Second
)

// A faultBackend is one server the scenario runs against.
type faultBackend struct {
	name string
	// durable: every acknowledged write survives a kill of the server.
	durable bool
	start   func(t *testing.T) *testbackend.Faulty
	// client connects to addr; short sets timeouts no longer than the
	// store timeout, where the driver has any. It returns what
	// newFaultStore takes, and a function that closes the client.
	client func(t *testing.T, addr string, short bool) (any, func())
}

var faultBackends = []faultBackend{
	{
		name: "redis", durable: true,
		// A write is acknowledged only once it is in the append-only file.
		start: func(t *testing.T) *testbackend.Faulty {
			return testbackend.FaultyRedis(t, "--appendonly", "yes", "--appendfsync", "always")
		},
		client: func(t *testing.T, addr string, short bool) (any, func()) {
			opt := rueidis.ClientOption{InitAddress: []string{addr}}
			if short {
				// ctx bounds every call; these bound the dial and how long
				// a pipelined connection waits for a reply before it is
				// closed and redialled (default: 5 s and 10 s).
				opt.Dialer.Timeout = faultTimeout
				opt.ConnWriteTimeout = 2 * faultTimeout
			}
			c, err := rueidis.NewClient(opt)
			if err != nil {
				t.Fatal(err)
			}
			return c, c.Close
		},
	},
	{
		name: "postgres", durable: true,
		start: func(t *testing.T) *testbackend.Faulty { return testbackend.FaultyPostgres(t) },
		client: func(t *testing.T, dsn string, short bool) (any, func()) {
			opts := []pgdriver.Option{pgdriver.WithDSN(dsn)}
			if short {
				// pgdriver sets socket deadlines from ctx, capped by these
				// (default: dial 5 s, read 10 s, write 5 s).
				opts = append(opts, pgdriver.WithDialTimeout(faultTimeout),
					pgdriver.WithReadTimeout(2*faultTimeout), pgdriver.WithWriteTimeout(faultTimeout))
			}
			return faultDB(sql.OpenDB(pgdriver.NewConnector(opts...)), pgdialect.New())
		},
	},
	{
		name: "mariadb", durable: true,
		start: func(t *testing.T) *testbackend.Faulty { return testbackend.FaultyMariaDB(t) },
		client: func(t *testing.T, dsn string, short bool) (any, func()) {
			cfg, err := mysql.ParseDSN(dsn)
			if err != nil {
				t.Fatal(err)
			}
			if short {
				// go-sql-driver/mysql watches ctx and closes the connection
				// when it ends; these bound the dial and the socket I/O
				// (default: the OS's dial timeout, no I/O timeouts).
				cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout = faultTimeout, 2*faultTimeout, faultTimeout
			}
			cfg.Logger = log.New(io.Discard, "", 0) // it logs every broken connection
			conn, err := mysql.NewConnector(cfg)
			if err != nil {
				t.Fatal(err)
			}
			sqldb := sql.OpenDB(conn)
			return faultDB(sqldb, mysqldialect.New())
		},
	},
	{
		name:  "memcached",
		start: func(t *testing.T) *testbackend.Faulty { return testbackend.FaultyMemcached(t) },
		client: func(t *testing.T, addr string, short bool) (any, func()) {
			c := memcache.New(addr)
			c.MaxIdleConns = faultClients
			if short {
				// gomemcache takes no ctx: its Timeout (default 500 ms)
				// bounds the dial and each round trip.
				c.Timeout = faultTimeout / 2
			}
			return c, func() { c.Close() }
		},
	},
	{
		name:  "mongo",
		start: func(t *testing.T) *testbackend.Faulty { return testbackend.FaultyMongo(t) },
		client: func(t *testing.T, uri string, short bool) (any, func()) {
			opts := options.Client().ApplyURI(uri)
			if short {
				// ctx bounds every operation (server selection, checkout,
				// socket I/O); these bound the dial and let the monitor see
				// a restarted server sooner (default: 30 s, 10 s).
				opts.SetConnectTimeout(faultTimeout).SetHeartbeatInterval(500 * time.Millisecond)
			}
			c, err := mongo.Connect(opts)
			if err != nil {
				t.Fatal(err)
			}
			return c.Database("faults").Collection("s" + suffix()), func() { c.Disconnect(context.Background()) }
		},
	},
}

// faultDB sizes the pool of sqldb for the clients: database/sql keeps
// only 2 idle connections and opens any number by default, so under a
// fault every timed-out query is replaced by a new connection (with its
// authentication round trips) and the server drowns in them.
func faultDB(sqldb *sql.DB, d schema.Dialect) (any, func()) {
	sqldb.SetMaxOpenConns(faultClients / 4)
	sqldb.SetMaxIdleConns(faultClients / 4)
	db := bun.NewDB(sqldb, d)
	return db, func() { db.Close() }
}

// newFaultStore is the one place these tests build stores.
func newFaultStore(t *testing.T, client any) store.Store {
	switch c := client.(type) {
	case rueidis.Client:
		s, err := redisstore.New(c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	case *memcache.Client:
		s, err := memcachedstore.New(c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	case *mongo.Collection:
		return mongoStore(t, c, mongostore.WithCleanupInterval(0))
	case *bun.DB:
		return sqlStore(t, c, sqlstore.WithCleanupInterval(0))
	}
	t.Fatalf("no store for %T", client)
	return nil
}

// TestFaults runs the fault scenario against every server and logs a
// table of what the clients saw.
func TestFaults(t *testing.T) {
	var rows []faultRow
	for _, b := range faultBackends {
		t.Run(b.name, func(t *testing.T) {
			f := b.start(t)
			t.Run("traffic", func(t *testing.T) { rows = append(rows, faultTraffic(t, b, f)...) })
			t.Run("ctx", func(t *testing.T) { faultContext(t, b, f) })
		})
	}
	var sb strings.Builder
	load, _ := os.ReadFile("/proc/loadavg") // the tail latencies depend on it
	fmt.Fprintf(&sb, "store timeout %v, bound %v, %d clients, freeze %v, /proc/loadavg %s\n",
		faultTimeout, faultBound, faultClients, faultFreeze, strings.TrimSpace(string(load)))
	fmt.Fprintf(&sb, "%-10s %-13s %8s %6s %6s %8s %8s %8s %8s %9s %5s\n",
		"store", "fault", "requests", "2xx", "500s", "p99", "max", "down", "served", "last fail", "lost")
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) + "ms" }
	for _, r := range rows {
		fmt.Fprintf(&sb, "%-10s %-13s %8d %6d %6d %8s %8s %8s %8s %9s %5d\n", r.store, r.fault, r.requests, r.ok, r.failed,
			ms(r.p99), ms(r.maxLatency), ms(r.down), ms(r.served), ms(r.recovery), r.lost)
	}
	t.Log("\n" + sb.String())
}

// A faultRow is one line of the table.
type faultRow struct {
	store, fault    string
	requests        int
	ok, failed      int           // 2xx, error handler's 500s
	p99, maxLatency time.Duration // of the requests started in the phase
	down            time.Duration // frozen, or killed until ready again
	served          time.Duration // from resume (or ready) until every client had a 2xx again
	recovery        time.Duration // from resume (or ready) until the last failure
	lost            int           // sessions that lost an acknowledged write
}

type faultData struct {
	Count int
	Note  string
}

// A faultResult is one request as a client saw it.
type faultResult struct {
	modify     bool
	start, end time.Time
	status     int // 0: no response
	marked     bool
	value      int    // the counter in a 2xx body
	body       string // of a failure
	err        error
}

func (r faultResult) ok() bool { return r.status == http.StatusOK }

// faultApp is the application: a manager with a short store timeout behind
// a real HTTP server.
type faultApp struct {
	m          *sessions.Manager[faultData]
	srv        *httptest.Server
	tr         *http.Transport
	panics     atomic.Int64 // panics the server recovered
	lastFail   atomic.Int64 // UnixNano when the latest failed request ended
	mu         sync.Mutex
	errSamples map[string]int // error handler errors, by message shape
}

func newFaultApp(t *testing.T, st store.Store) *faultApp {
	a := &faultApp{errSamples: map[string]int{}}
	m, err := sessions.New[faultData](sessions.WithStore(st),
		sessions.WithStoreTimeout(faultTimeout),
		sessions.WithLogger(slog.New(slog.DiscardHandler)),
		sessions.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
			a.mu.Lock()
			a.errSamples[errShape(err)]++
			a.mu.Unlock()
			w.Header().Set("X-Fault-Handled", "1")
			http.Error(w, "session store unavailable: "+err.Error(), http.StatusInternalServerError)
		}))
	if err != nil {
		t.Fatal(err)
	}
	a.m = m
	a.srv = httptest.NewUnstartedServer(m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := m.Get(r.Context())
		if r.URL.Path == "/inc" {
			d.Count++
			d.Note = strings.Repeat("x", d.Count%64)
		}
		io.WriteString(w, strconv.Itoa(d.Count))
	})))
	a.srv.Config.ErrorLog = log.New(panicCounter{&a.panics}, "", 0)
	a.srv.Start()
	a.tr = &http.Transport{MaxIdleConnsPerHost: faultClients}
	return a
}

// errShape is err's message with numbers and keys left out, to group
// errors in the log.
func errShape(err error) string {
	s := err.Error()
	if len(s) > 160 {
		s = s[:160]
	}
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '#'
		}
		return r
	}, s)
}

// panicCounter counts the server's "http: panic serving" log lines.
type panicCounter struct{ n *atomic.Int64 }

func (p panicCounter) Write(b []byte) (int, error) {
	if strings.Contains(string(b), "panic") {
		p.n.Add(1)
	}
	return len(b), nil
}

// faultClient is one user: a session cookie and the highest counter value
// the app acknowledged for it.
type faultClient struct {
	app        *faultApp
	cookie     string
	acked      int
	ackedAt    time.Time
	failedSave faultResult
	results    []faultResult
	lost       []faultLoss // responses that showed less than acked
}

// A faultLoss is a response that showed an older value than the client's
// last acknowledged one.
type faultLoss struct {
	at         time.Time // when the request started
	ackedAt    time.Time // when the lost value was acknowledged
	acked, got int
	failedSave faultResult // the client's latest modification that failed in its save
	modify     bool
}

// do sends one request and checks a 2xx answer against the acknowledged
// value: a modification must return more than it, a read at least it.
func (c *faultClient) do(modify bool) faultResult {
	path := "/"
	if modify {
		path = "/inc"
	}
	req, _ := http.NewRequest(http.MethodGet, c.app.srv.URL+path, nil)
	if c.cookie != "" {
		req.Header.Set("Cookie", "session="+c.cookie)
	}
	r := faultResult{modify: modify, start: time.Now()}
	res, err := (&http.Client{Transport: c.app.tr, Timeout: time.Minute}).Do(req)
	if err != nil {
		r.end, r.err = time.Now(), err
		c.app.lastFail.Store(r.end.UnixNano())
		return r
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	r.end, r.status, r.err = time.Now(), res.StatusCode, err
	r.marked = res.Header.Get("X-Fault-Handled") != ""
	if !r.ok() || err != nil {
		r.body = strings.TrimSpace(string(body))
		if strings.Contains(r.body, "sessions: save:") {
			r.value = c.acked // what it built on
			c.failedSave = r
		}
		c.app.lastFail.Store(r.end.UnixNano())
		return r
	}
	for _, ck := range res.Cookies() {
		if ck.Name == "session" {
			c.cookie = ck.Value
		}
	}
	r.value, r.err = strconv.Atoi(string(body))
	if r.value < c.acked || (modify && r.value == c.acked) {
		c.lost = append(c.lost, faultLoss{at: r.start, ackedAt: c.ackedAt, acked: c.acked, got: r.value, failedSave: c.failedSave, modify: modify})
		c.acked = r.value // go on from what the store has now
	}
	if modify {
		c.acked, c.ackedAt = r.value, r.end
	}
	return r
}

// faultTraffic runs the clients through a freeze and a kill of f's server
// and checks what they saw.
func faultTraffic(t *testing.T, b faultBackend, f *testbackend.Faulty) []faultRow {
	before := goleak.IgnoreCurrent()
	cl, closeClient := b.client(t, f.Addr, true)
	st := newFaultStore(t, cl)
	app := newFaultApp(t, st)

	clients := make([]*faultClient, faultClients)
	for i := range clients {
		clients[i] = &faultClient{app: app}
		if r := clients[i].do(true); !r.ok() || r.value != 1 {
			t.Fatalf("client %d: creating its session: status %d, value %d, %v", i, r.status, r.value, r.err)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(i), 1))
			for {
				select {
				case <-stop:
					return
				case <-time.After(faultThink/2 + time.Duration(rnd.Int64N(int64(faultThink)))):
				}
				c.results = append(c.results, c.do(rnd.IntN(2) == 0))
			}
		})
	}

	// The timeline: warm up (fill the connection pools), measure without
	// faults, freeze, resume, kill, restart.
	time.Sleep(faultWarmup)
	startAt := time.Now()
	time.Sleep(faultBaseline)
	pauseAt := time.Now()
	f.Pause(t)
	time.Sleep(faultFreeze)
	f.Unpause(t)
	resumeAt := time.Now()
	if !waitQuiet(app, resumeAt, faultGiveUp) {
		t.Errorf("pause: requests still fail %v after the resume", faultGiveUp)
	}
	killAt := time.Now()
	f.Kill(t)
	f.Restart(t)
	readyAt := time.Now()
	if !waitQuiet(app, readyAt, faultGiveUp) {
		t.Logf("kill: requests still fail %v after the restart", faultGiveUp)
	}
	close(stop)
	wg.Wait()
	// After recovery every session reads at least its last acknowledged
	// value (checked in do), unless the server lost it in the kill.
	for i, c := range clients {
		r := c.do(false)
		c.results = append(c.results, r)
		if !r.ok() {
			t.Errorf("client %d: the final read failed: status %d, %v %s", i, r.status, r.err, r.body)
		}
	}
	endAt := time.Now()

	rows := []faultRow{
		faultPhase(t, b, "none", clients, startAt, startAt, pauseAt, 0),
		faultPhase(t, b, "pause", clients, pauseAt, resumeAt, killAt, resumeAt.Sub(pauseAt)),
		faultPhase(t, b, "kill+restart", clients, killAt, readyAt, endAt, readyAt.Sub(killAt)),
	}
	bound := faultRecover
	if strings.Contains(f.Image, "ferretdb") {
		bound = faultRecoverFerretDB
		t.Logf("the server is FerretDB (%s): recovery bound %v", f.Image, bound)
	}
	// A server slower than the store timeout fails requests without any
	// fault; that is the machine's load, not a fault, so it is only logged.
	if none := rows[0]; none.failed > 0 {
		t.Logf("before any fault: %d of %d requests failed (p99 %v)", none.failed, none.requests, none.p99)
	}
	if none := rows[0]; none.lost > 0 {
		t.Errorf("before any fault: %d sessions lost acknowledged writes", none.lost)
	}
	if pause := rows[1]; pause.served > bound || pause.lost > 0 {
		t.Errorf("pause: every client was served again %v after the resume (bound %v), %d sessions lost writes",
			pause.served, bound, pause.lost)
	}
	if kill := rows[2]; b.durable && kill.lost > 0 {
		t.Errorf("kill: %d sessions lost acknowledged writes on a durable server", kill.lost)
	}
	if n := app.panics.Load(); n > 0 {
		t.Errorf("the server recovered %d panics", n)
	}
	app.mu.Lock()
	for shape, n := range app.errSamples {
		t.Logf("error handler, %d×: %s", n, shape)
	}
	app.mu.Unlock()

	// Nothing is left running once the clients, the server, the manager,
	// the store and the driver client are closed.
	app.tr.CloseIdleConnections()
	app.srv.Close()
	if err := app.m.Close(); err != nil {
		t.Error(err)
	}
	if c, ok := st.(io.Closer); ok {
		c.Close()
	}
	closeClient()
	verifyNoLeaks(t, before)
	return rows
}

// waitQuiet waits until no request has failed for faultSettle since
// from, and reports false if that has not happened within limit.
func waitQuiet(app *faultApp, from time.Time, limit time.Duration) bool {
	for {
		time.Sleep(50 * time.Millisecond)
		last := time.Unix(0, app.lastFail.Load())
		now := time.Now()
		if now.Sub(last) > faultSettle && now.Sub(from) > faultSettle {
			return true
		}
		if now.Sub(from) > limit {
			return false
		}
	}
}

// faultPhase checks and sums up the requests started in [from, to): the
// fault began at from, and the server was back at back.
func faultPhase(t *testing.T, b faultBackend, fault string, clients []*faultClient, from, back, to time.Time, down time.Duration) faultRow {
	row := faultRow{store: b.name, fault: fault, down: down}
	var lastFail, firstOK time.Time
	var lats []time.Duration
	slowLogged, failLogged := 0, 0 // log lines, at most 10 of each
	for i, c := range clients {
		var served time.Time // this client's first 2xx after back
		for _, r := range c.results {
			if r.start.Before(from) || !r.start.Before(to) {
				continue
			}
			row.requests++
			lat := r.end.Sub(r.start)
			lats = append(lats, lat)
			row.maxLatency = max(row.maxLatency, lat)
			if lat > 2*faultTimeout && slowLogged < 10 {
				slowLogged++
				t.Logf("%s: client %d: slow request, modify=%v, started %v after the fault, took %v: %d %s", fault, i, r.modify,
					r.start.Sub(from).Round(time.Millisecond), lat.Round(time.Millisecond), r.status, r.body)
			}
			if lat > faultBound {
				t.Errorf("%s: client %d: a request took %v (status %d), bound %v", fault, i, lat, r.status, faultBound)
			}
			switch {
			case r.ok():
				row.ok++
				if !r.start.Before(back) && (firstOK.IsZero() || r.end.Before(firstOK)) {
					firstOK = r.end
				}
				if !r.start.Before(back) && served.IsZero() {
					served = r.end
				}
				continue
			case r.status == http.StatusInternalServerError && r.marked:
				row.failed++
			default:
				t.Errorf("%s: client %d: a request failed outside the error handler: status %d, %v", fault, i, r.status, r.err)
			}
			if !r.start.Before(back) {
				if failLogged++; failLogged <= 10 {
					t.Logf("%s: client %d: failed %v after the server was back, in %v: %s", fault, i,
						r.start.Sub(back).Round(time.Millisecond), lat.Round(time.Millisecond), r.body)
				}
				if r.end.After(lastFail) {
					lastFail = r.end
				}
			}
		}
		switch {
		case fault == "none":
		case served.IsZero():
			t.Errorf("%s: client %d: no request succeeded after the server was back", fault, i)
		default:
			row.served = max(row.served, served.Sub(back))
		}
		lost := false
		for _, l := range c.lost {
			if !l.at.Before(from) && l.at.Before(to) {
				lost = true
				t.Logf("%s: client %d: a request started %v after the fault (modify=%v) saw %d; %d was acknowledged %v after the fault",
					fault, i, l.at.Sub(from).Round(time.Millisecond), l.modify, l.got, l.acked, l.ackedAt.Sub(from).Round(time.Millisecond))
				if fs := l.failedSave; !fs.start.IsZero() {
					t.Logf("\tthe client's last failed save started %v after the fault, when %d was acknowledged: %s",
						fs.start.Sub(from).Round(time.Millisecond), fs.value, fs.body)
				}
			}
		}
		if lost {
			row.lost++
		}
	}
	if len(lats) > 0 {
		slices.Sort(lats)
		row.p99 = lats[len(lats)*99/100]
	}
	switch {
	case fault == "none":
	case !lastFail.IsZero():
		row.recovery = lastFail.Sub(back)
	case !firstOK.IsZero():
		row.recovery = firstOK.Sub(back)
	default:
		t.Errorf("%s: no request succeeded after the server was back", fault)
	}
	return row
}

// faultContext checks that the store honours ctx on its own: with the
// server frozen and the driver on its default timeouts, every method
// returns an error wrapping context.DeadlineExceeded soon after the
// deadline.
func faultContext(t *testing.T, b faultBackend, f *testbackend.Faulty) {
	const deadline, slack = 200 * time.Millisecond, 150 * time.Millisecond
	cl, closeClient := b.client(t, f.Addr, false)
	defer closeClient()
	st := newFaultStore(t, cl)
	if c, ok := st.(io.Closer); ok {
		defer c.Close()
	}
	ctx := t.Context()
	key := "ctx:" + suffix()
	exp := time.Now().Add(time.Hour)
	if err := st.Save(ctx, key, []byte("v"), exp); err != nil {
		t.Fatal(err)
	}
	type probe struct {
		name string
		call func(ctx context.Context) error
	}
	calls := []probe{
		{"Load", func(ctx context.Context) error { _, _, err := st.Load(ctx, key); return err }},
		{"Save", func(ctx context.Context) error { return st.Save(ctx, key, []byte("w"), exp) }},
		{"Delete", func(ctx context.Context) error { return st.Delete(ctx, key) }},
	}
	if s, ok := st.(store.Toucher); ok {
		calls = append(calls, probe{"Touch", func(ctx context.Context) error { return s.Touch(ctx, key, exp) }})
	}
	if s, ok := st.(store.LoadToucher); ok {
		calls = append(calls, probe{"LoadAndTouch", func(ctx context.Context) error {
			_, _, err := s.LoadAndTouch(ctx, key, exp)
			return err
		}})
	}
	if s, ok := st.(store.Versioned); ok {
		calls = append(calls,
			probe{"LoadVersion", func(ctx context.Context) error { _, err := s.LoadVersion(ctx, key, exp); return err }},
			probe{"SaveIf", func(ctx context.Context) error { _, err := s.SaveIf(ctx, key, []byte("x"), exp, 0); return err }})
	}
	if s, ok := st.(store.ExpiredDeleter); ok {
		calls = append(calls, probe{"DeleteExpired", func(ctx context.Context) error { _, err := s.DeleteExpired(ctx); return err }})
	}

	f.Pause(t)
	paused := true
	defer func() {
		if paused {
			f.Unpause(t)
		}
	}()
	var wg sync.WaitGroup
	took := make([]time.Duration, len(calls))
	errs := make([]error, len(calls))
	for i, c := range calls {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, deadline)
			defer cancel()
			start := time.Now()
			errs[i] = c.call(ctx)
			took[i] = time.Since(start)
		})
	}
	wg.Wait()
	f.Unpause(t)
	paused = false
	for i, c := range calls {
		switch {
		case took[i] > deadline+slack:
			t.Errorf("%s with a %v deadline on a frozen server returned after %v: %v", c.name, deadline, took[i].Round(time.Millisecond), errs[i])
		case !errors.Is(errs[i], context.DeadlineExceeded):
			t.Errorf("%s with a %v deadline on a frozen server: %v, want an error wrapping context.DeadlineExceeded", c.name, deadline, errs[i])
		default:
			t.Logf("%s returned after %v: %v", c.name, took[i].Round(time.Millisecond), errs[i])
		}
	}
}
