package sqlstore

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/sessionkit/sessions/internal/cleanup"
)

// DefaultTable is the table name used unless WithTable says otherwise.
const DefaultTable = "sessions"

// DefaultCleanupInterval is how often expired rows are deleted in the
// background unless WithCleanupInterval says otherwise: one minute, as in
// every store package.
const DefaultCleanupInterval = cleanup.DefaultInterval

// An Option configures a Store. Options apply in order; a nil Option is
// ignored, and an invalid option value makes New return an error.
type Option func(*config) error

type config struct {
	table           string
	createSchema    bool
	cleanupInterval time.Duration
	logger          *slog.Logger
}

// WithTable sets the name of the table. It must be 1 to 48 lower-case ASCII
// letters, digits and underscores, not starting with a digit; the default is
// "sessions". The store also creates an index named table+"_expires_at_idx".
func WithTable(name string) Option {
	return func(c *config) error {
		if err := validTable(name); err != nil {
			return fmt.Errorf("WithTable: %w", err)
		}
		c.table = name
		return nil
	}
}

// WithoutSchemaCreation stops New from creating the table and its index,
// for applications that manage their schema with migrations. Schema returns
// the statements to include in them.
func WithoutSchemaCreation() Option {
	return func(c *config) error { c.createSchema = false; return nil }
}

// WithCleanupInterval sets how often expired records are deleted in the
// background (default DefaultCleanupInterval). A d of zero or less turns
// background cleanup off: expired records are then never returned but stay
// in the table until they are overwritten, deleted or removed by
// DeleteExpired.
func WithCleanupInterval(d time.Duration) Option {
	return func(c *config) error { c.cleanupInterval = d; return nil }
}

// WithLogger sets the logger of the background cleanup, which logs a
// failed run at level Warn with the error under the key "error" (the next
// run retries) and how many rows a run deleted at level Debug. The
// default, and what a nil l means, is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { c.logger = l; return nil }
}
