package sessions_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/store/memstore"
)

// profile is the session type most tests use.
type profile struct {
	Name   string
	Visits int
	Cart   []string
}

var errDown = errors.New("store is down")

// spyStore wraps a real memstore, counts calls and can be switched off to
// play a store outage. Which optional capabilities it exposes is chosen by
// the constructors below, so the manager's fallbacks can be tested.
type spyStore struct {
	inner *memstore.Store

	mu    sync.Mutex
	calls []string
	keys  map[string]bool // every key ever saved
	down  atomic.Bool
}

type sessionsStore = store.Store

// savedKeys returns every key ever saved.
func (s *spyStore) savedKeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for k := range s.keys {
		keys = append(keys, k)
	}
	return keys
}

func newSpy(t *testing.T) *spyStore {
	inner, err := memstore.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inner.Close() })
	return &spyStore{inner: inner, keys: map[string]bool{}}
}

func (s *spyStore) record(op string) error {
	s.mu.Lock()
	s.calls = append(s.calls, op)
	s.mu.Unlock()
	if s.down.Load() {
		return errDown
	}
	return nil
}

// take returns the calls made since the last take.
func (s *spyStore) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls
	s.calls = nil
	return c
}

func (s *spyStore) Load(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.record("load"); err != nil {
		return nil, false, err
	}
	return s.inner.Load(ctx, key)
}

func (s *spyStore) Save(ctx context.Context, key string, data []byte, exp time.Time) error {
	if err := s.record("save"); err != nil {
		return err
	}
	s.mu.Lock()
	s.keys[key] = true
	s.mu.Unlock()
	return s.inner.Save(ctx, key, data, exp)
}

func (s *spyStore) Delete(ctx context.Context, key string) error {
	if err := s.record("delete"); err != nil {
		return err
	}
	return s.inner.Delete(ctx, key)
}

// touchSpy adds store.Toucher.
type touchSpy struct{ *spyStore }

func (s touchSpy) Touch(ctx context.Context, key string, exp time.Time) error {
	if err := s.record("touch"); err != nil {
		return err
	}
	return s.inner.Touch(ctx, key, exp)
}

// loadTouchSpy adds store.Toucher and store.LoadToucher.
type loadTouchSpy struct{ touchSpy }

func (s loadTouchSpy) LoadAndTouch(ctx context.Context, key string, exp time.Time) ([]byte, bool, error) {
	if err := s.record("loadtouch"); err != nil {
		return nil, false, err
	}
	return s.inner.LoadAndTouch(ctx, key, exp)
}

var (
	_ store.Toucher     = touchSpy{}
	_ store.LoadToucher = loadTouchSpy{}
)

// client drives a handler wrapped by a manager's middleware, keeping the
// session cookie like a browser.
type client struct {
	t       *testing.T
	handler http.Handler
	cookie  string // current session cookie value, "" for none
}

func newClient[T any](t *testing.T, m *sessions.Manager[T], h http.HandlerFunc) *client {
	return &client{t: t, handler: m.Middleware(h)}
}

// do sends one request and applies the Set-Cookie it gets back.
func (c *client) do() *http.Response {
	c.t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	if c.cookie != "" {
		req.Header.Set("Cookie", "session="+c.cookie)
	}
	rec := httptest.NewRecorder()
	c.handler.ServeHTTP(rec, req)
	res := rec.Result()
	for _, ck := range res.Cookies() {
		if ck.Name != "session" {
			continue
		}
		if ck.MaxAge < 0 {
			c.cookie = ""
		} else {
			c.cookie = ck.Value
		}
	}
	return res
}

// sessionCookie returns the session's Set-Cookie header, or "".
func sessionCookie(res *http.Response) string {
	for _, v := range res.Header.Values("Set-Cookie") {
		if strings.HasPrefix(v, "session=") {
			return v
		}
	}
	return ""
}

func mustNew[T any](t *testing.T, opts ...sessions.Option) *sessions.Manager[T] {
	t.Helper()
	m, err := sessions.New[T](opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// indexLen is the number of entries in owner's index, read from st under
// the default key prefix: from its records (the manager's fallback, whose
// head lists up to thousands), else from st's own index.
func indexLen(t *testing.T, st store.Store, owner string) int {
	t.Helper()
	sum := sha256.Sum256([]byte(owner))
	key := "session:owner:" + base64.RawURLEncoding.EncodeToString(sum[:])
	b, found, err := st.Load(t.Context(), key)
	if err == nil && found {
		return (len(b) - len("sidx2") - 12) / 59
	}
	if x, ok := st.(store.OwnerIndex); ok {
		list, err := x.IndexList(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	return 0
}

func urlEscape(s string) string { return url.QueryEscape(s) }

// versionedSpy adds store.Versioned, as every built-in store has it.
type versionedSpy struct{ *spyStore }

func newVersionedSpy(t *testing.T) versionedSpy { return versionedSpy{newSpy(t)} }

func (s versionedSpy) LoadVersion(ctx context.Context, key string, touch time.Time) (store.Loaded, error) {
	if err := s.record("loadversion"); err != nil {
		return store.Loaded{}, err
	}
	return s.inner.LoadVersion(ctx, key, touch)
}

func (s versionedSpy) SaveIf(ctx context.Context, key string, data []byte, exp time.Time, v store.Version) (store.Version, error) {
	if err := s.record("saveif"); err != nil {
		return 0, err
	}
	s.mu.Lock()
	s.keys[key] = true
	s.mu.Unlock()
	return s.inner.SaveIf(ctx, key, data, exp, v)
}

var _ store.Versioned = versionedSpy{}

// savedSession saves a new session named name through the token transport
// and returns its token.
func savedSession(t *testing.T, m *sessions.Manager[profile], name string) string {
	t.Helper()
	ctx, err := m.Load(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	m.Get(ctx).Name = name
	token, _, err := m.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// ownedSession starts a new session bound to owner and returns its context.
func ownedSession(t *testing.T, m *sessions.Manager[profile], owner string) context.Context {
	t.Helper()
	ctx, err := m.Load(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetOwner(ctx, owner); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// cookieOf is the session cookie a response set: its value, "-" for a
// deleted one, or "" when it set none.
func cookieOf(res *http.Response) string {
	for _, c := range res.Cookies() {
		if c.Name == "session" {
			if c.MaxAge < 0 {
				return "-"
			}
			return c.Value
		}
	}
	return ""
}

// sessionID returns m.ID(ctx), reporting an error through t.Errorf (so it
// may be called from any goroutine).
func sessionID[T any](t *testing.T, m *sessions.Manager[T], ctx context.Context) string {
	t.Helper()
	id, err := m.ID(ctx)
	if err != nil {
		t.Errorf("ID: %v", err)
	}
	return id
}

// indexedSpy adds the memory store's owner index and batch loads
// (store.OwnerIndex, store.MultiLoader), as every built-in store has them.
type indexedSpy struct{ versionedSpy }

func newIndexedSpy(t *testing.T) indexedSpy { return indexedSpy{newVersionedSpy(t)} }

func (s indexedSpy) IndexAdd(ctx context.Context, key string, e store.IndexEntry) error {
	if err := s.record("indexadd"); err != nil {
		return err
	}
	return s.inner.IndexAdd(ctx, key, e)
}

func (s indexedSpy) IndexRemove(ctx context.Context, key string, ids ...string) error {
	if err := s.record("indexremove"); err != nil {
		return err
	}
	return s.inner.IndexRemove(ctx, key, ids...)
}

func (s indexedSpy) IndexList(ctx context.Context, key string) ([]store.IndexEntry, error) {
	if err := s.record("indexlist"); err != nil {
		return nil, err
	}
	return s.inner.IndexList(ctx, key)
}

func (s indexedSpy) LoadVersions(ctx context.Context, keys []string) ([]store.Loaded, error) {
	if err := s.record("loadversions"); err != nil {
		return nil, err
	}
	return s.inner.LoadVersions(ctx, keys)
}

var (
	_ store.OwnerIndex  = indexedSpy{}
	_ store.MultiLoader = indexedSpy{}
)

// addListSpy adds the memory store's store.IndexAddLister, which lists
// the index with every add. With unlisted it answers as a store that
// cannot tell: it adds and returns listed == false.
type addListSpy struct {
	indexedSpy
	unlisted bool
}

func newAddListSpy(t *testing.T, unlisted bool) addListSpy {
	return addListSpy{newIndexedSpy(t), unlisted}
}

func (s addListSpy) IndexAddList(ctx context.Context, key string, e store.IndexEntry) ([]store.IndexEntry, bool, error) {
	if err := s.record("indexaddlist"); err != nil {
		return nil, false, err
	}
	if s.unlisted {
		return nil, false, s.inner.IndexAdd(ctx, key, e)
	}
	return s.inner.IndexAddList(ctx, key, e)
}

var _ store.IndexAddLister = addListSpy{}
