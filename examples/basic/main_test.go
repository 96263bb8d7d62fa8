package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

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
