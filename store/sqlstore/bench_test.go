package sqlstore

import (
	"testing"

	"github.com/sessionkit/sessions/internal/backendenv"
	"github.com/sessionkit/sessions/internal/storebench"
)

// BenchmarkStore measures each operation on every backend.
func BenchmarkStore(b *testing.B) {
	for _, be := range backends {
		if be.name == "MySQL" && !backendenv.MySQLConfigured() {
			continue
		}
		b.Run(be.name, func(b *testing.B) {
			s, _ := newStore(b, be.open(b), WithCleanupInterval(0))
			storebench.Run(b, s, 1024)
		})
	}
}
