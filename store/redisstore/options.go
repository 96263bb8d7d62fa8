package redisstore

import "time"

// An Option configures a Store. Options apply in order; a nil Option is
// ignored, and an invalid option value makes New return an error.
type Option func(*config) error

type config struct {
	// prefix goes in front of every key. Only the package's tests set it
	// (export_test.go), to keep runs on a shared server apart: the
	// sessions manager prefixes its keys itself (sessions.WithKeyPrefix).
	prefix string

	replicas       int           // WithReplicas
	replicaTimeout time.Duration // WithReplicas
	cacheTTL       time.Duration // WithClientCache; 0: no client cache
}
