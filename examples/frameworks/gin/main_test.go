package main

import (
	"io"
	"os"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/examples/frameworks/internal/logintest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)      // no debug banner
	gin.DefaultWriter = io.Discard // no request log
	os.Exit(m.Run())
}

func TestLogin(t *testing.T) {
	mgr, err := sessions.New[user]()
	if err != nil {
		t.Fatal(err)
	}
	defer mgr.Close()
	logintest.Run(t, newRouter(mgr))
}

func TestGracefulShutdown(t *testing.T) { logintest.Shutdown(t, run) }
