package cleanup

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// syncBuffer is a bytes.Buffer safe for the cleaner's goroutine and the
// test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// fakeStore stands for a store.
type fakeStore struct{ _ [16]byte }

func TestCleanerRunsAndStops(t *testing.T) {
	defer goleak.VerifyNone(t)
	var runs atomic.Int32
	ran := make(chan struct{}, 10)
	st := &fakeStore{}
	c := Start(st, Task{Store: "test", Interval: 5 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
		Clean: func(ctx context.Context) (int, error) {
			runs.Add(1)
			select {
			case ran <- struct{}{}:
			default:
			}
			return 0, nil
		}})
	<-ran
	c.Stop()
	c.Stop()
	n := runs.Load()
	time.Sleep(20 * time.Millisecond)
	if runs.Load() != n {
		t.Error("Clean ran after Stop")
	}
	runtime.KeepAlive(st)
}

// A failed run logs at Warn with the error under "error" and the task's
// attributes; a run that removed records logs how many at Debug.
func TestCleanerLogs(t *testing.T) {
	defer goleak.VerifyNone(t)
	var out syncBuffer
	logger := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var runs atomic.Int32
	st := &fakeStore{}
	c := Start(st, Task{Store: "teststore", Interval: time.Millisecond, Logger: logger,
		Attrs: []slog.Attr{slog.String("dir", "/x")},
		Clean: func(ctx context.Context) (int, error) {
			if runs.Add(1)%2 == 1 {
				return 0, errors.New("boom")
			}
			return 3, nil
		}})
	deadline := time.Now().Add(5 * time.Second)
	for runs.Load() < 4 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	c.Stop()
	runtime.KeepAlive(st)
	logs := out.String()
	for _, want := range []string{
		`level=WARN msg="teststore: background cleanup failed" dir=/x error=boom`,
		`level=DEBUG msg="teststore: removed expired records" dir=/x removed=3`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "level=ERROR") {
		t.Errorf("a failed cleanup logged at Error:\n%s", logs)
	}
}

func TestStopInterruptsAndHidesItsOwnError(t *testing.T) {
	defer goleak.VerifyNone(t)
	var out syncBuffer
	started := make(chan struct{})
	st := &fakeStore{}
	c := Start(st, Task{Store: "test", Interval: time.Millisecond, Logger: slog.New(slog.NewTextHandler(&out, nil)),
		Clean: func(ctx context.Context) (int, error) {
			close(started)
			<-ctx.Done()
			return 0, ctx.Err()
		}})
	<-started
	c.Stop()
	runtime.KeepAlive(st)
	if out.String() != "" {
		t.Errorf("the error caused by Stop was logged: %s", out.String())
	}
}

func TestZeroIntervalStartsNothing(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, d := range []time.Duration{0, -time.Second} {
		c := Start(&fakeStore{}, Task{Interval: d, Clean: func(context.Context) (int, error) {
			t.Error("Clean ran")
			return 0, nil
		}})
		if c != nil {
			t.Errorf("Start with interval %v returned a Cleaner", d)
		}
		c.Stop() // a nil Cleaner stops
	}
}

// A store dropped without Stop stops its cleaner once collected.
func TestUnreachableStoreStopsTheCleaner(t *testing.T) {
	defer goleak.VerifyNone(t)
	c := Start(&fakeStore{}, Task{Store: "test", Interval: time.Hour, Clean: func(context.Context) (int, error) { return 0, nil }})
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		select {
		case <-c.done:
			return
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the cleaner of an unreachable store did not stop")
		}
	}
}
