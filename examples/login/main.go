// Command login shows the session life cycle around authentication: Renew
// at login (a new token defeats session fixation), RememberMe for a
// persistent or browser-session cookie, and Destroy at logout.
//
//	go run ./examples/login    # then open http://localhost:8080 (any name, password "secret")
package main

import (
	"flag"
	"html/template"
	"log"
	"net/http"
	"time"

	"github.com/sessionkit/sessions"
)

type account struct {
	User    string
	LoginAt time.Time
	Flash   string
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<title>sessions: login</title>
{{with .Flash}}<p><b>{{.}}</b></p>{{end}}
{{if .User}}
  <p>Signed in as {{.User}} since {{.LoginAt.Format "15:04:05"}}.</p>
  <form method="post" action="/logout"><button>Sign out</button></form>
{{else}}
  <form method="post" action="/login">
    <input name="user" placeholder="name" required>
    <input name="password" type="password" placeholder="password (secret)" required>
    <label><input type="checkbox" name="remember"> Remember me</label>
    <button>Sign in</button>
  </form>
{{end}}`))

func main() {
	addr := flag.String("addr", ":8080", "address to listen on")
	flag.Parse()

	mgr, err := sessions.New[account](
		sessions.WithLifetime(7*24*time.Hour),
		sessions.WithIdleTimeout(30*time.Minute),
		// Browser-session cookies unless the user ticks "remember me".
		sessions.WithCookie(sessions.CookiePersistent(false)),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer mgr.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		a := mgr.Get(r.Context())
		view := *a
		a.Flash = "" // shown once
		page.Execute(w, view)
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if r.PostFormValue("password") != "secret" {
			mgr.Get(r.Context()).Flash = "Wrong password."
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		// New token at the privilege change; the old one stops working.
		if err := mgr.Renew(r.Context()); err != nil {
			http.Error(w, "login failed", http.StatusInternalServerError)
			return
		}
		if err := mgr.RememberMe(r.Context(), r.PostFormValue("remember") != ""); err != nil {
			http.Error(w, "login failed", http.StatusInternalServerError)
			return
		}
		a := mgr.Get(r.Context())
		a.User, a.LoginAt, a.Flash = r.PostFormValue("user"), time.Now(), "Welcome!"
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := mgr.Destroy(r.Context()); err != nil {
			http.Error(w, "logout failed", http.StatusInternalServerError)
			return
		}
		mgr.Get(r.Context()).Flash = "Signed out." // lives in a new session
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})

	log.Printf("listening on %s", *addr)
	log.Fatal(http.ListenAndServe(*addr, mgr.Middleware(mux)))
}
