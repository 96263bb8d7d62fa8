package cleanup

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestCleanerRunsReportsAndStops(t *testing.T) {
	defer goleak.VerifyNone(t)
	var runs atomic.Int32
	reported := make(chan error, 10)
	c := Start(5*time.Millisecond, func(ctx context.Context) error {
		runs.Add(1)
		return errors.New("boom")
	}, func(_ context.Context, err error) {
		select {
		case reported <- err:
		default:
		}
	})
	if err := <-reported; err.Error() != "boom" {
		t.Fatalf("reported %v", err)
	}
	c.Stop()
	c.Stop()
	n := runs.Load()
	time.Sleep(20 * time.Millisecond)
	if runs.Load() != n {
		t.Error("clean ran after Stop")
	}
}

func TestStopInterruptsAndHidesItsOwnError(t *testing.T) {
	defer goleak.VerifyNone(t)
	started := make(chan struct{})
	var reported atomic.Bool
	c := Start(time.Millisecond, func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}, func(context.Context, error) { reported.Store(true) })
	<-started
	c.Stop()
	if reported.Load() {
		t.Error("the error caused by Stop was reported")
	}
}
