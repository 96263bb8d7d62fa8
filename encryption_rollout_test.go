package sessions_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/sessionkit/sessions"
)

// TestEncryptionRollout plays a key rotation across two processes (two
// managers sharing one store), each step deploying one process after the
// other, with clients whose requests alternate between the processes
// running throughout: no request fails, no session is lost, and no
// increment either.
func TestEncryptionRollout(t *testing.T) {
	st := newSharedMemstore(t)
	k1, k2 := newEncryptionKey(), newEncryptionKey()
	var logs logBuffer
	type keys [][]byte
	steps := []struct {
		name  string
		a, b  keys
		rekey bool
	}{
		{"start", keys{k1}, keys{k1}, false},
		{"new key as previous on A", keys{k1, k2}, keys{k1}, false},
		{"new key as previous on B", keys{k1, k2}, keys{k1, k2}, false},
		{"new key current on A", keys{k2, k1}, keys{k1, k2}, false},
		{"new key current on B, Rekey", keys{k2, k1}, keys{k2, k1}, true},
		{"old key dropped on A", keys{k2}, keys{k2, k1}, false},
		{"old key dropped on B", keys{k2}, keys{k2}, false},
	}
	const clients, rounds = 8, 12
	cookies := make([]string, clients)
	counts := make([]int, clients)
	idle := make([]string, 10)
	for _, step := range steps {
		var handlers [2]http.Handler
		var managers [2]*sessions.Manager[profile]
		for i, ks := range []keys{step.a, step.b} {
			m := mustNew[profile](t, sessions.WithStore(st), sessions.WithLogger(logs.logger()), sessions.WithEncryption(ks[0], ks[1:]...))
			managers[i] = m
			handlers[i] = m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				err := m.Update(r.Context(), func(p *profile) error { p.Visits++; return nil })
				if err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				fmt.Fprint(w, m.Get(r.Context()).Visits)
			}))
		}
		if step.name == "start" {
			// Sessions nobody uses during the rollout: only Rekey moves them.
			for i := range idle {
				idle[i] = savedSession(t, managers[i%2], fmt.Sprint("idle", i))
			}
		}
		var wg sync.WaitGroup
		if step.rekey {
			wg.Go(func() {
				if _, err := managers[0].Rekey(t.Context()); err != nil {
					t.Errorf("%s: Rekey: %v", step.name, err)
				}
			})
		}
		for c := range clients {
			wg.Go(func() {
				for r := range rounds {
					req := httptest.NewRequest(http.MethodGet, "/", nil)
					if cookies[c] != "" {
						req.Header.Set("Cookie", "session="+cookies[c])
					}
					rec := httptest.NewRecorder()
					handlers[(c+r)%2].ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						t.Errorf("%s: client %d: status %d: %s", step.name, c, rec.Code, rec.Body)
						return
					}
					counts[c]++
					if got := rec.Body.String(); got != fmt.Sprint(counts[c]) {
						t.Errorf("%s: client %d: visits %s, want %d: a session or an increment was lost", step.name, c, got, counts[c])
						return
					}
					for _, ck := range rec.Result().Cookies() {
						if ck.Name == "session" {
							cookies[c] = ck.Value
						}
					}
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			t.Fatalf("failed at step %q", step.name)
		}
	}
	if out := logs.String(); strings.Contains(out, "does not open") {
		t.Fatalf("a record did not open during the rollout:\n%s", out)
	}
	final := mustNew[profile](t, sessions.WithStore(st), sessions.WithEncryption(k2))
	for i, token := range idle {
		ctx, err := final.Load(t.Context(), token)
		if err != nil {
			t.Fatal(err)
		}
		if got := final.Get(ctx).Name; got != fmt.Sprint("idle", i) {
			t.Fatalf("idle session %d after the rollout: %q", i, got)
		}
	}
	if ids := keyIDs(t, st); len(ids) != 1 || ids["clear"] != 0 {
		t.Fatalf("after the rollout, records sealed by %v, want the new key alone", ids)
	}
}
