package sessions_test

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/sessionkit/sessions"
)

type chain struct {
	Name string
	Next *chain
}

type appSession struct {
	User  string
	Next  string
	Items []int
	Data  any
	Head  *chain
}

// codecApp serves an app whose session is a T behind m, on a real HTTP
// server. The error handler answers 500 and keeps the errors it got.
type codecApp struct {
	t    *testing.T
	url  string
	c    *http.Client
	mu   sync.Mutex
	errs []error
}

func (a *codecApp) handleError(w http.ResponseWriter, r *http.Request, err error) {
	a.mu.Lock()
	a.errs = append(a.errs, err)
	a.mu.Unlock()
	http.Error(w, "refused", http.StatusInternalServerError)
}

// takeErrs returns the errors the error handler got since the last call.
func (a *codecApp) takeErrs() []error {
	a.mu.Lock()
	defer a.mu.Unlock()
	errs := a.errs
	a.errs = nil
	return errs
}

// get requests path and returns the status and body.
func (a *codecApp) get(path string) (int, string) {
	a.t.Helper()
	res, body := get(a.t, a.c, a.url+path)
	return res.StatusCode, body
}

// newStructApp serves appSession: /login signs ada in, /next stores the
// query parameter next, /big stores 65,537 items, /deep a value nested
// 300 levels deep, /cycle a cyclic chain, /show writes the session.
func newStructApp(t *testing.T, codec sessions.Codec) *codecApp {
	a := &codecApp{t: t}
	m := mustNew[appSession](t, sessions.WithCodec(codec), sessions.WithErrorHandler(a.handleError))
	srv, c := newServer(t, m, func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r.Context())
		switch r.URL.Path {
		case "/login":
			s.User = "ada"
		case "/next":
			s.Next = r.URL.Query().Get("next")
		case "/big":
			s.Items = make([]int, 65537)
			s.Items[65536] = 7
		case "/deep":
			s.Data = nested(300)
		case "/cycle":
			s.Head = &chain{Name: "a"}
			s.Head.Next = &chain{Name: "b", Next: s.Head}
		case "/show":
			fmt.Fprintf(w, "%s|%q|%d|%v|%v", s.User, s.Next, len(s.Items), s.Data, s.Head)
		}
	})
	a.url, a.c = srv.URL, c
	return a
}

func TestCodecsKeepTheSessionEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		name  string
		codec sessions.Codec
		next  string // what ?next=%FF comes back as
	}{
		{"CBOR", sessions.CBOR(), "\xff"},
		{"JSON", sessions.JSON(), "\uFFFD"}, // encoding/json replaces invalid UTF-8
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newStructApp(t, tc.codec)
			if code, _ := a.get("/login"); code != http.StatusOK {
				t.Fatalf("login: %d", code)
			}
			signedIn := fmt.Sprintf("ada|%q|0|<nil>|<nil>", "")
			if _, body := a.get("/show"); body != signedIn {
				t.Fatalf("after login: %s", body)
			}

			// A link to ?next=%FF must not sign the user out.
			if code, _ := a.get("/next?next=%FF"); code != http.StatusOK {
				t.Fatalf("next: %d", code)
			}
			want := fmt.Sprintf("ada|%q|0|<nil>|<nil>", tc.next)
			if _, body := a.get("/show"); body != want {
				t.Errorf("after ?next=%%FF: %s, want %s", body, want)
			}

			// Nested deeper than the limit, or cyclic: the save is
			// refused, the error handler answers, the stored session is
			// what it was.
			for _, path := range []string{"/deep", "/cycle"} {
				code, _ := a.get(path)
				errs := a.takeErrs()
				if code != http.StatusInternalServerError || len(errs) != 1 || !errors.Is(errs[0], sessions.ErrNotEncodable) {
					t.Errorf("%s: status %d, errors %v; want 500 and ErrNotEncodable", path, code, errs)
				}
				if _, body := a.get("/show"); body != want {
					t.Errorf("after %s: %s, want %s", path, body, want)
				}
			}

			// 65,537 elements are more than the CBOR decoder used to take.
			if code, _ := a.get("/big"); code != http.StatusOK {
				t.Fatalf("big: %d, errors %v", code, a.takeErrs())
			}
			want = fmt.Sprintf("ada|%q|65537|<nil>|<nil>", tc.next)
			if _, body := a.get("/show"); body != want {
				t.Errorf("after 65,537 items: %s, want %s", body, want)
			}
			if errs := a.takeErrs(); len(errs) != 0 {
				t.Errorf("unexpected errors: %v", errs)
			}
		})
	}
}

// The same for a Flask-style map[string]any session.
func TestMapSessionSurvivesHostileValuesEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		name  string
		codec sessions.Codec
		next  string
	}{
		{"CBOR", sessions.CBOR(), "\xff"},
		{"JSON", sessions.JSON(), "\uFFFD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &codecApp{t: t}
			m := mustNew[map[string]any](t, sessions.WithCodec(tc.codec), sessions.WithErrorHandler(a.handleError))
			srv, c := newServer(t, m, func(w http.ResponseWriter, r *http.Request) {
				s := *m.Get(r.Context())
				switch r.URL.Path {
				case "/login":
					s["user"] = "ada"
				case "/next":
					s["next"] = r.URL.Query().Get("next")
				case "/cycle":
					loop := map[string]any{}
					loop["self"] = loop
					s["loop"] = loop
				case "/show":
					fmt.Fprintf(w, "%v|%q", s["user"], s["next"])
				}
			})
			a.url, a.c = srv.URL, c
			a.get("/login")
			a.get("/next?next=%FF")
			want := fmt.Sprintf("ada|%q", tc.next)
			if _, body := a.get("/show"); body != want {
				t.Errorf("after ?next=%%FF: %s, want %s", body, want)
			}
			code, _ := a.get("/cycle")
			if errs := a.takeErrs(); code != http.StatusInternalServerError || len(errs) != 1 || !errors.Is(errs[0], sessions.ErrNotEncodable) {
				t.Errorf("cycle: status %d, errors %v; want 500 and ErrNotEncodable", code, errs)
			}
			if _, body := a.get("/show"); body != want {
				t.Errorf("after the cycle: %s, want %s", body, want)
			}
		})
	}
}
