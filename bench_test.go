package sessions_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sessionkit/sessions"
)

// discardWriter is the cheapest http.ResponseWriter, so the benchmarks
// measure the middleware rather than a recorder.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkMiddleware measures one request through the middleware per
// iteration. "bare" is the same handler without sessions: subtract it.
//
//	go test -run '^$' -bench Middleware -benchmem .
func BenchmarkMiddleware(b *testing.B) {
	body := []byte("ok")
	b.Run("bare", func(b *testing.B) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
		req := httptest.NewRequest("GET", "/", nil)
		w := &discardWriter{h: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			clear(w.h)
			h.ServeHTTP(w, req)
		}
	})
	stores := map[string]func(b *testing.B) sessions.Option{
		"memstore": func(b *testing.B) sessions.Option { return sessions.WithMemory() },
		"fsstore":  func(b *testing.B) sessions.Option { return sessions.WithFilesystem(b.TempDir()) },
	}
	for _, name := range []string{"memstore", "fsstore"} {
		for _, kind := range []string{"untouched", "new", "readonly", "modify", "idle-readonly"} {
			b.Run(name+"/"+kind, func(b *testing.B) {
				opts := []sessions.Option{stores[name](b)}
				if kind == "idle-readonly" {
					opts = append(opts, sessions.WithIdleTimeout(time.Hour))
				}
				m, err := sessions.New[profile](opts...)
				if err != nil {
					b.Fatal(err)
				}
				defer m.Close()
				h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if kind == "untouched" { // a static file or a health check
						w.Write(body)
						return
					}
					p := m.Get(r.Context())
					if kind == "new" || kind == "modify" {
						p.Visits++
					}
					w.Write(body)
				}))
				w := &discardWriter{h: http.Header{}}
				req := httptest.NewRequest("GET", "/", nil)
				if kind != "new" {
					// Store a session for the requests to present.
					create := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						*m.Get(r.Context()) = profile{Name: "bench", Visits: 1, Cart: []string{"a", "b"}}
					}))
					rec := httptest.NewRecorder()
					create.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
					req.AddCookie(rec.Result().Cookies()[0])
				}
				b.ReportAllocs()
				for b.Loop() {
					clear(w.h)
					h.ServeHTTP(w, req)
				}
			})
		}
	}
}
