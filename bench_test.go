package sessions_test

import (
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/internal/storebench"
	"github.com/sessionkit/sessions/store/fsstore"
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
		"fsstore": func(b *testing.B) sessions.Option {
			st, err := fsstore.New(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			return sessions.WithManagedStore(st)
		},
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

// cartItem and shopSession are a typical struct session: strings,
// numbers, a time, a slice of structs and a map. Its depth is fixed by its
// type, so the codecs' nesting check never walks it.
type cartItem struct {
	SKU   string
	Qty   int
	Price float64
}

type shopSession struct {
	UserID  int64
	Name    string
	Next    string
	Cart    []cartItem
	Prefs   map[string]string
	Created time.Time
}

// BenchmarkCodecMarshal measures encoding one session with each built-in
// codec: a struct session (no nesting walk) and a map[string]any session,
// whose values can nest to any depth and are walked before encoding.
//
//	go test -run '^$' -bench CodecMarshal -benchmem .
func BenchmarkCodecMarshal(b *testing.B) {
	shop := &shopSession{
		UserID: 42, Name: "ada", Next: "/checkout",
		Cart:    []cartItem{{"A-1", 2, 9.5}, {"B-2", 1, 19.99}, {"C-3", 5, 1.25}},
		Prefs:   map[string]string{"theme": "dark", "lang": "en"},
		Created: time.Date(2026, 11, 25, 17, 0, 0, 0, time.UTC),
	}
	flask := &map[string]any{
		"user_id": uint64(42), "name": "ada", "next": "/checkout",
		"cart":  []any{map[string]any{"sku": "A-1", "qty": uint64(2)}, map[string]any{"sku": "B-2", "qty": uint64(1)}},
		"prefs": map[string]any{"theme": "dark", "lang": "en"},
		"admin": false,
	}
	for _, c := range []struct {
		name  string
		codec sessions.Codec
	}{{"cbor", sessions.CBOR()}, {"json", sessions.JSON()}} {
		for _, v := range []struct {
			name  string
			value any
		}{{"struct", shop}, {"map", flask}} {
			b.Run(c.name+"/"+v.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := c.codec.Marshal(v.value); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// blobSession is a session of a chosen size, for BenchmarkEncryption.
type blobSession struct {
	UserID int64
	Blob   string
	Visits int
}

// BenchmarkEncryption measures what WithEncryption adds to one request
// through the middleware on the memory store: a read-only request (one
// open) and a modifying one (an open and a seal), for sessions of 1 kB
// and 100 kB, with encryption off and on. Compare the two side by side:
//
//	go test -run '^$' -bench Encryption -benchmem -count 8 . > enc.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -col /enc enc.txt
//
// Besides the time per request it reports the processor time the process
// used per request (cpu-ns/op, getrusage, the garbage collector's
// included), which a busy machine inflates less than the time.
func BenchmarkEncryption(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"1kB", 1 << 10}, {"100kB", 100 << 10}} {
		for _, kind := range []string{"readonly", "modify"} {
			for _, enc := range []string{"off", "on"} {
				b.Run("size="+size.name+"/kind="+kind+"/enc="+enc, func(b *testing.B) {
					opts := []sessions.Option{sessions.WithMaxSize(1 << 20)}
					if enc == "on" {
						key := make([]byte, sessions.EncryptionKeySize)
						rand.Read(key)
						opts = append(opts, sessions.WithEncryption(key))
					}
					m, err := sessions.New[blobSession](opts...)
					if err != nil {
						b.Fatal(err)
					}
					defer m.Close()
					blob := strings.Repeat("0123456789abcdef", size.n/16)
					create := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						*m.Get(r.Context()) = blobSession{UserID: 42, Blob: blob}
					}))
					rec := httptest.NewRecorder()
					create.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
					req := httptest.NewRequest("GET", "/", nil)
					req.AddCookie(rec.Result().Cookies()[0])
					body := []byte("ok")
					h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						d := m.Get(r.Context())
						if kind == "modify" {
							d.Visits++
						}
						w.Write(body)
					}))
					w := &discardWriter{h: http.Header{}}
					b.ReportAllocs()
					reportCPU := storebench.MeasureCPU(b)
					for b.Loop() {
						clear(w.h)
						h.ServeHTTP(w, req)
					}
					reportCPU()
				})
			}
		}
	}
}
