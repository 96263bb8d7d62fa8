package sessions

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/store/fsstore"
	"github.com/sessionkit/sessions/store/memstore"
)

// An Option configures a Manager; pass options to New. Options apply in
// order, so a later one overrides an earlier one.
type Option func(*config) error

// config is what the options build; New validates it.
type config struct {
	// openStore returns the store; owned stores are closed by Manager.Close.
	openStore    func() (s store.Store, owned bool, err error)
	lifetime     time.Duration
	idleTimeout  time.Duration
	codec        Codec
	cookie       cookieConfig
	keyPrefix    string
	errorHandler func(http.ResponseWriter, *http.Request, error)
	logger       *slog.Logger
}

func defaultConfig() config {
	return config{
		openStore: openMemory(),
		lifetime:  24 * time.Hour,
		codec:     CBOR(),
		cookie:    defaultCookie(),
		keyPrefix: "session:",
	}
}

func (c *config) validate() error {
	switch {
	case c.lifetime <= 0:
		return fmt.Errorf("%w: lifetime must be positive, got %v", ErrInvalidConfig, c.lifetime)
	case c.idleTimeout < 0:
		return fmt.Errorf("%w: idle timeout must not be negative, got %v", ErrInvalidConfig, c.idleTimeout)
	case c.codec == nil:
		return fmt.Errorf("%w: codec is nil", ErrInvalidConfig)
	case len(c.keyPrefix) > 64 || strings.ContainsFunc(c.keyPrefix, func(r rune) bool { return r <= ' ' || r >= 0x7f }):
		return fmt.Errorf("%w: key prefix %q must be at most 64 printable ASCII characters without spaces", ErrInvalidConfig, c.keyPrefix)
	}
	return c.cookie.validate()
}

// WithStore makes the manager keep sessions in s. The caller owns s and
// closes it after the manager: Manager.Close does not close it. Use it for
// the MongoDB and SQL stores (packages store/mongostore and
// store/sqlstore), your own stores, and a store shared by several managers.
func WithStore(s store.Store) Option {
	return withStore(s, false)
}

// WithOwnedStore is WithStore that hands s to the manager: Manager.Close
// closes s (if it has a Close method), so the caller only closes the
// manager.
func WithOwnedStore(s store.Store) Option {
	return withStore(s, true)
}

func withStore(s store.Store, owned bool) Option {
	return func(c *config) error {
		if s == nil {
			return fmt.Errorf("%w: store is nil", ErrInvalidConfig)
		}
		c.openStore = func() (store.Store, bool, error) { return s, owned, nil }
		return nil
	}
}

// WithMemory keeps sessions in process memory (the default). The store's
// background sweeper stops on Manager.Close. New fails if an option has an
// invalid value.
func WithMemory(opts ...memstore.Option) Option {
	return func(c *config) error {
		c.openStore = openMemory(opts...)
		return nil
	}
}

// openMemory returns the openStore of a memory store with opts.
func openMemory(opts ...memstore.Option) func() (store.Store, bool, error) {
	return func() (store.Store, bool, error) {
		s, err := memstore.New(opts...)
		if err != nil {
			return nil, false, fmt.Errorf("%w: memory store: %w", ErrInvalidConfig, err)
		}
		return s, true, nil
	}
}

// WithFilesystem keeps one file per session under dir, created if missing.
// New fails if dir is unusable. Several processes may share dir.
func WithFilesystem(dir string, opts ...fsstore.Option) Option {
	return func(c *config) error {
		c.openStore = func() (store.Store, bool, error) {
			s, err := fsstore.New(dir, opts...)
			if err != nil {
				return nil, false, fmt.Errorf("%w: filesystem store: %w", ErrInvalidConfig, err)
			}
			return s, true, nil
		}
		return nil
	}
}

// The Redis and Memcached options live in backends.go. The MongoDB and SQL
// stores come from their own packages through WithStore or WithOwnedStore,
// so that a program that does not use them links no database driver.

// WithLifetime sets the absolute lifetime of a session, counted from its
// creation or its last Renew (default 24h). Activity does not extend it.
func WithLifetime(d time.Duration) Option {
	return func(c *config) error { c.lifetime = d; return nil }
}

// WithIdleTimeout ends a session that sees no request for d (default 0:
// off). Each request that loads the session slides the timeout, using the
// store's cheapest way to move an expiry.
func WithIdleTimeout(d time.Duration) Option {
	return func(c *config) error { c.idleTimeout = d; return nil }
}

// WithCodec sets how session values are encoded (default CBOR()).
func WithCodec(codec Codec) Option {
	return func(c *config) error { c.codec = codec; return nil }
}

// WithCookie changes the session cookie's attributes. Defaults: name
// "session", path "/", HttpOnly, SameSite=Lax, persistent, not Secure.
func WithCookie(opts ...CookieOption) Option {
	return func(c *config) error {
		for _, o := range opts {
			o(&c.cookie)
		}
		return nil
	}
}

// WithKeyPrefix sets the prefix of every store key (default "session:"), so
// several applications can share one store.
func WithKeyPrefix(prefix string) Option {
	return func(c *config) error { c.keyPrefix = prefix; return nil }
}

// WithErrorHandler sets the function the middleware calls when a session
// cannot be loaded or saved. The default logs the error and answers
// 500 Internal Server Error.
func WithErrorHandler(fn func(http.ResponseWriter, *http.Request, error)) Option {
	return func(c *config) error { c.errorHandler = fn; return nil }
}

// WithLogger sets the logger for errors the manager cannot return, such as
// undecodable stored data (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { c.logger = l; return nil }
}
