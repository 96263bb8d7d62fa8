package fsstore

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// encodeV1 returns a record file of format 1.
func encodeV1(exp time.Time, data []byte) []byte {
	b := make([]byte, 24, 24+len(data))
	copy(b, magic)
	b[7] = 1
	binary.BigEndian.PutUint64(b[8:], uint64(exp.UnixNano()))
	binary.BigEndian.PutUint32(b[16:], uint32(len(data)))
	binary.BigEndian.PutUint32(b[20:], crc32.Checksum(data, castagnoli))
	return append(b, data...)
}

// writeV1 writes a format-1 record of key where that format put it, and
// returns its path.
func writeV1(t *testing.T, dir, key string, exp time.Time) string {
	t.Helper()
	sum := sha256.Sum256([]byte(key))
	name := hex.EncodeToString(sum[:])
	sub := filepath.Join(dir, name[:2], name[2:4])
	if err := os.MkdirAll(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(sub, name)
	if err := os.WriteFile(path, encodeV1(exp, []byte("old data")), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFormat1FilesAreAbsentThenCleaned(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir, WithCleanupInterval(0), WithSync(false))
	live := writeV1(t, dir, "session:live", time.Now().Add(time.Hour))
	writeV1(t, dir, "session:gone", time.Now().Add(-time.Hour))
	writeV1(t, dir, "session:gone2", time.Now().Add(-time.Minute))
	trash := filepath.Join(filepath.Dir(live), legacyTrashPrefix+"x")
	if err := os.WriteFile(trash, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-staleAge - time.Minute)
	if err := os.Chtimes(trash, old, old); err != nil {
		t.Fatal(err)
	}
	mustSave(t, s, "session:new", []byte("new"), time.Now().Add(time.Hour))

	for _, k := range []string{"session:live", "session:gone"} {
		if data, found := load(t, s, k); found {
			t.Fatalf("Load(%q) found the format-1 record %q, want it absent", k, data)
		}
	}
	if l := loadVersion(t, s, "session:live", time.Time{}); l.Found() {
		t.Fatalf("LoadVersion found a format-1 record: %+v", l)
	}
	n, err := s.DeleteExpired(t.Context())
	if err != nil || n != 2 {
		t.Fatalf("DeleteExpired() = (%d, %v), want the 2 expired format-1 records", n, err)
	}
	got := files(t, dir)
	if len(got) != 2 || !strings.HasSuffix(got[0], "session.new") && !strings.HasSuffix(got[1], "session.new") {
		t.Fatalf("files = %v, want the live format-1 record and the new record", got)
	}
	// The directories the expired records left empty are gone.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var legacy []string
	for _, e := range entries {
		if isLegacyDir(e.Name()) {
			legacy = append(legacy, e.Name())
		}
	}
	if len(legacy) != 1 || legacy[0] != filepath.Base(filepath.Dir(filepath.Dir(live))) {
		t.Fatalf("format-1 directories left: %v, want only the live record's", legacy)
	}
}

// The cleanup needs only the first 16 bytes of a format-1 file (magic,
// version, expiry): one cut short after them is still removed only once
// it has expired.
func TestFormat1HeaderIsEnoughForCleanup(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir, WithCleanupInterval(0), WithSync(false))
	path := writeV1(t, dir, "session:short", time.Now().Add(time.Hour))
	if err := os.Truncate(path, 16); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteExpired(t.Context()); err != nil || n != 0 {
		t.Errorf("DeleteExpired = (%d, %v), want (0, nil): the cut format-1 file has not expired", n, err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the cut format-1 file that has not expired: %v", err)
	}
}
