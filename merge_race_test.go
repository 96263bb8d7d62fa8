package sessions_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/store/memstore"
)

// account is embedded unexported: the codecs store UserID and Role as
// fields of flashSession.
type account struct {
	UserID string
	Role   string
}

type flashSession struct {
	account
	Flash string
}

// conflictCounter is a memory store that counts the conditional writes
// that lost to another writer.
type conflictCounter struct {
	*memstore.Store
	conflicts atomic.Int32
}

func (s *conflictCounter) SaveIf(ctx context.Context, key string, data []byte, exp time.Time, v store.Version) (store.Version, error) {
	v, err := s.Store.SaveIf(ctx, key, data, exp, v)
	if errors.Is(err, store.ErrConflict) {
		s.conflicts.Add(1)
	}
	return v, err
}

// Two requests of one session change different fields, one of them a
// promoted field of an unexported embedded struct. Both load before
// either saves, so the second to save conflicts and merges: neither
// change is lost, whichever saves first, with either codec.
func TestRacingChangeToPromotedFieldIsKept(t *testing.T) {
	for _, codec := range []struct {
		name  string
		codec sessions.Codec
	}{{"cbor", sessions.CBOR()}, {"json", sessions.JSON()}} {
		t.Run(codec.name, func(t *testing.T) {
			inner, err := memstore.New()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { inner.Close() })
			st := &conflictCounter{Store: inner}
			m := mustNew[flashSession](t, sessions.WithStore(st), sessions.WithCodec(codec.codec), sessions.WithLogger(discard()))

			loaded := make(chan struct{})
			var gates atomic.Pointer[map[string]chan struct{}] // this trial's release of each request
			do := serve(t, m, func(w http.ResponseWriter, r *http.Request) {
				p := m.Get(r.Context())
				v := r.URL.Query().Get("v")
				switch r.URL.Path {
				case "/new":
					p.UserID, p.Role, p.Flash = "nobody", "guest", "welcome"
					return
				case "/user", "/flash":
					loaded <- struct{}{}
					<-(*gates.Load())[r.URL.Path]
				}
				if r.URL.Path == "/user" {
					p.UserID = "user" + v
				} else {
					p.Flash = "flash" + v
				}
			})

			const trials = 20
			kept := 0
			for trial := range trials {
				_, token := do("/new", "")
				first, second := "/user", "/flash"
				if trial%2 == 0 {
					first, second = second, first // the promoted field saves second, merged into the other write
				}
				gate := map[string]chan struct{}{first: make(chan struct{}), second: make(chan struct{})}
				gates.Store(&gate)
				done := map[string]chan int{first: make(chan int, 1), second: make(chan int, 1)}
				for _, path := range []string{first, second} {
					go func() {
						code, _ := do(fmt.Sprintf("%s?v=%d", path, trial), token)
						done[path] <- code
					}()
				}
				<-loaded
				<-loaded
				conflicts := st.conflicts.Load()
				close(gate[first])
				firstCode := <-done[first]
				close(gate[second])
				if code := <-done[second]; firstCode != http.StatusOK || code != http.StatusOK {
					t.Fatalf("trial %d: %s answered %d, %s %d", trial, first, firstCode, second, code)
				}
				if st.conflicts.Load() == conflicts {
					t.Fatalf("trial %d: the second write did not conflict", trial)
				}

				ctx, err := m.Load(t.Context(), token)
				if err != nil {
					t.Fatal(err)
				}
				got := *m.Get(ctx)
				want := flashSession{account{fmt.Sprint("user", trial), "guest"}, fmt.Sprint("flash", trial)}
				if got == want {
					kept++
				} else {
					t.Errorf("trial %d (%s saved second): stored %+v, want %+v", trial, second, got, want)
				}
			}
			if kept != trials {
				t.Errorf("both changes kept in %d/%d trials", kept, trials)
			}
		})
	}
}
