package e2etest

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/store"
)

// budgetLastSeen: with an idle timeout, a bound session's read-only
// request costs one store command however far apart the requests are, on
// a store that reports the expiry its touched loads set (Loaded.Expires),
// and Sessions then reports that request's time as LastSeen, to the
// millisecond (and, on Redis, the time the listing took). On another store one request per refresh window rewrites
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
	request := budgetClient(t, m)
	request("/set?name=ls")
	request("/login?user=" + owner)
	rewrites := 0
	for range 4 {
		time.Sleep(300 * time.Millisecond) // past the refresh window
		before, start := count(), time.Now()
		request("/")
		end, cost := time.Now(), count()-before
		list, err := m.Sessions(t.Context(), owner)
		// A store that reads the expiry as a remaining time to live (Redis
		// PTTL) reports it early by up to the listing's round trip.
		early := 2*time.Millisecond + time.Since(end)
		if err != nil || len(list) != 1 {
			t.Fatalf("Sessions = %v, %v; want the one session", list, err)
		}
		seen := list[0].LastSeen
		switch {
		case reports && cost != 1:
			t.Errorf("a read-only request after the refresh window cost %d store commands, budget 1", cost)
		case reports && (seen.Before(start.Add(-early)) || seen.After(end.Add(2*time.Millisecond))):
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
