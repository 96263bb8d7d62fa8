package memstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return newStore(t, WithCleanupInterval(100*time.Millisecond))
	})
}

func TestConformanceBounded(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return newStore(t, WithMaxEntries(10_000), WithCleanupInterval(0))
	})
}

// newStore returns a store closed at the end of the test.
func newStore(t testing.TB, opts ...Option) *Store {
	t.Helper()
	s, err := New(opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func save(t *testing.T, s *Store, key string, expiresAt time.Time) {
	t.Helper()
	if err := s.Save(t.Context(), key, []byte(key), expiresAt); err != nil {
		t.Fatalf("Save(%q): %v", key, err)
	}
}

// present reports whether key is found, failing the test on an error.
func present(t *testing.T, s *Store, key string) bool {
	t.Helper()
	_, found, err := s.Load(t.Context(), key)
	if err != nil {
		t.Fatalf("Load(%q): %v", key, err)
	}
	return found
}

func TestCleanupRemovesExpired(t *testing.T) {
	s := newStore(t, WithCleanupInterval(20*time.Millisecond))
	soon := time.Now().Add(50 * time.Millisecond)
	for i := range 100 {
		save(t, s, fmt.Sprint("short", i), soon)
	}
	save(t, s, "live", time.Now().Add(time.Hour))
	for deadline := time.Now().Add(5 * time.Second); s.Len() != 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("Len() = %d five seconds after the records expired, want 1", s.Len())
		}
	}
	if !present(t, s, "live") {
		t.Fatal("the cleanup removed a live record")
	}
}

func TestWithoutCleanupExpiredStay(t *testing.T) {
	s := newStore(t, WithCleanupInterval(0))
	save(t, s, "short", time.Now().Add(10*time.Millisecond))
	save(t, s, "live", time.Now().Add(time.Hour))
	time.Sleep(50 * time.Millisecond)
	if present(t, s, "short") {
		t.Fatal("an expired record was returned")
	}
	if n := s.Len(); n != 2 {
		t.Fatalf("Len() = %d without cleanup, want 2 (the expired record stays until removed)", n)
	}
	n, err := s.DeleteExpired(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpired() = (%d, %v), want (1, nil)", n, err)
	}
	if n := s.Len(); n != 1 || !present(t, s, "live") {
		t.Fatalf("after DeleteExpired: Len() = %d, live found = %v; want 1, true", n, present(t, s, "live"))
	}
}

func TestSavePastDeadlineFreesMemory(t *testing.T) {
	s := newStore(t)
	save(t, s, "k", time.Now().Add(time.Hour))
	save(t, s, "k", time.Now().Add(-time.Second))
	if n := s.Len(); n != 0 {
		t.Fatalf("Len() = %d after saving a past deadline, want 0", n)
	}
}

func TestEvictsEarliestExpiry(t *testing.T) {
	// Four entries fit in one shard, so the sample covers the whole shard.
	s := newStore(t, WithMaxEntries(4))
	base := time.Now()
	for _, h := range []int{4, 1, 3, 2} {
		save(t, s, fmt.Sprint("h", h), base.Add(time.Duration(h)*time.Hour))
	}
	save(t, s, "h5", base.Add(5*time.Hour))
	wantKeys(t, s, "h2 h3 h4 h5", "h1")
	save(t, s, "h6", base.Add(6*time.Hour))
	wantKeys(t, s, "h3 h4 h5 h6", "h1 h2")
}

func TestEvictsExpiredFirst(t *testing.T) {
	s := newStore(t, WithMaxEntries(4), WithCleanupInterval(0))
	save(t, s, "old1", time.Now().Add(20*time.Millisecond))
	save(t, s, "old2", time.Now().Add(20*time.Millisecond))
	save(t, s, "live1", time.Now().Add(time.Hour))
	save(t, s, "live2", time.Now().Add(2*time.Hour))
	time.Sleep(40 * time.Millisecond)
	save(t, s, "new1", time.Now().Add(3*time.Hour))
	save(t, s, "new2", time.Now().Add(4*time.Hour))
	wantKeys(t, s, "live1 live2 new1 new2", "")
}

func TestOverwriteWhenFullKeepsAll(t *testing.T) {
	s := newStore(t, WithMaxEntries(4))
	exp := time.Now().Add(time.Hour)
	for _, k := range []string{"a", "b", "c", "d"} {
		save(t, s, k, exp)
	}
	save(t, s, "a", exp.Add(time.Hour))
	wantKeys(t, s, "a b c d", "")
}

func TestMaxEntriesBound(t *testing.T) {
	for _, max := range []int{1, 10, 100, 1000, 5000} {
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			s := newStore(t, WithMaxEntries(max))
			exp := time.Now().Add(time.Hour)
			for i := range 4 * max {
				key := fmt.Sprint("key", i)
				save(t, s, key, exp.Add(time.Duration(i)))
				if !present(t, s, key) {
					t.Fatalf("the record just saved under %q was evicted", key)
				}
			}
			if n := s.Len(); n != max {
				t.Fatalf("Len() = %d after saving %d keys, want exactly %d", n, 4*max, max)
			}
		})
	}
}

func TestNegativeCleanupIntervalMeansOff(t *testing.T) {
	s := newStore(t, WithCleanupInterval(-time.Second), nil)
	if s.cleaner != nil {
		t.Fatal("a negative cleanup interval started the background cleanup")
	}
}

// Every store package cleans up once a minute by default, through
// internal/cleanup.
func TestDefaultCleanupInterval(t *testing.T) {
	if DefaultCleanupInterval != time.Minute {
		t.Errorf("DefaultCleanupInterval = %v, want 1m", DefaultCleanupInterval)
	}
	var cfg config
	if err := WithCleanupInterval(DefaultCleanupInterval)(&cfg); err != nil || cfg.cleanupInterval != time.Minute {
		t.Errorf("WithCleanupInterval(DefaultCleanupInterval) = %v, %v", cfg.cleanupInterval, err)
	}
	s := newStore(t)
	if s.cleaner == nil {
		t.Error("New without options started no background cleanup")
	}
}

// A nil logger means slog.Default(), as everywhere in the module.
func TestNilLoggerIsTheDefault(t *testing.T) {
	newStore(t, WithLogger(nil))
}

func TestInvalidOptions(t *testing.T) {
	for name, opt := range map[string]Option{
		"WithMaxEntries": WithMaxEntries(-1),
	} {
		before := goleak.IgnoreCurrent()
		s, err := New(opt)
		if err == nil || s != nil {
			t.Errorf("New(%s(invalid)) = (%v, %v), want an error", name, s, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), "memstore: "+name) {
			t.Errorf("New(%s(invalid)) error %q does not name the package and the option", name, err)
		}
		if err := goleak.Find(before); err != nil {
			t.Errorf("New(%s(invalid)) started a goroutine: %v", name, err)
		}
	}
}

func TestFarDeadlines(t *testing.T) {
	s := newStore(t)
	save(t, s, "zero", time.Time{})
	save(t, s, "far", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
	wantKeys(t, s, "far", "zero")
}

func TestUseAfterClose(t *testing.T) {
	s := newStore(t)
	save(t, s, "k", time.Now().Add(time.Hour))
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close() = %v, want nil", err)
	}
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	_, _, errLoad := s.Load(ctx, "k")
	_, _, errLT := s.LoadAndTouch(ctx, "k", exp)
	_, errDE := s.DeleteExpired(ctx)
	_, errLV := s.LoadVersion(ctx, "k", time.Time{})
	_, errSI := s.SaveIf(ctx, "k", nil, exp, 0)
	for name, err := range map[string]error{
		"LoadVersion":   errLV,
		"SaveIf":        errSI,
		"Load":          errLoad,
		"Save":          s.Save(ctx, "k", nil, exp),
		"Delete":        s.Delete(ctx, "k"),
		"Touch":         s.Touch(ctx, "k", exp),
		"LoadAndTouch":  errLT,
		"DeleteExpired": errDE,
	} {
		if !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close = %v, want an error wrapping store.ErrClosed", name, err)
		}
	}
}

func TestCloseStopsCleanup(t *testing.T) {
	before := goleak.IgnoreCurrent()
	s := newStore(t, WithCleanupInterval(time.Millisecond))
	time.Sleep(5 * time.Millisecond)
	if err := goleak.Find(before); err == nil {
		t.Fatal("no cleanup goroutine is running")
	}
	s.Close()
	if err := goleak.Find(before); err != nil {
		t.Fatalf("Close left a goroutine running: %v", err)
	}
}

func TestDroppedStoreStopsCleanup(t *testing.T) {
	before := goleak.IgnoreCurrent()
	func() {
		s, err := New(WithCleanupInterval(time.Millisecond), WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		save(t, s, "k", time.Now().Add(time.Hour)) // never closed
	}()
	// Collection and the cleanup that follows it may take a few cycles;
	// Find itself retries for a while.
	var err error
	for range 5 {
		runtime.GC()
		if err = goleak.Find(before); err == nil {
			return
		}
	}
	t.Fatalf("a Store dropped without Close left its cleanup running: %v", err)
}

func TestCleanupLogs(t *testing.T) {
	var buf syncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := newStore(t, WithCleanupInterval(10*time.Millisecond), WithLogger(logger))
	save(t, s, "k", time.Now().Add(20*time.Millisecond))
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(buf.String(), "removed=1"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the cleanup logged %q, want a line with removed=1", buf.String())
		}
	}
}

// A sweep that removes nothing says nothing, even at debug level.
func TestIdleCleanupIsQuiet(t *testing.T) {
	var buf syncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := newStore(t, WithCleanupInterval(time.Millisecond), WithLogger(logger))
	save(t, s, "k", time.Now().Add(time.Hour))
	time.Sleep(50 * time.Millisecond)
	if out := buf.String(); out != "" {
		t.Errorf("sweeps that removed nothing logged:\n%s", out)
	}
}

// WithMaxEntries(0) is the documented "no bound", not an error.
func TestMaxEntriesZeroMeansUnbounded(t *testing.T) {
	s := newStore(t, WithMaxEntries(0))
	for i := range 1000 {
		save(t, s, fmt.Sprint("k", i), time.Now().Add(time.Hour))
	}
	if n := s.Len(); n != 1000 {
		t.Errorf("%d records kept of 1000, want all", n)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestContextCheckedFirst(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	s.Close()
	if _, _, err := s.Load(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Load = %v, want an error wrapping context.Canceled", err)
	}
}

// wantKeys checks that every key of the space-separated list in is
// present and every key of out is not.
func wantKeys(t *testing.T, s *Store, in, out string) {
	t.Helper()
	for _, k := range strings.Fields(in) {
		if !present(t, s, k) {
			t.Errorf("%q was removed, want it kept", k)
		}
	}
	for _, k := range strings.Fields(out) {
		if present(t, s, k) {
			t.Errorf("%q is still present, want it removed", k)
		}
	}
}
