package sessions_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/sessionkit/sessions"
)

// A visit counter that loses no visit: fifty requests of one session at
// once each add one with Update, and the count is fifty more. Update
// reruns its function on the freshest value whenever another request
// saved first, as happens between processes sharing a store; within one
// process the Updates of a session queue.
func ExampleManager_Update() {
	type visits struct{ Visits int }
	mgr, err := sessions.New[visits]()
	if err != nil {
		panic(err)
	}
	defer mgr.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("POST /{$}", func(w http.ResponseWriter, r *http.Request) {
		err := mgr.Update(r.Context(), func(v *visits) error {
			v.Visits++ // fn may run more than once: it only changes v
			return nil
		})
		if err != nil { // ErrSessionChanged, a store failure
			http.Error(w, "try again", http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, mgr.Get(r.Context()).Visits)
	})
	h := mgr.Middleware(mux)

	// The first visit creates the session and its cookie.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	cookie := rec.Result().Cookies()[0]

	// Fifty more at once, from tabs sharing the cookie.
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			req := httptest.NewRequest("POST", "/", nil)
			req.AddCookie(cookie)
			h.ServeHTTP(httptest.NewRecorder(), req)
		})
	}
	wg.Wait()

	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(cookie)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Body.String())
	// Output: 51
}
