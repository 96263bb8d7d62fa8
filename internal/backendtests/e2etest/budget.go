package e2etest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
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
//
// and for a session bound to an owner (SetOwner):
//
//   - a login (Renew + SetOwner): at most 2 more than a Renew alone (the
//     owner index is read and written conditionally, or on a store with
//     store.OwnerIndex added to, and with WithOwnerLimit listed, by the
//     add itself where store.IndexAddLister can tell), with the limit on
//     too (under the limit), the owner's first login as any other
//   - a read-only request: 1; a modifying request: at most 2
//   - a Renew: at most 4 more than a Renew of an unbound session (the
//     new ID is added to the index before the old record is retired, and
//     the old ID removed after the new record is written, so that the
//     session is listed whatever fails in between)
//   - a Destroy: at most 2 more than an unbound one (the entry leaves the
//     index)
func Budget(t *testing.T, st store.Store, count func() int) {
	for _, c := range []struct {
		name  string
		idle  time.Duration
		limit bool
	}{{"no idle timeout", 0, false}, {"idle timeout", time.Hour, false}, {"owner limit", 0, true}} {
		idle := c.idle
		t.Run(c.name, func(t *testing.T) {
			opts := []sessions.Option{sessions.WithStore(st), sessions.WithIdleTimeout(idle)}
			if c.limit {
				// Under the limit a login lists the owner's index too.
				opts = append(opts, sessions.WithOwnerLimit(5, sessions.EvictOldest))
			}
			m, err := sessions.New[data](opts...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { m.Close() })
			request := budgetClient(t, m)
			var costs []string
			expect := func(path string, most int, what string) int {
				t.Helper()
				before := count()
				request(path)
				got := count() - before
				costs = append(costs, fmt.Sprintf("%s %d", path, got))
				if got > most || (most > 0 && got == 0) {
					t.Errorf("%s (GET %s) cost %d store commands, budget %d", what, path, got, most)
				}
				return got
			}
			expect("/untouched", 0, "a request that never calls Get")
			expect("/", 0, "a new session that is only read")
			expect("/set?name=a", 1, "creating a session")
			expect("/untouched", 0, "a request with a cookie that never calls Get")
			expect("/", 1, "a read-only request")
			expect("/", 1, "another read-only request")
			expect("/inc", 2, "a modifying request")
			expect("/renew", 3, "a Renew")
			destroy := expect("/destroy", 2, "a Destroy")

			// Sessions bound to an owner: the owner's first (its index
			// is new), then another.
			owner := "budget-" + strings.ReplaceAll(c.name, " ", "-") + "-" + time.Now().Format("150405.000000000")
			expect("/set?name=b", 1, "creating a session")
			renew := expect("/renew", 3, "a Renew")
			expect("/login?user="+owner, renew+2, "the owner's first login (Renew + SetOwner)")
			expect("/", 1, "a bound session's read-only request")
			expect("/", 1, "another bound session's read-only request")
			expect("/inc", 2, "a bound session's modifying request")
			expect("/renew", renew+4, "a Renew of a bound session")
			expect("/destroy", destroy+2, "a Destroy of a bound session")
			expect("/set?name=c", 1, "creating a session")
			renew = expect("/renew", 3, "a Renew")
			expect("/login?user="+owner, renew+2, "the owner's next login (Renew + SetOwner)")
			expect("/destroy", destroy+2, "a Destroy of a bound session")
			t.Logf("round trips: %s", strings.Join(costs, ", "))
		})
	}
	t.Run("last seen", func(t *testing.T) { budgetLastSeen(t, st, count) })
}

// budgetClient returns a function that sends GET path to handler's
// application on m (with /login?user=u: Renew and SetOwner u), with the
// session cookie the responses set, and fails t unless the answer is 200.
func budgetClient(t *testing.T, m *sessions.Manager[data]) func(path string) {
	base := handler(t, m)
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			if err := login(r.Context(), m, r.URL.Query().Get("user")); err != nil {
				t.Errorf("login: %v", err)
			}
		}
		base(w, r)
	}))
	var cookie string
	return func(path string) {
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
}
