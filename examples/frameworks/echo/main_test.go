package main

import (
	"testing"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/examples/frameworks/internal/logintest"
)

func TestLogin(t *testing.T) {
	mgr, err := sessions.New[user]()
	if err != nil {
		t.Fatal(err)
	}
	defer mgr.Close()
	logintest.Run(t, newRouter(mgr))
}

func TestGracefulShutdown(t *testing.T) { logintest.Shutdown(t, run) }
