package memcachedstore

// An Option configures a Store.
type Option func(*config)

type config struct {
	prefix string
}

// WithPrefix puts p in front of every key the store reads or writes.
// Memcached has no namespaces, so this separates stores that share a
// server. The default is no prefix: the sessions manager already prefixes
// its keys. Any p works: keys that memcached would reject are hashed.
func WithPrefix(p string) Option {
	return func(c *config) { c.prefix = p }
}
