package sessions

import (
	"context"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"net/http"
	"reflect"
	"sync"
	"time"

	"github.com/sessionkit/sessions/internal/fastpath"
	"github.com/sessionkit/sessions/internal/option"
	"github.com/sessionkit/sessions/store"
)

// A Manager loads, tracks and saves sessions whose data is a T. Build one
// with [New], wrap handlers with [Manager.Middleware], and read or change
// the session inside them with [Manager.Get]. A Manager is safe for concurrent use.
type Manager[T any] struct {
	core
}

// core is the state of a Manager and the methods that do not depend on
// its session type: compiled once, not once per T.
type core struct {
	cfg        config
	store      store.Store
	ownsStore  bool
	versioned  store.Versioned                 // nil when the store has no conditional writes
	fast       fastpath.Paths                  // the built-in store's uncopied load and save, where it has them
	deadlines  storeClock                      // bounds calls that cannot be cancelled; nil without a store timeout, or for the memory store
	lastWriter lastWriting                     // for a store without conditional writes (see lastWriter); else nil
	zero       []byte                          // encoding of a zero T: an untouched session
	isMap      bool                            // T is a map: new values start as empty maps
	pooled     bool                            // Middleware requests keep their baselines in pooled buffers (baseline.go)
	keyLocks   [keyLockStripes]chan struct{}   // serialize this process's writes of one session
	indexLocks [indexLockStripes]chan struct{} // and of one owner index: a save holds its session's lock while it updates an index
	keySeed    maphash.Seed
	lastWindow *lastWindow // the deadlines of sessions in their last idle timeout; nil without an idle timeout
	ev         eventSink   // nil without an event hook (WithEvents)
	rebind     rebinder    // nil until a Renew or a write before the response asks for it (see rebinder)
	rebindOnce sync.Once
	closeOnce  sync.Once
	closeErr   error
}

// New returns a [Manager] configured by opts. The defaults: the in-memory
// store ([WithMemory]), a 24h lifetime, no idle timeout, the CBOR codec, a cookie named
// "session", a 5 s store timeout and a 1 MiB record limit. New reports an
// invalid configuration with an error wrapping [ErrInvalidConfig].
//
// T must be a struct or a map type. Only exported fields of a struct are
// stored. A map T (such as map[string]any, for Flask-style sessions)
// starts as an empty map, so (*d)["k"] = v works.
func New[T any](opts ...Option) (*Manager[T], error) {
	kind := reflect.TypeFor[T]().Kind()
	if kind != reflect.Struct && kind != reflect.Map {
		return nil, fmt.Errorf("%w: session type %v must be a struct or a map", ErrInvalidConfig, reflect.TypeFor[T]())
	}
	cfg := defaultConfig()
	if err := option.Apply(&cfg, opts); err != nil {
		return nil, err
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.logger = option.Logger(cfg.logger)
	m := &Manager[T]{core{cfg: cfg, isMap: kind == reflect.Map, keySeed: maphash.MakeSeed()}}
	if cfg.idleTimeout > 0 {
		m.lastWindow = newLastWindow(m.keySeed)
	}
	for i := range m.keyLocks {
		m.keyLocks[i] = make(chan struct{}, 1)
	}
	for i := range m.indexLocks {
		m.indexLocks[i] = make(chan struct{}, 1)
	}
	zero, err := cfg.codec.Marshal(m.newValue())
	if err != nil {
		return nil, fmt.Errorf("%w: codec cannot encode %v: %w", ErrInvalidConfig, reflect.TypeFor[T](), err)
	}
	m.zero = zero
	m.pooled = pooledBaselines(cfg.codec, cfg.keys)
	m.store, m.ownsStore, err = cfg.openStore(cfg.logger)
	if err != nil {
		return nil, err
	}
	m.versioned, _ = m.store.(store.Versioned)
	if m.versioned == nil {
		m.lastWriter = cfg.lastWriter // WithStore made it: only it can bring such a store
	}
	// The uncopied paths only for the built-in stores themselves, never
	// for a wrapper that embeds one (instrumentation, a test double): it
	// may override LoadVersion or SaveIf.
	m.fast, _ = fastpath.Of(m.store)
	if cfg.events != nil {
		m.ev = cfg.events(&cfg, m.store)
	}
	if m.cfg.storeTimeout > 0 && !m.fast.NoWait && cfg.newClock != nil {
		m.deadlines = cfg.newClock(m.cfg.storeTimeout) // nil only for the memory store, which never waits
	}
	return m, nil
}

// Close stops the manager's background work. It closes the store when the
// manager manages it: when it created it ([WithMemory], the default) or
// was handed it with [WithManagedStore]. A store passed to [WithStore]
// stays open, and so do the clients the built-in stores were given. Close
// is idempotent.
//
// Call Close after the server has stopped serving (after
// [http.Server.Shutdown] returns): a store call still in flight without a
// cancellable context (the middleware's saves, which outlive a client that
// hangs up) may be cut short as if its store timeout had passed, and a
// closed store fails every later call with an error wrapping
// [store.ErrClosed].
func (m *Manager[T]) Close() error {
	m.closeOnce.Do(func() {
		if m.ev != nil {
			m.ev.stop()
		}
		if m.deadlines != nil {
			m.deadlines.close()
		}
		if c, ok := m.store.(io.Closer); ok && m.ownsStore {
			m.closeErr = c.Close()
		}
	})
	return m.closeErr
}

// Get returns the session value of the request behind ctx, loading it from
// the store on first use; a new session has the zero value. Change the value
// in place: the middleware saves it if its encoding changed.
//
// The *T belongs to the request: do not keep it after the handler returns,
// and do not use it from other goroutines without your own locking.
//
// If the session cannot be loaded (the store is down), Get reports the error
// to the error handler ([WithErrorHandler]), which answers the request (500 by default), and
// returns a detached zero value that is never saved, so stored data is not
// overwritten. Use [Manager.Fetch] to handle the error yourself.
//
// Get panics if ctx carries no session (the handler is not wrapped by
// [Manager.Middleware] and ctx did not come from [Manager.Load]): that is a programming error,
// and the writes to a detached value would silently vanish.
func (m *Manager[T]) Get(ctx context.Context) *T {
	s := m.session(ctx)
	if s == nil {
		panic(ErrNoSession.Error())
	}
	v, err := s.value(ctx)
	if err != nil {
		s.reportLoadError(err)
		return m.newValue()
	}
	return v
}

// Fetch is [Manager.Get] for handlers that decide themselves what a failed
// load means: it returns the error (wrapping [ErrLoadFailed]) instead of
// reporting it to the error handler, and [ErrNoSession] where Get panics.
// The error means only that: a new session is no error (it has the zero
// value, as with Get), so unlike a Lookup in the standard library Fetch
// has no "not found" result. After an error the session is never saved
// during this request.
func (m *Manager[T]) Fetch(ctx context.Context) (*T, error) {
	s := m.session(ctx)
	if s == nil {
		return nil, ErrNoSession
	}
	return s.value(ctx)
}

// Renew gives the session a new token, keeps its data and restarts its
// lifetime; the old token stops working. Call it whenever privileges change,
// above all at login, to defeat session fixation. The store work happens
// when the session is saved, before the response starts (or at an earlier
// [Manager.SetOwner] or [Manager.Update]); a request that fails before then leaves the old
// token as it was. Calling Renew twice in one request issues one new
// token. When a racing request of the same session renewed it first, this
// request's changes go to that renewed session and its response leaves the
// cookie alone. See [LIFECYCLE.md].
//
// [LIFECYCLE.md]: https://github.com/sessionkit/sessions/blob/main/LIFECYCLE.md
func (m *Manager[T]) Renew(ctx context.Context) error {
	s := m.session(ctx)
	if s == nil {
		return ErrNoSession
	}
	return s.renew(ctx)
}

// Destroy deletes the session's data from the store now, with every
// session a racing [Manager.Renew] moved it to, takes it off its owner's
// index (so [Manager.Sessions] no longer lists it), and expires the cookie
// (call it at logout). Later Gets in the same request see a new, empty
// session. After the response started the data is still deleted, but the
// cookie cannot be expired: Destroy then returns [ErrResponseStarted].
func (m *Manager[T]) Destroy(ctx context.Context) error {
	s := m.session(ctx)
	if s == nil {
		return ErrNoSession
	}
	return s.destroy(ctx)
}

// SetPersistent chooses the session's cookie, as a "remember me" checkbox
// at sign-in does: a persistent cookie that lasts the session's lifetime
// (true) or a browser-session cookie that the browser drops when it closes
// (false). The default comes from [CookiePersistent], and [Info.Persistent]
// reports the choice. After the response started it changes nothing and
// returns [ErrResponseStarted].
func (m *Manager[T]) SetPersistent(ctx context.Context, persistent bool) error {
	s := m.session(ctx)
	if s == nil {
		return ErrNoSession
	}
	return s.setPersistent(ctx, persistent)
}

// session returns the session that Middleware or Load put in ctx.
func (m *Manager[T]) session(ctx context.Context) *session[T] {
	s, _ := ctx.Value(m).(*session[T])
	return s
}

// answerError answers the request through the error handler, from clean
// headers plus keep (the session's own cookie, when it must go out): none
// of the handler's headers (Location, Content-Encoding, its cookies) reach
// the error response.
func (m *core) answerError(w http.ResponseWriter, r *http.Request, err error, keep http.Header) {
	h := w.Header()
	clear(h)
	for k, v := range keep {
		h[k] = v
	}
	m.handleError(w, r, err)
}

// handleError calls the error handler (WithErrorHandler), or logs err and
// answers 500.
func (m *core) handleError(w http.ResponseWriter, r *http.Request, err error) {
	if m.cfg.errorHandler != nil {
		m.cfg.errorHandler(w, r, err)
		return
	}
	m.cfg.logger.ErrorContext(r.Context(), "sessions: request failed", "error", err, "method", r.Method, "path", r.URL.Path)
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}

// refreshWindow is how far a session's stored expiry may lag behind the
// idle timeout before a read-only request rewrites the record to slide it,
// on stores that cannot load and touch in one round trip: a tenth of the
// idle timeout, at most a minute. Sessions on such stores may therefore end
// up to that much before the full idle timeout.
func (m *core) refreshWindow() time.Duration {
	return min(m.cfg.idleTimeout/10, time.Minute)
}

// maxTime is the latest time a record can hold: Unix nanoseconds overflow
// after it (in the year 2262).
var maxTime = time.Unix(0, math.MaxInt64)

// deadline is the absolute deadline of a session created or renewed at
// now. A lifetime too long to encode is clamped, never wrapped.
func (m *core) deadline(now time.Time) time.Time {
	if d := now.Add(m.cfg.lifetime); d.Before(maxTime) {
		return d
	}
	return maxTime
}

// decodeValue decodes a stored payload into v. A map T stored as nil (a
// handler set *d = nil) loads as an empty map, like a new session.
func (m *Manager[T]) decodeValue(payload []byte, v *T) error {
	if err := m.cfg.codec.Unmarshal(payload, v); err != nil {
		return err
	}
	if m.isMap && reflect.ValueOf(v).Elem().IsNil() {
		m.emptied(v)
	}
	return nil
}

// newValue returns a new, empty session value.
func (m *Manager[T]) newValue() *T {
	return m.emptied(new(T))
}

// emptied makes the zero value *v an empty session value (an empty map
// for a map T) and returns v.
func (m *Manager[T]) emptied(v *T) *T {
	if m.isMap {
		e := reflect.ValueOf(v).Elem()
		e.Set(reflect.MakeMap(e.Type()))
	}
	return v
}

// storeContext bounds one store call by the store timeout. The memory
// store never waits, so its calls need no timer; a context whose own
// deadline comes first needs none either; one that can never be cancelled
// shares a deadlineClock step with the calls ending at about the same
// time.
func (m *core) storeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if m.deadlines == nil {
		return ctx, noCancel
	}
	deadline := time.Now().Add(m.cfg.storeTimeout)
	if d, ok := ctx.Deadline(); ok && !d.After(deadline) {
		return ctx, noCancel
	}
	if ctx.Done() == nil {
		if c := m.deadlines.bound(ctx, deadline); c != nil {
			return c, noCancel
		}
	}
	return context.WithDeadline(ctx, deadline)
}

func noCancel() {}

// loadRecord reads the record under key, moving its expiry to touch (if
// not zero) in the same round trip where the store can.
func (m *core) loadRecord(ctx context.Context, key string, touch time.Time) (store.Loaded, error) {
	if m.fast.LoadVersion != nil {
		return m.fast.LoadVersion(ctx, key, touch)
	}
	if m.versioned != nil {
		return m.versioned.LoadVersion(ctx, key, touch)
	}
	return m.lastWriter.plainLoad(ctx, key, touch)
}

// unversioned is the version of every record of a store without
// conditional writes.
const unversioned store.Version = 1

// delete removes the record under key, within the store timeout.
func (m *core) delete(ctx context.Context, key string) error {
	ctx, cancel := m.storeContext(ctx)
	defer cancel()
	return m.store.Delete(ctx, key)
}

// lockKey serializes this process's writes of key, so that concurrent
// requests for one session queue here instead of conflicting in the store.
// Pass what it returns to unlockKey. The lock only saves conflicts, since the
// writes are conditional: after waiting for it as long as the store
// timeout (a holder stuck on a frozen store), lockKey goes on without it.
func (m *core) lockKey(key string) chan struct{} {
	return m.lock(m.keyLocks[maphash.String(m.keySeed, key)%keyLockStripes])
}

// lockIndex is lockKey for the key of an owner index. Index locks are
// stripes of their own, so that a save, which holds its session's lock
// while it updates an index, never waits for a lock it holds itself.
func (m *core) lockIndex(key string) chan struct{} {
	return m.lock(m.indexLocks[maphash.String(m.keySeed, key)%indexLockStripes])
}

// lock takes sem, or gives up after the store timeout and returns nil.
func (m *core) lock(sem chan struct{}) chan struct{} {
	select {
	case sem <- struct{}{}:
		return sem
	default:
	}
	wait := m.cfg.storeTimeout
	if wait <= 0 {
		wait = DefaultStoreTimeout
	}
	// The shared tick of the store timeout where there is one, else a
	// timer of its own; the other channel stays nil.
	var (
		t     *deadlineTick
		tick  <-chan struct{}
		timer <-chan time.Time
	)
	if m.deadlines != nil {
		t = m.deadlines.tick(time.Now().Add(wait))
	}
	if t != nil {
		tick = t.done
	} else {
		tm := time.NewTimer(wait)
		defer tm.Stop()
		timer = tm.C
	}
	select {
	case sem <- struct{}{}:
		return sem
	case <-tick:
		return nil
	case <-timer:
		return nil
	}
}

// keyLockStripes is how many locks lockKey spreads keys over: two
// sessions written at once share one with a chance of 1 in keyLockStripes,
// and then one waits for the other's round trip.
const keyLockStripes = 1024

// indexLockStripes is lockKey's keyLockStripes for owner indexes, which
// are written at logins and revocations only.
const indexLockStripes = 64

// unlockKey releases what lockKey took.
func unlockKey(sem chan struct{}) {
	if sem != nil {
		<-sem
	}
}

// expiry is when the record of a session with the given absolute deadline
// expires if it is saved or touched at now.
func (m *core) expiry(deadline, now time.Time) time.Time {
	if m.cfg.idleTimeout > 0 {
		if idle := now.Add(m.cfg.idleTimeout); idle.Before(deadline) {
			return idle
		}
	}
	return deadline
}
