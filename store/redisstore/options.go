package redisstore

// Option configures a Store.
type Option func(*Store)

// WithPrefix puts p in front of every key the store reads or writes.
// The default is no prefix: the sessions manager already prefixes its keys,
// so this is only needed to share one database between several stores.
func WithPrefix(p string) Option {
	return func(s *Store) { s.prefix = p }
}
