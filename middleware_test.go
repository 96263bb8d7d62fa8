package sessions_test

import (
	"bufio"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessionkit/sessions"
)

// newServer serves h behind m's middleware on a real HTTP server and returns
// a client with a cookie jar.
func newServer[T any](t *testing.T, m *sessions.Manager[T], h http.HandlerFunc) (*httptest.Server, *http.Client) {
	srv := httptest.NewServer(m.Middleware(h))
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	return srv, &http.Client{Jar: jar}
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	res, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestFlushThroughResponseController(t *testing.T) {
	m := mustNew[profile](t)
	srv, c := newServer(t, m, func(w http.ResponseWriter, r *http.Request) {
		m.Get(r.Context()).Visits++
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		w.(http.Flusher).Flush()
		io.WriteString(w, "streamed")
	})
	res, body := get(t, c, srv.URL)
	if body != "streamed" || sessionCookie(res) == "" {
		t.Errorf("body %q cookie %q: flushing must still send the session cookie", body, sessionCookie(res))
	}
}

func TestHijack(t *testing.T) {
	m := mustNew[profile](t)
	srv, _ := newServer(t, m, func(w http.ResponseWriter, r *http.Request) {
		m.Get(r.Context()).Visits++
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		rw.Flush()
	})
	res, body := get(t, http.DefaultClient, srv.URL)
	if res.StatusCode != 200 || body != "hijacked" {
		t.Errorf("status %d body %q", res.StatusCode, body)
	}
}

func TestEarlyHintsDoNotStartTheResponse(t *testing.T) {
	for _, code := range []int{http.StatusContinue, http.StatusEarlyHints} {
		m := mustNew[profile](t)
		srv, c := newServer(t, m, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(code)
			m.Get(r.Context()).Visits++ // still before the response
			w.WriteHeader(http.StatusCreated)
		})
		res, _ := get(t, c, srv.URL)
		if res.StatusCode != http.StatusCreated || sessionCookie(res) == "" {
			t.Errorf("code %d Set-Cookie %q: a %d must not start the session response", res.StatusCode, sessionCookie(res), code)
		}
	}
}

// An explicit WriteHeader(200) starts the response: the session is saved
// and its cookie sent first.
func TestWriteHeaderOKStartsTheResponse(t *testing.T) {
	m := mustNew[profile](t)
	srv, c := newServer(t, m, func(w http.ResponseWriter, r *http.Request) {
		m.Get(r.Context()).Visits++
		w.WriteHeader(http.StatusOK)
	})
	if res, _ := get(t, c, srv.URL); res.StatusCode != http.StatusOK || sessionCookie(res) == "" {
		t.Errorf("code %d Set-Cookie %q: WriteHeader(200) must carry the new session's cookie", res.StatusCode, sessionCookie(res))
	}
}

func TestWriterKeepsInterfaces(t *testing.T) {
	m := mustNew[profile](t)
	m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Hijacker); !ok {
			t.Error("not an http.Hijacker")
		}
		if _, ok := w.(io.ReaderFrom); !ok {
			t.Error("not an io.ReaderFrom")
		}
		if u, ok := w.(interface{ Unwrap() http.ResponseWriter }); !ok || u.Unwrap() == nil {
			t.Error("no Unwrap for http.ResponseController")
		}
	})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
}

func TestRealServerFullFlow(t *testing.T) {
	m := mustNew[profile](t)
	srv, c := newServer(t, m, func(w http.ResponseWriter, r *http.Request) {
		p := m.Get(r.Context())
		switch r.URL.Path {
		case "/login":
			if err := m.Renew(r.Context()); err != nil {
				t.Error(err)
			}
			p.Name = "ann"
		case "/logout":
			if err := m.Destroy(r.Context()); err != nil {
				t.Error(err)
			}
		case "/visit":
			p.Visits++
		}
		w.Write([]byte(p.Name))
	})
	get(t, c, srv.URL+"/visit")
	if _, body := get(t, c, srv.URL+"/login"); body != "ann" {
		t.Fatalf("login body %q", body)
	}
	if _, body := get(t, c, srv.URL+"/"); body != "ann" {
		t.Fatalf("after login body %q", body)
	}
	get(t, c, srv.URL+"/logout")
	if _, body := get(t, c, srv.URL+"/"); body != "" {
		t.Fatalf("after logout body %q", body)
	}
}

func TestReadFromSavesFirst(t *testing.T) {
	m := mustNew[profile](t)
	srv, c := newServer(t, m, func(w http.ResponseWriter, r *http.Request) {
		m.Get(r.Context()).Visits++
		io.Copy(w, bufio.NewReader(strings.NewReader("copied")))
	})
	res, body := get(t, c, srv.URL)
	if body != "copied" || sessionCookie(res) == "" {
		t.Errorf("body %q cookie %q", body, sessionCookie(res))
	}
}
