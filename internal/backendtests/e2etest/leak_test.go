package e2etest_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

// verifyNoLeaks fails t if goroutines that opts do not ignore are still
// running once the background work a closed client may leave has ended:
// rueidis's lazy Cluster refresh sleeps up to a second before it runs, even
// after Close, and then ends.
func verifyNoLeaks(t *testing.T, opts ...goleak.Option) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for goleak.Find(opts...) != nil && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	goleak.VerifyNone(t, opts...)
}
