package e2etest

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/store"
)

// Budget asserts how many commands a request costs the backend behind st,
// counted by count (the number of commands the server has received so far,
// from this test's store only). The budget:
//
//   - a request that never calls Get, or has no cookie and only reads: 0
//   - a read-only request: 1, with an idle timeout too
//   - a request that modifies the session: at most 2
//   - a Renew: at most 3
//   - a Destroy: at most 2 (a read finds the owner index, a delete)
func Budget(t *testing.T, st store.Store, count func() int) {
	for _, idle := range []time.Duration{0, time.Hour} {
		name := "no idle timeout"
		if idle > 0 {
			name = "idle timeout"
		}
		t.Run(name, func(t *testing.T) {
			m, err := sessions.New[data](sessions.WithStore(st), sessions.WithIdleTimeout(idle))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { m.Close() })
			h := m.Middleware(handler(t, m))
			var cookie string
			request := func(path string) {
				t.Helper()
				req := httptest.NewRequest(http.MethodGet, path, nil)
				if cookie != "" {
					req.Header.Set("Cookie", "session="+cookie)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
				}
				for _, c := range rec.Result().Cookies() {
					if c.MaxAge < 0 {
						cookie = ""
					} else {
						cookie = c.Value
					}
				}
			}
			expect := func(path string, most int, what string) {
				t.Helper()
				before := count()
				request(path)
				if got := count() - before; got > most || (most > 0 && got == 0) {
					t.Errorf("%s (GET %s) cost %d store commands, budget %d", what, path, got, most)
				}
			}
			expect("/untouched", 0, "a request that never calls Get")
			expect("/", 0, "a new session that is only read")
			expect("/set?name=a", 1, "creating a session")
			expect("/untouched", 0, "a request with a cookie that never calls Get")
			expect("/", 1, "a read-only request")
			expect("/", 1, "another read-only request")
			expect("/inc", 2, "a modifying request")
			expect("/renew", 3, "a Renew")
			expect("/destroy", 2, "a Destroy")
		})
	}
}
