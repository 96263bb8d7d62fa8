// Command wiretable runs BenchmarkWire (the "close to the wire"
// comparison: a fresh httptest request, cookie and recorder per request,
// this library against a baseline without it) and prints its tables: per
// case, the median of every metric over the rounds, and each library's
// time relative to the case's reference as the median of the per-round
// ratios (a library and its reference run back to back in every round, so
// a change in the machine's load hits both). It also prints the issue 13
// targets, met or not, and the load average during the run.
//
// From the bench directory:
//
//	go run ./cmd/wiretable                    # 9 interleaved rounds, 300ms each
//	go run ./cmd/wiretable -raw wire.txt      # also keep go test's output
//	go run ./cmd/wiretable -in wire.txt       # tables from a saved output
//
// The Redis cases need SESSIONS_TEST_REDIS_ADDR (or Docker).
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sessionkit/sessions/bench/internal/benchrun"
)

func main() {
	rounds := flag.Int("rounds", 9, "interleaved rounds of every case (the tables show medians)")
	benchtime := flag.String("benchtime", "300ms", "go test -benchtime of each measurement")
	bench := flag.String("bench", "", "only the cases matching this go test -bench pattern below BenchmarkWire (e.g. 'redis')")
	dir := flag.String("dir", ".", "the bench module's directory")
	raw := flag.String("raw", "", "also write go test's output to this file")
	in := flag.String("in", "", "read a saved go test output instead of running the benchmarks")
	flag.Parse()

	pattern := "^BenchmarkWire$"
	if *bench != "" {
		pattern += "/" + *bench
	}
	args := []string{"test", "-run", "^$", "-bench", pattern, "-benchmem", "-count", "1",
		"-benchtime", *benchtime, "-timeout", "0", ".", "-args", "-wire.rounds", strconv.Itoa(*rounds)}
	out, runErr, err := benchrun.Output(*in, *dir, *raw, args, watchLoad)
	if err != nil {
		fatal(err)
	}
	r := parse(out)
	if len(r.cases) == 0 {
		fatal(fmt.Errorf("no benchmark results (go test: %v)", runErr))
	}
	r.print(os.Stdout)
	if runErr != nil {
		fatal(fmt.Errorf("go test: %w (the tables show what finished)", runErr))
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "wiretable:", err)
	os.Exit(1)
}

// watchLoad samples the load average every 10 seconds until stop is
// called, which returns the samples as "load: <1m> <5m> <15m>" lines (for
// the end of the output: go test writes a benchmark's name before it runs
// it, so a line cannot go in between).
func watchLoad() (stop func() []byte) {
	var (
		mu  sync.Mutex
		out bytes.Buffer
	)
	sample := func() {
		b, err := os.ReadFile("/proc/loadavg")
		if err != nil {
			return
		}
		if f := strings.Fields(string(b)); len(f) >= 3 {
			mu.Lock()
			fmt.Fprintf(&out, "load: %s %s %s\n", f[0], f[1], f[2])
			mu.Unlock()
		}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	})
	sample()
	return func() []byte {
		close(done)
		wg.Wait()
		sample()
		return out.Bytes()
	}
}

// A run is one measurement: one library in one round of one case.
type run struct {
	metrics map[string]float64 // unit -> value
}

// A caseResult is one case: its libraries, each with one run per round.
type caseResult struct {
	name   string
	libs   []string
	rounds map[string][]run // lib -> runs in round order
}

type results struct {
	header []string
	procs  string
	cases  []*caseResult
	byName map[string]*caseResult
	load   []float64 // 1-minute load averages sampled during the run
}

var (
	lineRE   = regexp.MustCompile(`^BenchmarkWire/(\S+)\s+\d+\s+(.*)$`)
	metricRE = regexp.MustCompile(`([\d.]+) (\S+)`)
	procsRE  = regexp.MustCompile(`-(\d+)$`)
	roundRE  = regexp.MustCompile(`#\d+$`)
)

func parse(out []byte) *results {
	r := &results{byName: map[string]*caseResult{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		for _, h := range []string{"goos:", "goarch:", "cpu:"} {
			if strings.HasPrefix(line, h) && !slices.Contains(r.header, line) {
				r.header = append(r.header, strings.TrimSpace(line))
			}
		}
		if l, ok := strings.CutPrefix(line, "load: "); ok {
			if f, err := strconv.ParseFloat(strings.Fields(l)[0], 64); err == nil {
				r.load = append(r.load, f)
			}
			continue
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
		// <store>/<scenario>[#NN]/<lib>
		i := strings.LastIndex(name, "/")
		if i < 0 {
			continue
		}
		cname, lib := roundRE.ReplaceAllString(name[:i], ""), name[i+1:]
		c := r.byName[cname]
		if c == nil {
			c = &caseResult{name: cname, rounds: map[string][]run{}}
			r.byName[cname] = c
			r.cases = append(r.cases, c)
		}
		if _, ok := c.rounds[lib]; !ok {
			c.libs = append(c.libs, lib)
		}
		ru := run{metrics: map[string]float64{}}
		for _, mm := range metricRE.FindAllStringSubmatch(m[2], -1) {
			ru.metrics[mm[2]], _ = strconv.ParseFloat(mm[1], 64)
		}
		c.rounds[lib] = append(c.rounds[lib], ru)
	}
	return r
}

// metric returns lib's values of unit, one per round.
func (c *caseResult) metric(lib, unit string) []float64 {
	var xs []float64
	for _, ru := range c.rounds[lib] {
		if v, ok := ru.metrics[unit]; ok {
			xs = append(xs, v)
		}
	}
	return xs
}

// ratios returns, per round, f(lib's value, ref's value) of unit.
func (c *caseResult) ratios(lib, ref, unit string, f func(x, ref float64) float64) []float64 {
	a, b := c.metric(lib, unit), c.metric(ref, unit)
	var xs []float64
	for i := range min(len(a), len(b)) {
		xs = append(xs, f(a[i], b[i]))
	}
	return xs
}

func slower(x, ref float64) float64     { return x / ref }
func throughput(x, ref float64) float64 { return ref / x }

// reference returns the library the others in c are compared with, and
// how the comparison reads.
func (c *caseResult) reference() (ref string, f func(x, ref float64) float64, label string) {
	switch {
	case slices.Contains(c.libs, "bare"):
		return "bare", throughput, "throughput vs bare"
	case slices.Contains(c.libs, "files=100"):
		return "files=100", slower, "time vs files=100"
	default:
		return "sessions", slower, "time vs sessions"
	}
}

func (r *results) print(w io.Writer) {
	for _, h := range r.header {
		fmt.Fprintf(w, "%s  \n", h)
	}
	runs := 0
	for _, c := range r.cases {
		for _, l := range c.libs {
			runs = max(runs, len(c.rounds[l]))
		}
	}
	fmt.Fprintf(w, "GOMAXPROCS %s; %d interleaved rounds; medians over the rounds; ratios: median (min–max) of the per-round ratios\n", r.procs, runs)
	if len(r.load) > 0 {
		fmt.Fprintf(w, "1-minute load average during the run: median %.1f, min %.1f, max %.1f (%d samples)\n",
			benchrun.Median(r.load), slices.Min(r.load), slices.Max(r.load), len(r.load))
	}
	for _, c := range r.cases {
		ref, f, label := c.reference()
		server := len(c.metric(c.libs[0], "server-cpu-ns/op")) > 0
		fmt.Fprintf(w, "\n### %s\n\n", c.name)
		head := "| library | ns/op | cpu-ns/op |"
		sep := "|---|--:|--:|"
		if server {
			head += " server cpu-ns/op |"
			sep += "--:|"
		}
		head += " B/op | allocs/op | " + label + " | cpu-ns " + label + " |"
		sep += "--:|--:|--:|--:|"
		fmt.Fprintln(w, head)
		fmt.Fprintln(w, sep)
		for _, lib := range c.libs {
			row := fmt.Sprintf("| %s | %s | %s |", lib, benchrun.Group(benchrun.Median(c.metric(lib, "ns/op"))), benchrun.Group(benchrun.Median(c.metric(lib, "cpu-ns/op"))))
			if server {
				row += fmt.Sprintf(" %s |", benchrun.Group(benchrun.Median(c.metric(lib, "server-cpu-ns/op"))))
			}
			row += fmt.Sprintf(" %s | %s |", benchrun.Group(benchrun.Median(c.metric(lib, "B/op"))), benchrun.Group(benchrun.Median(c.metric(lib, "allocs/op"))))
			if lib == ref {
				row += " — | — |"
			} else {
				row += fmt.Sprintf(" %s | %s |", spread(c.ratios(lib, ref, "ns/op", f)), spread(c.ratios(lib, ref, "cpu-ns/op", f)))
			}
			fmt.Fprintln(w, row)
		}
	}
	r.targets(w)
}

// targets prints the targets of issue 13 ("Close to the wire").
func (r *results) targets(w io.Writer) {
	fmt.Fprintf(w, "\n### Targets\n\n| target | measured | met |\n|---|---|---|\n")
	row := func(target, measured string, ok bool) {
		met := "no"
		if ok {
			met = "yes"
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", target, measured, met)
	}
	for _, name := range []string{"redis/readonly-parallel", "redis/readonly-parallel-live", "redis/idle-readonly-parallel", "redis/modify-parallel"} {
		c := r.byName[name]
		if c == nil {
			continue
		}
		pct := func(lib, ref, unit string) float64 {
			return 100 * benchrun.Median(c.ratios(lib, ref, unit, throughput))
		}
		measured := fmt.Sprintf("%.0f%% (cpu-ns: %.0f%%)", pct("sessions", "bare", "ns/op"), pct("sessions", "bare", "cpu-ns/op"))
		if slices.Contains(c.libs, "floor") {
			// The floor is the least any session library does: what
			// it leaves under the target is all a library may add.
			measured += fmt.Sprintf("; floor %.0f%% (cpu-ns: %.0f%%); sessions %.0f%% of floor",
				pct("floor", "bare", "ns/op"), pct("floor", "bare", "cpu-ns/op"), pct("sessions", "floor", "ns/op"))
		}
		row(name+": throughput ≥ 90% of bare", measured, pct("sessions", "bare", "ns/op") >= 90)
	}
	for _, scen := range []string{"readonly", "modify"} {
		c := r.byName["memory-100kB/"+scen]
		if c == nil {
			continue
		}
		x := benchrun.Median(c.ratios("scs", "sessions", "ns/op", slower))
		row("memory 100 kB "+scen+": ≥ 2x faster than scs", fmt.Sprintf("%.1fx (cpu-ns: %.1fx)", x,
			benchrun.Median(c.ratios("scs", "sessions", "cpu-ns/op", slower))), x >= 2)
	}
	// B/op of a read-only request over the bare handler, against the
	// value's size. The fixed part (the writer, the request copy, the key,
	// the small fields) is what memory/readonly's session adds.
	bareB, fixed := math.NaN(), math.NaN()
	if c := r.byName["memory/readonly"]; c != nil {
		bareB = benchrun.Median(c.metric("bare", "B/op"))
		fixed = benchrun.Median(c.metric("sessions", "B/op")) - bareB
	}
	for _, sz := range []struct {
		name string
		n    float64
	}{{"100B", 100}, {"10kB", 10 << 10}, {"100kB", 100 << 10}} {
		c := r.byName["memory-"+sz.name+"/readonly"]
		if c == nil || math.IsNaN(bareB) {
			continue
		}
		extra := benchrun.Median(c.metric("sessions", "B/op")) - bareB
		measured := fmt.Sprintf("%s B over bare = %.2f × value (fixed per request: %s B)", benchrun.Group(extra), extra/sz.n, benchrun.Group(fixed))
		target := fmt.Sprintf("memory %s read-only: allocates the value at most once (B/op over bare < 2 × %s B)", sz.name, benchrun.Group(sz.n))
		if fixed >= sz.n {
			fmt.Fprintf(w, "| %s | %s | n/a: the fixed part is larger than the value |\n", target, measured)
			continue
		}
		row(target, measured, extra < 2*sz.n)
	}
	for _, name := range []string{"memory/readonly", "redis/readonly-parallel", "redis/readonly-parallel-live", "redis/idle-readonly-parallel"} {
		c := r.byName[name]
		if c == nil {
			continue
		}
		extra := benchrun.Median(c.metric("sessions", "allocs/op")) - benchrun.Median(c.metric("bare", "allocs/op"))
		row(name+": ≤ 10 allocations over bare", fmt.Sprintf("%.0f", extra), extra <= 10)
	}
	for _, name := range []string{"filesystem/readonly", "filesystem/readonly-parallel"} {
		c := r.byName[name]
		if c == nil {
			continue
		}
		x := benchrun.Median(c.ratios("files=100000", "files=100", "ns/op", slower))
		row(name+": 100,000 files within 1.15x of 100", fmt.Sprintf("%.2fx (cpu-ns: %.2fx)", x,
			benchrun.Median(c.ratios("files=100000", "files=100", "cpu-ns/op", slower))), x <= 1.15)
	}
}

// spread formats the median and range of ratios.
func spread(xs []float64) string {
	if len(xs) == 0 {
		return "—"
	}
	return fmt.Sprintf("%s (%s–%s)", ratio(benchrun.Median(xs)), ratio(slices.Min(xs)), ratio(slices.Max(xs)))
}

func ratio(x float64) string {
	if x >= 10 {
		return strconv.FormatFloat(x, 'f', 0, 64) + "x"
	}
	return strconv.FormatFloat(x, 'f', 2, 64) + "x"
}
