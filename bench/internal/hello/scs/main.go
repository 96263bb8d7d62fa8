// Command scs is the hello-world of ../sessions on
// github.com/alexedwards/scs/v2 and its memstore.
package main

import (
	"fmt"
	"log"
	"net/http"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
)

func main() {
	sm := scs.New()
	sm.Store = memstore.New()
	h := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := sm.GetInt(r.Context(), "n") + 1
		sm.Put(r.Context(), "n", n)
		fmt.Fprintf(w, "hello, visit %d\n", n)
	}))
	log.Fatal(http.ListenAndServe("localhost:8080", h))
}
