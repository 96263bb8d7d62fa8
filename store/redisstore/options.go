package redisstore

import (
	"errors"
	"fmt"
	"time"
)

// An Option configures a Store or a CachedStore.
type Option func(*config)

type config struct {
	prefix         string
	replicas       int
	replicaTimeout time.Duration
}

// WithPrefix puts p in front of every key the store reads or writes.
// The default is no prefix: the sessions manager already prefixes its keys,
// so this is only needed to share one database between several stores.
func WithPrefix(p string) Option {
	return func(c *config) { c.prefix = p }
}

// newConfig applies opts over the defaults and checks the result.
func newConfig(opts []Option) (config, error) {
	var c config
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	switch {
	case c.replicas < 0:
		return c, fmt.Errorf("redisstore: WithReplicas: %d replicas is negative", c.replicas)
	case c.replicas > 0 && c.replicaTimeout <= 0:
		return c, errors.New("redisstore: WithReplicas: the timeout must be positive")
	}
	return c, nil
}
