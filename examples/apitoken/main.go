// Command apitoken uses the same session manager without cookies: the token
// travels in a header, as an API client, a WebSocket or gRPC metadata would
// carry it. Manager.Load takes the token, Manager.Commit hands back the
// token to use next time.
//
//	go run ./examples/apitoken
//	curl -si -X POST localhost:8080/items -d apple              # note X-Session-Token
//	curl -s -H "X-Session-Token: <token>" localhost:8080/items
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"time"

	"github.com/sessionkit/sessions"
)

type basket struct{ Items []string }

// withHeaderSession loads the session named by the X-Session-Token header,
// runs next, and returns the (possibly new) token in the same header.
func withHeaderSession(mgr *sessions.Manager[basket], next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, err := mgr.Load(r.Context(), r.Header.Get("X-Session-Token"))
		if err != nil {
			http.Error(w, "session store unavailable", http.StatusServiceUnavailable)
			return
		}
		r = r.WithContext(ctx)
		buf := &bufferedWriter{header: http.Header{}, code: http.StatusOK}
		next(buf, r)
		token, expires, err := mgr.Commit(ctx)
		if err != nil {
			http.Error(w, "session store unavailable", http.StatusServiceUnavailable)
			return
		}
		for k, v := range buf.header {
			w.Header()[k] = v
		}
		if token != "" {
			w.Header().Set("X-Session-Token", token)
			w.Header().Set("X-Session-Expires", expires.UTC().Format(time.RFC3339))
		}
		w.WriteHeader(buf.code)
		w.Write(buf.body)
	}
}

// bufferedWriter holds the response until the session is committed, so the
// token header can still be added.
type bufferedWriter struct {
	header http.Header
	code   int
	body   []byte
}

func (b *bufferedWriter) Header() http.Header  { return b.header }
func (b *bufferedWriter) WriteHeader(code int) { b.code = code }
func (b *bufferedWriter) Write(p []byte) (int, error) {
	b.body = append(b.body, p...)
	return len(p), nil
}

func main() {
	addr := flag.String("addr", ":8080", "address to listen on")
	flag.Parse()
	mgr, err := sessions.New[basket](sessions.WithIdleTimeout(time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	defer mgr.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /items", withHeaderSession(mgr, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, mgr.Get(r.Context()).Items)
	}))
	mux.HandleFunc("POST /items", withHeaderSession(mgr, func(w http.ResponseWriter, r *http.Request) {
		item, _ := io.ReadAll(io.LimitReader(r.Body, 100))
		b := mgr.Get(r.Context())
		b.Items = append(b.Items, string(item))
		fmt.Fprintln(w, b.Items)
	}))
	log.Printf("listening on %s", *addr)
	log.Fatal(http.ListenAndServe(*addr, mux))
}
