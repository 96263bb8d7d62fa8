package fsstore

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestLockWaitHonoursContext holds a shard's lock file as another process
// would: writes to that shard wait, give up when their context ends
// without leaving a temporary file, and go through once it is released.
func TestLockWaitHonoursContext(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir, WithSync(false), WithCleanupInterval(0))
	const key = "session:locked"
	mustSave(t, s, key, []byte("before"), time.Now().Add(time.Hour))
	other, err := openLockFile(s.d.lockPaths[s.d.locate(key).shard])
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := other.tryLock(); !ok || err != nil {
		t.Fatalf("tryLock = (%v, %v)", ok, err)
	}
	if probe, err := openLockFile(s.d.lockPaths[s.d.locate(key).shard]); err == nil {
		ok, _ := probe.tryLock()
		probe.release()
		if ok {
			other.release()
			t.Skip("no advisory file locks on this system")
		}
	}

	exp := time.Now().Add(time.Hour)
	for name, call := range map[string]func(context.Context) error{
		"Save":   func(ctx context.Context) error { return s.Save(ctx, key, []byte("blocked"), exp) },
		"Delete": func(ctx context.Context) error { return s.Delete(ctx, key) },
		"SaveIf": func(ctx context.Context) error {
			_, err := s.SaveIf(ctx, key, []byte("blocked"), exp, 0)
			return err
		},
		"Touch": func(ctx context.Context) error { return s.Touch(ctx, key, exp.Add(time.Hour)) },
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
		start := time.Now()
		err := call(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s while another process holds the lock = %v, want an error wrapping context.DeadlineExceeded", name, err)
		}
		if d := time.Since(start); d < 30*time.Millisecond || d > 5*time.Second {
			t.Errorf("%s returned after %v, want it to wait for its context (30ms)", name, d)
		}
	}
	if data, found := load(t, s, key); string(data) != "before" {
		t.Fatalf("Load = (%q, %v) after the blocked writes, want the record unchanged", data, found)
	}
	if got := files(t, dir); len(got) != 1 {
		t.Fatalf("files = %v, want the record only: a blocked write left its temporary file", got)
	}

	other.release()
	mustSave(t, s, key, []byte("after"), time.Now().Add(time.Hour))
	if data, _ := load(t, s, key); string(data) != "after" {
		t.Fatalf("Load = %q after the lock was released, want after", data)
	}
}
