package mongostore

import (
	"log/slog"
	"time"
)

// DefaultCleanupInterval is how often the background cleanup runs on servers
// without TTL indexes, unless WithCleanupInterval says otherwise.
const DefaultCleanupInterval = time.Minute

// Option configures a Store.
type Option func(*config)

type config struct {
	cleanupInterval time.Duration
	logger          *slog.Logger
}

// WithCleanupInterval sets how often expired documents are deleted in the
// background when the server has no TTL indexes. Zero turns the background
// cleanup off; DeleteExpired still works on demand. On servers with TTL
// indexes there is no background cleanup and this option has no effect.
func WithCleanupInterval(d time.Duration) Option {
	return func(c *config) { c.cleanupInterval = d }
}

// WithLogger sets the logger that reports failures of the background
// cleanup. The default is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}
