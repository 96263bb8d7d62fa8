package fsstore

import (
	"fmt"
	"testing"

	"github.com/sessionkit/sessions/internal/storebench"
)

func BenchmarkStore(b *testing.B) {
	for _, sync := range []bool{true, false} {
		b.Run(fmt.Sprint("sync=", sync), func(b *testing.B) {
			storebench.Run(b, newStore(b, b.TempDir(), WithSync(sync), WithCleanupInterval(0)), 512)
		})
	}
}
