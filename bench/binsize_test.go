package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// maxSizeRatio bounds the size of the memory-only hello-world on sessions
// relative to the same program on scs's memstore.
const maxSizeRatio = 1.10

// TestBinarySize builds the hello-world of internal/hello on sessions and
// on scs with go build's default flags and fails when the first is more
// than maxSizeRatio times the second: a program that keeps its sessions
// in memory must not pay for the other stores or their clients. The
// numbers: go test -run BinarySize -v.
func TestBinarySize(t *testing.T) {
	goCmd, err := exec.LookPath("go") // go test puts its own first on PATH
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	size := func(prog string) int64 {
		out := filepath.Join(dir, prog)
		cmd := exec.Command(goCmd, "build", "-o", out, "./internal/hello/"+prog)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", prog, err, b)
		}
		fi, err := os.Stat(out)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	ours, scs := size("sessions"), size("scs")
	ratio := float64(ours) / float64(scs)
	t.Logf("%s/%s hello-world: sessions %d bytes, scs %d bytes, %.3fx (at most %.2fx)",
		runtime.GOOS, runtime.GOARCH, ours, scs, ratio, maxSizeRatio)
	if ratio > maxSizeRatio {
		t.Errorf("the sessions hello-world is %.3fx the scs one, over %.2fx: see what it links with go tool nm -size -sort size", ratio, maxSizeRatio)
	}
}
