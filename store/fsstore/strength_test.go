package fsstore

// Tests that pin boundaries mutation testing found unpinned (issue 14).
// The synctest bubbles give a clock that stands still, so a deadline can
// be hit to the nanosecond.

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// A record expires at its deadline, not a nanosecond later: Load stops
// finding it and DeleteExpired removes it.
func TestExpiresAtTheDeadline(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t, dir, WithCleanupInterval(0), WithSync(false))
		ctx := t.Context()
		mustSave(t, s, "k", []byte("v"), time.Now().Add(time.Second))
		time.Sleep(time.Second - time.Nanosecond)
		if _, found := load(t, s, "k"); !found {
			t.Fatal("Load a nanosecond before the deadline: not found")
		}
		if n, err := s.DeleteExpired(ctx); err != nil || n != 0 {
			t.Fatalf("DeleteExpired a nanosecond before the deadline = (%d, %v), want (0, nil)", n, err)
		}
		time.Sleep(time.Nanosecond)
		if _, found := load(t, s, "k"); found {
			t.Error("Load at the deadline: found, want expired")
		}
		if n, err := s.DeleteExpired(ctx); err != nil || n != 1 {
			t.Errorf("DeleteExpired at the deadline = (%d, %v), want (1, nil)", n, err)
		}
	})
}

// New warns about file locks only on a file system that refuses them.
func TestNewWarnsOnlyWithoutFileLocks(t *testing.T) {
	var buf bytes.Buffer
	s := newStore(t, t.TempDir(), WithCleanupInterval(0),
		WithLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	warned := strings.Contains(buf.String(), "refuses file locks")
	if warned == s.d.fileLocks {
		t.Errorf("file locks work: %v; New logged %q", s.d.fileLocks, buf.String())
	}
}

// A record that fills the first read exactly (readGuess bytes) is still
// checked for bytes after its end: a file with more is damaged.
func TestRecordOfOneReadWithTrailingBytes(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir, WithCleanupInterval(0), WithSync(false))
	data := bytes.Repeat([]byte("x"), readGuess-headerSize)
	mustSave(t, s, "k", data, time.Now().Add(time.Hour))
	if got, found := load(t, s, "k"); !found || !bytes.Equal(got, data) {
		t.Fatalf("a record of exactly %d bytes: found %v, %d bytes", readGuess, found, len(got))
	}
	f, err := os.OpenFile(s.d.locate("k").file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("junk"))
	f.Close()
	if _, found := load(t, s, "k"); found {
		t.Error("a record file with bytes after its end was loaded")
	}
}

// DeleteExpired cleans every shard, the first one too, and leaves
// directories that are not shards alone.
func TestDeleteExpiredEveryShard(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir, WithCleanupInterval(0), WithSync(false))
	var keys []string
	for i := 0; len(keys) < shardCount*4; i++ {
		keys = append(keys, fmt.Sprint("k", i))
	}
	shards := map[int]bool{}
	for _, k := range keys {
		shards[s.d.locate(k).shard] = true
		mustSave(t, s, k, []byte("v"), time.Now().Add(time.Second))
	}
	if !shards[0] {
		t.Fatal("no key in shard 0")
	}
	stray := filepath.Join(dir, "sZZ")
	if err := os.Mkdir(stray, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stray, "k"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if n, err := s.DeleteExpired(t.Context()); err != nil || n != len(keys) {
		t.Errorf("DeleteExpired = (%d, %v), want (%d, nil)", n, err, len(keys))
	}
	if _, err := os.Stat(filepath.Join(stray, "k")); err != nil {
		t.Errorf("the file in a directory that is not a shard: %v", err)
	}
}

// Without WithCleanupInterval, expired files are removed every minute, as
// in every store package.
func TestDefaultCleanupInterval(t *testing.T) {
	if DefaultCleanupInterval != time.Minute {
		t.Errorf("DefaultCleanupInterval = %v, want 1m", DefaultCleanupInterval)
	}
	s := newStore(t, t.TempDir())
	if s.cleaner == nil {
		t.Error("no cleaner by default")
	}
}
