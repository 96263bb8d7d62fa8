package sessions_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/sessionkit/sessions"
)

// A flash message is a typed field: a handler sets it before redirecting,
// and the next page reads it and clears it. Clearing is a change like any
// other, so the session is saved and the message shows exactly once.
func ExampleManager_Get_flash() {
	type page struct {
		Flash string // shown on the next page, once
	}
	mgr, err := sessions.New[page]()
	if err != nil {
		panic(err)
	}
	defer mgr.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("POST /save", func(w http.ResponseWriter, r *http.Request) {
		// ... save something ...
		mgr.Get(r.Context()).Flash = "Saved."
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		p := mgr.Get(r.Context())
		msg := p.Flash
		p.Flash = "" // read and cleared
		fmt.Fprintf(w, "flash: %q", msg)
	})
	h := mgr.Middleware(mux)

	// A browser: it keeps the cookie and follows the redirect.
	var cookies []*http.Cookie
	visit := func(method, path string) string {
		req := httptest.NewRequest(method, path, nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if c := rec.Result().Cookies(); len(c) > 0 {
			cookies = c
		}
		return rec.Body.String()
	}
	visit("POST", "/save")
	fmt.Println(visit("GET", "/")) // the redirect's target
	fmt.Println(visit("GET", "/")) // a reload
	// Output:
	// flash: "Saved."
	// flash: ""
}

// "Remember me": browser-session cookies by default, and a persistent one
// for the sessions whose user asks for it at sign-in.
func ExampleManager_SetPersistent() {
	type account struct{ User string }
	mgr, err := sessions.New[account](
		sessions.WithCookie(sessions.CookiePersistent(false)), // the default for new sessions
	)
	if err != nil {
		panic(err)
	}
	defer mgr.Close()

	login := mgr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// ... check the password ...
		if err := mgr.Renew(r.Context()); err != nil {
			http.Error(w, "sign-in failed", http.StatusInternalServerError)
			return
		}
		if err := mgr.SetPersistent(r.Context(), r.PostFormValue("remember") == "on"); err != nil {
			http.Error(w, "sign-in failed", http.StatusInternalServerError)
			return
		}
		mgr.Get(r.Context()).User = r.PostFormValue("user")
	}))

	for _, form := range []url.Values{
		{"user": {"ann"}},
		{"user": {"bob"}, "remember": {"on"}},
	} {
		req := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		login.ServeHTTP(rec, req)
		c := rec.Result().Cookies()[0]
		// A persistent cookie has an expiry; a browser-session one has none
		// and is gone when the browser closes.
		fmt.Printf("%s: persistent cookie %v\n", form.Get("user"), !c.Expires.IsZero() && c.MaxAge > 0)
	}
	// Output:
	// ann: persistent cookie false
	// bob: persistent cookie true
}
