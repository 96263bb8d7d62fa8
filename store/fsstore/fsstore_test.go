package fsstore

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
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
		return newStore(t, t.TempDir(), WithCleanupInterval(0))
	})
}

// TestConformanceWithCleaner runs the suite with a cleaner busy on the
// same directory, to shake out races between cleanup and writes.
func TestConformanceWithCleaner(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return newStore(t, t.TempDir(), WithCleanupInterval(5*time.Millisecond), WithSync(false))
	})
}

// newStore returns a store on dir, closed at the end of the test.
func newStore(t testing.TB, dir string, opts ...Option) *Store {
	t.Helper()
	s, err := New(dir, opts...)
	if err != nil {
		t.Fatalf("New(%q): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustSave(t testing.TB, s *Store, key string, data []byte, expiresAt time.Time) {
	t.Helper()
	if err := s.Save(t.Context(), key, data, expiresAt); err != nil {
		t.Fatalf("Save(%q): %v", key, err)
	}
}

func load(t testing.TB, s *Store, key string) ([]byte, bool) {
	t.Helper()
	data, found, err := s.Load(t.Context(), key)
	if err != nil {
		t.Fatalf("Load(%q): %v", key, err)
	}
	return data, found
}

// files returns the paths of the regular files under dir, but for the
// shards' lock files.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && d.Name() != lockName {
			out = append(out, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestNewCreatesDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	newStore(t, dir)
	info, err := os.Stat(dir)
	if err != nil || !info.IsDir() || info.Mode().Perm() != 0o700 {
		t.Fatalf("Stat(%q) = %v, %v; want a directory with mode 0700", dir, info, err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Fatalf("New left files behind: %v", got)
	}
}

func TestNewUnusableDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"empty":             "",
		"regular file":      file,
		"under a file":      filepath.Join(file, "sub"),
		"cannot create":     "/proc/sessions-test",
		"no files allowed":  "/proc",
		"file in /dev/null": "/dev/null/x",
	}
	for name, dir := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := New(dir, WithCleanupInterval(time.Millisecond))
			if err == nil {
				s.Close()
				t.Fatalf("New(%q) succeeded, want an error", dir)
			}
			if !strings.HasPrefix(err.Error(), "fsstore: ") || (dir != "" && !strings.Contains(err.Error(), dir)) {
				t.Errorf("New(%q) error %q does not name the package and the directory", dir, err)
			}
		})
	}
}

func TestFileModes(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	for _, k := range []string{"a", "b", "c"} {
		mustSave(t, s, k, []byte("secret"), time.Now().Add(time.Hour))
	}
	if err := s.Touch(t.Context(), "a", time.Now().Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		switch {
		case d.IsDir():
			want = fs.ModeDir | 0o700
		case d.Name() != lockName:
			n++
		}
		if info.Mode() != want {
			t.Errorf("%s has mode %v, want %v", path, info.Mode(), want)
		}
		return nil
	})
	if err != nil || n != 3 {
		t.Fatalf("walk: %v, %d files; want 3 files", err, n)
	}
}

func TestFileLayout(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	const key = "session:AbC-_09"
	mustSave(t, s, key, []byte("v"), time.Now().Add(time.Hour))
	path := s.d.locate(key).file
	rel, _ := filepath.Rel(dir, path)
	shard := fmt.Sprintf("s%02x", crc32.Checksum([]byte(key), castagnoli)&0xff)
	if want := filepath.Join(shard, "session.AbC-_09"); rel != want {
		t.Fatalf("record path %q, want %q", rel, want)
	}
	if got := files(t, dir); len(got) != 1 || got[0] != path {
		t.Fatalf("files = %v, want [%s]", got, path)
	}
}

func TestDamagedFilesAreNotFound(t *testing.T) {
	s := newStore(t, t.TempDir(), WithCleanupInterval(0))
	good := encode(record{exp: time.Now().Add(time.Hour).UnixNano(), data: []byte("some session data")})
	flipped := bytes.Clone(good)
	flipped[len(flipped)-1] ^= 1
	newer := bytes.Clone(good)
	newer[7] = formatVersion + 1
	cases := map[string][]byte{
		"empty":         {},
		"short":         []byte("ses"),
		"header only":   good[:headerSize],
		"truncated":     good[:len(good)-3],
		"extra bytes":   append(bytes.Clone(good), 'x'),
		"bad magic":     append([]byte("SESSKIT"), good[7:]...),
		"bad checksum":  flipped,
		"newer version": newer,
		"garbage":       bytes.Repeat([]byte{0xff}, 100),
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			key := "key " + name
			mustSave(t, s, key, []byte("some session data"), time.Now().Add(time.Hour))
			path := s.d.locate(key).file
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			if data, found := load(t, s, key); found {
				t.Fatalf("Load of a damaged file found %q", data)
			}
			if err := s.Touch(t.Context(), key, time.Now().Add(time.Hour)); err != nil {
				t.Fatalf("Touch of a damaged file: %v", err)
			}
		})
	}
	// The damaged files (not the newer format) are garbage for cleanup.
	n, err := s.DeleteExpired(t.Context())
	if err != nil || n != 4 {
		t.Fatalf("DeleteExpired() = (%d, %v), want (4, nil): empty, short, bad magic and garbage files", n, err)
	}
}

func TestConcurrentReadersSeeWholeRecords(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir, WithSync(false))
	const size = 256 << 10
	exp := time.Now().Add(time.Hour)
	mustSave(t, s, "big", bytes.Repeat([]byte{0}, size), exp)

	var stop atomic.Bool
	var reads, writes atomic.Int64
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				v := bytes.Repeat([]byte{byte(w*128 + i%128)}, size)
				if err := s.Save(t.Context(), "big", v, exp); err != nil {
					t.Error(err)
					return
				}
				writes.Add(1)
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				data, found, err := s.Load(t.Context(), "big")
				if err != nil || !found {
					t.Errorf("Load during overwrites = (found %v, %v), want the record", found, err)
					return
				}
				if len(data) != size || bytes.Count(data, data[:1]) != size {
					t.Errorf("Load during overwrites returned a partial or mixed record (%d bytes)", len(data))
					return
				}
				reads.Add(1)
			}
		})
	}
	// Run until enough reads overlapped enough writes (or for 10 s).
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if t.Failed() || reads.Load() >= 100 && writes.Load() >= 30 {
			break
		}
	}
	stop.Store(true)
	wg.Wait()
	if reads.Load() < 100 || writes.Load() < 30 {
		t.Fatalf("only %d reads and %d writes: the test did not overlap them", reads.Load(), writes.Load())
	}
	t.Logf("%d reads, %d writes", reads.Load(), writes.Load())
	if got := files(t, dir); len(got) != 1 {
		t.Fatalf("files after the writes: %v, want only the record", got)
	}
}

func TestTwoStoresShareADirectory(t *testing.T) {
	dir := t.TempDir()
	a, b := newStore(t, dir), newStore(t, dir)
	exp := time.Now().Add(time.Hour)
	mustSave(t, a, "k", []byte("from a"), exp)
	if data, found := load(t, b, "k"); !found || string(data) != "from a" {
		t.Fatalf("b.Load = (%q, %v), want a's record", data, found)
	}
	mustSave(t, b, "k", []byte("from b"), exp)
	if data, found := load(t, a, "k"); !found || string(data) != "from b" {
		t.Fatalf("a.Load = (%q, %v), want b's record", data, found)
	}
	if err := a.Delete(t.Context(), "k"); err != nil {
		t.Fatal(err)
	}
	if _, found := load(t, b, "k"); found {
		t.Fatal("b still finds the record a deleted")
	}
}

func TestCleanerRemovesExpiredKeepsLive(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir, WithCleanupInterval(20*time.Millisecond), WithSync(false))
	soon := time.Now().Add(50 * time.Millisecond)
	for _, k := range []string{"e1", "e2", "e3", "e4", "e5"} {
		mustSave(t, s, k, []byte(k), soon)
	}
	for _, k := range []string{"l1", "l2"} {
		mustSave(t, s, k, []byte(k), time.Now().Add(time.Hour))
	}
	// Temporary files: one from a writer that crashed long ago, one that
	// a writer may still be filling.
	path := s.d.locate("l1").file
	stale, fresh := filepath.Join(filepath.Dir(path), tempPrefix+"stale"), filepath.Join(filepath.Dir(path), tempPrefix+"fresh")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-staleAge - time.Minute)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}

	for deadline := time.Now().Add(5 * time.Second); len(files(t, dir)) != 3; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("files five seconds after expiry: %v, want the two live records and the fresh temporary file", files(t, dir))
		}
	}
	for _, k := range []string{"l1", "l2"} {
		if data, found := load(t, s, k); !found || string(data) != k {
			t.Fatalf("Load(%q) = (%q, %v) after cleanup, want the live record", k, data, found)
		}
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Fatalf("cleanup removed a recent temporary file: %v", err)
	}
}

func TestDeleteExpiredCounts(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir, WithCleanupInterval(0), WithSync(false))
	soon := time.Now().Add(time.Second) // room for slow saves on a loaded machine
	for i := range 5 {
		mustSave(t, s, string(rune('a'+i)), []byte("x"), soon)
	}
	mustSave(t, s, "live", []byte("x"), time.Now().Add(time.Hour))
	time.Sleep(time.Until(soon) + 20*time.Millisecond)
	if n, err := s.DeleteExpired(t.Context()); err != nil || n != 5 {
		t.Fatalf("DeleteExpired() = (%d, %v), want (5, nil)", n, err)
	}
	if got := files(t, dir); len(got) != 1 {
		t.Fatalf("files = %v, want the live record only", got)
	}
}

func TestTouchDoesNotReviveDeleted(t *testing.T) {
	s := newStore(t, t.TempDir())
	mustSave(t, s, "k", []byte("v"), time.Now().Add(time.Hour))
	if err := s.Delete(t.Context(), "k"); err != nil {
		t.Fatal(err)
	}
	if err := s.Touch(t.Context(), "k", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, found := load(t, s, "k"); found {
		t.Fatal("Touch revived a deleted record")
	}
}

func TestUseAfterClose(t *testing.T) {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(s.Close(), s.Close()); err != nil {
		t.Fatalf("Close twice: %v", err)
	}
	ctx, exp := t.Context(), time.Now().Add(time.Hour)
	_, _, errLoad := s.Load(ctx, "k")
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
		"DeleteExpired": errDE,
	} {
		if !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close = %v, want an error wrapping store.ErrClosed", name, err)
		}
	}
}

func TestDroppedStoreStopsCleaner(t *testing.T) {
	before := goleak.IgnoreCurrent()
	func() {
		s, err := New(t.TempDir(), WithCleanupInterval(time.Millisecond), WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		mustSave(t, s, "k", []byte("v"), time.Now().Add(time.Hour)) // never closed
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
	t.Fatalf("a Store dropped without Close left its cleaner running: %v", err)
}

func TestCloseStopsCleaner(t *testing.T) {
	before := goleak.IgnoreCurrent()
	s := newStore(t, t.TempDir(), WithCleanupInterval(time.Millisecond))
	if err := goleak.Find(before); err == nil {
		t.Fatal("no cleaner goroutine is running")
	}
	s.Close()
	if err := goleak.Find(before); err != nil {
		t.Fatalf("Close left a goroutine running: %v", err)
	}
}

// A nil Option is ignored and a nil logger means slog.Default(), as
// everywhere in the module.
func TestNilOptionAndLoggerAreDefaults(t *testing.T) {
	s := newStore(t, t.TempDir(), nil, WithLogger(nil))
	if s.cleaner == nil {
		t.Error("New(nil, WithLogger(nil)) started no background cleanup")
	}
}

// TestCleanupErrorsAreLogged replaces the directory with a file under a
// running cleaner: its error must reach the logger, at level Warn (the
// next run retries).
func TestCleanupErrorsAreLogged(t *testing.T) {
	var buf syncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	dir := filepath.Join(t.TempDir(), "store")
	newStore(t, dir, WithCleanupInterval(5*time.Millisecond), WithLogger(logger))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		out := buf.String()
		if strings.Contains(out, `level=WARN msg="fsstore: background cleanup failed" dir=`) && strings.Contains(out, "error=") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the logger got %q, want a WARN line with the directory and the cleanup error under the key error", out)
		}
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
