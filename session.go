package sessions

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionkit/sessions/store"
)

// cookieAction is what the response must do with the session cookie.
type cookieAction uint8

const (
	cookieKeep   cookieAction = iota // send nothing
	cookieSet                        // send the current token
	cookieExpire                     // delete the cookie
)

// maxPresentedTokens bounds how many well-formed session cookies of one
// request are tried against the store.
const maxPresentedTokens = 4

// session is the state of one session during one request (or one Load /
// Commit pair). All fields are guarded by mu.
type session[T any] struct {
	m  *Manager[T]
	mu sync.Mutex

	// Set by the middleware; nil for the token transport.
	w *responseWriter[T]
	r *http.Request

	candidates []string // well-formed tokens the request presented, in order
	tokenBuf   [maxPresentedTokens]string
	token      string // current token; "" for a new session, or after following a racing Renew (its token is not known here)
	key        string // store key of the session
	presented  bool   // the request carried a well-formed token
	forwarded  bool   // a presented token was renewed away by another request
	loaded     bool
	forwardKey string // the key of that token's forward record (Destroy ends what it leads to)
	loadErr    error
	data       *T
	inline     T             // storage for the first value of data (see newData)
	saved      []byte        // payload as last loaded or saved: the change baseline (see baseline.go)
	savedBuf   *encodeBuffer // the pooled buffer saved lies in, or nil
	version    store.Version // version of the record under key, for conditional writes
	inlineUsed bool          // inline has been handed out
	noBaseline bool          // close handed saved's buffer back: a later commit has no baseline
	closed     bool          // Middleware returned (see close)
	exists     bool          // a record for key is in the store
	ended      bool          // another request ended this session: never write it again
	deadline   time.Time
	created    time.Time
	authAt     time.Time // when the owner last authenticated (SetOwner, Reauthenticated); zero for never
	owner      string    // the owner the session is to be bound to (SetOwner)
	bound      string    // the owner in the stored record, whose index lists it
	ownerSet   bool      // SetOwner chose owner in this request
	authSet    bool      // SetOwner or Reauthenticated chose authAt in this request
	persistent bool
	next       string // the token Renew chose, written at the next write; "" without a Renew
	issued     bool   // this request wrote the session under a token it issued
	dirty      bool   // save even if the payload did not change
	refresh    bool   // rewrite at commit, unless saved, to slide the idle timeout
	discardKey string // an unreadable or expired record to delete at commit
	cookie     cookieAction
	started    bool                       // the response has started: the cookie is final
	reentry    atomic.Pointer[reentry[T]] // set while Update's function runs
}

// lock takes the session's lock for a call that may change the session.
// While Update's function runs, Update holds the lock: the call fails at
// once instead of waiting forever.
func (s *session[T]) lock() error {
	if s.reentry.Load() != nil {
		return errReentrant
	}
	s.mu.Lock()
	return nil
}

// init prepares s for the well-formed tokens the request presented.
func (s *session[T]) init(m *Manager[T], tokens []string) {
	s.m = m
	s.candidates = tokens
	if len(s.candidates) > 0 {
		s.token = s.candidates[0]
		s.presented = true
	}
}

// value loads the session if needed and returns its data.
func (s *session[T]) value(ctx context.Context) (*T, error) {
	if r := s.reentry.Load(); r != nil {
		return r.data, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	return s.data, nil
}

// load reads the session from the store once. The well-formed tokens the
// request presented are tried in order until the store knows one: a
// planted cookie before the real one neither logs the user out nor gets
// adopted. No known token, an expired record and a record that no longer
// decodes all give a fresh session that will get a new token; a store
// error is kept and returned on every later call.
func (s *session[T]) load(ctx context.Context) error {
	if s.loaded {
		return s.loadErr
	}
	s.loaded = true
	now := time.Now()
	for _, token := range s.candidates {
		s.token, s.key = token, storeKey(s.m.cfg.keyPrefix, token)
		if err := s.fetch(ctx, now); err != nil {
			s.loadErr = fmt.Errorf("%w: %w", ErrLoadFailed, err)
			break
		}
		if s.exists {
			break
		}
	}
	if s.loadErr == nil && !s.exists {
		if s.presented {
			// Never adopt a token the store does not hold. Expire the
			// cookie, unless a racing request renewed the session: its
			// response carries the new token, which this one must not
			// clobber.
			s.token, s.key = "", ""
			if !s.forwarded {
				s.cookie = cookieExpire
			}
		}
		s.reset(now)
	}
	if ev := s.m.ev; ev != nil {
		ev.loaded(ctx, s.key, s.bound, s.loadErr) // key "" for a new session
	}
	return s.loadErr
}

// fetch reads and decodes the record under s.key.
func (s *session[T]) fetch(ctx context.Context, now time.Time) error {
	m := s.m
	ctx, cancel := m.storeContext(ctx)
	defer cancel()
	var touch time.Time
	capped := false // touch is the deadline (see lastWindow)
	if m.cfg.idleTimeout > 0 {
		touch = now.Add(m.cfg.idleTimeout)
		if d, ok := m.lastWindow.deadline(s.key); ok && d.Before(touch) {
			touch, capped = d, true
		}
	}
	l, err := m.loadRecord(ctx, s.key, touch)
	if err != nil || !l.Found() {
		return err
	}
	var buf *encodeBuffer // where the opened record goes, when pooled
	if s.pooling() {
		buf = getBuffer()
		defer func() {
			if buf != nil { // not kept as the baseline
				putBuffer(buf)
			}
		}()
	}
	rec, err := m.openRecordInto(buf, s.key, l.Data)
	switch {
	case err != nil:
		if id := keyIDOf(err); id != "" {
			m.logAt(ctx, slog.LevelWarn, "sessions: discarding a session record that does not open; starting a new session", id, err)
		} else {
			m.logAt(ctx, slog.LevelWarn, "sessions: discarding a session record that does not decode; starting a new session", "", err)
		}
		s.discardKey = s.key
		return nil
	case rec.revoked:
		return nil // a tombstone: stays until it expires
	case rec.forward:
		s.forwarded, s.forwardKey = true, s.key // renewed away: never a session again
		return nil
	case !now.Before(rec.deadline):
		s.discardKey = s.key // past its lifetime: the store may not know yet
		m.expiredFound(ctx, s.key, l.Version, rec.owner)
		return nil
	}
	data := s.newData()
	if err := m.decodeValue(rec.payload, data); err != nil {
		m.logAt(ctx, slog.LevelWarn, "sessions: discarding session data that does not decode; starting a new session", "", err)
		s.discardKey = s.key
		return nil
	}
	s.setSaved(rec.payload, buf)
	buf = nil
	s.data, s.version, s.exists = data, l.Version, true
	s.deadline, s.persistent = rec.deadline, rec.persistent
	s.created, s.owner, s.bound, s.authAt = rec.created, rec.owner, rec.owner, rec.authAt
	if m.cfg.idleTimeout > 0 {
		ideal := m.expiry(rec.deadline, now)
		if !capped && now.Add(m.cfg.idleTimeout).After(rec.deadline) {
			m.lastWindow.remember(s.key, rec.deadline) // later loads touch to it
		}
		if l.Touched {
			// The touch moved the expiry to now+idle, or to the
			// deadline; never past the deadline, so that no record
			// outlives it: a touch past it is pulled back with a
			// rewrite (once per process, see lastWindow). A store that
			// reports the expiry (Loaded.Expires) tells Info.LastSeen
			// from it (see lastSeen), unless the touch was capped at
			// the deadline; otherwise the record's time of writing,
			// which is LastSeen then, is brought up to date once per
			// refresh window. Sessions without conditional writes
			// have no owner index, and no Info.
			s.refresh = touch.After(rec.deadline) ||
				m.versioned != nil && (capped || l.Expires.IsZero()) && rec.seen.Before(now.Add(-m.refreshWindow()))
		} else {
			// Slide the idle timeout by rewriting the record, but only
			// once its stored expiry lags the ideal one by more than the
			// refresh window: most reads then cost one round trip.
			s.refresh = rec.expires.Before(ideal.Add(-m.refreshWindow()))
		}
	}
	return nil
}

// newData returns a new, empty session value. The first one is the
// session's own inline storage, allocated with it, which saves every
// request that loads a session an allocation; later ones (after a failed
// decode, a Destroy, or for a conflict's reload) are allocated, so that a
// *T the handler still holds never turns into another session's data.
func (s *session[T]) newData() *T {
	if s.inlineUsed {
		return s.m.newValue()
	}
	s.inlineUsed = true
	return s.m.emptied(&s.inline)
}

// reset makes s a new, empty session that has no record yet.
func (s *session[T]) reset(now time.Time) {
	s.data = s.newData()
	s.setSaved(s.m.zero, nil)
	s.version = 0
	s.exists, s.dirty, s.refresh, s.next = false, false, false, ""
	s.deadline, s.created, s.owner, s.bound, s.ownerSet = s.m.deadline(now), now, "", "", false
	s.authAt, s.authSet = time.Time{}, false
	s.persistent = s.m.cfg.cookie.persistent
}

// end marks s as ended by another request: nothing of it is written any
// more. With expireCookie, the response (if it has not started) expires
// the cookie.
func (s *session[T]) end(expireCookie bool) {
	s.ended, s.exists, s.dirty, s.refresh, s.next = true, false, false, false, ""
	if expireCookie && !s.started {
		s.cookie = cookieExpire
	}
}

// renew marks the session to move to a new token at its next write (the
// commit, or an earlier SetOwner or Update), where the old record becomes
// a forward to the new one; see LIFECYCLE.md. Until then nothing changes
// in the store, so a request that fails leaves the old token as it was.
func (s *session[T]) renew(ctx context.Context) error {
	if err := s.lockForNewToken(ctx, "renew"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	now := time.Now()
	s.m.useRebinder()
	s.dirty, s.next = true, newToken()
	s.deadline, s.created = s.m.deadline(now), now
	return nil
}

// lockForNewToken takes s's lock for a call (op) that gives the session a
// new token, and loads it: it fails, with the lock released, after the
// response started, when the load fails, or when another request ended
// the session.
func (s *session[T]) lockForNewToken(ctx context.Context, op string) error {
	if err := s.lock(); err != nil {
		return err
	}
	var err error
	if s.started {
		err = ErrResponseStarted
	} else if err = s.load(ctx); err == nil && s.ended {
		err = fmt.Errorf("sessions: %s: %w: another request ended the session", op, ErrSessionChanged)
	}
	if err != nil {
		s.mu.Unlock()
	}
	return err
}

// nextToken returns the token the session's next write gives it: the one
// Renew chose, or a new one.
func (s *session[T]) nextToken() string {
	if s.next != "" {
		return s.next
	}
	return newToken()
}

// setPersistent switches between a persistent and a browser-session cookie.
func (s *session[T]) setPersistent(ctx context.Context, persistent bool) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if s.started {
		return ErrResponseStarted
	}
	if err := s.load(ctx); err != nil {
		return err
	}
	if s.persistent != persistent {
		s.persistent = persistent
		s.dirty = true
		if s.token != "" {
			s.cookie = cookieSet
		}
	}
	return nil
}

// setHeaders adds the cookie and caching headers the session needs. It runs
// once, right before the response starts.
func (s *session[T]) setHeaders(h http.Header) {
	if !s.loaded && s.cookie == cookieKeep {
		return // the handler never looked at the session
	}
	addVaryCookie(h)
	var c *http.Cookie
	switch s.cookie {
	case cookieKeep:
		return
	case cookieSet:
		c = s.m.cfg.cookie.cookie(s.token, s.persistent, s.deadline, time.Now())
	case cookieExpire:
		c = s.m.cfg.cookie.cookie("", false, time.Time{}, time.Time{})
	}
	if v := c.String(); v != "" {
		h.Add("Set-Cookie", v)
	}
	// A response that sets the session cookie must never be stored by a
	// shared cache and replayed to someone else.
	if cc := h.Get("Cache-Control"); !containsToken(cc, "no-store") && !containsToken(cc, "private") {
		h.Set("Cache-Control", `no-store`)
	}
}

// addVaryCookie adds Cookie to the Vary header once. It never appends into
// a slice the handler owns.
func addVaryCookie(h http.Header) {
	v, ok := h["Vary"]
	if !ok {
		h["Vary"] = varyCookie[:1:1] // shared; an append by the handler copies it
		return
	}
	for _, line := range v {
		if containsToken(line, "Cookie") || containsToken(line, "*") {
			return
		}
	}
	h["Vary"] = append(v[:len(v):len(v)], "Cookie")
}

var varyCookie = []string{"Cookie"}

// reportLoadError sends a failed load to the error handler, once, if the
// response has not started.
func (s *session[T]) reportLoadError(err error) {
	if s.w != nil {
		s.w.fail(err)
		return
	}
	s.m.logAt(context.Background(), slog.LevelError, "sessions: load failed", "", err)
}

// containsToken reports whether the comma-separated header value v lists
// token, ignoring case and directive arguments.
func containsToken(v, token string) bool {
	for part := range strings.SplitSeq(v, ",") {
		name, _, _ := strings.Cut(part, "=")
		if strings.EqualFold(strings.TrimSpace(name), token) {
			return true
		}
	}
	return false
}
