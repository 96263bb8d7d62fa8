package memcachedstore

import (
	"testing"

	"github.com/sessionkit/sessions/internal/storebench"
)

func BenchmarkStore(b *testing.B) {
	storebench.Run(b, newStore(b), 256)
}
