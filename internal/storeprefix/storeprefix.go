// Package storeprefix lets the project's tests outside a store's package
// (the container-backed ones in internal/backendtests) keep test runs that
// share a server apart: a key prefix inside the store. Users have one key
// prefix, the manager's (sessions.WithKeyPrefix); the stores offer none.
package storeprefix

// redis is set by package redisstore: it returns a redisstore.Option.
var redis func(prefix string) any

// RegisterRedis is called by package redisstore.
func RegisterRedis(f func(prefix string) any) { redis = f }

// Redis returns the redisstore option that prefixes every key with prefix
// (O is redisstore.Option).
func Redis[O any](prefix string) O { return redis(prefix).(O) }
