package fsstore

import (
	"log/slog"
	"time"

	"github.com/sessionkit/sessions/internal/cleanup"
)

// DefaultCleanupInterval is how often expired files are deleted unless
// WithCleanupInterval says otherwise: one minute, as in every store
// package.
const DefaultCleanupInterval = cleanup.DefaultInterval

// An Option configures a Store. Options apply in order; a nil Option is
// ignored, and an invalid option value makes New return an error.
type Option func(*config) error

type config struct {
	cleanupInterval time.Duration
	sync            bool
	logger          *slog.Logger
}

// WithCleanupInterval sets how often a background goroutine deletes expired
// files and temporary files left by crashed writers (default
// DefaultCleanupInterval). Each run reads the header of every file in the
// directory; a store that holds very many sessions may want a longer
// interval. A d of zero or less turns background cleanup off, for example
// when another process sharing the directory does the cleanup;
// DeleteExpired still works.
func WithCleanupInterval(d time.Duration) Option {
	return func(c *config) error { c.cleanupInterval = d; return nil }
}

// WithSync sets whether a file is flushed to stable storage (fsync) before
// it replaces a record (default true). With sync, a machine crash leaves
// either the old or the new record; without it, writes are much faster but
// a crash may leave an empty or damaged file, which then reads as not
// found.
func WithSync(sync bool) Option {
	return func(c *config) error { c.sync = sync; return nil }
}

// WithLogger sets the logger of the background cleanup, which logs a
// failed run at level Warn with the error under the key "error" (the next
// run retries) and how many files a run deleted at level Debug, and of the
// warning New gives when the file system refuses file locks. The default,
// and what a nil l means, is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { c.logger = l; return nil }
}
