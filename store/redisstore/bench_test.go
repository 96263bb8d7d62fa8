package redisstore_test

import (
	"testing"

	"github.com/sessionkit/sessions/internal/storebench"
	"github.com/sessionkit/sessions/internal/testbackend"
)

func BenchmarkStore(b *testing.B) {
	storebench.Run(b, newStore(b, newClient(b, testbackend.Redis(b))), 256)
}
