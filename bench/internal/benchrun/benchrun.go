// Package benchrun is what the table commands of the bench module share:
// getting go test's benchmark output, and the numbers the tables print.
package benchrun

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// Output returns the go test output the tables are made from: the file in,
// when in is set; else the output of `go args...` run in dir, shown on
// stderr as it comes and saved to raw when raw is set. watch, if not nil,
// is started before the command; what the function it returns returns is
// appended to the output. runErr is the command's own failure, after which
// the tables can still show what finished; err is any other.
func Output(in, dir, raw string, args []string, watch func() func() []byte) (out []byte, runErr, err error) {
	if in != "" {
		out, err = os.ReadFile(in)
		return out, nil, err
	}
	fmt.Fprintf(os.Stderr, "go %s\n", strings.Join(args, " "))
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var buf bytes.Buffer
	cmd.Stdout = io.MultiWriter(&buf, os.Stderr) // progress as it comes
	cmd.Stderr = os.Stderr
	var stop func() []byte
	if watch != nil {
		stop = watch()
	}
	runErr = cmd.Run()
	if stop != nil {
		buf.Write(stop())
	}
	out = buf.Bytes()
	if raw != "" {
		err = os.WriteFile(raw, out, 0o644)
	}
	return out, runErr, err
}

// Median returns the median of xs, or NaN for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Group formats x rounded to an integer with thousands separators, and
// NaN as "—".
func Group(x float64) string {
	if math.IsNaN(x) {
		return "—"
	}
	s := strconv.FormatFloat(x, 'f', 0, 64)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && c != '-' && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
