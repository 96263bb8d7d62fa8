// Package logintest is the scenario every framework example passes, through
// a real server: sign in (a new token), sign in again (another new token,
// the old one dead), sign out (the cookie expired).
//
// Each example serves the same three routes:
//
//	GET  /        "Hello, NAME" or "Not signed in"
//	POST /login   form fields user and password ("secret"); 303 to / or 401
//	POST /logout  303 to /
package logintest

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
)

// Run serves h on an httptest server and walks the scenario.
func Run(t *testing.T, h http.Handler) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	base, _ := url.Parse(srv.URL)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}

	send := func(method, path string, form url.Values) (int, string) {
		t.Helper()
		var res *http.Response
		var err error
		if form == nil {
			res, err = c.Get(srv.URL + path)
		} else {
			res, err = c.PostForm(srv.URL+path, form)
		}
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, strings.TrimSpace(string(b))
	}
	token := func() string {
		for _, ck := range jar.Cookies(base) {
			if ck.Name == "session" {
				return ck.Value
			}
		}
		return ""
	}
	want := func(step string, gotCode int, gotBody string, code int, body string) {
		t.Helper()
		if gotCode != code || gotBody != body {
			t.Fatalf("%s: %d %q, want %d %q", step, gotCode, gotBody, code, body)
		}
	}

	code, body := send("GET", "/", nil)
	want("first visit", code, body, 200, "Not signed in")
	if token() != "" {
		t.Fatalf("a first visit set a cookie")
	}

	code, body = send("POST", "/login", url.Values{"user": {"ann"}, "password": {"wrong"}})
	want("wrong password", code, body, 401, "Wrong name or password")

	code, body = send("POST", "/login", url.Values{"user": {"ann"}, "password": {"secret"}})
	want("sign in", code, body, 200, "Hello, ann")
	first := token()
	if first == "" {
		t.Fatal("signing in set no session cookie")
	}
	code, body = send("GET", "/", nil)
	want("next visit", code, body, 200, "Hello, ann")

	code, body = send("POST", "/login", url.Values{"user": {"bob"}, "password": {"secret"}})
	want("sign in again", code, body, 200, "Hello, bob")
	if second := token(); second == "" || second == first {
		t.Fatalf("signing in again kept the token %q: Renew must issue a new one", first)
	}

	// The token from before the second sign-in is dead.
	req, _ := http.NewRequest("GET", srv.URL+"/", nil)
	req.AddCookie(&http.Cookie{Name: "session", Value: first})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if got := strings.TrimSpace(string(b)); got != "Not signed in" {
		t.Errorf("the token replaced at sign-in still works: %q", got)
	}

	code, body = send("POST", "/logout", url.Values{})
	want("sign out", code, body, 200, "Not signed in")
	if token() != "" {
		t.Errorf("the session cookie survived sign-out")
	}
}

// Shutdown starts run (an example's server loop) on a local port, makes one
// request, cancels the context as a signal would, and wants run to return
// nil: a graceful shutdown.
func Shutdown(t *testing.T, run func(context.Context, net.Listener) error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, ln) }()

	res, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("GET /: status %d", res.StatusCode)
	}
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
