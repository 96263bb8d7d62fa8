package sessions

import (
	"context"
	"fmt"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/redis/rueidis"
	"github.com/uptrace/bun"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/store/memcachedstore"
	"github.com/sessionkit/sessions/store/mongostore"
	"github.com/sessionkit/sessions/store/redisstore"
	"github.com/sessionkit/sessions/store/sqlstore"
)

// setupTimeout bounds the schema or index creation New does for the
// MongoDB and SQL stores.
const setupTimeout = 30 * time.Second

// WithRedis keeps sessions in Redis through a rueidis client: standalone,
// Cluster or Sentinel. A read-only request with an idle timeout costs one
// command (GETEX). The client stays the caller's to close.
func WithRedis(client rueidis.Client, opts ...redisstore.Option) Option {
	return func(c *config) error {
		if client == nil {
			return fmt.Errorf("%w: redis client is nil", ErrInvalidConfig)
		}
		c.openStore = func() (store.Store, bool, error) { return redisstore.New(client, opts...), true, nil }
		return nil
	}
}

// WithMemcached keeps sessions in memcached through a gomemcache client.
// The client stays the caller's.
func WithMemcached(client *memcache.Client, opts ...memcachedstore.Option) Option {
	return func(c *config) error {
		if client == nil {
			return fmt.Errorf("%w: memcached client is nil", ErrInvalidConfig)
		}
		c.openStore = func() (store.Store, bool, error) { return memcachedstore.New(client, opts...), true, nil }
		return nil
	}
}

// WithMongo keeps sessions in a MongoDB collection. New creates a TTL index
// (or, on servers without one, starts a cleanup that Manager.Close stops).
// The client stays the caller's.
func WithMongo(coll *mongo.Collection, opts ...mongostore.Option) Option {
	return func(c *config) error {
		if coll == nil {
			return fmt.Errorf("%w: mongo collection is nil", ErrInvalidConfig)
		}
		c.openStore = func() (store.Store, bool, error) {
			ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
			defer cancel()
			s, err := mongostore.New(ctx, coll, opts...)
			if err != nil {
				return nil, false, fmt.Errorf("sessions: mongo store: %w", err)
			}
			return s, true, nil
		}
		return nil
	}
}

// WithSQL keeps sessions in an SQL table through bun (PostgreSQL, MySQL,
// MariaDB or SQLite). New creates the table if needed and starts a cleanup
// of expired rows that Manager.Close stops. The database stays the caller's.
func WithSQL(db *bun.DB, opts ...sqlstore.Option) Option {
	return func(c *config) error {
		if db == nil {
			return fmt.Errorf("%w: database is nil", ErrInvalidConfig)
		}
		c.openStore = func() (store.Store, bool, error) {
			ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
			defer cancel()
			s, err := sqlstore.New(ctx, db, opts...)
			if err != nil {
				return nil, false, fmt.Errorf("sessions: sql store: %w", err)
			}
			return s, true, nil
		}
		return nil
	}
}
