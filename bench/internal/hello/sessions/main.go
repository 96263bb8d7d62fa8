// Command sessions is a hello-world on the memory store: a visit counter
// in the session, behind net/http middleware. TestBinarySize compares its
// size with the same program on scs (../scs).
package main

import (
	"fmt"
	"log"
	"net/http"

	"github.com/sessionkit/sessions"
)

type visits struct{ N int }

func main() {
	mgr, err := sessions.New[visits](sessions.WithMemory())
	if err != nil {
		log.Fatal(err)
	}
	defer mgr.Close()
	h := mgr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := mgr.Get(r.Context())
		v.N++
		fmt.Fprintf(w, "hello, visit %d\n", v.N)
	}))
	log.Fatal(http.ListenAndServe("localhost:8080", h))
}
