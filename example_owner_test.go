package sessions_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/sessionkit/sessions"
)

// Sign-in binds the session to its user, so that a "your devices" page
// can list the user's sessions and sign out the others. Here one user
// signs in on a laptop and on a phone, and the laptop signs the phone out.
func ExampleManager_SetOwner() {
	type account struct{ User string }
	mgr, err := sessions.New[account]()
	if err != nil {
		panic(err)
	}
	defer mgr.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		user := r.PostFormValue("user") // ... once the password checks out
		if err := mgr.Renew(r.Context()); err != nil {
			http.Error(w, "sign-in failed", http.StatusInternalServerError)
			return
		}
		if err := mgr.SetOwner(r.Context(), user); err != nil {
			http.Error(w, "sign-in failed", http.StatusInternalServerError)
			return
		}
		mgr.Get(r.Context()).User = user
	})
	mux.HandleFunc("GET /sessions", func(w http.ResponseWriter, r *http.Request) {
		list, err := mgr.Sessions(r.Context(), mgr.Get(r.Context()).User)
		if err != nil {
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
		for _, s := range list {
			if !s.Current {
				fmt.Fprintf(w, "%s ", s.ID) // a "sign out" button per other device
			}
		}
	})
	mux.HandleFunc("POST /sessions/revoke", func(w http.ResponseWriter, r *http.Request) {
		// Revoke only an ID the user's own list has.
		list, err := mgr.Sessions(r.Context(), mgr.Get(r.Context()).User)
		if err != nil {
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
		for _, s := range list {
			if s.ID == r.PostFormValue("id") && !s.Current {
				if err := mgr.Revoke(r.Context(), s.ID); err != nil {
					http.Error(w, "try again", http.StatusInternalServerError)
				}
				return
			}
		}
		http.Error(w, "no such session", http.StatusNotFound)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "user %q", mgr.Get(r.Context()).User)
	})
	h := mgr.Middleware(mux)

	// A browser keeps its cookie.
	type browser struct{ cookies []*http.Cookie }
	visit := func(b *browser, method, target string, form url.Values) string {
		req := httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, c := range b.cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if c := rec.Result().Cookies(); len(c) > 0 {
			b.cookies = c
		}
		return rec.Body.String()
	}
	laptop, phone := &browser{}, &browser{}
	visit(laptop, "POST", "/login", url.Values{"user": {"ann"}})
	visit(phone, "POST", "/login", url.Values{"user": {"ann"}})
	fmt.Println("phone:", visit(phone, "GET", "/", nil))

	others := strings.Fields(visit(laptop, "GET", "/sessions", nil))
	fmt.Println("the laptop sees other devices:", len(others))
	visit(laptop, "POST", "/sessions/revoke", url.Values{"id": {others[0]}})

	fmt.Println("phone:", visit(phone, "GET", "/", nil))
	fmt.Println("laptop:", visit(laptop, "GET", "/", nil))
	// Output:
	// phone: user "ann"
	// the laptop sees other devices: 1
	// phone: user ""
	// laptop: user "ann"
}

// Sessions lists an owner's live sessions, oldest first. Here the
// sessions come from Load and Commit, as they would for API clients; with
// cookies they come from Middleware.
func ExampleManager_Sessions() {
	type account struct{ Device string }
	mgr, err := sessions.New[account]()
	if err != nil {
		panic(err)
	}
	defer mgr.Close()
	ctx := context.Background()

	var current context.Context
	for _, device := range []string{"laptop", "phone"} {
		sctx, err := mgr.Load(ctx, "") // a new session
		if err != nil {
			panic(err)
		}
		if err := mgr.SetOwner(sctx, "ann"); err != nil {
			panic(err)
		}
		mgr.Get(sctx).Device = device
		if _, _, err := mgr.Commit(sctx); err != nil {
			panic(err)
		}
		current = sctx // the phone's
	}

	list, err := mgr.Sessions(current, "ann")
	if err != nil {
		panic(err)
	}
	for _, s := range list {
		fmt.Printf("%s current=%v id=%d chars\n", s.Data.Device, s.Current, len(s.ID))
	}
	// Output:
	// laptop current=false id=43 chars
	// phone current=true id=43 chars
}

// Revoke ends one session by its ID, as a "sign out" button on a list of
// devices does; RevokeOwner ends all of an owner's ("sign out
// everywhere"), after a password reset for one.
func ExampleManager_Revoke() {
	type account struct{ User string }
	mgr, err := sessions.New[account]()
	if err != nil {
		panic(err)
	}
	defer mgr.Close()
	ctx := context.Background()

	// signIn makes a session of user's and returns its token.
	signIn := func(user string) string {
		sctx, err := mgr.Load(ctx, "")
		if err != nil {
			panic(err)
		}
		if err := mgr.SetOwner(sctx, user); err != nil {
			panic(err)
		}
		mgr.Get(sctx).User = user
		token, _, err := mgr.Commit(sctx)
		if err != nil {
			panic(err)
		}
		return token
	}
	// userOf reports whose session a token loads ("" for a new one).
	userOf := func(token string) string {
		sctx, err := mgr.Load(ctx, token)
		if err != nil {
			panic(err)
		}
		return mgr.Get(sctx).User
	}

	laptop, phone, tablet := signIn("ann"), signIn("ann"), signIn("ann")
	list, err := mgr.Sessions(ctx, "ann")
	if err != nil {
		panic(err)
	}
	if err := mgr.Revoke(ctx, list[0].ID); err != nil { // the oldest: the laptop's
		panic(err)
	}
	fmt.Printf("laptop %q, phone %q, tablet %q\n", userOf(laptop), userOf(phone), userOf(tablet))

	n, err := mgr.RevokeOwner(ctx, "ann")
	if err != nil {
		panic(err)
	}
	fmt.Printf("ended %d; phone %q, tablet %q\n", n, userOf(phone), userOf(tablet))
	// Output:
	// laptop "", phone "ann", tablet "ann"
	// ended 2; phone "", tablet ""
}
