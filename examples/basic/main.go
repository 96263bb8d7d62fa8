// Command basic is the smallest useful program with sessions: a page that
// counts your visits and remembers your name, kept in the in-memory store.
//
//	go run ./examples/basic                        # then open http://localhost:8080
//	go run ./examples/basic -addr 127.0.0.1:9000   # -addr: the address to listen on (default ":8080")
//
// Interrupt it (Ctrl-C) or send SIGTERM and it stops gracefully: requests
// in flight finish and save their sessions, then the manager closes.
package main

import (
	"context"
	"errors"
	"flag"
	"html/template"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sessionkit/sessions"
)

// visitor is the typed session data: no map[string]any, no type assertions.
type visitor struct {
	Name   string
	Visits int
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<title>sessions: basic</title>
<h1>Hello{{with .Name}}, {{.}}{{end}}!</h1>
<p>You have visited this page {{.Visits}} time{{if ne .Visits 1}}s{{end}}.</p>
<form method="post" action="/name">
  <label>Your name <input name="name" value="{{.Name}}" maxlength="64"></label>
  <button>Save</button>
</form>
`))

func main() {
	addr := flag.String("addr", ":8080", "address to listen on")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	mgr, err := sessions.New[visitor]() // memory store, CBOR, 24h lifetime
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

// newHandler returns the application: the pages, wrapped by the session
// middleware.
func newHandler(mgr *sessions.Manager[visitor]) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		v := mgr.Get(r.Context())
		v.Visits++ // saved automatically because it changed
		if err := page.Execute(w, v); err != nil {
			log.Print(err)
		}
	})
	mux.HandleFunc("POST /name", func(w http.ResponseWriter, r *http.Request) {
		mgr.Get(r.Context()).Name = r.PostFormValue("name")
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok")) // never calls Get: no store I/O, no cookie
	})

	return mgr.Middleware(mux)
}
