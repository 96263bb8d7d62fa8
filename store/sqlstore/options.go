package sqlstore

import (
	"errors"
	"log/slog"
	"time"
)

// DefaultTable is the table name used unless WithTable says otherwise.
const DefaultTable = "sessions"

// DefaultCleanupInterval is how often expired rows are deleted in the
// background unless WithCleanupInterval says otherwise.
const DefaultCleanupInterval = 5 * time.Minute

// Option configures a Store. Options with invalid values make New return
// an error.
type Option func(*config)

type config struct {
	table           string
	createSchema    bool
	cleanupInterval time.Duration
	logger          *slog.Logger
	err             error // the first invalid option value
}

// fail records the first invalid option value.
func (c *config) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// WithTable sets the name of the table. It must be 1 to 48 lower-case ASCII
// letters, digits and underscores, not starting with a digit; the default is
// "sessions". The store also creates an index named table+"_expires_at_idx".
func WithTable(name string) Option {
	return func(c *config) { c.table = name }
}

// WithoutSchemaCreation stops New from creating the table and its index,
// for applications that manage their schema with migrations. Schema returns
// the statements to include in them.
func WithoutSchemaCreation() Option {
	return func(c *config) { c.createSchema = false }
}

// WithCleanupInterval sets how often expired records are deleted in the
// background (default DefaultCleanupInterval). A d of zero or less turns
// background cleanup off: expired records are then never returned but stay
// in the table until they are overwritten, deleted or removed by
// DeleteExpired.
func WithCleanupInterval(d time.Duration) Option {
	return func(c *config) { c.cleanupInterval = d }
}

// WithLogger sets the logger that reports failures of the background
// cleanup, under the key "error". The default is slog.Default(); a nil
// logger is an error.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l == nil {
			c.fail(errors.New("sqlstore: nil logger"))
			return
		}
		c.logger = l
	}
}
