// Command chi is a tiny sign-in on the chi router. mgr.Middleware is a
// func(http.Handler) http.Handler, which is what chi's Use takes, so the
// session needs no adapter; handlers read it with mgr.Get(r.Context()).
//
//	go -C examples/frameworks run ./chi               # listens on :8080
//	go -C examples/frameworks run ./chi -addr :9000   # -addr: address to listen on
//
//	curl -c jar -b jar -L -d user=ann -d password=secret localhost:8080/login   # Hello, ann
//	curl -b jar localhost:8080/
//	curl -c jar -b jar -L -X POST localhost:8080/logout                         # Not signed in
//
// The framework examples share a module of their own (examples/frameworks),
// so chi, gin and echo stay out of the library's dependencies; run them
// with go -C from the root, as above, or from examples/frameworks.
//
// Interrupt it (Ctrl-C) or send SIGTERM and it stops gracefully. For CSRF
// protection, labels and the rest of a real page, see examples/login.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/sessionkit/sessions"
)

type user struct{ Name string }

// newRouter returns the app.
func newRouter(mgr *sessions.Manager[user]) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Use(mgr.Middleware) // sessions for every route below; loaded only when used

	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		if name := mgr.Get(r.Context()).Name; name != "" {
			fmt.Fprintf(w, "Hello, %s\n", name)
			return
		}
		fmt.Fprintln(w, "Not signed in")
	})
	r.Post("/login", func(w http.ResponseWriter, r *http.Request) {
		name := r.PostFormValue("user")
		if name == "" || r.PostFormValue("password") != "secret" {
			http.Error(w, "Wrong name or password", http.StatusUnauthorized)
			return
		}
		// A new token at sign-in; the old one stops working.
		if err := mgr.Renew(r.Context()); err != nil {
			http.Error(w, "sign-in failed", http.StatusInternalServerError)
			return
		}
		mgr.Get(r.Context()).Name = name
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	r.Post("/logout", func(w http.ResponseWriter, r *http.Request) {
		if err := mgr.Destroy(r.Context()); err != nil {
			http.Error(w, "sign-out failed", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	return r
}

func main() {
	addr := flag.String("addr", ":8080", "address to listen on")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, ln); err != nil {
		log.Fatal(err)
	}
}

// run serves on ln until ctx is done, then shuts down gracefully: requests
// in flight finish and save their sessions before the manager closes.
func run(ctx context.Context, ln net.Listener) error {
	mgr, err := sessions.New[user]()
	if err != nil {
		ln.Close()
		return err
	}
	defer mgr.Close()

	srv := &http.Server{Handler: newRouter(mgr), ReadHeaderTimeout: 10 * time.Second}
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
