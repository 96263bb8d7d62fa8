package mongostore

import (
	"log/slog"
	"time"
)

// DefaultCleanupInterval is how often the background cleanup runs on servers
// without TTL indexes, unless WithCleanupInterval says otherwise.
const DefaultCleanupInterval = time.Minute

// An Option configures a Store.
type Option func(*config)

type config struct {
	cleanupInterval time.Duration
	logger          *slog.Logger
}

// WithCleanupInterval sets how often a background goroutine deletes
// expired documents (default DefaultCleanupInterval). Zero or less turns it
// off; DeleteExpired still works on demand. It runs only on servers without
// TTL indexes (FerretDB): on MongoDB the server's TTL monitor deletes
// expired documents and this option has no effect.
func WithCleanupInterval(d time.Duration) Option {
	return func(c *config) { c.cleanupInterval = max(d, 0) }
}

// WithLogger sets the logger that reports failures of the background
// cleanup, under the key "error". The default, and a nil l, is
// slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}
