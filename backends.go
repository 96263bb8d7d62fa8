package sessions

import (
	"fmt"
	"log/slog"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/redis/rueidis"

	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/store/memcachedstore"
	"github.com/sessionkit/sessions/store/redisstore"
)

// WithRedis keeps sessions in Redis through a rueidis client: standalone,
// Cluster or Sentinel. A read-only request with an idle timeout costs one
// command (GETEX); with redisstore.WithClientCache, none for a session this
// process read recently. The client stays the caller's to close.
func WithRedis(client rueidis.Client, opts ...redisstore.Option) Option {
	return func(c *config) error {
		if client == nil {
			return fmt.Errorf("%w: redis client is nil", ErrInvalidConfig)
		}
		c.openStore = func(*slog.Logger) (store.Store, bool, error) {
			s, err := redisstore.New(client, opts...)
			if err != nil {
				return nil, false, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
			}
			return s, true, nil
		}
		return nil
	}
}

// WithMemcached keeps sessions in memcached through a gomemcache client.
// The client stays the caller's.
func WithMemcached(client *memcache.Client) Option {
	return func(c *config) error {
		if client == nil {
			return fmt.Errorf("%w: memcached client is nil", ErrInvalidConfig)
		}
		c.openStore = func(*slog.Logger) (store.Store, bool, error) {
			s, err := memcachedstore.New(client)
			if err != nil {
				return nil, false, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
			}
			return s, true, nil
		}
		return nil
	}
}
