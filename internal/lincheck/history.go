package lincheck

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/store"
)

// defaultWeights are the relative frequencies of the operation kinds.
var defaultWeights = map[Kind]int{
	Read: 12, Set: 12, Incr: 14, Login: 18, Logout: 7,
	Revoke: 6, RevokeOwner: 5, RevokeOthers: 8, Sessions: 6,
}

// newPlans draws the operations of every tab of every client from the
// seed: plans[client][tab] is the sequence that tab performs.
func newPlans(cfg Config, seed uint64) [][][]plan {
	rng := rand.New(rand.NewPCG(seed, 0x6c696e636865636b))
	var weights [numKinds]int
	total := 0
	for k, w := range cfg.Weights {
		weights[k] = max(w, 0)
		total += weights[k]
	}
	chance := func(p float64) bool { return p > 0 && rng.Float64() < p }
	plans := make([][][]plan, cfg.Clients)
	for c := range plans {
		plans[c] = make([][]plan, cfg.Tabs)
		for tab := range plans[c] {
			for range cfg.Ops {
				var p plan
				for w := rng.IntN(total); w >= weights[p.kind]; p.kind++ {
					w -= weights[p.kind]
				}
				p.field, p.x, p.owner = rng.IntN(2), 1+rng.IntN(9), int8(rng.IntN(numOwners))
				p.other = rng.IntN(cfg.Clients)
				mutates := p.kind == Set || p.kind == Incr || p.kind == Login || p.kind == Logout
				switch {
				case mutates && chance(cfg.EarlyRate):
					p.early = true
				case mutates && chance(cfg.PanicRate):
					p.panics = true
				case p.kind.loads() && chance(cfg.HangUpRate):
					p.hangUp = true
				}
				if chance(cfg.FaultRate) {
					p.fault = &faultPlan{call: 1 + rng.IntN(4), kind: faultKind(rng.IntN(int(numInjected)))}
				}
				if rng.IntN(2) == 0 {
					p.jitter = time.Duration(rng.Int64N(int64(2 * time.Millisecond)))
				}
				plans[c][tab] = append(plans[c][tab], p)
			}
		}
	}
	return plans
}

// A history is one run of the clients against a fresh manager and
// store, and what the checker makes of it.
type history struct {
	cfg     Config
	seed    uint64
	app     *app
	url     string
	client  *http.Client
	clients []*browser
	ops     []*op // in the order they were created; ops[i].id == i
	mu      sync.Mutex
}

// A browser is a client with one cookie jar, shared by its tabs: the jar
// takes whatever Set-Cookie arrives last, a value or a deletion.
type browser struct {
	mu     sync.Mutex
	jar    string
	events []jarEvent // every change of the jar, in order
}

// A jarEvent is a response changing a client's cookie.
type jarEvent struct {
	at    int64
	op    *op
	value string // "" when expired
}

func (b *browser) cookie() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.jar
}

// runHistory runs the history of seed against st and returns it, with
// every handler finished, the checks at rest done and st no longer used.
func runHistory(t *testing.T, st store.Store, cfg Config, seed uint64) *history {
	vst, ok := st.(store.Versioned)
	if !ok {
		t.Fatalf("lincheck needs a store with conditional writes (store.Versioned); got %T", st)
	}
	m, err := sessions.New[Value](
		sessions.WithStore(wrapFaults(vst, 4*cfg.StoreTimeout)),
		// A key prefix of its own: histories on one server never share
		// an owner's index.
		sessions.WithKeyPrefix(fmt.Sprintf("lincheck:%016x:", rand.Uint64())),
		sessions.WithStoreTimeout(cfg.StoreTimeout),
		sessions.WithLogger(slog.New(opLog{})),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	h := &history{cfg: cfg, seed: seed, app: &app{m: m, clock: clock{time.Now()}, ops: map[string]*op{}}}
	srv := httptest.NewUnstartedServer(h.app.handler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	defer srv.Close()
	transport := &http.Transport{MaxIdleConnsPerHost: 2 * cfg.Clients * cfg.Tabs}
	defer transport.CloseIdleConnections()
	h.url, h.client = srv.URL, &http.Client{Transport: transport}

	plans := newPlans(cfg, seed)
	h.clients = make([]*browser, cfg.Clients)
	for c := range h.clients {
		h.clients[c] = &browser{}
	}
	var wg sync.WaitGroup
	for c := range plans {
		for tab, ops := range plans[c] {
			wg.Go(func() {
				for _, p := range ops {
					h.perform(c, c*cfg.Tabs+tab, p)
				}
			})
		}
	}
	wg.Wait()
	h.quiesce(t)

	// At rest: every token any client saw, and each owner's sessions.
	lane := cfg.Clients * cfg.Tabs
	for _, tok := range h.tokens() {
		h.probe(lane, plan{kind: Read}, tok)
	}
	for o := range numOwners {
		h.probe(lane, plan{kind: Sessions, owner: int8(o)}, "")
	}
	h.quiesce(t)
	return h
}

// quiesce waits until every request sent has finished in its handler.
func (h *history) quiesce(t *testing.T) {
	done := make(chan struct{})
	go func() {
		h.app.inflight.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("seed %d: requests still in their handlers after a minute", h.seed)
	}
}

// newOp registers an operation so that its requests can find it.
func (h *history) newOp(client, lane int, p plan, final bool) *op {
	h.mu.Lock()
	o := &op{id: len(h.ops), client: client, lane: lane, plan: p, final: final, loadedCh: make(chan struct{})}
	h.ops = append(h.ops, o)
	h.mu.Unlock()
	h.app.mu.Lock()
	h.app.ops[strconv.Itoa(o.id)] = o
	h.app.mu.Unlock()
	return o
}

// perform runs one planned operation of a client's tab.
func (h *history) perform(client, lane int, p plan) {
	b := h.clients[client]
	o := h.newOp(client, lane, p, false)
	o.token = b.cookie()
	if p.kind == Revoke {
		o.target = h.clients[p.other].cookie()
		if o.target == "" {
			o.plan.kind = Read // nothing to revoke: look instead
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if p.hangUp {
		go func() {
			select {
			case <-o.loadedCh:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	cookie := ""
	if o.plan.kind.loads() {
		cookie = o.token
	}
	h.send(ctx, o, cookie, func(action cookieAction, value string) {
		b.mu.Lock()
		defer b.mu.Unlock()
		if action != cookieKeep {
			b.jar = value
			o.jarAt = h.app.clock.now()
			b.events = append(b.events, jarEvent{at: o.jarAt, op: o, value: value})
		}
	})
}

// probe runs an operation at rest, after every other returned: tok is
// the token presented, if any.
func (h *history) probe(lane int, p plan, tok string) {
	o := h.newOp(-1, lane, p, true)
	o.token = tok
	h.send(context.Background(), o, tok, func(cookieAction, string) {})
}

// send sends o's request presenting cookie and reads the response; jar
// gets the response's cookie action when it arrives.
func (h *history) send(ctx context.Context, o *op, cookie string, jar func(cookieAction, string)) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url+"/"+o.plan.kind.String(), http.NoBody)
	if err != nil {
		panic(err)
	}
	req.Header.Set("X-Op", strconv.Itoa(o.id))
	if cookie != "" {
		req.Header.Set("Cookie", cookieName+"="+cookie)
	}
	h.app.inflight.Add(1)
	o.call = h.app.clock.now()
	res, err := h.client.Do(req) // POST: never retried by the transport
	if err != nil {
		o.err = err
		return
	}
	o.status = res.StatusCode
	o.cookie, o.cookieVal = sessionCookie(res.Header.Values("Set-Cookie"))
	jar(o.cookie, o.cookieVal)
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err != nil {
		o.err = err
		return
	}
	o.ret = h.app.clock.now()
}

// tokens returns every token a response set or would have set (for a
// client that hung up), in the order of the operations.
func (h *history) tokens() []string {
	var toks []string
	seen := map[string]bool{}
	for _, o := range h.ops {
		if action, tok := sessionCookie(o.srv.setCookie); action == cookieSet && !seen[tok] {
			seen[tok] = true
			toks = append(toks, tok)
		}
	}
	return toks
}

func (o *op) String() string {
	s := fmt.Sprintf("#%d %v", o.id, o.plan.kind)
	if o.client >= 0 {
		s = fmt.Sprintf("client %d: %s", o.client, s)
	}
	return s
}
