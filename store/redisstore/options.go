package redisstore

// An Option configures a Store or a CachedStore.
type Option func(*config)

type config struct {
	prefix string
}

// WithPrefix puts p in front of every key the store reads or writes.
// The default is no prefix: the sessions manager already prefixes its keys,
// so this is only needed to share one database between several stores.
func WithPrefix(p string) Option {
	return func(c *config) { c.prefix = p }
}

// newConfig applies opts over the defaults.
func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}
