package fsstore

// Tests that pin boundaries mutation testing found unpinned (issue 14).
// The synctest bubbles give a clock that stands still, so a deadline can
// be hit to the nanosecond.

import (
	"bytes"
	"log/slog"
	"os"
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
