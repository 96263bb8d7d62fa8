// Command echo is a tiny sign-in on Echo. echo.WrapMiddleware turns
// mgr.Middleware, a func(http.Handler) http.Handler, into Echo middleware:
// the request carries the session and the response writes through the
// session middleware. Handlers read it with mgr.Get(c.Request().Context()).
//
//	go -C examples/frameworks run ./echo               # listens on :8080
//	go -C examples/frameworks run ./echo -addr :9000   # -addr: address to listen on
//
//	curl -c jar -b jar -L -d user=ann -d password=secret localhost:8080/login   # Hello, ann
//	curl -b jar localhost:8080/
//	curl -c jar -b jar -L -X POST localhost:8080/logout                         # Not signed in
//
// The framework examples share a module of their own (examples/frameworks),
// so chi, gin and echo stay out of the library's dependencies; run them
// with go -C from the root, as above, or from examples/frameworks.
//
// Interrupt it (Ctrl-C) or send SIGTERM and it stops gracefully. For CSRF
// protection, labels and the rest of a real page, see examples/login.
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/sessionkit/sessions"
)

type user struct{ Name string }

// newRouter returns the app.
func newRouter(mgr *sessions.Manager[user]) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.Use(middleware.Recover())
	e.Use(echo.WrapMiddleware(mgr.Middleware)) // sessions for every route below; loaded only when used

	e.GET("/", func(c echo.Context) error {
		if name := mgr.Get(c.Request().Context()).Name; name != "" {
			return c.String(http.StatusOK, "Hello, "+name+"\n")
		}
		return c.String(http.StatusOK, "Not signed in\n")
	})
	e.POST("/login", func(c echo.Context) error {
		name := c.FormValue("user")
		if name == "" || c.FormValue("password") != "secret" {
			return c.String(http.StatusUnauthorized, "Wrong name or password\n")
		}
		// A new token at sign-in; the old one stops working.
		if err := mgr.Renew(c.Request().Context()); err != nil {
			return err
		}
		mgr.Get(c.Request().Context()).Name = name
		return c.Redirect(http.StatusSeeOther, "/")
	})
	e.POST("/logout", func(c echo.Context) error {
		if err := mgr.Destroy(c.Request().Context()); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/")
	})
	return e
}

func main() {
	addr := flag.String("addr", ":8080", "address to listen on")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, ln); err != nil {
		log.Fatal(err)
	}
}

// run serves on ln until ctx is done, then shuts down gracefully: requests
// in flight finish and save their sessions before the manager closes.
func run(ctx context.Context, ln net.Listener) error {
	mgr, err := sessions.New[user]()
	if err != nil {
		ln.Close()
		return err
	}
	defer mgr.Close()

	srv := &http.Server{Handler: newRouter(mgr), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Printf("listening on http://%s", ln.Addr())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
