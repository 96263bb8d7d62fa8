package redisstore

import "github.com/sessionkit/sessions/internal/storeprefix"

// Tests outside this package keep runs sharing a server apart with a key
// prefix inside the store (see internal/storeprefix); users prefix keys
// with the manager's sessions.WithKeyPrefix.
func init() {
	storeprefix.RegisterRedis(func(p string) any {
		return Option(func(c *config) error { c.prefix = p; return nil })
	})
}
