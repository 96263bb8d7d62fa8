package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessions"
)

func TestCounterAndName(t *testing.T) {
	mgr, err := sessions.New[visitor]()
	if err != nil {
		t.Fatal(err)
	}
	defer mgr.Close()
	srv := httptest.NewServer(newHandler(mgr))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	body := func(res *http.Response, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	if b := body(c.Get(srv.URL)); !strings.Contains(b, "visited this page 1 time.") {
		t.Fatalf("first visit: %s", b)
	}
	if b := body(c.PostForm(srv.URL+"/name", url.Values{"name": {"Ann"}})); !strings.Contains(b, "Hello, Ann!") || !strings.Contains(b, "2 times") {
		t.Fatalf("after the form: %s", b)
	}
	res, err := http.Get(srv.URL + "/healthz")
	if body(res, err) != "ok" || res.Header.Get("Set-Cookie") != "" {
		t.Errorf("healthz must not touch the session: %v", res.Header)
	}
}

// TestGracefulShutdown runs main's server loop: it serves, and returns nil
// once its context is canceled, as on SIGINT or SIGTERM.
func TestGracefulShutdown(t *testing.T) {
	mgr, err := sessions.New[visitor]()
	if err != nil {
		t.Fatal(err)
	}
	defer mgr.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, ln, newHandler(mgr)) }()

	res, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run returned %v after the cancel, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after the cancel")
	}
}
