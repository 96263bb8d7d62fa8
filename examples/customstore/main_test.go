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
	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/storetest"
)

// TestConformance proves mapStore keeps the store contract.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newMapStore() })
}

// TestServer adds two items through a real server backed by mapStore.
func TestServer(t *testing.T) {
	mgr, err := sessions.New[cart](sessions.WithStore(newMapStore()))
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
		return strings.TrimSpace(string(b))
	}
	if got := body(c.PostForm(srv.URL, url.Values{"item": {"apple"}})); got != "[apple]" {
		t.Fatalf("first item: %q", got)
	}
	if got := body(c.PostForm(srv.URL, url.Values{"item": {"pear"}})); got != "[apple pear]" {
		t.Fatalf("second item: %q", got)
	}
	if got := body(c.Get(srv.URL)); got != "[apple pear]" {
		t.Fatalf("read back: %q", got)
	}
}

// TestGracefulShutdown runs main's server loop: it serves, and returns nil
// once its context is canceled, as on SIGINT or SIGTERM.
func TestGracefulShutdown(t *testing.T) {
	mgr, err := sessions.New[cart](sessions.WithStore(newMapStore()))
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

	res, err := http.Get("http://" + ln.Addr().String() + "/")
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
