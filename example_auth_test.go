package sessions_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/sessionkit/sessions"
)

// A "sudo mode" for sensitive changes: changing the password asks for the
// password again when the user signed in more than five minutes ago.
// SetOwner at login and Reauthenticated after the password is entered
// again record the time of authentication; RequireRecentAuth checks it.
func ExampleManager_RequireRecentAuth() {
	type account struct{ User string }
	mgr, err := sessions.New[account]()
	if err != nil {
		panic(err)
	}
	defer mgr.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// ... once the password checks out
		if mgr.Renew(r.Context()) != nil || mgr.SetOwner(r.Context(), "ann") != nil {
			http.Error(w, "sign-in failed", http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("POST /confirm", func(w http.ResponseWriter, r *http.Request) {
		// ... once the password checks out again
		if err := mgr.Reauthenticated(r.Context()); err != nil {
			http.Error(w, "try again", http.StatusInternalServerError)
		}
	})
	askPassword := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "enter your password again")
	})
	recent := mgr.RequireRecentAuth(5*time.Minute, askPassword)
	mux.Handle("GET /password", recent(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		age, _ := mgr.AuthAge(r.Context())
		fmt.Fprintf(w, "new password form (signed in %v ago)", age.Round(time.Minute))
	})))
	h := mgr.Middleware(mux)

	var cookie *http.Cookie
	visit := func(method, target string) string {
		req := httptest.NewRequest(method, target, nil)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		for _, c := range rec.Result().Cookies() {
			cookie = c
		}
		return rec.Body.String()
	}
	fmt.Println(visit("GET", "/password"))
	visit("POST", "/login")
	fmt.Println(visit("GET", "/password"))
	visit("POST", "/confirm")
	fmt.Println(visit("GET", "/password"))
	// Output:
	// enter your password again
	// new password form (signed in 0s ago)
	// new password form (signed in 0s ago)
}
