package sessions

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// cookieAction is what the response must do with the session cookie.
type cookieAction uint8

const (
	cookieKeep   cookieAction = iota // send nothing
	cookieSet                        // send the current token
	cookieExpire                     // delete the cookie
)

// session is the state of one session during one request (or one Load /
// Commit pair). All fields are guarded by mu.
type session[T any] struct {
	m  *Manager[T]
	mu sync.Mutex

	// Set by the middleware; nil for the token transport.
	w *responseWriter[T]
	r *http.Request

	token      string // current token; "" until a new session is first saved
	key        string // store key of token
	presented  bool   // the request carried a well-formed token
	loaded     bool
	loadErr    error
	data       *T
	saved      []byte // payload as last loaded or saved: the change baseline
	exists     bool   // a record for key is in the store
	deadline   time.Time
	persistent bool
	dirty      bool   // save even if the payload did not change
	refresh    bool   // rewrite at commit, unless saved, to slide the idle timeout
	staleKey   string // a record to delete at commit (renewed or unreadable)
	cookie     cookieAction
	started    bool // the response has started: the cookie is final
}

func (s *session[T]) init(m *Manager[T], token string) {
	s.m = m
	if validToken(token) {
		s.token = token
		s.presented = true
	}
}

// value loads the session if needed and returns its data.
func (s *session[T]) value(ctx context.Context) (*T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	return s.data, nil
}

// load reads the session from the store once. A token the store does not
// know, an expired record and a record that no longer decodes all give a
// fresh session that will get a new token; a store error is kept and
// returned on every later call.
func (s *session[T]) load(ctx context.Context) error {
	if s.loaded {
		return s.loadErr
	}
	s.loaded = true
	now := time.Now()
	if s.token != "" {
		s.key = storeKey(s.m.cfg.keyPrefix, s.token)
		if err := s.fetch(ctx, now); err != nil {
			s.loadErr = fmt.Errorf("%w: %w", ErrLoadFailed, err)
			return s.loadErr
		}
		if s.exists {
			return nil
		}
		// Never adopt a token the store does not hold.
		s.token, s.key = "", ""
		s.cookie = cookieExpire
	}
	s.reset(now)
	return nil
}

// fetch reads and decodes the record under s.key.
func (s *session[T]) fetch(ctx context.Context, now time.Time) error {
	m := s.m
	var (
		b     []byte
		found bool
		err   error
	)
	if m.cfg.idleTimeout > 0 && m.loadToucher != nil {
		b, found, err = m.loadToucher.LoadAndTouch(ctx, s.key, now.Add(m.cfg.idleTimeout))
	} else {
		b, found, err = m.store.Load(ctx, s.key)
	}
	if err != nil || !found {
		return err
	}
	rec, err := parseRecord(b)
	if err == nil && !now.Before(rec.deadline) {
		s.staleKey = s.key // past its lifetime: the store may not know yet
		return nil
	}
	data := new(T)
	if err == nil {
		err = m.cfg.codec.Unmarshal(rec.payload, data)
	}
	if err != nil {
		m.cfg.logger.WarnContext(ctx, "sessions: discarding session data that does not decode; starting a new session", "error", err)
		s.staleKey = s.key
		return nil
	}
	s.data, s.saved, s.exists = data, rec.payload, true
	s.deadline, s.persistent = rec.deadline, rec.persistent
	// Without a one-trip LoadToucher, slide the idle timeout by rewriting
	// the record, but only once its stored expiry lags the ideal one by
	// more than the refresh window: most reads then cost one round trip.
	s.refresh = m.cfg.idleTimeout > 0 && m.loadToucher == nil &&
		rec.expires.Before(m.expiry(rec.deadline, now).Add(-m.refreshWindow()))
	return nil
}

// reset makes s a new, empty session that has no record yet.
func (s *session[T]) reset(now time.Time) {
	s.data = new(T)
	s.saved = s.m.zero
	s.exists, s.dirty, s.refresh = false, false, false
	s.deadline = now.Add(s.m.cfg.lifetime)
	s.persistent = s.m.cfg.cookie.persistent
}

// renew moves the data to a new token at the next commit.
func (s *session[T]) renew(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return ErrResponseStarted
	}
	if err := s.load(ctx); err != nil {
		return err
	}
	if s.exists {
		s.staleKey = s.key
	}
	s.token, s.key, s.exists = "", "", false
	s.deadline = time.Now().Add(s.m.cfg.lifetime)
	s.dirty = true
	return nil
}

// destroy deletes the record now and leaves a fresh session behind.
func (s *session[T]) destroy(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.key == "" && s.token != "" {
		s.key = storeKey(s.m.cfg.keyPrefix, s.token)
	}
	for _, key := range [...]string{s.key, s.staleKey} {
		if key == "" {
			continue
		}
		if err := s.m.store.Delete(ctx, key); err != nil {
			return fmt.Errorf("sessions: destroy: %w", err)
		}
	}
	if s.presented || s.token != "" || s.cookie == cookieSet {
		s.cookie = cookieExpire
	}
	s.token, s.key, s.staleKey = "", "", ""
	s.loaded, s.loadErr = true, nil
	s.reset(time.Now())
	return nil
}

// rememberMe switches between a persistent and a browser-session cookie.
func (s *session[T]) rememberMe(ctx context.Context, remember bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return ErrResponseStarted
	}
	if err := s.load(ctx); err != nil {
		return err
	}
	if s.persistent != remember {
		s.persistent = remember
		s.dirty = true
		if s.token != "" {
			s.cookie = cookieSet
		}
	}
	return nil
}

// commit writes what changed: the record if its encoding differs from the
// baseline (or a Renew or RememberMe asked for it), else just the idle
// timeout; then it deletes a stale record. It never writes for a session
// that failed to load.
func (s *session[T]) commit(ctx context.Context) error {
	if !s.loaded || s.loadErr != nil {
		return nil
	}
	m := s.m
	buf := encodeBuffers.Get().(*bytes.Buffer)
	defer encodeBuffers.Put(buf)
	payload, err := encode(m.cfg.codec, s.data, buf) // may alias buf
	if err != nil {
		return fmt.Errorf("sessions: encode session: %w", err)
	}
	switch {
	case s.dirty || !bytes.Equal(payload, s.saved):
		if s.token == "" && s.started {
			m.cfg.logger.ErrorContext(ctx, "sessions: a new session was changed after the response started; its cookie cannot be sent, so it is not saved")
			return nil
		}
		token, key := s.token, s.key
		if token == "" {
			token = newToken()
			key = storeKey(m.cfg.keyPrefix, token)
		}
		rec, err := s.write(ctx, key, payload)
		if err != nil {
			return fmt.Errorf("sessions: save: %w", err)
		}
		if token != s.token {
			s.token, s.key = token, key
			s.cookie = cookieSet
		}
		s.saved, s.exists, s.dirty, s.refresh = rec[recordHeaderSize:], true, false, false
	case s.refresh:
		if _, err := s.write(ctx, s.key, s.saved); err != nil {
			return fmt.Errorf("sessions: refresh idle timeout: %w", err)
		}
		s.refresh = false
	}
	if s.staleKey != "" {
		if err := m.store.Delete(ctx, s.staleKey); err != nil {
			return fmt.Errorf("sessions: delete old session: %w", err)
		}
		s.staleKey = ""
	}
	return nil
}

// write saves payload under key with the session's deadline and the expiry
// the idle timeout gives it now, and returns the record it saved.
func (s *session[T]) write(ctx context.Context, key string, payload []byte) ([]byte, error) {
	expires := s.m.expiry(s.deadline, time.Now())
	rec := appendRecord(make([]byte, 0, recordHeaderSize+len(payload)), record{
		deadline:   s.deadline,
		expires:    expires,
		persistent: s.persistent,
		payload:    payload,
	})
	return rec, s.m.store.Save(ctx, key, rec, expires)
}

// setHeaders adds the cookie and caching headers the session needs. It runs
// once, right before the response starts.
func (s *session[T]) setHeaders(h http.Header) {
	if !s.loaded && s.cookie == cookieKeep {
		return // the handler never looked at the session
	}
	if v, ok := h["Vary"]; ok {
		h["Vary"] = append(v, "Cookie")
	} else {
		h["Vary"] = varyCookie[:1:1] // shared; an append by the handler copies it
	}
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

var varyCookie = []string{"Cookie"}

// reportLoadError sends a failed load to the error handler, once, if the
// response has not started.
func (s *session[T]) reportLoadError(err error) {
	if s.w != nil {
		s.w.fail(err)
		return
	}
	s.m.cfg.logger.Error("sessions: load failed", "error", err)
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
