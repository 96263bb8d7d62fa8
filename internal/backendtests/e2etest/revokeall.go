package e2etest

import (
	"fmt"
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

// revokeAll ends every session of the manager with RevokeAll while
// modifies (a save and an Update) that loaded their sessions before it
// are in flight: every token is dead afterwards, no list shows a session,
// the modifies do not bring theirs back, and a login after it holds. A
// store that can list keys reports how many sessions ended; one that
// clears them (memcached) reports -1.
func revokeAll(t *testing.T, st store.Store) string {
	m := newManager[data](t, st)
	a, loaded, releases := ownerApp(t, m)
	tokens := []string{loginAs(a, "ann"), loginAs(a, "ann"), loginAs(a, "bob"), a.newSession("/visit")}
	var rels []chan struct{}
	var slows []chan reply
	for i, path := range []string{"/slow", "/slow?update=1"} {
		rel := make(chan struct{})
		releases <- rel
		slow := make(chan reply, 1)
		go func() { slow <- a.get(path, tokens[i]) }()
		select {
		case <-loaded:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s did not load the session", path)
		}
		rels, slows = append(rels, rel), append(slows, slow)
	}
	start := time.Now()
	r := a.get("/revokeall", "")
	took := time.Since(start)
	_, clears := st.(store.Clearer)
	_, scans := st.(store.Scanner)
	switch {
	case !r.ok():
		t.Fatalf("RevokeAll: %v", r)
	case scans && r.body != "4", !scans && clears && r.body != "-1":
		t.Errorf("RevokeAll = %s, want 4 (a store that lists keys) or -1 (one that clears them)", r.body)
	}
	for i, rel := range rels {
		close(rel)
		if r := <-slows[i]; !r.ok() {
			t.Errorf("modify %d racing RevokeAll: %v", i, r)
		}
	}
	alive := 0
	for i, tok := range tokens {
		if !dead(a, tok) {
			alive++
			t.Errorf("session %d is live after RevokeAll (a modify in flight brought it back?)", i)
		}
	}
	for _, user := range []string{"ann", "bob"} {
		if n := len(list(a, user, "")); n != 0 {
			t.Errorf("%d sessions of %s listed after RevokeAll", n, user)
		}
	}
	after := loginAs(a, "ann")
	if id, name, _ := whoami(a, after); id == "" || name != "user" || len(list(a, "ann", "")) != 1 {
		t.Errorf("a login after RevokeAll: session %q, name %q; want it live and listed", id, name)
	}
	return fmt.Sprintf("revoke all %s in %v, alive %d/%d", r.body, took.Round(time.Millisecond), alive, len(tokens))
}
