package storetest

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// The random records are random to their last byte: every byte value
// shows up, and no stretch stays zero.
func TestRandomBytes(t *testing.T) {
	for _, n := range []int{1, 7, 8, 9, 64 << 10} {
		b := randomBytes(n)
		if len(b) != n {
			t.Fatalf("randomBytes(%d) has %d bytes", n, len(b))
		}
	}
	b := randomBytes(64 << 10)
	var seen [256]int
	for _, c := range b {
		seen[c]++
	}
	for v, n := range seen {
		if n < 128 || n > 384 { // 256 expected; this is 8 standard deviations
			t.Errorf("byte %d appears %d times in 64 KiB, want about 256", v, n)
		}
	}
	for i := 0; i+8 <= len(b); i += 8 {
		if string(b[i:i+8]) == "\x00\x00\x00\x00\x00\x00\x00\x00" {
			t.Errorf("8 zero bytes at %d", i)
		}
	}
	if tail := randomBytes(13)[8:]; string(tail) == "\x00\x00\x00\x00\x00" {
		t.Error("the last, partial word of randomBytes(13) is zero")
	}
}

// Failure messages quote short records whole and long ones by length and
// start, and point at the first byte that differs.
func TestFailureMessages(t *testing.T) {
	short := []byte(strings.Repeat("x", 120))
	if got := show(short); got != `"`+string(short)+`"` {
		t.Errorf("show(120 bytes) = %s", got)
	}
	long := []byte(strings.Repeat("y", 121))
	if got, want := show(long), `121 bytes starting "`+strings.Repeat("y", 32)+`"`; got != want {
		t.Errorf("show(121 bytes) = %s, want %s", got, want)
	}
	for _, c := range []struct {
		got, want string
		at        int
	}{{"abcd", "abXd", 2}, {"abc", "abcd", 3}, {"", "a", 0}, {"same", "same", 4}} {
		if m := mismatch([]byte(c.got), []byte(c.want)); !strings.HasSuffix(m, "(first difference at byte "+strconv.Itoa(c.at)+")") {
			t.Errorf("mismatch(%q, %q) = %s, want the difference at byte %d", c.got, c.want, m, c.at)
		}
	}
}

// The messages of the checks say what they saw.
func TestCheckMessages(t *testing.T) {
	if got := describeTouch(time.Now()); got != "a touch in the past" {
		t.Errorf("describeTouch(now) = %q", got)
	}
	if got := describeTouch(time.Now().Add(time.Hour + 400*time.Millisecond)); got != "a touch 1h0m0s ahead" {
		t.Errorf("describeTouch(in an hour) = %q", got)
	}
	s := newMapStore("")
	err := checkOwn(t.Context(), s, "k", []byte("v"))
	if err == nil || !strings.Contains(err.Error(), "found = false, want true") {
		t.Errorf("checkOwn of a missing record: %v", err)
	}
}
