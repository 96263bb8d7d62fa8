// Command benchtable runs the comparison benchmarks of this module and
// prints them as Markdown tables: one per store, a row per scenario and
// library, with the median ns/op, B/op and allocs/op of the runs and the
// time of each other library relative to this one (sessions).
//
// From the bench directory:
//
//	go run ./cmd/benchtable                     # go test -run '^$' -bench . -benchmem -count 5 -benchtime 300ms
//	go run ./cmd/benchtable -raw results.txt    # also keep go test's output (for benchstat)
//	go run ./cmd/benchtable -in results.txt     # tables from a saved output, without running
//
// Redis benchmarks need SESSIONS_TEST_REDIS_ADDR (or Docker); without it
// they are skipped and the redis table is missing.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/sessionkit/sessions/bench/internal/benchrun"
)

// baseline is the library the others are compared with.
const baseline = "sessions"

func main() {
	count := flag.Int("count", 5, "runs of each benchmark (the tables show medians)")
	benchtime := flag.String("benchtime", "300ms", "go test -benchtime")
	bench := flag.String("bench", ".", "go test -bench")
	dir := flag.String("dir", ".", "the bench module's directory")
	raw := flag.String("raw", "", "also write go test's output to this file")
	in := flag.String("in", "", "read a saved go test output instead of running the benchmarks")
	flag.Parse()

	args := []string{"test", "-run", "^$", "-bench", *bench, "-benchmem",
		"-count", strconv.Itoa(*count), "-benchtime", *benchtime, "."}
	out, runErr, err := benchrun.Output(*in, *dir, *raw, args, nil)
	if err != nil {
		fatal(err)
	}

	r := parse(out)
	if len(r.order) == 0 {
		fatal(fmt.Errorf("no benchmark results (go test: %v)", runErr))
	}
	r.print(os.Stdout)
	if runErr != nil {
		fatal(fmt.Errorf("go test: %w (the tables show what finished)", runErr))
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "benchtable:", err)
	os.Exit(1)
}

// A sample is the runs of one benchmark.
type sample struct {
	ns, bytes, allocs []float64
}

type results struct {
	header []string // goos, goarch, cpu, pkg
	order  []string // benchmark names, in order of first appearance
	procs  string   // the -N suffix (GOMAXPROCS)
	runs   map[string]*sample
}

var (
	lineRE  = regexp.MustCompile(`^Benchmark(\S+)\s+\d+\s+([\d.]+) ns/op(?:\s+([\d.]+) B/op)?(?:\s+([\d.]+) allocs/op)?`)
	procsRE = regexp.MustCompile(`-(\d+)$`)
)

func parse(out []byte) *results {
	r := &results{runs: map[string]*sample{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		for _, h := range []string{"goos:", "goarch:", "cpu:"} {
			if strings.HasPrefix(line, h) && !slices.Contains(r.header, line) {
				r.header = append(r.header, strings.TrimSpace(line))
			}
		}
		m := lineRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		name := m[1]
		if p := procsRE.FindStringSubmatch(name); p != nil {
			r.procs = p[1]
			name = strings.TrimSuffix(name, p[0])
		}
		s := r.runs[name]
		if s == nil {
			s = &sample{}
			r.runs[name] = s
			r.order = append(r.order, name)
		}
		s.ns = append(s.ns, num(m[2]))
		s.bytes = append(s.bytes, num(m[3]))
		s.allocs = append(s.allocs, num(m[4]))
	}
	return r
}

func num(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

func (r *results) print(w io.Writer) {
	for _, h := range r.header {
		fmt.Fprintf(w, "%s  \n", h)
	}
	runs := 0
	for _, s := range r.runs {
		runs = max(runs, len(s.ns))
	}
	fmt.Fprintf(w, "GOMAXPROCS %s; median of %d runs; parallel scenarios: 64 concurrent clients\n", r.procs, runs)

	// Sessions/<store>/<scenario>/<lib>, grouped by store in first-seen order.
	var storeOrder []string
	rows := map[string][][3]string{} // store -> (scenario, lib, full name)
	for _, name := range r.order {
		p := strings.Split(name, "/")
		if len(p) != 4 || p[0] != "Sessions" {
			continue
		}
		if _, ok := rows[p[1]]; !ok {
			storeOrder = append(storeOrder, p[1])
		}
		rows[p[1]] = append(rows[p[1]], [3]string{p[2], p[3], name})
	}
	for _, st := range storeOrder {
		fmt.Fprintf(w, "\n### %s\n\n", st)
		fmt.Fprintln(w, "| scenario | library | ns/op | B/op | allocs/op | ns/op vs "+baseline+" |")
		fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|")
		for _, row := range rows[st] {
			scenario, lib, name := row[0], row[1], row[2]
			s := r.runs[name]
			ns := benchrun.Median(s.ns)
			ratio := "—"
			if lib == baseline {
				ratio = "1x"
			} else if base, ok := r.runs["Sessions/"+st+"/"+scenario+"/"+baseline]; ok && benchrun.Median(base.ns) > 0 {
				ratio = fmt.Sprintf("%s/%s = %sx", lib, baseline, ratioStr(ns/benchrun.Median(base.ns)))
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", scenario, lib,
				benchrun.Group(ns), benchrun.Group(benchrun.Median(s.bytes)), benchrun.Group(benchrun.Median(s.allocs)), ratio)
		}
	}
	fmt.Fprintln(w, "\ngorilla/sessions has no idle timeout: it has no idle-readonly rows. "+
		"The cookie store exists only in gorilla, so that table has no ratio.")
	for _, name := range r.order {
		if strings.HasPrefix(name, "Baseline/") {
			s := r.runs[name]
			fmt.Fprintf(w, "Harness alone (%s, no sessions): %s ns/op, %s B/op, %s allocs/op.\n",
				strings.TrimPrefix(name, "Baseline/"), trim(benchrun.Median(s.ns)), benchrun.Group(benchrun.Median(s.bytes)), benchrun.Group(benchrun.Median(s.allocs)))
		}
	}
}

func ratioStr(x float64) string {
	switch {
	case x >= 10:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case x >= 0.1:
		return strconv.FormatFloat(x, 'f', 1, 64)
	}
	return strconv.FormatFloat(x, 'f', 2, 64)
}

func trim(x float64) string {
	if x >= 100 {
		return benchrun.Group(x)
	}
	return strconv.FormatFloat(x, 'f', 1, 64)
}
