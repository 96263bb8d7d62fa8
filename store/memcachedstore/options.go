package memcachedstore

// Option configures a Store.
type Option func(*Store)

// WithPrefix puts p in front of every key the store reads or writes.
// Memcached has no namespaces, so this separates stores that share a
// server. The default is no prefix: the sessions manager already prefixes
// its keys.
func WithPrefix(p string) Option {
	return func(s *Store) { s.prefix = p }
}
