package sessions_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/sessionkit/sessions"
)

type Cart struct {
	Items []string
}

func Example() {
	mgr, err := sessions.New[Cart](
		sessions.WithLifetime(24*time.Hour),
		sessions.WithIdleTimeout(30*time.Minute),
	)
	if err != nil {
		panic(err)
	}
	defer mgr.Close()

	handler := mgr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cart := mgr.Get(r.Context())
		cart.Items = append(cart.Items, r.URL.Query().Get("add"))
		fmt.Fprint(w, cart.Items)
	}))

	// The first request creates the session and sets its cookie.
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest("GET", "/?add=apple", nil))
	cookie := rec.Result().Cookies()[0]
	fmt.Println(rec.Body.String(), cookie.Name, len(cookie.Value))

	// The browser sends the cookie back; the data is on the server.
	req := httptest.NewRequest("GET", "/?add=pear", nil)
	req.AddCookie(cookie)
	rec = httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Println(rec.Body.String())
	// Output:
	// [apple] session 43
	// [apple pear]
}

func ExampleManager_Renew() {
	mgr, _ := sessions.New[struct{ UserID int }]()
	defer mgr.Close()

	login := mgr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// After checking the password: a new token defeats session fixation.
		if err := mgr.Renew(r.Context()); err != nil {
			http.Error(w, "login failed", http.StatusInternalServerError)
			return
		}
		mgr.Get(r.Context()).UserID = 42
	}))
	rec := httptest.NewRecorder()
	login.ServeHTTP(rec, httptest.NewRequest("POST", "/login", nil))
	fmt.Println(rec.Code, len(rec.Result().Cookies()))
	// Output: 200 1
}

func ExampleManager_Destroy() {
	mgr, _ := sessions.New[struct{ UserID int }]()
	defer mgr.Close()

	logout := mgr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := mgr.Destroy(r.Context()); err != nil {
			http.Error(w, "logout failed", http.StatusInternalServerError)
		}
	}))
	req := httptest.NewRequest("POST", "/logout", nil)
	req.Header.Set("Cookie", "session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	rec := httptest.NewRecorder()
	logout.ServeHTTP(rec, req)
	fmt.Println(rec.Result().Cookies()[0].MaxAge < 0)
	// Output: true
}

func ExampleManager_Fetch() {
	mgr, _ := sessions.New[Cart]()
	defer mgr.Close()

	h := mgr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cart, err := mgr.Fetch(r.Context())
		if err != nil {
			// The store is down: decide yourself, e.g. serve a degraded page.
			http.Error(w, "cart unavailable, try again", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, len(cart.Items))
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	fmt.Println(rec.Body.String())
	// Output: 0
}

func ExampleManager_Load() {
	mgr, _ := sessions.New[Cart]()
	defer mgr.Close()
	ctx := context.Background()

	// A WebSocket or API client sends a token it got earlier ("" at first).
	sctx, err := mgr.Load(ctx, "")
	if err != nil {
		panic(err)
	}
	mgr.Get(sctx).Items = []string{"apple"}
	token, _, err := mgr.Commit(sctx)
	if err != nil {
		panic(err)
	}

	// Next message: the same session, by token.
	sctx, _ = mgr.Load(ctx, token)
	fmt.Println(mgr.Get(sctx).Items)
	// Output: [apple]
}

func ExampleWithCookie() {
	mgr, err := sessions.New[Cart](sessions.WithCookie(
		sessions.CookieName("__Host-session"),
		sessions.CookieSecure(true),
		sessions.CookieSameSite(http.SameSiteStrictMode),
	))
	if err != nil {
		panic(err)
	}
	defer mgr.Close()
	fmt.Println("ok")
	// Output: ok
}
