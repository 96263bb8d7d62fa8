package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
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

// sessionRows parses the "Your sessions" page: the ID of every listed
// session, oldest first, and the ID of the one marked as this browser's.
func sessionRows(t *testing.T, body string) (ids []string, current string) {
	t.Helper()
	for _, m := range sessionRow.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[2])
		if m[1] != "" {
			if current != "" {
				t.Fatalf("two sessions marked current:\n%s", body)
			}
			current = m[2]
		}
	}
	if strings.Count(body, `<span class="tag">This browser</span>`) != boolInt(current != "") {
		t.Fatalf("want \"This browser\" exactly on the current session:\n%s", body)
	}
	return ids, current
}

var sessionRow = regexp.MustCompile(`<li class="session( current)?" data-id="([^"]+)">`)

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func signIn(t *testing.T, base, user string, remember bool) *client {
	t.Helper()
	c := newClient(t, base)
	form := url.Values{"user": {user}, "password": {"secret"}}
	if remember {
		form.Set("remember", "1")
	}
	if _, body := c.do("POST", "/login", form, nil); !strings.Contains(body, `id="sessions-link" href="/sessions"`) {
		t.Fatalf("%s: no link to the sessions page after sign-in:\n%s", user, body)
	}
	return c
}

func signedIn(c *client) bool {
	c.t.Helper()
	_, body := c.do("GET", "/", nil, nil)
	return strings.Contains(body, `Hello, <span id="user">`)
}

func TestYourSessions(t *testing.T) {
	srv := startApp(t, config{Location: time.FixedZone("CET", 3600)})
	b1 := signIn(t, srv.URL, "bob", false)
	b2 := signIn(t, srv.URL, "bob", false)
	b3 := signIn(t, srv.URL, "bob", true)
	ann := signIn(t, srv.URL, "ann", false)

	// The page lists bob's three sessions, oldest first, this one marked.
	_, body := b1.do("GET", "/sessions", nil, nil)
	ids, cur := sessionRows(t, body)
	if len(ids) != 3 || cur != ids[0] {
		t.Fatalf("bob's first browser: want 3 sessions, the first current; got %d, current %q:\n%s", len(ids), cur, body)
	}
	if !strings.Contains(body, `<h1>Your sessions</h1>`) || !strings.Contains(body, " CET</time>") {
		t.Errorf("want the heading and dates with their zone:\n%s", body)
	}
	if strings.Count(body, "until the browser closes") != 2 || strings.Count(body, "remembered until") != 1 {
		t.Errorf("want two browser-session sessions and one remembered:\n%s", body)
	}
	if !strings.Contains(body, `<button id="sign-out-others">Sign out my other sessions</button>`) {
		t.Errorf("no \"Sign out my other sessions\" button:\n%s", body)
	}
	_, body = b2.do("GET", "/sessions", nil, nil)
	if ids2, cur2 := sessionRows(t, body); len(ids2) != 3 || cur2 != ids[1] {
		t.Fatalf("bob's second browser: want 3 sessions, the second (%s) current; got %v, current %q", ids[1], ids2, cur2)
	}
	_, body = ann.do("GET", "/sessions", nil, nil)
	annIDs, annID := sessionRows(t, body)
	if len(annIDs) != 1 || annID == "" || !strings.Contains(body, `id="only"`) {
		t.Fatalf("ann: want her one session, current:\n%s", body)
	}

	// Signed out, the page sends you to sign in.
	if res, body := newClient(t, srv.URL).do("GET", "/sessions", nil, nil); res.Request.URL.Path != "/" || !strings.Contains(body, "<h1>Sign in</h1>") {
		t.Errorf("signed out: /sessions ended at %s:\n%s", res.Request.URL, body)
	}

	// Someone else's session ID is refused.
	_, body = b1.do("POST", "/sessions/sign-out", url.Values{"id": {annID}}, nil)
	if !strings.Contains(body, "not one of yours") || !signedIn(ann) {
		t.Fatalf("bob signed out ann's session:\n%s", body)
	}

	// A cross-site form is refused and ends nothing.
	res, _ := b1.do("POST", "/sessions/sign-out-others", url.Values{}, http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}})
	if res.StatusCode != http.StatusForbidden || !signedIn(b2) || !signedIn(b3) {
		t.Fatalf("cross-site \"sign out my other sessions\": status %d, want 403 and nothing ended", res.StatusCode)
	}

	// "Sign out my other sessions": the other two are signed out at once.
	_, body = b1.do("POST", "/sessions/sign-out-others", url.Values{}, http.Header{"Sec-Fetch-Site": {"same-origin"}})
	if !strings.Contains(body, `role="status">Signed out 2 other sessions.</p>`) {
		t.Fatalf("after \"sign out my other sessions\": want the count in a flash:\n%s", body)
	}
	if ids, cur := sessionRows(t, body); len(ids) != 1 || cur != ids[0] || !strings.Contains(body, `id="only"`) {
		t.Errorf("after \"sign out my other sessions\": want only this one listed:\n%s", body)
	}
	for i, c := range []*client{b2, b3} {
		if signedIn(c) {
			t.Errorf("bob's browser %d is still signed in", i+2)
		}
	}
	if !signedIn(b1) || !signedIn(ann) {
		t.Errorf("this browser or another user's was signed out too")
	}

	// One session by its button; the ID of one that ended is refused.
	b2 = signIn(t, srv.URL, "bob", false)
	_, body = b2.do("GET", "/sessions", nil, nil)
	_, id2 := sessionRows(t, body)
	_, body = b1.do("POST", "/sessions/sign-out", url.Values{"id": {id2}}, nil)
	if !strings.Contains(body, `role="status">Signed out 1 other session.</p>`) || signedIn(b2) || !signedIn(b1) {
		t.Fatalf("signing out one session by its button:\n%s", body)
	}
	if _, body = b1.do("POST", "/sessions/sign-out", url.Values{"id": {id2}}, nil); !strings.Contains(body, "not one of yours") {
		t.Errorf("an ended session's ID: want it refused:\n%s", body)
	}
	_, body = b1.do("POST", "/sessions/sign-out-others", url.Values{}, nil)
	if !strings.Contains(body, "You had no other sessions to sign out.") {
		t.Errorf("no others: want a flash saying so:\n%s", body)
	}
}

// A sixth sign-in of one user signs out the least recently active of the
// five before it (WithOwnerLimit with EvictOldest), and no other user's.
func TestSessionLimit(t *testing.T) {
	srv := startApp(t, config{})
	ann := signIn(t, srv.URL, "ann", false)
	var bob []*client
	for range maxSessions {
		bob = append(bob, signIn(t, srv.URL, "bob", false))
	}
	newest := signIn(t, srv.URL, "bob", false)
	if signedIn(bob[0]) {
		t.Fatal("bob's first session is still signed in after a sign-in over the limit")
	}
	for i, c := range append(bob[1:], newest, ann) {
		if !signedIn(c) {
			t.Errorf("session %d was signed out; only bob's first should be", i+2)
		}
	}
	_, body := newest.do("GET", "/sessions", nil, nil)
	if ids, cur := sessionRows(t, body); len(ids) != maxSessions || cur != ids[len(ids)-1] {
		t.Errorf("bob's sessions page: want %d sessions, the newest current; got %d, current %q:\n%s", maxSessions, len(ids), cur, body)
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

// TestChangePassword: the password page asks for the password again once
// the sign-in is older than the limit (RequireRecentAuth), a right one
// (Reauthenticated, a new token) lets the change through, and after it
// the page offers to sign out every other session.
func TestChangePassword(t *testing.T) {
	const recent = 300 * time.Millisecond
	srv := startApp(t, config{Location: time.FixedZone("CET", 3600), RecentAuth: recent})
	c := signIn(t, srv.URL, "cid", false)
	other := signIn(t, srv.URL, "cid", false)

	if _, body := c.do("GET", "/", nil, nil); !strings.Contains(body, `id="password-link" href="/password"`) {
		t.Fatalf("no link to the password page:\n%s", body)
	}
	if _, body := c.do("GET", "/password", nil, nil); !strings.Contains(body, `id="new"`) {
		t.Fatalf("just signed in: want the new-password form:\n%s", body)
	}
	time.Sleep(recent + 100*time.Millisecond)
	_, body := c.do("GET", "/password", nil, nil)
	if !strings.Contains(body, `id="confirm-why"`) || strings.Contains(body, `id="new"`) {
		t.Fatalf("signed in %v ago: want the password asked for again:\n%s", recent, body)
	}
	// A change posted with an old sign-in is not made.
	_, body = c.do("POST", "/password", url.Values{"new": {"sneaky1"}}, nil)
	if !strings.Contains(body, `id="confirm-why"`) {
		t.Fatalf("a change posted with an old sign-in: want the password asked for:\n%s", body)
	}
	_, body = c.do("POST", "/confirm", url.Values{"password": {"wrong"}}, nil)
	if !strings.Contains(body, `role="status">Wrong password.</p>`) || !strings.Contains(body, `id="confirm-why"`) {
		t.Fatalf("a wrong password: want it refused:\n%s", body)
	}
	before := c.session()
	_, body = c.do("POST", "/confirm", url.Values{"password": {"secret"}}, nil)
	if !strings.Contains(body, `id="new"`) {
		t.Fatalf("the right password: want the new-password form:\n%s", body)
	}
	if after := c.session(); after == before || after == "" {
		t.Errorf("entering the password again must issue a new token: before %q, after %q", before, after)
	}
	_, body = c.do("POST", "/password", url.Values{"new": {"hunter22"}}, nil)
	if !strings.Contains(body, "Your password was changed.") || !strings.Contains(body, `id="offer"`) {
		t.Fatalf("after the change: want the flash and the offer to sign out the others:\n%s", body)
	}
	_, body = c.do("POST", "/sessions/sign-out-others", url.Values{}, nil)
	if !strings.Contains(body, `role="status">Signed out 1 other session.</p>`) || signedIn(other) || !signedIn(c) {
		t.Fatalf("signing out the others after the change:\n%s", body)
	}
	if !strings.Contains(body, `<span class="last-seen">Last seen <time`) {
		t.Errorf("the sessions page shows no last seen:\n%s", body)
	}
	fresh := newClient(t, srv.URL)
	if _, body := fresh.do("POST", "/login", url.Values{"user": {"cid"}, "password": {"secret"}}, nil); !strings.Contains(body, "Wrong name or password.") {
		t.Errorf("the old password still signs in:\n%s", body)
	}
	form := url.Values{"user": {"cid"}, "password": {"hunter22"}}
	if _, body := fresh.do("POST", "/login", form, nil); !strings.Contains(body, `Hello, <span id="user">cid</span>`) {
		t.Errorf("the new password does not sign in:\n%s", body)
	}
}

// The audit log has a line for each sign-in, sign-out and revocation,
// naming the session by its ID and the user, and never a token.
func TestAuditLog(t *testing.T) {
	var buf syncBuffer
	srv := startApp(t, config{Audit: slog.New(slog.NewJSONHandler(&buf, nil))})
	c := newClient(t, srv.URL)
	c.do("POST", "/login", url.Values{"user": {"ann"}, "password": {"nope"}}, nil) // a session for the flash
	anon := c.session()
	c.do("POST", "/login", url.Values{"user": {"ann"}, "password": {"secret"}}, nil)
	first := c.session()
	other := signIn(t, srv.URL, "ann", false)
	second := other.session()
	other.do("POST", "/sessions/sign-out-others", url.Values{}, nil)
	other.do("POST", "/logout", url.Values{}, nil)

	type line struct {
		Event    string `json:"session_event"`
		ID       string `json:"session_id"`
		Previous string `json:"previous_session_id"`
		Owner    string `json:"owner"`
		Cause    string `json:"cause"`
	}
	var got []line
	for l := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		for _, token := range []string{anon, first, second} {
			if strings.Contains(l, token) {
				t.Errorf("the audit log shows a token: %s", l)
			}
		}
		var x line
		if err := json.Unmarshal([]byte(l), &x); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		got = append(got, x)
	}
	want := []line{
		{Event: "created", ID: idOf(anon)},
		{Event: "renewed", ID: idOf(first), Previous: idOf(anon), Owner: "ann"},
		{Event: "owner_bound", ID: idOf(first), Owner: "ann"},
		{Event: "created", ID: idOf(second), Owner: "ann"},
		{Event: "owner_bound", ID: idOf(second), Owner: "ann"},
		{Event: "revoked", ID: idOf(first), Owner: "ann", Cause: "RevokeOthers"},
		{Event: "destroyed", ID: idOf(second), Owner: "ann", Cause: "Destroy"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("audit log:\n%s\nwant events %+v", buf.String(), want)
	}
}

// idOf is the ID of the session whose token is token: a hash.
func idOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
