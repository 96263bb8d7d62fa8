package mongostore

import (
	"testing"

	"github.com/sessionkit/sessions/internal/storebench"
)

func BenchmarkStore(b *testing.B) {
	storebench.Run(b, newStore(b, connect(b), WithCleanupInterval(0)), 1024)
}
