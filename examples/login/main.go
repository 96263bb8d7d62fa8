// Command login is a small sign-in app built on sessions: Renew at login
// (a new token defeats session fixation), "remember me" as a persistent or a
// browser-session cookie, a one-time flash message, CSRF protection with
// net/http's CrossOriginProtection, Destroy at logout, a "Your sessions"
// page that lists where the user is signed in, and when each was last
// seen, and signs out the others (SetOwner at login, Sessions, Revoke,
// RevokeOthers), at most five sessions per user (WithOwnerLimit: a sixth
// sign-in signs out the least recently active one), and a password change that asks for the password again
// when the sign-in is more than five minutes old (RequireRecentAuth,
// Reauthenticated) and then offers to sign out every other session. Its
// session events (sign-ins, sign-outs, revocations, expiries) go to an
// audit log through sessions.SlogEvents, one line each on standard error.
//
//	go -C examples/login run .                        # then open http://localhost:8080 (any name, password "secret")
//	go -C examples/login run . -addr 127.0.0.1:9000   # listen on another address
//	go -C examples/login run . -tz Europe/Berlin      # show dates in that time zone
//
// (The example is a module of its own, examples/login/go.mod, so that the
// browser its test drives through chromedp stays out of the library's
// dependencies: run it from its directory, or with go -C from the root.)
//
// Flags:
//
//	-addr    address to listen on (default ":8080")
//	-secure  mark the session cookie Secure; use it when the app is served
//	         over HTTPS (directly or behind a TLS-terminating proxy)
//	-tz      IANA time zone for the dates on the page (default: the server's)
//
// Interrupt it (Ctrl-C) or send SIGTERM and it stops gracefully: requests in
// flight finish and save their sessions, then the manager closes.
//
// Its test walks the app in a real Chromium and checks the cookie the
// browser stored; without Chromium that part skips and says how to get it:
//
//	go -C examples/login test .
package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"flag"
	"html/template"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"
	_ "time/tzdata" // -tz works where the system has no zoneinfo

	"github.com/sessionkit/sessions"
)

const (
	// lifetime is how long a sign-in lasts at most, remembered or not.
	lifetime = 30 * 24 * time.Hour
	// idleTimeout signs out a session that goes unused this long.
	idleTimeout = 7 * 24 * time.Hour
	// recentAuth is how recent the last sign-in (or entry of the password)
	// must be to change the password without entering it again.
	recentAuth = 5 * time.Minute
	// maxSessions is how many sessions one user may have at once: a
	// sign-in beyond it signs out the user's least recently active one.
	maxSessions = 5
)

// account is the session data: typed fields, no map[string]any.
type account struct {
	User     string    // "" when signed out
	LoginAt  time.Time // when User signed in
	Remember bool      // the cookie outlives the browser ("remember me")
	Flash    flash     // shown on the next page, once
}

// flash is a one-time message: a handler sets it before a redirect, and the
// next page shows it and clears it. Clearing is a change like any other, so
// the session is saved and a reload no longer shows the message.
type flash struct {
	Kind string // "info" or "error", a CSS class
	Text string
}

// takeFlash returns the pending flash message and clears it.
func (a *account) takeFlash() flash {
	f := a.Flash
	a.Flash = flash{}
	return f
}

// config is what main (or a test) chooses about the app.
type config struct {
	Secure     bool           // Secure cookie: the app is served over HTTPS
	Location   *time.Location // time zone of the dates shown; nil is time.Local
	RecentAuth time.Duration  // how recent a sign-in a password change needs; 0 is recentAuth
	Audit      *slog.Logger   // the audit log of session events; nil is slog.Default()
}

// server is the login app: the session manager and the routes, behind
// CSRF protection. It is an http.Handler; Close closes the manager.
type server struct {
	mgr       *sessions.Manager[account]
	loc       *time.Location
	passwords passwords
	handler   http.Handler
}

// passwords are the users' passwords: "secret" until a user changes it.
// (A real app keeps password hashes in its database.)
type passwords struct {
	mu sync.Mutex
	m  map[string]string
}

// check reports whether password is user's.
func (p *passwords) check(user, password string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	want, ok := p.m[user]
	if !ok {
		want = "secret"
	}
	return subtle.ConstantTimeCompare([]byte(password), []byte(want)) == 1
}

// set changes user's password.
func (p *passwords) set(user, password string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[string]string{}
	}
	p.m[user] = password
}

// newServer builds the app. Close it when done.
func newServer(cfg config) (*server, error) {
	mgr, err := sessions.New[account](
		sessions.WithLifetime(lifetime),
		sessions.WithIdleTimeout(idleTimeout),
		sessions.WithCookie(
			// Browser-session cookies unless the user ticks "remember me".
			sessions.CookiePersistent(false),
			sessions.CookieSecure(cfg.Secure),
		),
		// An audit log: a line for each sign-in (renewed, owner_bound),
		// sign-out (destroyed), revocation and expiry, with the session's
		// ID (a hash, never the token) and the user.
		sessions.WithEvents(sessions.SlogEvents(cfg.Audit)),
		// At most maxSessions sessions per user (SetOwner at sign-in):
		// the least recently active one is signed out to make room.
		sessions.WithOwnerLimit(maxSessions, sessions.EvictOldest),
	)
	if err != nil {
		return nil, err
	}
	s := &server{mgr: mgr, loc: cfg.Location}
	if s.loc == nil {
		s.loc = time.Local
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("GET /sessions", s.sessions)
	mux.HandleFunc("POST /sessions/sign-out-others", s.signOutOthers)
	mux.HandleFunc("POST /sessions/sign-out", s.signOutOne)
	mux.HandleFunc("POST /confirm", s.confirm)
	// Changing the password needs a sign-in (or an entry of the password)
	// of the last five minutes; after that, the password is asked for
	// again first.
	maxAge := cfg.RecentAuth
	if maxAge <= 0 {
		maxAge = recentAuth
	}
	recent := mgr.RequireRecentAuth(maxAge, http.HandlerFunc(s.askPassword))
	mux.Handle("GET /password", recent(http.HandlerFunc(s.passwordForm)))
	mux.Handle("POST /password", recent(http.HandlerFunc(s.changePassword)))

	// CrossOriginProtection rejects state-changing requests that another
	// site makes the browser send (Sec-Fetch-Site, or Origin against Host),
	// so the forms need no token. SameSite=Lax on the cookie is the second
	// line of defense.
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Forbidden: this form was sent from another site.", http.StatusForbidden)
	}))
	s.handler = csrf.Handler(mgr.Middleware(mux))
	return s, nil
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Close stops the manager's background work.
func (s *server) Close() error { return s.mgr.Close() }

// zone formats the dates of a page.
type zone struct{ loc *time.Location }

// Date formats t in the app's time zone, with the zone's name.
func (z zone) Date(t time.Time) string {
	return t.In(z.loc).Format("Mon 2 Jan 2006, 15:04 MST")
}

// view is what the home page shows.
type view struct {
	account
	zone
	Flash     flash
	Until     time.Time // the latest the sign-in can last
	SignedOut bool      // just signed out
}

func (s *server) home(w http.ResponseWriter, r *http.Request) {
	a := s.mgr.Get(r.Context())
	v := view{account: *a, zone: zone{s.loc}, Flash: a.takeFlash(), SignedOut: r.URL.Query().Has("signed-out")}
	if a.User != "" {
		v.Until = a.LoginAt.Add(lifetime) // Renew at login restarted the lifetime
	}
	if err := homePage.Execute(w, v); err != nil {
		log.Print(err)
	}
}

func (s *server) login(w http.ResponseWriter, r *http.Request) {
	user := r.PostFormValue("user")
	if user == "" || !s.passwords.check(user, r.PostFormValue("password")) {
		s.mgr.Get(r.Context()).Flash = flash{"error", "Wrong name or password."}
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	// A new token at the privilege change: a token planted or seen before
	// sign-in stops working.
	if err := s.mgr.Renew(r.Context()); err != nil {
		http.Error(w, "sign-in failed", http.StatusInternalServerError)
		return
	}
	remember := r.PostFormValue("remember") != ""
	if err := s.mgr.SetPersistent(r.Context(), remember); err != nil {
		http.Error(w, "sign-in failed", http.StatusInternalServerError)
		return
	}
	// Bind the session to the user, after Renew: the "Your sessions" page
	// lists it, and "sign out my other sessions" elsewhere ends it.
	if err := s.mgr.SetOwner(r.Context(), user); err != nil {
		http.Error(w, "sign-in failed", http.StatusInternalServerError)
		return
	}
	a := s.mgr.Get(r.Context())
	a.User, a.LoginAt, a.Remember = user, time.Now(), remember
	a.Flash = flash{"info", "Welcome, " + user + "!"}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	// The data is deleted and the cookie expired. Nothing is written to the
	// new, empty session, so the browser is left with no session cookie.
	if err := s.mgr.Destroy(r.Context()); err != nil {
		http.Error(w, "sign-out failed", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, "/?signed-out", http.StatusSeeOther)
}

// sessionsView is what the "Your sessions" page shows.
type sessionsView struct {
	zone
	User     string
	Flash    flash
	Sessions []sessions.Info[account] // oldest first; Current marks this browser's
}

// sessions lists where the signed-in user is signed in.
func (s *server) sessions(w http.ResponseWriter, r *http.Request) {
	a := s.mgr.Get(r.Context())
	if a.User == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	list, err := s.mgr.Sessions(r.Context(), a.User)
	if err != nil {
		log.Print(err)
		http.Error(w, "could not list your sessions", http.StatusInternalServerError)
		return
	}
	v := sessionsView{zone: zone{s.loc}, User: a.User, Flash: a.takeFlash(), Sessions: list}
	if err := sessionsPage.Execute(w, v); err != nil {
		log.Print(err)
	}
}

// signOutOthers ends every session of the user but this browser's.
func (s *server) signOutOthers(w http.ResponseWriter, r *http.Request) {
	a := s.mgr.Get(r.Context())
	if a.User == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	n, err := s.mgr.RevokeOthers(r.Context())
	if err != nil {
		log.Print(err)
		http.Error(w, "sign-out failed", http.StatusInternalServerError)
		return
	}
	a.Flash = flash{"info", signedOutText(n)}
	http.Redirect(w, r, "/sessions", http.StatusSeeOther)
}

func signedOutText(n int) string {
	switch n {
	case 0:
		return "You had no other sessions to sign out."
	case 1:
		return "Signed out 1 other session."
	}
	return "Signed out " + strconv.Itoa(n) + " other sessions."
}

// signOutOne ends one of the user's sessions, named by its ID. The ID
// comes from a form, so it is checked against the user's own list first:
// nobody ends someone else's session by posting its ID.
func (s *server) signOutOne(w http.ResponseWriter, r *http.Request) {
	a := s.mgr.Get(r.Context())
	if a.User == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	id := r.PostFormValue("id")
	list, err := s.mgr.Sessions(r.Context(), a.User)
	if err != nil {
		log.Print(err)
		http.Error(w, "sign-out failed", http.StatusInternalServerError)
		return
	}
	i := slices.IndexFunc(list, func(in sessions.Info[account]) bool { return in.ID == id })
	if i < 0 {
		a.Flash = flash{"error", "That session is not one of yours, or it has already ended."}
		http.Redirect(w, r, "/sessions", http.StatusSeeOther)
		return
	}
	if err := s.mgr.Revoke(r.Context(), id); err != nil {
		log.Print(err)
		http.Error(w, "sign-out failed", http.StatusInternalServerError)
		return
	}
	if list[i].Current { // this browser's own: the same as "Sign out"
		http.Redirect(w, r, "/?signed-out", http.StatusSeeOther)
		return
	}
	a.Flash = flash{"info", signedOutText(1)}
	http.Redirect(w, r, "/sessions", http.StatusSeeOther)
}

// passwordView is what the password pages show.
type passwordView struct {
	User    string
	Flash   flash
	Changed bool // the password was just changed
}

// askPassword asks for the password again before a sensitive change
// (RequireRecentAuth serves it when the sign-in is too old): the form
// posts to /confirm, which comes back to the password page.
func (s *server) askPassword(w http.ResponseWriter, r *http.Request) {
	a := s.mgr.Get(r.Context())
	if a.User == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if err := confirmPage.Execute(w, passwordView{User: a.User, Flash: a.takeFlash()}); err != nil {
		log.Print(err)
	}
}

// confirm checks the password entered again and records the new
// authentication (a new token too), then goes back to the password page.
func (s *server) confirm(w http.ResponseWriter, r *http.Request) {
	a := s.mgr.Get(r.Context())
	if a.User == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if !s.passwords.check(a.User, r.PostFormValue("password")) {
		a.Flash = flash{"error", "Wrong password."}
		http.Redirect(w, r, "/password", http.StatusSeeOther)
		return
	}
	if err := s.mgr.Reauthenticated(r.Context()); err != nil {
		log.Print(err)
		http.Error(w, "could not confirm your password", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, "/password", http.StatusSeeOther)
}

// passwordForm shows the form for a new password, or, right after a
// change, the offer to sign out every other session.
func (s *server) passwordForm(w http.ResponseWriter, r *http.Request) {
	a := s.mgr.Get(r.Context())
	if a.User == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	v := passwordView{User: a.User, Flash: a.takeFlash(), Changed: r.URL.Query().Has("changed")}
	if err := passwordPage.Execute(w, v); err != nil {
		log.Print(err)
	}
}

// changePassword sets the new password.
func (s *server) changePassword(w http.ResponseWriter, r *http.Request) {
	a := s.mgr.Get(r.Context())
	if a.User == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	password := r.PostFormValue("new")
	if len(password) < 6 {
		a.Flash = flash{"error", "Choose a password of at least 6 characters."}
		http.Redirect(w, r, "/password", http.StatusSeeOther)
		return
	}
	s.passwords.set(a.User, password)
	a.Flash = flash{"info", "Your password was changed."}
	http.Redirect(w, r, "/password?changed", http.StatusSeeOther)
}

// layout is what every page shares: the head, the style and the flash
// message. Each page defines "title" and "body".
var layout = template.Must(template.New("layout").Funcs(template.FuncMap{
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
}).Parse(`<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{template "title" .}} · sessions</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 30rem; margin: 3rem auto; padding: 0 1rem; color: #222; }
  .flash { padding: .5rem .75rem; border: 1px solid #8b8; border-radius: 4px; background: #eef8ee; }
  .flash.error { border-color: #c88; background: #fbeeee; }
  label { display: block; margin-top: .75rem; }
  input[type=text], input[type=password] { display: block; width: 100%; box-sizing: border-box; padding: .4rem; }
  button { margin-top: 1rem; padding: .4rem 1.2rem; font: inherit; }
  .muted { color: #666; font-size: .9rem; }
  .sessions { list-style: none; padding: 0; }
  .session { margin-top: .75rem; padding: .5rem .75rem; border: 1px solid #ccc; border-radius: 4px; }
  .session.current { border-color: #8b8; background: #eef8ee; }
  .session form, .session button { display: inline; margin: 0 0 0 .5rem; }
  .session button { padding: .1rem .6rem; font-size: .9rem; }
  .tag { font-size: .8rem; font-weight: 600; color: #363; }
</style>
<main>
{{with .Flash.Text}}<p id="flash" class="flash {{$.Flash.Kind}}" role="status">{{.}}</p>{{end}}
{{template "body" .}}
</main>
`))

// page parses one page's "title" and "body" into a copy of the layout.
func page(text string) *template.Template {
	return template.Must(template.Must(layout.Clone()).Parse(text))
}

var homePage = page(`{{define "title"}}{{if .User}}Signed in{{else}}Sign in{{end}}{{end}}
{{define "body"}}
{{if .User}}
  <h1>Hello, <span id="user">{{.User}}</span></h1>
  <p id="since">Signed in since <time datetime="{{iso .LoginAt}}">{{$.Date .LoginAt}}</time>.</p>
  {{if .Remember}}
  <p id="remembered">This browser remembers you until <time datetime="{{iso .Until}}">{{$.Date .Until}}</time>, or until a week goes by without a visit, even if you close it.</p>
  {{else}}
  <p id="remembered">This browser does not remember you: closing it signs you out.</p>
  {{end}}
  <p><a id="sessions-link" href="/sessions">Your sessions</a>: where you are signed in.</p>
  <p><a id="password-link" href="/password">Change your password</a></p>
  <form method="post" action="/logout"><button id="logout">Sign out</button></form>
{{else}}
  <h1>Sign in</h1>
  {{if .SignedOut}}<p id="signed-out">You have signed out.</p>{{end}}
  <form method="post" action="/login">
    <label for="name">Name</label>
    <input type="text" id="name" name="user" autocomplete="username" required>
    <label for="password">Password</label>
    <input type="password" id="password" name="password" autocomplete="current-password" required>
    <label><input type="checkbox" id="remember" name="remember" value="1"> Remember me on this browser</label>
    <button id="login">Sign in</button>
  </form>
  <p class="muted">Any name will do; the password is “secret”.</p>
{{end}}
{{end}}`)

var sessionsPage = page(`{{define "title"}}Your sessions{{end}}
{{define "body"}}
  <h1>Your sessions</h1>
  <p>Where <span id="user">{{.User}}</span> is signed in, oldest first:</p>
  <ul id="sessions" class="sessions">
  {{range .Sessions}}
    <li class="session{{if .Current}} current{{end}}" data-id="{{.ID}}">
      {{if .Current}}<span class="tag">This browser</span><br>{{end}}
      Signed in <time datetime="{{iso .Created}}">{{$.Date .Created}}</time>;
      {{if .Persistent}}remembered until <time datetime="{{iso .Expires}}">{{$.Date .Expires}}</time>.{{else}}until the browser closes.{{end}}
      {{if not .LastSeen.IsZero}}<br><span class="last-seen">Last seen <time datetime="{{iso .LastSeen}}">{{$.Date .LastSeen}}</time></span>{{end}}
      {{if not .Current}}<form method="post" action="/sessions/sign-out"><input type="hidden" name="id" value="{{.ID}}"><button class="sign-out">Sign out</button></form>{{end}}
    </li>
  {{end}}
  </ul>
  {{if gt (len .Sessions) 1}}
  <form method="post" action="/sessions/sign-out-others"><button id="sign-out-others">Sign out my other sessions</button></form>
  {{else}}
  <p id="only" class="muted">You are not signed in anywhere else.</p>
  {{end}}
  <p><a id="home" href="/">Back</a></p>
{{end}}`)

var confirmPage = page(`{{define "title"}}Confirm your password{{end}}
{{define "body"}}
  <h1>Confirm your password</h1>
  <p id="confirm-why">You signed in a while ago: enter your password again to change it.</p>
  <form method="post" action="/confirm">
    <input type="text" name="user" value="{{.User}}" autocomplete="username" hidden>
    <label for="current">Password</label>
    <input type="password" id="current" name="password" autocomplete="current-password" required>
    <button id="confirm">Continue</button>
  </form>
  <p><a id="home" href="/">Back</a></p>
{{end}}`)

var passwordPage = page(`{{define "title"}}Change your password{{end}}
{{define "body"}}
  <h1>Change your password</h1>
  {{if .Changed}}
  <p id="offer">Someone else may know your old password. Sign out everywhere else, so that only this browser stays signed in?</p>
  <form method="post" action="/sessions/sign-out-others"><button id="sign-out-others">Sign out my other sessions</button></form>
  {{else}}
  <form method="post" action="/password">
    <input type="text" name="user" value="{{.User}}" autocomplete="username" hidden>
    <label for="new">New password</label>
    <input type="password" id="new" name="new" autocomplete="new-password" minlength="6" required>
    <button id="change">Change password</button>
  </form>
  {{end}}
  <p><a id="home" href="/">Back</a></p>
{{end}}`)

func main() {
	addr := flag.String("addr", ":8080", "address to listen on")
	secure := flag.Bool("secure", false, "mark the session cookie Secure (serve over HTTPS)")
	tz := flag.String("tz", "", "IANA time zone for dates, e.g. Europe/Berlin (default: the server's)")
	flag.Parse()

	cfg := config{Secure: *secure}
	if *tz != "" {
		loc, err := time.LoadLocation(*tz)
		if err != nil {
			log.Fatal(err)
		}
		cfg.Location = loc
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, ln, cfg); err != nil {
		log.Fatal(err)
	}
}

// run serves the app on ln until ctx is done, then shuts down gracefully:
// the server stops accepting, requests in flight finish (and save their
// sessions), and only then the manager closes.
func run(ctx context.Context, ln net.Listener, cfg config) error {
	app, err := newServer(cfg)
	if err != nil {
		ln.Close()
		return err
	}
	defer app.Close()

	srv := &http.Server{Handler: app, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Printf("listening on http://%s", ln.Addr())

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Print("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
