package fsstore

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKeysStayInTheDirectory saves records under keys that would escape
// the directory or break a file name if used as one, and checks that each
// keeps its own record in a file of a shard directory.
func TestKeysStayInTheDirectory(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "store")
	s := newStore(t, dir, WithSync(false))
	keys := []string{
		"", ".", "..", "../x", "../../etc/passwd", "a/b", "/abs", `a\b`, "a\x00b", "\x00",
		":", "::", ":lead", "a:b", "a.b", "a..b", "a:b:", ".lock", ".tmp-x", "=abc",
		"sab", "s00", "ab", "é", "CON", "nul", "a b", "a\nb",
		strings.Repeat("k", maxPlainLen), strings.Repeat("k", maxPlainLen+1),
		strings.Repeat("k", 1000), strings.Repeat("/..", 300),
		"session:" + strings.Repeat("A", 43), "session:" + strings.Repeat("a", 43),
	}
	exp := time.Now().Add(time.Hour)
	for _, k := range keys {
		mustSave(t, s, k, []byte("value of "+k), exp)
	}
	for _, k := range keys {
		if data, found := load(t, s, k); !found || string(data) != "value of "+k {
			t.Errorf("Load(%q) = (%q, %v), want its own record", k, data, found)
		}
	}
	if entries, err := os.ReadDir(parent); err != nil || len(entries) != 1 {
		t.Fatalf("the parent directory holds %v (%v), want only the store's directory", entries, err)
	}
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		parts := strings.Split(rel, string(filepath.Separator))
		switch {
		case d.IsDir() && len(parts) == 1 && shardOf(parts[0]) >= 0:
		case !d.IsDir() && len(parts) == 2 && shardOf(parts[0]) >= 0:
			if d.Name() != lockName {
				n++
			}
		default:
			t.Errorf("unexpected file %q", rel)
		}
		return nil
	})
	if err != nil || n != len(keys) {
		t.Fatalf("walk: %v; %d record files, want %d", err, n, len(keys))
	}
	for _, k := range keys {
		mustSave(t, s, k, nil, time.Now().Add(-time.Second))
	}
	if got := files(t, dir); len(got) != 0 {
		t.Fatalf("files after removing every key: %v", got)
	}
}

func TestNames(t *testing.T) {
	hashed := func(name string) bool { return len(name) == 65 && name[0] == hashedPrefix && isHex(name[1:]) }
	for _, tc := range []struct {
		key   string
		plain string // "" for a hashed name
	}{
		{"session:abcXYZ-_09", "session.abcXYZ-_09"},
		{"azAZ09", "azAZ09"},
		{"a`", ""}, {"a{", ""}, {"a@", ""}, {"a[", ""}, {"a/", ""}, {"a;", ""},
		{"a", "a"},
		{"a:b:c", "a.b.c"},
		{"", ""},
		{":a", ""},
		{"a.b", ""},
		{"a/b", ""},
		{strings.Repeat("x", maxPlainLen), strings.Repeat("x", maxPlainLen)},
		{strings.Repeat("x", maxPlainLen+1), ""},
	} {
		for _, hashAll := range []bool{false, true} {
			loc := locate(shardNames[:], tc.key, hashAll)
			name := filepath.Base(loc.file)
			if filepath.Dir(loc.file) != loc.dir || loc.dir != shardNames[loc.shard] {
				t.Errorf("locate(%q) = %+v: the file is not in its shard directory", tc.key, loc)
			}
			switch {
			case tc.plain != "" && !hashAll && name != tc.plain:
				t.Errorf("name of %q = %q, want %q", tc.key, name, tc.plain)
			case (tc.plain == "" || hashAll) && !hashed(name):
				t.Errorf("name of %q (hash all: %v) = %q, want '=' and 64 hex digits", tc.key, hashAll, name)
			}
		}
	}
}

// A location costs two allocations, the name being built in place: one
// for its bytes, one for the string.
func TestLocateAllocatesTheNameOnce(t *testing.T) {
	var dirs []string
	for _, name := range shardNames {
		dirs = append(dirs, "/var/lib/an-application/sessions/"+name)
	}
	for _, key := range []string{"session:abc", "a/b"} {
		if n := testing.AllocsPerRun(100, func() { locate(dirs, key, false) }); n > 2 {
			t.Errorf("locate(%q): %v allocations, want 2", key, n)
		}
	}
}
