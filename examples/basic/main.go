// Command basic is the smallest useful program with sessions: a page that
// counts your visits and remembers your name, kept in the in-memory store.
//
//	go run ./examples/basic            # then open http://localhost:8080
//	go run ./examples/basic -addr :9000
package main

import (
	"flag"
	"html/template"
	"log"
	"net/http"

	"github.com/sessionkit/sessions"
)

// visitor is the typed session data: no map[string]any, no type assertions.
type visitor struct {
	Name   string
	Visits int
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<title>sessions: basic</title>
<h1>Hello{{with .Name}}, {{.}}{{end}}!</h1>
<p>You have visited this page {{.Visits}} time{{if ne .Visits 1}}s{{end}}.</p>
<form method="post" action="/name">
  <label>Your name <input name="name" value="{{.Name}}" maxlength="64"></label>
  <button>Save</button>
</form>
`))

func main() {
	addr := flag.String("addr", ":8080", "address to listen on")
	flag.Parse()

	mgr, err := sessions.New[visitor]() // memory store, CBOR, 24h lifetime
	if err != nil {
		log.Fatal(err)
	}
	defer mgr.Close()

	log.Printf("listening on %s", *addr)
	log.Fatal(http.ListenAndServe(*addr, newHandler(mgr)))
}

// newHandler returns the application: the pages, wrapped by the session
// middleware.
func newHandler(mgr *sessions.Manager[visitor]) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		v := mgr.Get(r.Context())
		v.Visits++ // saved automatically because it changed
		if err := page.Execute(w, v); err != nil {
			log.Print(err)
		}
	})
	mux.HandleFunc("POST /name", func(w http.ResponseWriter, r *http.Request) {
		mgr.Get(r.Context()).Name = r.PostFormValue("name")
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok")) // never calls Get: no store I/O, no cookie
	})

	return mgr.Middleware(mux)
}
