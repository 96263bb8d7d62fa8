// Command memory is the smallest program on the memory store: the lean
// test checks what it links.
package main

import (
	"fmt"
	"net/http"
	"os"

	"github.com/sessionkit/sessions"
)

func main() {
	mgr, err := sessions.New[struct{ N int }](sessions.WithMemory())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer mgr.Close()
	h := mgr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mgr.Get(r.Context()).N++
	}))
	_ = h
}
