package redisstore

import (
	"crypto/sha1"
	"encoding/hex"
	"testing"
)

// TestScriptSHA1 checks the SHA-1 written down next to the script.
func TestScriptSHA1(t *testing.T) {
	sum := sha1.Sum([]byte(saveIf.src))
	if got := hex.EncodeToString(sum[:]); got != saveIf.sha1 {
		t.Fatalf("saveIf.sha1 = %s, want %s (the script changed)", saveIf.sha1, got)
	}
}
