package sessions_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/sessionkit/sessions"
)

// mapStore is a store of one's own: Load, Save and Delete over a map
// behind a mutex, where a real one would talk to a database. It keeps the
// store contract: expiry enforced on read, bytes copied in and out, the
// context honoured. Its test runs the conformance suite, as every
// built-in store's does:
//
//	func TestMapStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return newMapStore() })
//	}
type mapStore struct {
	mu      sync.Mutex
	records map[string]mapRecord
}

type mapRecord struct {
	data      []byte
	expiresAt time.Time
}

func newMapStore() *mapStore { return &mapStore{records: map[string]mapRecord{}} }

// Load returns a copy of the record under key, if it has not expired.
func (s *mapStore) Load(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[key]
	if !ok || !time.Now().Before(r.expiresAt) {
		return nil, false, nil
	}
	return append([]byte{}, r.data...), true, nil
}

// Save stores a copy of data under key until expiresAt.
func (s *mapStore) Save(ctx context.Context, key string, data []byte, expiresAt time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[key] = mapRecord{data: append([]byte{}, data...), expiresAt: expiresAt}
	return nil
}

// Delete removes the record under key; a missing key is not an error.
func (s *mapStore) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.records, key)
	return nil
}

// count returns the number of records, expired ones included.
func (s *mapStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.records)
}

// WithStore plugs in any store.Store, here one of your own. The manager
// leaves it open: close it yourself after the manager, or hand it over
// with WithManagedStore. A store without conditional writes
// (store.Versioned) is last-writer-wins, and SetOwner needs them.
func ExampleWithStore() {
	type cart struct{ Items []string }
	st := newMapStore()
	mgr, err := sessions.New[cart](sessions.WithStore(st))
	if err != nil {
		panic(err)
	}
	defer mgr.Close()

	h := mgr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := mgr.Get(r.Context())
		c.Items = append(c.Items, r.URL.Query().Get("add"))
		fmt.Fprint(w, c.Items)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/?add=apple", nil))
	fmt.Println(rec.Body.String())
	fmt.Println("records in the store:", st.count())
	// Output:
	// [apple]
	// records in the store: 1
}
