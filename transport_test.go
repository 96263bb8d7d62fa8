package sessions_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessionkit/sessions"
)

func TestTokenTransport(t *testing.T) {
	m := mustNew[profile](t, sessions.WithIdleTimeout(time.Hour))
	ctx := context.Background()

	// No token: a new session; untouched, nothing to hand back.
	sctx, err := m.Load(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if tok, _, err := m.Commit(sctx); err != nil || tok != "" {
		t.Fatalf("untouched Commit = %q, %v; want no token", tok, err)
	}

	m.Get(sctx).Name = "ws-user"
	tok, exp, err := m.Commit(sctx)
	if err != nil || len(tok) != 43 {
		t.Fatalf("Commit = %q, %v", tok, err)
	}
	if d := time.Until(exp); d < 59*time.Minute || d > time.Hour {
		t.Errorf("expiry in %v, want the idle timeout", d)
	}

	// Next message: load by token.
	sctx, err = m.Load(ctx, tok)
	if err != nil || m.Get(sctx).Name != "ws-user" {
		t.Fatalf("reload: %v %+v", err, m.Get(sctx))
	}
	if err := m.Renew(sctx); err != nil {
		t.Fatal(err)
	}
	tok2, _, err := m.Commit(sctx)
	if err != nil || tok2 == tok || tok2 == "" {
		t.Fatalf("Commit after Renew = %q, %v", tok2, err)
	}
	if sctx, _ = m.Load(ctx, tok); m.Get(sctx).Name != "" {
		t.Error("old token still works after Renew")
	}

	// Destroy ends it.
	sctx, _ = m.Load(ctx, tok2)
	if err := m.Destroy(sctx); err != nil {
		t.Fatal(err)
	}
	if tok3, _, _ := m.Commit(sctx); tok3 != "" {
		t.Errorf("Commit after Destroy returned token %q", tok3)
	}
	if sctx, _ = m.Load(ctx, tok2); m.Get(sctx).Name != "" {
		t.Error("destroyed session still loads")
	}

	// Garbage tokens give a fresh session without touching the store.
	if sctx, err = m.Load(ctx, "../../etc/passwd"); err != nil || m.Get(sctx).Name != "" {
		t.Errorf("garbage token: %v", err)
	}
}

func TestShapeChangeKeepsFields(t *testing.T) {
	type v1 struct {
		UserID int
		Theme  string
	}
	type v2 struct {
		UserID int
		Lang   string // Theme removed, Lang added
	}
	type v3 struct {
		UserID string // type changed: cannot decode
	}
	spy := newSpy(t)
	m1 := mustNew[v1](t, sessions.WithStore(spy))
	ctx := context.Background()
	sctx, _ := m1.Load(ctx, "")
	*m1.Get(sctx) = v1{UserID: 42, Theme: "dark"}
	tok, _, err := m1.Commit(sctx)
	if err != nil {
		t.Fatal(err)
	}

	m2 := mustNew[v2](t, sessions.WithStore(spy))
	sctx, err = m2.Load(ctx, tok)
	if err != nil || m2.Get(sctx).UserID != 42 {
		t.Fatalf("after adding/removing a field: %v %+v", err, m2.Get(sctx))
	}

	m3 := mustNew[v3](t, sessions.WithStore(spy), sessions.WithLogger(discard()))
	sctx, err = m3.Load(ctx, tok)
	if err != nil || m3.Get(sctx).UserID != "" {
		t.Fatalf("incompatible type: %v %+v, want a fresh session", err, m3.Get(sctx))
	}
}
