package memstore

import (
	"testing"

	"github.com/sessionkit/sessions/internal/storebench"
)

func BenchmarkStore(b *testing.B) {
	s := New()
	b.Cleanup(func() { s.Close() })
	storebench.Run(b, s, 128)
}
