// Command apitoken uses the same session manager without cookies: the token
// travels in a header, as an API client, a WebSocket or gRPC metadata would
// carry it. Manager.Load takes the token, Manager.Commit hands back the
// token to use next time.
//
//	go run ./examples/apitoken                     # listens on :8080
//	go run ./examples/apitoken -addr 127.0.0.1:9000   # -addr: the address to listen on (default ":8080")
//	curl -si -X POST localhost:8080/items -d apple              # note X-Session-Token
//	curl -s -H "X-Session-Token: <token>" localhost:8080/items
//
// Interrupt it (Ctrl-C) or send SIGTERM and it stops gracefully: requests
// in flight finish and save their sessions, then the manager closes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	mgr, err := sessions.New[basket](sessions.WithIdleTimeout(time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	defer mgr.Close() // after run: the server has drained
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if err := run(ctx, ln, newHandler(mgr)); err != nil {
		log.Fatal(err)
	}
}

// newHandler returns the API: GET /items lists the basket, POST /items adds
// the request body to it.
func newHandler(mgr *sessions.Manager[basket]) http.Handler {
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
	return mux
}

// run serves h on ln until ctx is done, then shuts down gracefully: the
// server stops accepting, requests in flight finish (and save their
// sessions), and only then does the caller close the manager.
func run(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Printf("listening on http://%s", ln.Addr())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
