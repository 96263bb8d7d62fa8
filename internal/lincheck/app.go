package lincheck

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionkit/sessions"
)

// A plan is what a client will do in one operation, drawn from the seed.
type plan struct {
	kind   Kind
	field  int  // set, incr
	x      int  // set
	owner  int8 // login, revokeowner, sessions
	other  int  // revoke: the client whose session is revoked
	early  bool // start the response (flush) before changing the session
	panics bool // panic after the change (after the call succeeded)
	hangUp bool // the client hangs up once the session is loaded
	fault  *faultPlan
	jitter time.Duration // the handler waits this long between the load and the change
}

// An op is one operation of a history: what its client planned and
// observed, and what the server saw. The server writes srv while the
// request runs; the checker reads it after every handler returned.
type op struct {
	id       int
	lane     int // the client's tab (a row of the visualization)
	client   int // -1 for the checks at rest
	plan     plan
	final    bool
	token    string        // the cookie the client presented
	target   string        // revoke: the token of the session revoked
	loadedCh chan struct{} // closed by the handler once loaded (for hang-ups)

	// Client side.
	call, ret int64 // when the request was sent and its response read (ret 0: no response)
	err       error // the transport's error, for a hang-up or a panicked handler
	status    int
	cookie    cookieAction
	cookieVal string
	jarAt     int64 // when its response changed the client's cookie (0: it did not)

	// Injected faults, by the store wrapper.
	storeCalls atomic.Int32
	faulted    atomic.Int32 // the faultKind injected, plus 1; 0: none

	srv serverRecord

	logMu  sync.Mutex
	logs   []string // what the manager logged for the request
	errors bool     // some of it at level Error
}

// serverRecord is what the server saw of a request.
type serverRecord struct {
	reached                     bool
	start, loaded, change, done int64 // on the checker's clock
	status                      int
	setCookie                   []string
	body                        bytes.Buffer
	panicked                    bool
	n                           int    // incr: the value Update stored
	loadedID                    string // the session's ID once loaded ("" for a new session)
}

type opKey struct{}

// opFrom returns the operation whose request ctx belongs to.
func opFrom(ctx context.Context) *op {
	o, _ := ctx.Value(opKey{}).(*op)
	return o
}

// idOf is the session ID of token: the unpadded base64url SHA-256 of the
// token. The manager's store key is its key prefix plus this; Info.ID
// and Manager.ID are the key without the prefix, so this is the ID
// Revoke takes and Sessions lists, derived here without asking the
// manager (the reads cross-check it against Manager.ID).
func idOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// opLog is the manager's logger: it keeps, on each operation, what the
// manager logged for its request (the manager logs with the request's
// context). An early response cannot report a failed save; the log line
// can.
type opLog struct{ attrs []slog.Attr }

func (opLog) Enabled(_ context.Context, level slog.Level) bool { return level >= slog.LevelWarn }

func (h opLog) Handle(ctx context.Context, r slog.Record) error {
	o := opFrom(ctx)
	if o == nil {
		return nil
	}
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	o.logMu.Lock()
	defer o.logMu.Unlock()
	o.logs = append(o.logs, b.String())
	o.errors = o.errors || r.Level >= slog.LevelError
	return nil
}

func (h opLog) WithAttrs(attrs []slog.Attr) slog.Handler { return opLog{append(h.attrs, attrs...)} }
func (h opLog) WithGroup(string) slog.Handler            { return h }

// clock is the checker's monotonic clock, shared by clients and server.
type clock struct{ base time.Time }

func (c clock) now() int64 { return int64(time.Since(c.base)) }

// app is the checked application: a Manager[Value] whose Middleware
// wraps one handler per operation kind.
type app struct {
	m        *sessions.Manager[Value]
	clock    clock
	mu       sync.Mutex
	ops      map[string]*op // by the X-Op header
	inflight sync.WaitGroup // requests sent and not yet finished by their handler
}

// handler is the server's handler: the recorder around the manager's
// middleware around the application.
func (a *app) handler() http.Handler {
	inner := a.m.Middleware(http.HandlerFunc(a.serve))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		o := a.ops[r.Header.Get("X-Op")]
		a.mu.Unlock()
		if o == nil {
			http.Error(w, "unknown operation", http.StatusBadRequest)
			a.inflight.Done()
			return
		}
		rec := &o.srv
		rec.reached, rec.start = true, a.clock.now()
		defer func() {
			rec.done = a.clock.now()
			p := recover()
			rec.panicked = p != nil
			a.inflight.Done()
			if p != nil {
				panic(p)
			}
		}()
		cw := &captureWriter{ResponseWriter: w, rec: rec}
		inner.ServeHTTP(cw, r.WithContext(context.WithValue(r.Context(), opKey{}, o)))
	})
}

// serve performs the request's operation. Every handler that uses the
// session loads it first (Get) and notes when that returned; it then
// waits its jitter (a wider window for racing requests), optionally
// starts the response, notes when it goes on to change the session, and
// changes it. The body reports the call's result (r: ok, conflict,
// started, error) and what the operation returns; the status is 409 for
// a conflict and 500 for an error.
func (a *app) serve(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	o, m, rec := opFrom(ctx), a.m, &opFrom(ctx).srv
	p := &o.plan
	reply := url.Values{}
	var err error
	if !p.kind.loads() {
		rec.change = a.clock.now()
		switch p.kind {
		case Revoke:
			err = m.Revoke(ctx, idOf(o.target))
		case RevokeOwner:
			var n int
			n, err = m.RevokeOwner(ctx, ownerName(p.owner))
			reply.Set("n", strconv.Itoa(n))
		case Sessions:
			var list []sessions.Info[Value]
			list, err = m.Sessions(ctx, ownerName(p.owner))
			ids := make([]string, len(list))
			for i, info := range list {
				ids[i] = info.ID
			}
			reply.Set("ids", strings.Join(ids, ","))
		}
		a.reply(w, o, err, reply)
		return
	}

	d := m.Get(ctx)
	rec.loaded = a.clock.now()
	rec.loadedID, _ = m.ID(ctx) // a failed load: Get reported it, and the ID is ""
	if p.hangUp {
		close(o.loadedCh)
		select { // until the server notices the client is gone
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	time.Sleep(p.jitter)
	if p.early {
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
	}
	rec.change = a.clock.now()
	switch p.kind {
	case Read:
		reply.Set("a", strconv.Itoa(d.A))
		reply.Set("b", strconv.Itoa(d.B))
		reply.Set("user", d.User)
		reply.Set("id", rec.loadedID)
	case Set:
		*valueField(d, p.field) = p.x
	case Incr:
		err = m.Update(ctx, func(v *Value) error {
			f := valueField(v, p.field)
			*f++
			rec.n = *f
			return nil
		})
		reply.Set("n", strconv.Itoa(rec.n))
	case Login:
		// User is set between Renew and SetOwner, so that SetOwner's
		// write (which carries the pending Renew) saves it: the login is
		// one write. Set after SetOwner, it would be a second write (a
		// plain change at the response's start) that a racing request
		// could see missing.
		if err = m.Renew(ctx); err == nil {
			m.Get(ctx).User = ownerName(p.owner)
			err = m.SetOwner(ctx, ownerName(p.owner))
		}
	case Logout:
		err = m.Destroy(ctx)
	case RevokeOthers:
		var n int
		n, err = m.RevokeOthers(ctx)
		reply.Set("n", strconv.Itoa(n))
	}
	if p.panics && err == nil {
		panic(http.ErrAbortHandler) // recovered by net/http without a log line
	}
	a.reply(w, o, err, reply)
}

// reply writes the operation's result.
func (a *app) reply(w http.ResponseWriter, o *op, err error, reply url.Values) {
	res, status := "ok", http.StatusOK
	switch {
	case err == nil:
	case errors.Is(err, sessions.ErrSessionChanged):
		res, status = "conflict", http.StatusConflict
	case errors.Is(err, sessions.ErrResponseStarted):
		res = "started"
	default:
		res, status = "error", http.StatusInternalServerError
		reply.Set("err", err.Error())
	}
	reply.Set("r", res)
	if !o.plan.early {
		w.WriteHeader(status) // the middleware saves the session here
	}
	io.WriteString(w, reply.Encode())
}

// captureWriter records the response the server sends: what the client
// gets, or would have got had it not hung up.
type captureWriter struct {
	http.ResponseWriter
	rec   *serverRecord
	wrote bool
}

func (c *captureWriter) WriteHeader(code int) {
	if !c.wrote {
		c.wrote = true
		c.rec.status = code
		c.rec.setCookie = append([]string(nil), c.Header().Values("Set-Cookie")...)
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *captureWriter) Write(b []byte) (int, error) {
	if !c.wrote {
		c.WriteHeader(http.StatusOK)
	}
	c.rec.body.Write(b)
	return c.ResponseWriter.Write(b)
}

func (c *captureWriter) Flush() {
	if !c.wrote {
		c.WriteHeader(http.StatusOK)
	}
	http.NewResponseController(c.ResponseWriter).Flush()
}

func (c *captureWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// valueField returns a pointer to field f (0: A, 1: B) of v.
func valueField(v *Value, f int) *int {
	if f == 0 {
		return &v.A
	}
	return &v.B
}

// sessionCookie returns what the Set-Cookie lines do with the session
// cookie (the last one counts, as in a browser).
func sessionCookie(lines []string) (cookieAction, string) {
	action, value := cookieKeep, ""
	for _, line := range lines {
		c, err := http.ParseSetCookie(line)
		if err != nil || c.Name != cookieName {
			continue
		}
		if c.MaxAge < 0 || c.Value == "" {
			action, value = cookieExpire, ""
		} else {
			action, value = cookieSet, c.Value
		}
	}
	return action, value
}

// cookieName is the manager's default cookie name.
const cookieName = "session"
