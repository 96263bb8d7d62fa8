package e2etest_test

import (
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/internal/backendtests/testbackend"
	"github.com/sessionkit/sessions/store/redisstore"
)

type cached struct{ Name string }

// TestRedisClientCache runs two managers on two rueidis clients against one
// server, both reading through the client-side cache, and checks the
// documented bound: after a Save, Renew or Destroy through one, the other
// stops returning the old data within the cache TTL (in practice within a
// round trip, through Redis's invalidation push). It also checks that a
// cached read-only request costs the server nothing.
func TestRedisClientCache(t *testing.T) {
	const ttl = 2 * time.Second
	addr := testbackend.Redis(t)
	prefix := "cache:" + rand.Text() + ":"
	newManager := func() *sessions.Manager[cached] {
		st, err := redisstore.New(redisClient(t, addr), redisstore.WithClientCache(ttl))
		if err != nil {
			t.Fatal(err)
		}
		m, err := sessions.New[cached](sessions.WithManagedStore(st),
			sessions.WithKeyPrefix(prefix), sessions.WithIdleTimeout(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		return m
	}
	a, b := newManager(), newManager()
	serve := func(m *sessions.Manager[cached], token, path string) (body, newToken string) {
		h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			switch {
			case strings.HasPrefix(path, "/set/"):
				m.Get(ctx).Name = strings.TrimPrefix(path, "/set/")
			case path == "/renew":
				if err := m.Renew(ctx); err != nil {
					t.Error(err)
				}
			case path == "/destroy":
				if err := m.Destroy(ctx); err != nil {
					t.Error(err)
				}
			}
			w.Write([]byte(m.Get(ctx).Name))
		}))
		req := httptest.NewRequest("GET", path, nil)
		if token != "" {
			req.Header.Set("Cookie", "session="+token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		newToken = token
		for _, c := range rec.Result().Cookies() {
			newToken = c.Value
			if c.MaxAge < 0 {
				newToken = ""
			}
		}
		return rec.Body.String(), newToken
	}
	gets := redisCalls(t, addr, "get", "getex")
	// within polls b until it answers want for token, and fails if that
	// takes longer than the bound.
	within := func(token, want, after string) {
		t.Helper()
		start := time.Now()
		for {
			got, _ := serve(b, token, "/")
			if got == want {
				t.Logf("%s: the other manager saw it after %v", after, time.Since(start).Round(time.Microsecond))
				return
			}
			if time.Since(start) > ttl+200*time.Millisecond {
				t.Fatalf("%s: the other manager still reads %q after %v (bound %v)", after, got, time.Since(start), ttl)
			}
			time.Sleep(time.Millisecond)
		}
	}

	_, token := serve(a, "", "/set/ann")
	if got, _ := serve(b, token, "/"); got != "ann" {
		t.Fatalf("b reads %q", got)
	}
	before := gets()
	for range 10 {
		if got, _ := serve(b, token, "/"); got != "ann" {
			t.Fatalf("b reads %q", got)
		}
	}
	if n := gets() - before; n != 0 {
		t.Errorf("10 cached read-only requests cost %d GETs, want 0", n)
	}

	serve(a, token, "/set/bob")
	within(token, "bob", "Save")

	_, renewed := serve(a, token, "/renew")
	within(token, "", "Renew (old token)")
	within(renewed, "bob", "Renew (new token)")

	serve(a, renewed, "/destroy")
	within(renewed, "", "Destroy")
}
