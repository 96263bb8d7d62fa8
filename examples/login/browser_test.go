package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The browser test drives the app in a real Chromium, as a person would,
// and checks what the page shows and which cookie the browser stored.
//
// It needs Chrome or Chromium: the first of chromium, chromium-browser,
// google-chrome, google-chrome-stable and headless_shell on PATH, or the
// binary named by SESSIONS_TEST_CHROME. Without one it skips, saying how
// to install it; with SESSIONS_TEST_REQUIRE=1 (as in CI) it fails instead.
//
// On a failure it writes a screenshot of every page it saw, numbered in
// order, to a new temporary folder, and names the folder in the message.

const (
	chromeEnv  = "SESSIONS_TEST_CHROME"
	requireEnv = "SESSIONS_TEST_REQUIRE"
	// actionTimeout bounds one browser action (a page load, a click).
	actionTimeout = 30 * time.Second
)

// cet is the zone the test app shows dates in, so the page's text is known.
var cet = time.FixedZone("CET", 3600)

// TestBrowser is one person's visit over HTTP, from the first page to
// sign-out, with two browser restarts in between and, near the end, a
// second browser whose session the first one signs out from the "Your
// sessions" page.
func TestBrowser(t *testing.T) {
	chrome := findChrome(t)
	srv := startBrowserApp(t, false)
	b := newBrowser(t, chrome, srv.URL, false)

	b.step("first visit")
	b.open("/")
	b.wantText("h1", "Sign in")
	b.wantText(`label[for="name"]`, "Name")
	b.wantText(`label[for="password"]`, "Password")
	b.wantText(`label:has(#remember)`, "Remember me on this browser")
	if c := b.cookie(); c != nil {
		b.fatalf("a first visit must not set a session cookie, got %s", describe(c))
	}

	b.step("wrong password")
	b.signIn("Ann", "wrong", false)
	b.wantText("#flash", "Wrong name or password.")
	b.wantText("h1", "Sign in")
	anonymous := b.wantSessionCookie(false).Value // the flash lives in a session

	b.step("reload after the flash")
	b.reload()
	b.wantText("#flash", "") // shown once, then gone
	b.wantText("h1", "Sign in")

	b.step("sign in")
	b.signIn("Ann", "secret", false)
	b.wantText("#flash", "Welcome, Ann!")
	b.wantText("#user", "Ann")
	b.wantContains("#since", "Signed in since ")
	b.wantContains("#since", " CET.") // the date carries its zone
	b.wantContains("#remembered", "does not remember you")
	token := b.wantSessionCookie(false).Value
	if token == anonymous {
		b.fatalf("signing in kept the session token %q: Renew must issue a new one", token)
	}

	b.step("reload while signed in")
	b.reload()
	b.wantText("#user", "Ann")
	b.wantText("#flash", "")
	if c := b.wantSessionCookie(false); c.Value != token {
		b.fatalf("a reload changed the token from %q to %q", token, c.Value)
	}

	b.step("a form on another site posts to /logout")
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><title>evil</title>
<form method="post" action="%s/logout"><button id="attack">Win a prize</button></form>`, srv.URL)
	}))
	defer evil.Close()
	b.open(evil.URL)
	if status := b.click("attack"); status != http.StatusForbidden {
		b.fatalf("a cross-site form posted to /logout got status %d, want 403", status)
	}
	b.open("/")
	b.wantText("#user", "Ann")
	if c := b.wantSessionCookie(false); c.Value != token {
		b.fatalf("the refused cross-site request changed the token from %q to %q", token, c.Value)
	}

	b.step("restart the browser, not remembered")
	b.restart()
	if c := b.cookie(); c != nil {
		b.fatalf("a browser-session cookie survived the restart: %s", describe(c))
	}
	b.open("/")
	b.wantText("h1", "Sign in")

	b.step("sign in, remembered")
	b.signIn("Ann", "secret", true)
	b.wantText("#user", "Ann")
	b.wantContains("#remembered", "This browser remembers you until ")
	b.wantContains("#remembered", " CET,")
	token = b.wantSessionCookie(true).Value

	b.step("restart the browser, remembered")
	b.restart()
	if c := b.wantSessionCookie(true); c.Value != token {
		b.fatalf("after the restart the cookie is %q, want %q", c.Value, token)
	}
	b.open("/")
	b.wantText("#user", "Ann")
	b.wantContains("#remembered", "This browser remembers you until ")

	b.step("a second browser signs in as Ann")
	other := newBrowser(t, chrome, srv.URL, false)
	other.step("second browser: sign in")
	other.open("/")
	other.signIn("Ann", "secret", false)
	other.wantText("#user", "Ann")

	b.step("your sessions")
	if status := b.click("sessions-link"); status != http.StatusOK {
		b.fatalf("the sessions page answered %d", status)
	}
	b.wantText("h1", "Your sessions")
	// Three: the sign-in from before the first restart is still live on
	// the server (closing the browser only dropped its cookie), this one,
	// and the second browser's.
	b.wantCount("#sessions .session", 3)
	b.wantCount("#sessions .session.current", 1)
	b.wantContains("#sessions .session.current", "This browser")
	b.wantContains("#sessions .session.current", "remembered until ")
	b.wantContains("#sessions .session.current", " CET")
	b.wantContains("#sessions .session:not(.current)", "until the browser closes")
	b.wantContains("#sessions .session.current .last-seen", "Last seen ")
	b.wantContains("#sessions .session.current .last-seen", " CET")

	b.step("sign out my other sessions")
	if status := b.click("sign-out-others"); status != http.StatusOK {
		b.fatalf("sign out my other sessions answered %d", status)
	}
	b.wantText("#flash", "Signed out 2 other sessions.")
	b.wantCount("#sessions .session", 1)
	b.wantCount("#sessions .session.current", 1)

	other.step("second browser: reload after being signed out")
	other.reload()
	other.wantText("h1", "Sign in")
	other.close()

	b.step("this browser is still signed in")
	b.open("/")
	b.wantText("#user", "Ann")

	b.step("sign out")
	b.click("logout")
	b.wantText("h1", "Sign in")
	b.wantText("#signed-out", "You have signed out.")
	if c := b.cookie(); c != nil {
		b.fatalf("after sign-out the browser still has %s", describe(c))
	}
}

// TestBrowserPasswordChange changes the password in a real Chromium: at
// once after signing in it needs nothing more; once the sign-in is older
// than the limit the password is asked for again (a wrong one is
// refused, the right one brings a new token); after the change the page
// offers to sign out every other session, which ends a second browser's.
func TestBrowserPasswordChange(t *testing.T) {
	chrome := findChrome(t)
	const recent = 2 * time.Second
	srv := startBrowserAppConfig(t, config{Location: cet, RecentAuth: recent})
	b := newBrowser(t, chrome, srv.URL, false)
	other := newBrowser(t, chrome, srv.URL, false)

	other.step("second browser: sign in")
	other.open("/")
	other.signIn("Bea", "secret", false)
	other.wantText("#user", "Bea")

	b.step("sign in, then the password page at once")
	b.open("/")
	b.signIn("Bea", "secret", false)
	if status := b.click("password-link"); status != http.StatusOK {
		b.fatalf("the password page answered %d", status)
	}
	b.wantText("h1", "Change your password")
	b.wantCount("#new", 1)

	b.step("the password page once the sign-in is old")
	time.Sleep(recent + 500*time.Millisecond)
	b.reload()
	b.wantText("h1", "Confirm your password")
	b.wantCount("#new", 0)

	b.step("a wrong password")
	b.run("fill in the password", chromedp.SendKeys(chromedp.ID("current"), "wrong"))
	b.click("confirm")
	b.wantText("#flash", "Wrong password.")
	b.wantText("h1", "Confirm your password")

	b.step("the right password")
	token := b.wantSessionCookie(false).Value
	b.run("fill in the password", chromedp.SendKeys(chromedp.ID("current"), "secret"))
	b.click("confirm")
	b.wantText("h1", "Change your password")
	b.wantCount("#new", 1)
	if c := b.wantSessionCookie(false); c.Value == token {
		b.fatalf("entering the password again kept the token %q: Reauthenticated must issue a new one", token)
	}

	b.step("change the password")
	b.run("fill in the new password", chromedp.SendKeys(chromedp.ID("new"), "hunter22"))
	b.click("change")
	b.wantText("#flash", "Your password was changed.")
	b.wantContains("#offer", "Sign out everywhere else")

	b.step("sign out my other sessions")
	b.click("sign-out-others")
	b.wantText("#flash", "Signed out 1 other session.")
	b.wantCount("#sessions .session", 1)
	b.wantContains("#sessions .session.current .last-seen", "Last seen ")

	other.step("second browser: reload after being signed out")
	other.reload()
	other.wantText("h1", "Sign in")

	other.step("second browser: the old password no longer signs in")
	other.signIn("Bea", "secret", false)
	other.wantText("#flash", "Wrong name or password.")
	other.signIn("Bea", "hunter22", false)
	other.wantText("#user", "Bea")
}

// TestBrowserSecure signs in over HTTPS, with the app configured for
// Secure cookies: httptest's TLS server, whose self-signed certificate the
// browser is told to accept.
func TestBrowserSecure(t *testing.T) {
	chrome := findChrome(t)
	srv := startBrowserApp(t, true)
	b := newBrowser(t, chrome, srv.URL, true)

	b.step("first visit")
	b.open("/")
	b.wantText("h1", "Sign in")

	b.step("sign in, remembered")
	b.signIn("Ann", "secret", true)
	b.wantText("#user", "Ann")
	token := b.wantSessionCookie(true).Value // checks Secure too

	b.step("reload")
	b.reload()
	b.wantText("#user", "Ann")
	if c := b.wantSessionCookie(true); c.Value != token {
		b.fatalf("a reload changed the token from %q to %q", token, c.Value)
	}

	b.step("sign out")
	b.click("logout")
	b.wantText("#signed-out", "You have signed out.")
	if c := b.cookie(); c != nil {
		b.fatalf("after sign-out the browser still has %s", describe(c))
	}
}

// startBrowserApp serves the app for a browser test, over HTTPS with
// Secure cookies when secure is set.
func startBrowserApp(t *testing.T, secure bool) *httptest.Server {
	return startBrowserAppConfig(t, config{Secure: secure, Location: cet})
}

// startBrowserAppConfig serves the app configured by cfg for a browser
// test, over HTTPS when cfg.Secure is set.
func startBrowserAppConfig(t *testing.T, cfg config) *httptest.Server {
	secure := cfg.Secure
	app, err := newServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(app)
	// Chromium opens spare connections and drops some unused: no log lines
	// for the TLS handshakes it abandons.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if secure {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(func() {
		srv.Close()
		app.Close()
	})
	return srv
}

// findChrome returns the browser binary, or skips (fails, when required).
func findChrome(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(chromeEnv); p != "" {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
		t.Fatalf("%s=%s: not an executable", chromeEnv, p)
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless_shell"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	msg := "no Chrome or Chromium on PATH: to run the browser test, install one " +
		"(Debian, Ubuntu: apt-get install -y chromium) or set " + chromeEnv + " to its binary"
	if v := os.Getenv(requireEnv); v != "" && v != "0" && !strings.EqualFold(v, "false") {
		t.Fatal(msg + " (" + requireEnv + " is set, so a skip is a failure)")
	}
	t.Skip(msg)
	return ""
}

// browser is one browser profile, a user data directory that outlives a
// restart of the browser process, as a person's does. Its methods act on
// the current tab and end the test through fatalf on any failure.
type browser struct {
	t      *testing.T
	chrome string
	dir    string // the user data directory
	base   string // the app's URL
	secure bool   // the app is served over HTTPS with Secure cookies

	ctx  context.Context // the tab; nil while the browser is closed
	stop func()          // closes the browser gracefully

	began time.Time
	label string // the current step, for screenshot names
	shots []shot // every page seen, in order
}

type shot struct {
	name string
	png  []byte
}

func newBrowser(t *testing.T, chrome, base string, secure bool) *browser {
	b := &browser{t: t, chrome: chrome, dir: t.TempDir(), base: base, secure: secure, label: "start", began: time.Now()}
	t.Cleanup(b.close)
	b.start()
	return b
}

// start runs a browser process on the profile.
func (b *browser) start() {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(b.chrome),
		chromedp.UserDataDir(b.dir),
		chromedp.IgnoreCertErrors, // httptest's self-signed certificate
		chromedp.WindowSize(900, 700),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	if err := chromedp.Do(ctx); err != nil { // starts the browser, with no timeout
		cancel()
		acancel()
		b.fatalf("start %s: %v", b.chrome, err)
	}
	b.ctx = ctx
	b.stop = func() {
		// A graceful close, as when a person quits: the browser writes its
		// persistent cookies to the profile and drops the session ones.
		tctx, tcancel := context.WithTimeout(ctx, actionTimeout)
		defer tcancel()
		if err := chromedp.Cancel(tctx); err != nil {
			b.t.Logf("closing the browser: %v", err)
		}
		cancel()
		acancel()
	}
}

// close ends the browser process, if one runs.
func (b *browser) close() {
	if b.ctx != nil {
		b.stop()
		b.ctx, b.stop = nil, nil
	}
}

// restart quits the browser and starts it again on the same profile.
func (b *browser) restart() {
	b.close()
	b.start()
}

// step names what follows, for the screenshots and the verbose log.
func (b *browser) step(label string) {
	b.label = label
	b.t.Logf("%6.2fs %s", time.Since(b.began).Seconds(), label)
}

// run runs actions on the tab with a timeout.
func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fatalf("%s: %v", what, err)
	}
}

// open loads path (relative to the app) or an absolute URL and returns
// the page's HTTP status.
func (b *browser) open(path string) int64 {
	b.t.Helper()
	url := path
	if strings.HasPrefix(path, "/") {
		url = b.base + path
	}
	return b.load("open "+url, func(ctx context.Context) (*network.Response, error) {
		return chromedp.Run(ctx, chromedp.NavigateResponse(url))
	})
}

// reload reloads the page, as the browser's reload button does.
func (b *browser) reload() int64 {
	b.t.Helper()
	return b.load("reload", reloadPage)
}

// click clicks the element with the given id, waits for the page it leads
// to, and returns that page's HTTP status.
func (b *browser) click(id string) int64 {
	b.t.Helper()
	return b.load("click #"+id, func(ctx context.Context) (*network.Response, error) {
		return chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID(id)))
	})
}

// load runs a navigation and returns the final page's HTTP status.
//
// Chromium aborts requests in flight with net::ERR_NETWORK_CHANGED when the
// machine's network interfaces change, loopback connections included, as
// they do whenever Docker starts or stops a container (the backend tests
// do, in parallel). The failed page is then reloaded, as a person would:
// the browser repeats the same request (a form's POST too, without asking,
// under chromedp's default flags), which every request of this app
// tolerates. Any other error fails the test.
func (b *browser) load(what string, nav func(context.Context) (*network.Response, error)) int64 {
	b.t.Helper()
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
		res, err := nav(ctx)
		cancel()
		if err != nil && strings.Contains(err.Error(), "ERR_NETWORK_CHANGED") && attempt < 5 {
			b.t.Logf("%s: %v; reloading", what, err)
			nav = reloadPage
			continue
		}
		if err != nil {
			b.fatalf("%s: %v", what, err)
		}
		b.snap()
		if res == nil {
			return 0
		}
		return res.Status
	}
}

// reloadPage reloads the page and returns the response. (chromedp.Reload
// waits for the load too, but returns no response.)
func reloadPage(ctx context.Context) (*network.Response, error) {
	return chromedp.RunResponse(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, cdppage.Reload, cdppage.ReloadParams{})
		return err
	}))
}

// signIn fills in the (empty) form and submits it.
func (b *browser) signIn(name, password string, remember bool) {
	b.t.Helper()
	b.run("fill in the sign-in form",
		chromedp.SendKeys(chromedp.ID("name"), name),
		chromedp.SendKeys(chromedp.ID("password"), password),
	)
	if remember {
		b.run("tick remember me", chromedp.Click(chromedp.ID("remember")))
	}
	if status := b.click("login"); status != http.StatusOK {
		b.fatalf("sign-in answered %d", status)
	}
}

// text returns the trimmed text of the first element matching css, or ""
// when there is none.
func (b *browser) text(css string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	js := fmt.Sprintf(`(document.querySelector(%s)?.textContent ?? "").replace(/\s+/g, " ").trim()`, strconv.Quote(css))
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.fatalf("read %s: %v", css, err)
	}
	return s
}

func (b *browser) wantText(css, want string) {
	b.t.Helper()
	if got := b.text(css); got != want {
		b.fatalf("%s shows %q, want %q", css, got, want)
	}
}

func (b *browser) wantContains(css, want string) {
	b.t.Helper()
	if got := b.text(css); !strings.Contains(got, want) {
		b.fatalf("%s shows %q, want it to contain %q", css, got, want)
	}
}

// wantCount checks how many elements match css.
func (b *browser) wantCount(css string, want int) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%s).length`, strconv.Quote(css))))
	if err != nil {
		b.fatalf("count %s: %v", css, err)
	}
	if n != want {
		b.fatalf("%d elements match %s, want %d", n, css, want)
	}
}

// cookie returns the session cookie as the browser stored it, or nil.
func (b *browser) cookie() *network.Cookie {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.base + "/"}})
	if err != nil {
		b.fatalf("read cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == "session" {
			return c
		}
	}
	return nil
}

// wantSessionCookie checks the stored session cookie's attributes:
// HttpOnly, SameSite=Lax, Path=/, Secure exactly when the app is served
// over HTTPS, and either a browser-session cookie (no expiry) or a
// persistent one that lasts the session's lifetime.
func (b *browser) wantSessionCookie(persistent bool) *network.Cookie {
	b.t.Helper()
	c := b.cookie()
	if c == nil {
		b.fatalf("no session cookie")
	}
	var bad []string
	if !c.HTTPOnly {
		bad = append(bad, "not HttpOnly")
	}
	if c.SameSite != network.CookieSameSiteLax {
		bad = append(bad, fmt.Sprintf("SameSite=%q, want Lax", c.SameSite))
	}
	if c.Path != "/" {
		bad = append(bad, fmt.Sprintf("Path=%q, want /", c.Path))
	}
	if c.Secure != b.secure {
		bad = append(bad, fmt.Sprintf("Secure=%v, want %v", c.Secure, b.secure))
	}
	if c.Session == persistent {
		bad = append(bad, fmt.Sprintf("a browser-session cookie: %v, want %v", c.Session, !persistent))
	}
	if persistent {
		exp := time.Unix(int64(c.Expires), 0)
		if d := time.Until(exp); d < lifetime-time.Hour || d > lifetime+time.Minute {
			bad = append(bad, fmt.Sprintf("expires %v (in %v), want in about %v", exp, d.Round(time.Minute), lifetime))
		}
	} else if c.Expires != -1 {
		bad = append(bad, fmt.Sprintf("Expires=%v, want none", c.Expires))
	}
	if len(bad) > 0 {
		b.fatalf("session cookie %s: %s", describe(c), strings.Join(bad, "; "))
	}
	return c
}

func describe(c *network.Cookie) string {
	return fmt.Sprintf("%s=%s (path %s, httpOnly %v, secure %v, sameSite %s, session %v, expires %.0f)",
		c.Name, c.Value, c.Path, c.HTTPOnly, c.Secure, c.SameSite, c.Session, c.Expires)
}

// snap keeps a screenshot of the current page for a failure report.
func (b *browser) snap() {
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Logf("screenshot: %v", err)
		return
	}
	b.shots = append(b.shots, shot{fmt.Sprintf("%02d-%s.png", len(b.shots)+1, slug(b.label)), png})
}

// fatalf ends the test with msg, after writing the screenshots (and one of
// the page as it is now) to a new temporary folder that the message names.
func (b *browser) fatalf(format string, args ...any) {
	b.t.Helper()
	msg := fmt.Sprintf("step %q: %s", b.label, fmt.Sprintf(format, args...))
	if b.ctx != nil {
		b.label += " (failure)"
		b.snap()
	}
	if len(b.shots) == 0 {
		b.t.Fatal(msg)
	}
	dir, err := os.MkdirTemp("", "login-browser-test-")
	if err != nil {
		b.t.Fatalf("%s\n(no screenshots: %v)", msg, err)
	}
	for _, s := range b.shots {
		if err := os.WriteFile(filepath.Join(dir, s.name), s.png, 0o644); err != nil {
			b.t.Logf("screenshot %s: %v", s.name, err)
		}
	}
	b.t.Fatalf("%s\nscreenshots of every page so far: %s", msg, dir)
}

func slug(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, s)
}
