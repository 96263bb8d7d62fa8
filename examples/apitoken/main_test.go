package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessions"
)

// TestTokenInHeader adds two items as an API client would: the first
// response hands out a token, the next request sends it back.
func TestTokenInHeader(t *testing.T) {
	mgr, err := sessions.New[basket](sessions.WithIdleTimeout(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer mgr.Close()
	srv := httptest.NewServer(newHandler(mgr))
	defer srv.Close()

	send := func(method, token, body string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+"/items", strings.NewReader(body))
		if token != "" {
			req.Header.Set("X-Session-Token", token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, strings.TrimSpace(string(b))
	}

	res, body := send("GET", "", "")
	if body != "[]" || res.Header.Get("X-Session-Token") != "" {
		t.Fatalf("an empty basket needs no token: %q, token %q", body, res.Header.Get("X-Session-Token"))
	}
	res, body = send("POST", "", "apple")
	token := res.Header.Get("X-Session-Token")
	if body != "[apple]" || len(token) != 43 || res.Header.Get("Set-Cookie") != "" {
		t.Fatalf("first item: %q, token %q, Set-Cookie %q", body, token, res.Header.Get("Set-Cookie"))
	}
	if exp, err := time.Parse(time.RFC3339, res.Header.Get("X-Session-Expires")); err != nil || time.Until(exp) < 59*time.Minute {
		t.Errorf("X-Session-Expires %q: want an hour ahead", res.Header.Get("X-Session-Expires"))
	}
	if _, body = send("POST", token, "pear"); body != "[apple pear]" {
		t.Fatalf("second item: %q", body)
	}
	if _, body = send("GET", token, ""); body != "[apple pear]" {
		t.Fatalf("read back: %q", body)
	}
	if _, body = send("GET", "not-a-token", ""); body != "[]" {
		t.Errorf("a bad token must give an empty basket: %q", body)
	}
}

// TestGracefulShutdown runs main's server loop: it serves, and returns nil
// once its context is canceled, as on SIGINT or SIGTERM.
func TestGracefulShutdown(t *testing.T) {
	mgr, err := sessions.New[basket]()
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

	res, err := http.Get("http://" + ln.Addr().String() + "/items")
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
