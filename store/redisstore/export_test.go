package redisstore

// WithPrefix puts p in front of every key the store reads or writes, so
// that test runs sharing a server never see each other's keys. Only tests
// have it: the sessions manager prefixes its keys itself
// (sessions.WithKeyPrefix).
func WithPrefix(p string) Option {
	return func(c *config) error { c.prefix = p; return nil }
}
