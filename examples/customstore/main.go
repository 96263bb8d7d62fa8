// Command customstore shows how to plug your own storage into sessions: a
// type with Load, Save and Delete is a store.Store. Its test runs the
// conformance suite, storetest.Run, which every built-in store passes too.
//
//	go run ./examples/customstore
//	go test ./examples/customstore
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
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
	mgr, err := sessions.New[cart](sessions.WithStore(newMapStore()))
	if err != nil {
		log.Fatal(err)
	}
	defer mgr.Close()

	h := mgr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := mgr.Get(r.Context())
		c.Items = append(c.Items, r.URL.Query().Get("add"))
		fmt.Fprintln(w, c.Items)
	}))

	// Two requests from one "browser", in-process.
	first := httptest.NewRecorder()
	h.ServeHTTP(first, httptest.NewRequest("GET", "/?add=apple", nil))
	second := httptest.NewRequest("GET", "/?add=pear", nil)
	for _, c := range first.Result().Cookies() {
		second.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, second)
	fmt.Print(rec.Body.String())
}
