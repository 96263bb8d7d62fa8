package sessions

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
)

// errReplaced is returned by writes after the error handler has answered
// the request in the handler's place.
var errReplaced = errors.New("sessions: response replaced by the session error handler")

// Middleware makes the session of each request available to next through
// [Manager.Get]. The session is loaded lazily, on the first Get, so a request that
// never asks for it costs no store I/O. Changes are saved right before the
// response starts, so the cookie can go with it, and again after next
// returns if the handler changed the session while writing. Load and save
// errors go to the error handler ([WithErrorHandler]).
func (m *Manager[T]) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &responseWriter[T]{ResponseWriter: w}
		s := &rw.s
		s.init(m, appendTokens(s.tokenBuf[:0], r, m.cfg.cookie.name))
		rw.ctx = sessionContext[T]{Context: r.Context(), m: m, s: s}
		r = r.WithContext(&rw.ctx)
		s.w, s.r = rw, r
		completed := false
		defer func() {
			if !completed {
				s.abandon() // the handler panicked
			}
			if m.pooled {
				s.close()
			}
		}()
		next.ServeHTTP(rw, r)
		completed = true
		rw.finish()
	})
}

// responseWriter saves the session before the response starts. It keeps
// Flush, Hijack and http.ResponseController working.
type responseWriter[T any] struct {
	http.ResponseWriter
	s       session[T]
	ctx     sessionContext[T] // the request's context, carrying s
	started atomic.Bool       // fast path for s.started
	failed  atomic.Bool       // the error handler answered instead of the handler
}

// sessionContext is a context carrying a session, allocated with the
// response writer rather than on its own (as context.WithValue would).
type sessionContext[T any] struct {
	context.Context
	m *Manager[T]
	s *session[T]
}

func (c *sessionContext[T]) Value(key any) any {
	if key == any(c.m) {
		return c.s
	}
	return c.Context.Value(key)
}

// start commits the session and adds its headers, once, before the first
// byte of the response. It reports whether the handler may still write.
func (w *responseWriter[T]) start() bool {
	if w.started.Load() {
		return !w.failed.Load()
	}
	s := &w.s
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return !w.failed.Load()
	}
	err := s.commitDetached()
	var keep http.Header
	switch {
	case err == nil:
		s.setHeaders(w.Header())
	case s.issued && s.exists && !s.ended:
		// An earlier write (SetOwner, Update) moved the session to a new
		// token: the client gets it with the error, or it would hold a
		// dead token while its session lives on.
		keep = http.Header{}
		s.setHeaders(keep)
	}
	s.started = true
	w.failed.Store(err != nil)
	w.started.Store(true)
	s.mu.Unlock()
	if err != nil {
		s.m.answerError(w.ResponseWriter, s.r, err, keep)
		return false
	}
	return true
}

// fail lets the error handler answer the request after a failed load.
func (w *responseWriter[T]) fail(err error) {
	s := &w.s
	s.mu.Lock()
	started := s.started
	s.started = true
	if !started {
		w.failed.Store(true)
		w.started.Store(true)
	}
	s.mu.Unlock()
	if started {
		if !w.failed.Load() { // else already reported
			s.m.logAt(s.r.Context(), slog.LevelError, "sessions: load failed after the response started", "", err)
		}
		return
	}
	s.m.answerError(w.ResponseWriter, s.r, err, nil)
}

// finish runs after the handler: it starts the response if the handler
// wrote nothing, and saves changes made after the response started.
func (w *responseWriter[T]) finish() {
	if !w.started.Load() {
		w.start()
		return
	}
	if w.failed.Load() {
		return
	}
	s := &w.s
	s.mu.Lock()
	err := s.commitDetached()
	s.mu.Unlock()
	if err != nil {
		s.m.logAt(s.r.Context(), slog.LevelError, "sessions: saving changes made after the response started failed", "", err)
	}
}

// commitDetached commits with the request's context minus its
// cancellation: a client that hangs up must not stop the handler's changes
// from being saved. The store timeout still bounds every store call. A
// session the handler never loaded has nothing to commit, and costs
// nothing.
func (s *session[T]) commitDetached() error {
	if !s.loaded {
		return nil
	}
	return s.commit(s.r.Context(), true)
}

func (w *responseWriter[T]) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code) // informational: not the response yet
		return
	}
	if w.start() {
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *responseWriter[T]) Write(b []byte) (int, error) {
	if !w.start() {
		return 0, errReplaced
	}
	return w.ResponseWriter.Write(b)
}

// ReadFrom keeps the underlying writer's sendfile path.
func (w *responseWriter[T]) ReadFrom(src io.Reader) (int64, error) {
	if !w.start() {
		return 0, errReplaced
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(w.ResponseWriter, src)
}

// Flush implements http.Flusher.
func (w *responseWriter[T]) Flush() { _ = w.FlushError() }

// FlushError is what http.ResponseController.Flush calls.
func (w *responseWriter[T]) FlushError() error {
	if !w.start() {
		return errReplaced
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack implements http.Hijacker. The session is saved first.
func (w *responseWriter[T]) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.start() {
		return nil, nil, errReplaced
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *responseWriter[T]) Unwrap() http.ResponseWriter { return w.ResponseWriter }
