package sessions

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/sessionkit/sessions/store"
)

// A Manager loads, tracks and saves sessions whose data is a T. Build one
// with New, wrap handlers with Middleware, and read or change the session
// inside them with Get. A Manager is safe for concurrent use.
type Manager[T any] struct {
	cfg         config
	store       store.Store
	ownsStore   bool
	loadToucher store.LoadToucher // nil when the store cannot load and touch
	zero        []byte            // encoding of a zero T: an untouched session
	closeOnce   sync.Once
	closeErr    error
}

// New returns a Manager configured by opts. The defaults: the in-memory
// store, a 24h lifetime, no idle timeout, the CBOR codec and a cookie named
// "session". New reports an invalid configuration with an error wrapping
// ErrInvalidConfig.
func New[T any](opts ...Option) (*Manager[T], error) {
	cfg := defaultConfig()
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	zero, err := cfg.codec.Marshal(new(T))
	if err != nil {
		return nil, fmt.Errorf("%w: codec cannot encode %T: %w", ErrInvalidConfig, *new(T), err)
	}
	s, owned, err := cfg.openStore()
	if err != nil {
		return nil, err
	}
	m := &Manager[T]{cfg: cfg, store: s, ownsStore: owned, zero: zero}
	m.loadToucher, _ = s.(store.LoadToucher)
	return m, nil
}

// Close stops the manager's background work. It closes the store when the
// manager created it (WithMemory, WithFilesystem and the backend options);
// a store passed to WithStore, and clients passed to backend options, stay
// open. Close is idempotent.
func (m *Manager[T]) Close() error {
	m.closeOnce.Do(func() {
		if c, ok := m.store.(io.Closer); ok && m.ownsStore {
			m.closeErr = c.Close()
		}
	})
	return m.closeErr
}

// Get returns the session value of the request behind ctx, loading it from
// the store on first use; a new session has the zero value. Change the value
// in place: the middleware saves it if its encoding changed.
//
// If the session cannot be loaded (the store is down), Get reports the error
// to the error handler, which answers the request (500 by default), and
// returns a detached zero value that is never saved, so stored data is not
// overwritten. Use Lookup to handle the error yourself.
func (m *Manager[T]) Get(ctx context.Context) *T {
	s := m.session(ctx)
	if s == nil {
		m.cfg.logger.ErrorContext(ctx, ErrNoSession.Error())
		return new(T)
	}
	v, err := s.value(ctx)
	if err != nil {
		s.reportLoadError(err)
		return new(T)
	}
	return v
}

// Lookup is Get for handlers that decide themselves what a failed load
// means: it returns the error instead of reporting it. After an error the
// session is never saved during this request.
func (m *Manager[T]) Lookup(ctx context.Context) (*T, error) {
	s := m.session(ctx)
	if s == nil {
		return nil, ErrNoSession
	}
	return s.value(ctx)
}

// Renew gives the session a new token, keeps its data and restarts its
// lifetime; the old token stops working. Call it whenever privileges change,
// above all at login, to defeat session fixation. The store work happens
// when the session is saved, before the response starts.
func (m *Manager[T]) Renew(ctx context.Context) error {
	s := m.session(ctx)
	if s == nil {
		return ErrNoSession
	}
	return s.renew(ctx)
}

// Destroy deletes the session's data from the store now and expires the
// cookie (call it at logout). Later Gets in the same request see a new,
// empty session.
func (m *Manager[T]) Destroy(ctx context.Context) error {
	s := m.session(ctx)
	if s == nil {
		return ErrNoSession
	}
	return s.destroy(ctx)
}

// RememberMe chooses the session's cookie: a persistent cookie that lasts
// the session's lifetime (true) or a browser-session cookie that the browser
// drops when it closes (false). The default comes from CookiePersistent.
func (m *Manager[T]) RememberMe(ctx context.Context, remember bool) error {
	s := m.session(ctx)
	if s == nil {
		return ErrNoSession
	}
	return s.rememberMe(ctx, remember)
}

// session returns the session that Middleware or Load put in ctx.
func (m *Manager[T]) session(ctx context.Context) *session[T] {
	s, _ := ctx.Value(m).(*session[T])
	return s
}

// handleError is the default error handler.
func (m *Manager[T]) handleError(w http.ResponseWriter, r *http.Request, err error) {
	if m.cfg.errorHandler != nil {
		m.cfg.errorHandler(w, r, err)
		return
	}
	m.cfg.logger.ErrorContext(r.Context(), "sessions: request failed", "error", err, "method", r.Method, "path", r.URL.Path)
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}

// refreshWindow is how far a session's stored expiry may lag behind the
// idle timeout before a read-only request rewrites the record to slide it,
// on stores that cannot load and touch in one round trip: a tenth of the
// idle timeout, at most a minute. Sessions on such stores may therefore end
// up to that much before the full idle timeout.
func (m *Manager[T]) refreshWindow() time.Duration {
	return min(m.cfg.idleTimeout/10, time.Minute)
}

// expiry is when the record of a session with the given absolute deadline
// expires if it is saved or touched at now.
func (m *Manager[T]) expiry(deadline, now time.Time) time.Time {
	if m.cfg.idleTimeout > 0 {
		if idle := now.Add(m.cfg.idleTimeout); idle.Before(deadline) {
			return idle
		}
	}
	return deadline
}
