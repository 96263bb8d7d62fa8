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
)

// client is a cookie-keeping HTTP client for one app, like a browser
// without the rendering.
type client struct {
	t    *testing.T
	base *url.URL
	http *http.Client
}

func newClient(t *testing.T, base string) *client {
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: u, http: &http.Client{Jar: jar}}
}

// do sends a request (a form when form is non-nil) and returns the final
// response, after redirects, with its body.
func (c *client) do(method, path string, form url.Values, header http.Header) (*http.Response, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base.JoinPath(path).String(), body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return res, string(b)
}

// session returns the session cookie the client holds, or "".
func (c *client) session() string {
	for _, ck := range c.http.Jar.Cookies(c.base) {
		if ck.Name == "session" {
			return ck.Value
		}
	}
	return ""
}

func startApp(t *testing.T, cfg config) *httptest.Server {
	t.Helper()
	app, err := newServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app)
	t.Cleanup(func() {
		srv.Close()
		app.Close()
	})
	return srv
}

func TestSignInAndOut(t *testing.T) {
	srv := startApp(t, config{Location: time.FixedZone("CET", 3600)})
	c := newClient(t, srv.URL)

	_, body := c.do("GET", "/", nil, nil)
	if !strings.Contains(body, `<label for="name">Name</label>`) || c.session() != "" {
		t.Fatalf("first visit: want the form and no cookie; cookie %q, page:\n%s", c.session(), body)
	}

	// A wrong password: the flash shows once.
	_, body = c.do("POST", "/login", url.Values{"user": {"ann"}, "password": {"nope"}}, nil)
	if !strings.Contains(body, "Wrong name or password.") {
		t.Fatalf("wrong password: no flash:\n%s", body)
	}
	before := c.session()
	if _, body = c.do("GET", "/", nil, nil); strings.Contains(body, "Wrong name or password.") {
		t.Fatalf("the flash shows twice:\n%s", body)
	}

	// Sign in: a new token, a browser-session cookie.
	_, body = c.do("POST", "/login", url.Values{"user": {"ann"}, "password": {"secret"}}, nil)
	if !strings.Contains(body, `Hello, <span id="user">ann</span>`) || !strings.Contains(body, "Welcome, ann!") {
		t.Fatalf("after sign-in:\n%s", body)
	}
	if !strings.Contains(body, " CET</time>") || !strings.Contains(body, "does not remember you") {
		t.Errorf("want the sign-in time with its zone and the remember-me state:\n%s", body)
	}
	after := c.session()
	if after == "" || after == before {
		t.Errorf("sign-in must issue a new token: before %q, after %q", before, after)
	}

	// CSRF: a form posted from another site is refused and changes nothing.
	res, _ := c.do("POST", "/logout", url.Values{}, http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}})
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site logout: status %d, want 403", res.StatusCode)
	}
	res, _ = c.do("POST", "/logout", url.Values{}, http.Header{"Origin": {"https://evil.example"}})
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin logout without Sec-Fetch-Site: status %d, want 403", res.StatusCode)
	}
	if _, body = c.do("GET", "/", nil, nil); !strings.Contains(body, "Hello, <span") || c.session() != after {
		t.Fatalf("a refused request signed the user out:\n%s", body)
	}

	// Sign out: the cookie goes, the page says so.
	_, body = c.do("POST", "/logout", url.Values{}, http.Header{"Sec-Fetch-Site": {"same-origin"}})
	if !strings.Contains(body, "You have signed out.") || c.session() != "" {
		t.Fatalf("after sign-out: cookie %q, page:\n%s", c.session(), body)
	}
}

func TestRememberMeCookie(t *testing.T) {
	srv := startApp(t, config{})
	for _, remember := range []bool{false, true} {
		form := url.Values{"user": {"ann"}, "password": {"secret"}}
		if remember {
			form.Set("remember", "1")
		}
		req, _ := http.NewRequest("POST", srv.URL+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		cks := res.Cookies()
		if len(cks) != 1 {
			t.Fatalf("remember=%v: want one cookie, got %v", remember, res.Header["Set-Cookie"])
		}
		ck := cks[0]
		if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure {
			t.Errorf("remember=%v: cookie attributes %q", remember, res.Header.Get("Set-Cookie"))
		}
		if persistent := ck.MaxAge > 0 && !ck.Expires.IsZero(); persistent != remember {
			t.Errorf("remember=%v: persistent=%v: %q", remember, persistent, res.Header.Get("Set-Cookie"))
		}
		if remember && time.Until(ck.Expires) < lifetime-time.Minute {
			t.Errorf("a remembered cookie expires at %v, want the full lifetime", ck.Expires)
		}
	}
}

func TestSecureCookieOverTLS(t *testing.T) {
	app, err := newServer(config{Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	srv := httptest.NewTLSServer(app)
	defer srv.Close()
	form := url.Values{"user": {"ann"}, "password": {"secret"}}
	res, err := srv.Client().PostForm(srv.URL+"/login", form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	// The client follows the redirect; the cookie came with the 303.
	if res.Request.Response == nil {
		t.Fatal("no redirect")
	}
	cks := res.Request.Response.Cookies()
	if len(cks) != 1 || !cks[0].Secure {
		t.Errorf("want one Secure cookie, got %v", res.Request.Response.Header["Set-Cookie"])
	}
}

// TestGracefulShutdown runs main's server loop: it serves, and returns nil
// once its context is canceled.
func TestGracefulShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, ln, config{}) }()

	res, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("status %d", res.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}
