package sessions_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/sessionkit/sessions"
)

// On a store without conditional writes, Update starts from the stored
// value, so Updates through values loaded before each other's still add
// up; on a store with them, the stale one reloads after its write loses.
func TestUpdateStartsFromTheStoredValue(t *testing.T) {
	for _, versioned := range []bool{false, true} {
		spy := newSpy(t)
		var st sessionsStore = spy
		if versioned {
			st = versionedSpy{spy}
		}
		m := mustNew[profile](t, sessions.WithStore(st), sessions.WithLogger(discard()))
		token := savedSession(t, m, "ann")
		var loaded []context.Context
		for range 2 { // both loaded before either Update
			ctx, err := m.Load(t.Context(), token)
			if err != nil {
				t.Fatal(err)
			}
			m.Get(ctx)
			loaded = append(loaded, ctx)
		}
		spy.take()
		for _, ctx := range loaded {
			if err := m.Update(ctx, func(p *profile) error { p.Visits++; return nil }); err != nil {
				t.Fatalf("versioned %v: Update: %v", versioned, err)
			}
		}
		calls := spy.take()
		after, _ := m.Load(t.Context(), token)
		if got := m.Get(after).Visits; got != 2 {
			t.Errorf("versioned %v: two Updates of +1 give %d visits, want 2", versioned, got)
		}
		if versioned && !equal(calls, []string{"saveif", "saveif", "loadversion", "saveif"}) {
			t.Errorf("versioned: store calls %v, want a write, then for the stale one a lost write, a reload and a write", calls)
		}
	}
}

// An fn that fails leaves the session as it was.
func TestUpdateFailingFnChangesNothing(t *testing.T) {
	m := mustNew[profile](t)
	ctx, err := m.Load(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	m.Get(ctx).Name = "ann"
	boom := errors.New("boom")
	err = m.Update(ctx, func(p *profile) error { p.Name, p.Visits = "bob", 7; return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want fn's error", err)
	}
	if p := m.Get(ctx); p.Name != "ann" || p.Visits != 0 {
		t.Errorf("after a failed fn the session is %+v, want it as it was", *p)
	}
}

// Update on a new session gives it a token and sends its cookie; on an
// existing one it sends no cookie.
func TestUpdateCookie(t *testing.T) {
	m := mustNew[profile](t)
	do := serve(t, m, func(w http.ResponseWriter, r *http.Request) {
		if err := m.Update(r.Context(), func(p *profile) error { p.Visits++; return nil }); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	code, token := do("/", "")
	if code != http.StatusOK || token == "" || token == "-" {
		t.Fatalf("Update of a new session: %d, cookie %q; want 200 and a token", code, token)
	}
	if code, cookie := do("/", token); code != http.StatusOK || cookie != "" {
		t.Errorf("Update of an existing session: %d, cookie %q; want 200 and no cookie", code, cookie)
	}
	ctx, _ := m.Load(t.Context(), token)
	if got := m.Get(ctx).Visits; got != 2 {
		t.Errorf("after two Updates: %d visits, want 2", got)
	}
}
