// Package e2etest drives a Manager on a given store through its middleware
// on a real HTTP server: create, read, modify, renew, destroy, idle refresh
// and expiry, requests racing on one session, and sessions bound to an
// owner. Every store's tests run it against the real backend.
package e2etest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/store"
)

type data struct {
	Name  string
	Count int
	Blob  []byte
}

const (
	idle     = 1500 * time.Millisecond
	lifetime = 4 * time.Second
)

// Run runs the end-to-end scenarios; newStore returns a fresh store for
// each (the caller cleans it up).
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("lifecycle", func(t *testing.T) {
		t.Parallel()
		b := newBrowser(t, newStore(t))
		b.expect("/", "|0", "a new session reads empty")
		if b.cookie != "" {
			t.Fatal("an untouched session set a cookie")
		}
		b.expect("/set?name=ann", "ann|0", "create")
		first := b.cookie
		if first == "" {
			t.Fatal("creating a session set no cookie")
		}
		b.expect("/", "ann|0", "read")
		b.expect("/inc", "ann|1", "modify")
		b.expect("/", "ann|1", "read after modify")
		b.expect("/renew", "ann|1", "renew keeps the data")
		if b.cookie == first || b.cookie == "" {
			t.Fatal("renew kept the token")
		}
		renewed := b.cookie
		b.cookie = first
		b.expect("/", "|0", "the token replaced by renew is dead")
		b.cookie = renewed
		b.expect("/destroy", "|0", "destroy")
		if b.cookie != "" {
			t.Fatal("destroy did not expire the cookie")
		}
		b.cookie = renewed
		b.expect("/", "|0", "a destroyed token is dead")
	})
	t.Run("big value", func(t *testing.T) {
		t.Parallel()
		b := newBrowser(t, newStore(t))
		b.expect("/big", "|256000|0", "save 256 kB")
		b.expect("/", "|256000|0", "read 256 kB back")
	})
	t.Run("idle refresh and expiry", func(t *testing.T) {
		t.Parallel()
		b := newBrowser(t, newStore(t))
		b.expect("/set?name=idle", "idle|0", "create")
		// Reads spaced under the idle timeout keep the session past it.
		for range 3 {
			time.Sleep(idle * 2 / 3)
			b.expect("/", "idle|0", "read-only requests slide the idle timeout")
		}
		time.Sleep(idle + 300*time.Millisecond)
		b.expect("/", "|0", "the session ends after the idle timeout")
	})
	t.Run("absolute lifetime", func(t *testing.T) {
		t.Parallel()
		b := newBrowser(t, newStore(t))
		b.expect("/set?name=life", "life|0", "create")
		start := time.Now()
		for time.Since(start) < lifetime-700*time.Millisecond {
			time.Sleep(500 * time.Millisecond)
			b.expect("/inc", "life|", "activity within the lifetime")
		}
		time.Sleep(time.Until(start.Add(lifetime)) + 300*time.Millisecond)
		b.expect("/", "|0", "the session ends at its absolute lifetime despite activity")
	})
	// Not parallel: these run before the timed scenarios above resume, so
	// their bursts of requests do not disturb the idle and lifetime clocks.
	t.Run("races", func(t *testing.T) { races(t, newStore) })
	t.Run("owners", func(t *testing.T) { owners(t, newStore) })
}

// browser is a client that keeps the session cookie by hand, so tests can
// replay old cookies.
type browser struct {
	t      *testing.T
	url    string
	cookie string
}

func newBrowser(t *testing.T, st store.Store) *browser {
	m, err := sessions.New[data](sessions.WithStore(st), sessions.WithLifetime(lifetime), sessions.WithIdleTimeout(idle))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	srv := httptest.NewServer(m.Middleware(handler(t, m)))
	t.Cleanup(srv.Close)
	return &browser{t: t, url: srv.URL}
}

func handler(t *testing.T, m *sessions.Manager[data]) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var err error
		switch r.URL.Path {
		case "/set":
			m.Get(ctx).Name = r.URL.Query().Get("name")
		case "/inc":
			m.Get(ctx).Count++
		case "/big":
			m.Get(ctx).Blob = []byte(strings.Repeat("x", 256000))
		case "/renew":
			err = m.Renew(ctx)
		case "/destroy":
			err = m.Destroy(ctx)
		case "/untouched":
			io.WriteString(w, "no session")
			return
		}
		if err != nil {
			t.Errorf("%s: %v", r.URL.Path, err)
		}
		d := m.Get(ctx)
		blob := ""
		if len(d.Blob) > 0 {
			blob = "|" + strconv.Itoa(len(d.Blob))
		}
		io.WriteString(w, d.Name+blob+"|"+strconv.Itoa(d.Count))
	}
}

// expect requests path and checks that the body starts with want.
func (b *browser) expect(path, want, step string) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.url+path, nil)
	if b.cookie != "" {
		req.Header.Set("Cookie", "session="+b.cookie)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b.t.Fatalf("%s: GET %s: status %d: %s", step, path, res.StatusCode, body)
	}
	for _, c := range res.Cookies() {
		if c.Name == "session" {
			if c.MaxAge < 0 {
				b.cookie = ""
			} else {
				b.cookie = c.Value
			}
		}
	}
	got := string(body)
	if !strings.HasPrefix(got, want) {
		b.t.Fatalf("%s: GET %s = %q, want %q", step, path, got, want)
	}
}
