// Command customstore shows how to plug your own storage into sessions: a
// type with Load, Save and Delete is a store.Store. Its test runs the
// conformance suite, storetest.Run, which every built-in store passes too.
//
//	go run ./examples/customstore                     # listens on :8080
//	go run ./examples/customstore -addr 127.0.0.1:9000   # -addr: the address to listen on (default ":8080")
//	curl -c jar -b jar -d item=apple localhost:8080/   # [apple]
//	curl -c jar -b jar -d item=pear localhost:8080/    # [apple pear]
//	curl -b jar localhost:8080/                        # [apple pear]
//	go test ./examples/customstore                    # the conformance suite and a real server
//
// Interrupt it (Ctrl-C) or send SIGTERM and it stops gracefully: requests
// in flight finish and save their sessions, then the manager closes.
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
	"sync"
	"syscall"
	"time"

	"github.com/sessionkit/sessions"
)

// mapStore is a deliberately simple store: one map behind one mutex. A real
// custom store would talk to your database the same way.
type mapStore struct {
	mu      sync.Mutex
	records map[string]entry
}

type entry struct {
	data      []byte
	expiresAt time.Time
}

func newMapStore() *mapStore { return &mapStore{records: map[string]entry{}} }

// Load returns a copy of the record, enforcing expiry on read.
func (s *mapStore) Load(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.records[key]
	if !ok || !time.Now().Before(e.expiresAt) {
		return nil, false, nil
	}
	return append([]byte{}, e.data...), true, nil
}

// Save stores a copy of data, replacing data and expiry.
func (s *mapStore) Save(ctx context.Context, key string, data []byte, expiresAt time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[key] = entry{data: append([]byte{}, data...), expiresAt: expiresAt}
	return nil
}

// Delete removes the record; a missing key is not an error.
func (s *mapStore) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.records, key)
	return nil
}

type cart struct{ Items []string }

func main() {
	addr := flag.String("addr", ":8080", "address to listen on")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	mgr, err := sessions.New[cart](sessions.WithStore(newMapStore()))
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

// newHandler returns the app: GET / shows the cart, POST / adds the form
// field item to it.
func newHandler(mgr *sessions.Manager[cart]) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, mgr.Get(r.Context()).Items) // read through mapStore.Load
	})
	mux.HandleFunc("POST /{$}", func(w http.ResponseWriter, r *http.Request) {
		c := mgr.Get(r.Context())
		c.Items = append(c.Items, r.PostFormValue("item")) // saved through mapStore.Save
		fmt.Fprintln(w, c.Items)
	})
	return mgr.Middleware(mux)
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
