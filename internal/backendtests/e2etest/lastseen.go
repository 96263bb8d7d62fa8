package e2etest

import (
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/store"
)

// budgetLastSeen: with an idle timeout, a bound session's read-only
// request costs one store command however far apart the requests are, on
// a store that reports the expiry its touched loads set (Loaded.Expires),
// and Sessions then reports that request's time as LastSeen, to the
// millisecond. On another store one request per refresh window rewrites
// the record to slide the timeout (two commands), and LastSeen is exact
// to the window.
func budgetLastSeen(t *testing.T, st store.Store, count func() int) {
	vs, ok := st.(store.Versioned)
	if !ok {
		t.Log("the store has no conditional writes, hence no owner index and no LastSeen")
		return
	}
	reports := reportsExpiry(t, vs)
	t.Logf("the store reports the expiry a touched load set: %v", reports)
	const idle = 2 * time.Second // refresh window: 200 ms
	m, err := sessions.New[data](sessions.WithStore(st), sessions.WithIdleTimeout(idle))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	owner := "lastseen-" + rand.Text()
	base := handler(t, m)
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			if err := login(r.Context(), m, owner); err != nil {
				t.Errorf("login: %v", err)
			}
		}
		base(w, r)
	}))
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
			cookie = c.Value
		}
	}
	request("/set?name=ls")
	request("/login")
	rewrites := 0
	for range 4 {
		time.Sleep(300 * time.Millisecond) // past the refresh window
		before, start := count(), time.Now()
		request("/")
		end, cost := time.Now(), count()-before
		list, err := m.Sessions(t.Context(), owner)
		if err != nil || len(list) != 1 {
			t.Fatalf("Sessions = %v, %v; want the one session", list, err)
		}
		seen := list[0].LastSeen
		switch {
		case reports && cost != 1:
			t.Errorf("a read-only request after the refresh window cost %d store commands, budget 1", cost)
		case reports && (seen.Before(start.Add(-2*time.Millisecond)) || seen.After(end.Add(2*time.Millisecond))):
			t.Errorf("LastSeen %v, the request ran from %v to %v", seen, start, end)
		case cost > 2:
			t.Errorf("a read-only request after the refresh window cost %d store commands, budget 2", cost)
		case seen.Before(start.Add(-idle/10)) || seen.After(end):
			t.Errorf("LastSeen %v, the request ran from %v to %v: more than the refresh window apart", seen, start, end)
		}
		if cost > 1 {
			rewrites++
		}
	}
	t.Logf("rewrites in 4 read-only requests 300 ms apart: %d", rewrites)
}

// reportsExpiry reports whether vs reports the expiry a touched load set.
func reportsExpiry(t *testing.T, vs store.Versioned) bool {
	key := "lastseen-probe-" + rand.Text()
	if _, err := vs.SaveIf(t.Context(), key, []byte("probe"), time.Now().Add(time.Minute), 0); err != nil {
		t.Fatal(err)
	}
	defer vs.Delete(t.Context(), key)
	l, err := vs.LoadVersion(t.Context(), key, time.Now().Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	return l.Touched && !l.Expires.IsZero()
}
