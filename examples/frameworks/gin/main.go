// Command gin is a tiny sign-in on gin. A gin middleware runs the rest of
// the chain inside mgr.Middleware: c.Request carries the session, and
// c.Writer writes through the session middleware, which saves the session
// before the response starts. Handlers read it with
// mgr.Get(c.Request.Context()).
//
//	go -C examples/frameworks run ./gin               # listens on :8080
//	go -C examples/frameworks run ./gin -addr :9000   # -addr: address to listen on
//
//	curl -c jar -b jar -L -d user=ann -d password=secret localhost:8080/login   # Hello, ann
//	curl -b jar localhost:8080/
//	curl -c jar -b jar -L -X POST localhost:8080/logout                         # Not signed in
//
// (Wrapping the whole engine, mgr.Middleware(router), works too; the gin
// middleware below can also be used on a route group only.)
//
// The framework examples share a module of their own (examples/frameworks),
// so chi, gin and echo stay out of the library's dependencies; run them
// with go -C from the root, as above, or from examples/frameworks.
//
// Interrupt it (Ctrl-C) or send SIGTERM and it stops gracefully. For CSRF
// protection, labels and the rest of a real page, see examples/login.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sessionkit/sessions"
)

type user struct{ Name string }

// newRouter returns the app.
func newRouter(mgr *sessions.Manager[user]) *gin.Engine {
	r := gin.New()
	r.Use(gin.Logger(), gin.Recovery())
	r.Use(withSessions(mgr)) // sessions for every route below; loaded only when used

	r.GET("/", func(c *gin.Context) {
		if name := mgr.Get(c.Request.Context()).Name; name != "" {
			c.String(http.StatusOK, "Hello, %s\n", name)
			return
		}
		c.String(http.StatusOK, "Not signed in\n")
	})
	r.POST("/login", func(c *gin.Context) {
		name := c.PostForm("user")
		if name == "" || c.PostForm("password") != "secret" {
			c.String(http.StatusUnauthorized, "Wrong name or password\n")
			return
		}
		// A new token at sign-in; the old one stops working.
		if err := mgr.Renew(c.Request.Context()); err != nil {
			c.String(http.StatusInternalServerError, "sign-in failed\n")
			return
		}
		mgr.Get(c.Request.Context()).Name = name
		c.Redirect(http.StatusSeeOther, "/")
	})
	r.POST("/logout", func(c *gin.Context) {
		if err := mgr.Destroy(c.Request.Context()); err != nil {
			c.String(http.StatusInternalServerError, "sign-out failed\n")
			return
		}
		c.Redirect(http.StatusSeeOther, "/")
	})
	return r
}

// withSessions is mgr.Middleware as a gin middleware.
func withSessions[T any](mgr *sessions.Manager[T]) gin.HandlerFunc {
	return func(c *gin.Context) {
		ginWriter := c.Writer
		mgr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.Request = r // carries the session
			c.Writer = &sessionWriter{ResponseWriter: ginWriter, session: w}
			c.Next()
		})).ServeHTTP(ginWriter, c.Request)
		c.Writer = ginWriter
	}
}

// sessionWriter is gin's writer with the writes sent through the session
// middleware's writer, which saves the session when the response starts
// and then passes them on to gin's writer. Status, Size and Written are
// gin's own, which sees every write.
type sessionWriter struct {
	gin.ResponseWriter
	session http.ResponseWriter
}

func (w *sessionWriter) WriteHeader(code int)              { w.session.WriteHeader(code) }
func (w *sessionWriter) Write(b []byte) (int, error)       { return w.session.Write(b) }
func (w *sessionWriter) WriteString(s string) (int, error) { return io.WriteString(w.session, s) }

func (w *sessionWriter) WriteHeaderNow() {
	if !w.Written() {
		w.session.WriteHeader(w.Status())
	}
	w.ResponseWriter.WriteHeaderNow()
}

func (w *sessionWriter) Flush() { _ = http.NewResponseController(w.session).Flush() }

func (w *sessionWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.session).Hijack()
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
