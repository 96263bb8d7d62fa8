package sessions

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/store/memstore"
)

// An Option configures a [Manager]; pass options to [New]. Options apply in
// order, so a later one overrides an earlier one; a nil Option is ignored.
// The store packages' options follow the same rules (see the package
// documentation, "Options").
type Option func(*config) error

// config is what the options build; New validates it.
type config struct {
	// openStore returns the store; managed stores are closed by
	// Manager.Close. logger is the manager's, for stores with background
	// work.
	openStore    func(logger *slog.Logger) (s store.Store, managed bool, err error)
	lifetime     time.Duration
	idleTimeout  time.Duration
	storeTimeout time.Duration
	maxSize      int
	codec        Codec
	cookie       cookieConfig
	keyPrefix    string
	errorHandler func(http.ResponseWriter, *http.Request, error)
	logger       *slog.Logger
	events       func(*config, store.Store) eventSink   // WithEvents: creates the manager's eventSink
	keys         sealer                                 // WithEncryption's keys; nil keeps records in the clear
	lastWriter   lastWriting                            // WithStore's, for a store without conditional writes; else nil
	newClock     func(timeout time.Duration) storeClock // WithStore's (newStoreClock); nil for the memory store, which never waits
	ownerLimit   int                                    // WithOwnerLimit's n; 0 is no limit
	refuseNew    bool                                   // WithOwnerLimit's policy is RefuseNew, not EvictOldest
}

func defaultConfig() config {
	return config{
		openStore:    openMemory(),
		lifetime:     24 * time.Hour,
		storeTimeout: DefaultStoreTimeout,
		maxSize:      DefaultMaxSize,
		codec:        CBOR(),
		cookie:       defaultCookie(),
		keyPrefix:    "session:",
	}
}

// Defaults of [WithStoreTimeout] and [WithMaxSize].
const (
	DefaultStoreTimeout = 5 * time.Second
	DefaultMaxSize      = 1 << 20
)

func (c *config) validate() error {
	switch {
	case c.lifetime <= 0:
		return fmt.Errorf("%w: lifetime must be positive, got %v", ErrInvalidConfig, c.lifetime)
	case c.idleTimeout < 0:
		return fmt.Errorf("%w: idle timeout must not be negative, got %v", ErrInvalidConfig, c.idleTimeout)
	case c.storeTimeout < 0:
		return fmt.Errorf("%w: store timeout must not be negative, got %v", ErrInvalidConfig, c.storeTimeout)
	case c.maxSize <= recordHeaderSize:
		return fmt.Errorf("%w: max size must be above %d bytes, got %d", ErrInvalidConfig, recordHeaderSize, c.maxSize)
	case c.codec == nil:
		return fmt.Errorf("%w: codec is nil", ErrInvalidConfig)
	case len(c.keyPrefix) > 64 || strings.ContainsFunc(c.keyPrefix, func(r rune) bool { return r <= ' ' || r >= 0x7f }):
		return fmt.Errorf("%w: key prefix %q must be at most 64 printable ASCII characters without spaces", ErrInvalidConfig, c.keyPrefix)
	}
	return c.cookie.validate()
}

// WithStore makes the manager keep sessions in s. The caller keeps s and
// closes it after the manager: [Manager.Close] does not close it. Use it
// for a store shared by several managers; [WithManagedStore] hands s to
// the manager instead.
//
// Every store but the memory store comes from its own package
// (store/fsstore, store/redisstore, store/memcachedstore,
// store/mongostore, store/sqlstore, or yours), so a program links only
// the stores and clients it uses.
func WithStore(s store.Store) Option {
	return withStore(s, false)
}

// WithManagedStore is [WithStore] that hands s to the manager, which then
// manages its life like that of the stores it creates: [Manager.Close]
// closes s (if it has a Close method), so the caller only closes the
// manager. The built-in stores leave the client they were given open.
// For example, on Redis:
//
//	st, err := redisstore.New(client)
//	if err != nil {
//		return err
//	}
//	mgr, err := sessions.New[T](sessions.WithManagedStore(st))
func WithManagedStore(s store.Store) Option {
	return withStore(s, true)
}

func withStore(s store.Store, managed bool) Option {
	return func(c *config) error {
		if s == nil {
			return fmt.Errorf("%w: store is nil", ErrInvalidConfig)
		}
		c.openStore = func(*slog.Logger) (store.Store, bool, error) { return s, managed, nil }
		c.lastWriter, c.newClock = lastWriterOf(s), newStoreClock
		return nil
	}
}

// WithMemory keeps sessions in process memory (the default). The store's
// background cleanup logs to the manager's logger unless opts choose
// another, and stops on [Manager.Close]. New fails if an option has an
// invalid value.
func WithMemory(opts ...memstore.Option) Option {
	return func(c *config) error {
		c.openStore, c.lastWriter, c.newClock = openMemory(opts...), nil, nil
		return nil
	}
}

// openMemory returns the openStore of a memory store with opts, which
// logs to the manager's logger unless opts choose another.
func openMemory(opts ...memstore.Option) func(*slog.Logger) (store.Store, bool, error) {
	return func(logger *slog.Logger) (store.Store, bool, error) {
		s, err := memstore.New(append([]memstore.Option{memstore.WithLogger(logger)}, opts...)...)
		if err != nil {
			return nil, false, fmt.Errorf("%w: memory store: %w", ErrInvalidConfig, err)
		}
		return s, true, nil
	}
}

// WithLifetime sets the absolute lifetime of a session, counted from its
// creation or its last [Manager.Renew] (default 24h). Activity does not extend it.
// Any positive duration works, up to [math.MaxInt64] for "no absolute limit"
// (deadlines are clamped to the year 2262; persistent cookies to the
// 400 days browsers keep them).
func WithLifetime(d time.Duration) Option {
	return func(c *config) error { c.lifetime = d; return nil }
}

// WithIdleTimeout ends a session that sees no request for d (default 0:
// off). Each request that loads the session slides the timeout, using the
// store's cheapest way to move an expiry.
func WithIdleTimeout(d time.Duration) Option {
	return func(c *config) error { c.idleTimeout = d; return nil }
}

// WithStoreTimeout bounds every store call the manager makes: the load,
// the save (also the one after the response started, which a client that
// hangs up does not cancel), the delete and the idle refresh. A store that
// hangs then gets the request answered by the error handler within d.
// A call whose context can never be cancelled (the save after the
// response) may run up to d/64 longer, as such calls share timers; a
// call under a context with an earlier deadline ends at that deadline.
// Default [DefaultStoreTimeout] (5 s); 0 means no limit.
func WithStoreTimeout(d time.Duration) Option {
	return func(c *config) error { c.storeTimeout = d; return nil }
}

// WithMaxSize refuses to save a session whose record (the encoded value,
// a 28-byte header and the owner set by [Manager.SetOwner], and with
// [WithEncryption] a 45-byte envelope) is over n bytes: the save fails
// with an error wrapping [store.ErrTooLarge], which reaches the error
// handler (or the caller of [Manager.Commit] or [Manager.Update]), and
// nothing is written. n must be above 28. Default [DefaultMaxSize]
// (1 MiB).
func WithMaxSize(n int) Option {
	return func(c *config) error { c.maxSize = n; return nil }
}

// WithCodec sets how session values are encoded (default [CBOR]; [JSON]
// keeps them readable in the store).
func WithCodec(codec Codec) Option {
	return func(c *config) error { c.codec = codec; return nil }
}

// WithCookie changes the session cookie's attributes (see [CookieOption]). Defaults: name
// "session", path "/", HttpOnly, SameSite=Lax, persistent, not Secure.
// A nil CookieOption is ignored.
func WithCookie(opts ...CookieOption) Option {
	return func(c *config) error {
		for _, o := range opts {
			if o != nil {
				o(&c.cookie)
			}
		}
		return nil
	}
}

// WithKeyPrefix sets the prefix of every store key (default "session:"), so
// several applications can share one store.
func WithKeyPrefix(prefix string) Option {
	return func(c *config) error { c.keyPrefix = prefix; return nil }
}

// WithErrorHandler sets the function the middleware ([Manager.Middleware])
// calls when a session cannot be loaded or saved. The default logs the error and answers
// 500 Internal Server Error.
func WithErrorHandler(fn func(http.ResponseWriter, *http.Request, error)) Option {
	return func(c *config) error { c.errorHandler = fn; return nil }
}

// WithLogger sets the logger for errors the manager cannot return, such as
// undecodable stored data, and of the background work of the memory store
// the manager creates ([WithMemory]). The default, and what a nil l means,
// is [slog.Default]().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { c.logger = l; return nil }
}
