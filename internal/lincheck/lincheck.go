// Package lincheck is a model-based concurrency checker for the session
// lifecycle. It runs random concurrent histories of browsers against a
// Manager's Middleware on a real HTTP server, with store faults, panicking
// handlers, handlers that start the response early and clients that hang
// up, records what every request presented and observed, and checks each
// history with porcupine against a sequential model of LIFECYCLE.md
// (model.go), then checks the rules at rest that need no model.
//
// A history: a few clients (browsers with one cookie each; each has
// several tabs, requests in flight at once that share the cookie), two
// owners (users), operations drawn from a seed: read, set a field, incr a
// field with Update, login (Renew and SetOwner), logout (Destroy), revoke
// another client's session by ID, revokeowner, revokeothers, sessions.
// At rest, every token any response set is read again, and each owner's
// sessions listed: the model decides what they must show.
//
// What the checker knows of each request: when the client sent it and
// what it presented; from the server, when Get returned and when the
// handler went on to change the session (the windows of the operation's
// load and of its write, see appendEntries), when the handler returned,
// and the response it sent. A client that hung up is judged by the
// response the server sent it (LIFECYCLE.md: the token it would have
// been sent may stay live). An operation whose effect the client cannot
// know (an error response, a fault after an early response started) may
// have had any of its effects, and one whose handler panicked after its
// call succeeded, its effects without a response; see resolve.
//
// Flags (of the test binary; put them after the package):
//
//	-lincheck.histories N  histories per store (overrides each test's default)
//	-lincheck.seed S       replay the history of seed S: the same operations
//	                       and faults (the schedule is the machine's)
//	-lincheck.out DIR      where porcupine's visualizations of failing histories
//	                       go (default: the system temporary directory)
//	-lincheck.diagnose     name the rules every failing history broke (default:
//	                       only the histories reported in full)
package lincheck

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/sessionkit/sessions/store"
)

var (
	flagHistories = flag.Int("lincheck.histories", 0, "histories per store for the lincheck tests (0: each test's default)")
	flagSeed      = flag.Uint64("lincheck.seed", 0, "replay the lincheck history with this seed")
	flagOut       = flag.String("lincheck.out", "", "directory for visualizations of failing lincheck histories (default: the system temporary directory)")
	flagDiagnose  = flag.Bool("lincheck.diagnose", false, "name the rules every failing lincheck history broke (default: only those reported in full)")
)

// Config shapes the histories of a Run. Zero fields take their defaults;
// a negative rate turns that kind of fault off.
type Config struct {
	Histories    int           // histories to check, unless -lincheck.histories says otherwise (default 100)
	Clients      int           // browsers (default 3)
	Tabs         int           // requests one browser has in flight at once (default 2)
	Ops          int           // operations per tab (default 5)
	StoreTimeout time.Duration // the manager's WithStoreTimeout; timeout faults hang past it (default 100 ms)
	CheckTimeout time.Duration // porcupine's budget per history (default 3 min: a check takes milliseconds of CPU, but a loaded machine stretches its wall time)
	FaultRate    float64       // operations with an injected store fault (default 0.1)
	PanicRate    float64       // handlers that panic after their change (default 0.05)
	HangUpRate   float64       // clients that hang up once their session is loaded (default 0.04)
	EarlyRate    float64       // handlers that start the response before changing the session (default 0.08)
	Reports      int           // failing histories reported in full (default 3)
	// Seed is the first history's seed of a default run, so that every
	// `go test` checks the same operations and faults (their schedule is
	// still the machine's). A run with -lincheck.histories draws a random
	// base seed; so does a zero Seed.
	Seed uint64
	// Weights are the relative frequencies of the operation kinds
	// (default: defaultWeights); a kind left out is never drawn.
	Weights map[Kind]int
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Histories, 100)
	def(&c.Clients, 3)
	def(&c.Tabs, 2)
	def(&c.Ops, 5)
	def(&c.Reports, 3)
	if c.StoreTimeout <= 0 {
		c.StoreTimeout = 100 * time.Millisecond
	}
	if c.CheckTimeout <= 0 {
		c.CheckTimeout = 3 * time.Minute
	}
	rate := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	rate(&c.FaultRate, 0.1)
	rate(&c.PanicRate, 0.05)
	rate(&c.HangUpRate, 0.04)
	rate(&c.EarlyRate, 0.08)
	if c.Weights == nil {
		c.Weights = defaultWeights
	}
	return c
}

// historiesPerBatch is how many histories share a subtest, and so the
// lifetime of their stores (newStore's cleanups run when it ends).
const historiesPerBatch = 50

// Run checks cfg.Histories random histories, each against a fresh store
// from newStore (which must implement store.Versioned), and fails t for
// every history that breaks the model. It logs what it ran: histories,
// operations, faults injected, outcomes and violations.
func Run(t *testing.T, newStore func(t *testing.T) store.Store, cfg Config) {
	cfg = cfg.withDefaults()
	n, base := cfg.Histories, cfg.Seed
	if *flagHistories > 0 {
		n, base = *flagHistories, 0
	}
	if base == 0 {
		base = 1 + rand.Uint64N(1<<40)
	}
	if *flagSeed != 0 {
		n, base = 1, *flagSeed
	}
	var r report
	start := time.Now()
	for first := 0; first < n; first += historiesPerBatch {
		last := min(first+historiesPerBatch, n) - 1
		t.Run(fmt.Sprintf("seeds_%d-%d", base+uint64(first), base+uint64(last)), func(t *testing.T) {
			var more []uint64 // failing histories not reported in full
			defer func() {
				if len(more) > 0 {
					t.Errorf("%d more failing histories, seeds %v", len(more), more)
				}
			}()
			for i := first; i <= last; i++ {
				seed := base + uint64(i)
				h := runHistory(t, newStore(t), cfg, seed)
				v := h.check(cfg.CheckTimeout)
				if v.result == porcupine.Illegal && (*flagDiagnose || r.failures() < cfg.Reports) {
					v.diagnosis, v.explained = h.diagnose(v.names)
					v.diagnosed = true
				}
				switch k := r.add(seed, v); {
				case k == 0:
				case k <= cfg.Reports:
					t.Error(failure(t, seed, h, v))
				default:
					more = append(more, seed)
				}
			}
		})
	}
	t.Logf("lincheck: %s in %v (%.1f ms per history, %.1f ms of it porcupine)", r.String(), time.Since(start).Round(time.Millisecond),
		float64(time.Since(start))/float64(max(r.histories, 1))/1e6, float64(r.checkTime)/float64(max(r.histories, 1))/1e6)
	if r.failed > 0 {
		t.Logf("lincheck: %d of %d histories broke the lifecycle (base seed %d), by check:%s", r.failed, r.histories, base, r.checkReport())
		if r.diagnosed > 0 {
			t.Logf("lincheck: of %d diagnosed (-lincheck.diagnose for all), by rule broken:%s", r.diagnosed, r.diagnosisReport())
		}
	}
}

// failure describes a failing history: its seed, how to replay it, the
// violations, where its visualization went, and its operations.
func failure(t *testing.T, seed uint64, h *history, v *verdict) string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: %d violations\n", seed, len(v.violations))
	fmt.Fprintf(&b, "replay, in this package's directory: go test -run '%s' . -lincheck.seed=%d\n", runPattern(t), seed)
	if v.diagnosed {
		if v.explained {
			fmt.Fprintf(&b, "broken rules (the fewest known kinds of bugs that explain the history):\n")
			for _, d := range v.diagnosis {
				fmt.Fprintf(&b, "  * %s\n", d)
			}
		} else {
			fmt.Fprintf(&b, "broken rules: none of the known kinds of bugs explains the history\n")
		}
	}
	for _, x := range v.violations {
		fmt.Fprintf(&b, "- %s: %s\n", x.check, x.what)
	}
	if v.result == porcupine.Illegal {
		dir := *flagOut
		if dir == "" {
			dir = os.TempDir()
		}
		name := regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(strings.SplitN(t.Name(), "/", 2)[0], "-")
		path := filepath.Join(dir, fmt.Sprintf("lincheck-%s-%d.html", name, seed))
		if err := porcupine.VisualizePath(newModel(v.names.u), v.info, path); err != nil {
			fmt.Fprintf(&b, "visualization: %v\n", err)
		} else {
			fmt.Fprintf(&b, "visualization: %s\n", path)
		}
	}
	fmt.Fprintf(&b, "operations:\n%s", h.transcript(v.names))
	return b.String()
}

// runPattern is the -run pattern of the test that called Run.
func runPattern(t *testing.T) string {
	parts := strings.Split(t.Name(), "/")
	parts = parts[:len(parts)-1] // the batch
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// transcript lists the operations, in the order they were sent.
func (h *history) transcript(l *names) string {
	var b strings.Builder
	for _, o := range h.ops {
		in := h.input(o, l)
		lane := fmt.Sprintf("c%d.%d", o.client, o.lane%h.cfg.Tabs)
		if o.client < 0 {
			lane = "rest"
		}
		fmt.Fprintf(&b, "  %-5s %-32s → %s", lane, in.describe(l.u), h.output(o, l).describe(o.plan.kind, l.u))
		if md := h.metadata(o); md != "" {
			fmt.Fprintf(&b, " (%s)", md)
		}
		fmt.Fprintf(&b, " [%.2f–%.2f ms]\n", float64(o.call)/1e6, float64(o.srv.done)/1e6)
	}
	return b.String()
}

// A report sums up a Run.
type report struct {
	mu                    sync.Mutex
	histories, failed     int
	ops, entries          int
	outcomes              [3]int
	hungUp, panics, early int
	faults                [numFaultKinds]int
	violations            int
	checkTime             time.Duration
	byCheck               map[check]int     // failing histories by check failed
	checkExamples         map[check]uint64  // the first seed that failed each check
	diagnoses             map[string]int    // diagnosed failing histories by rule broken
	examples              map[string]uint64 // the first seed that broke each rule ("": unexplained)
	diagnosed             int               // failing histories diagnosed
	unexplained           int               // diagnosed histories that no known kind of bug explains
}

// add counts v and returns how many failing histories there were so far
// (0 when v passed).
func (r *report) add(seed uint64, v *verdict) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.histories++
	r.ops += v.ops
	r.entries += v.entries
	for i, n := range v.outcomes {
		r.outcomes[i] += n
	}
	for i, n := range v.faults {
		r.faults[i] += n
	}
	r.hungUp += v.hungUp
	r.panics += v.panics
	r.early += v.early
	r.checkTime += v.checkTime
	if !v.failed() {
		return 0
	}
	r.failed++
	r.violations += len(v.violations)
	if r.diagnoses == nil {
		r.diagnoses, r.examples = map[string]int{}, map[string]uint64{}
		r.byCheck, r.checkExamples = map[check]int{}, map[check]uint64{}
	}
	failed := map[check]bool{}
	for _, x := range v.violations {
		failed[x.check] = true
	}
	for c := range failed {
		r.byCheck[c]++
		if r.checkExamples[c] == 0 {
			r.checkExamples[c] = seed
		}
	}
	for _, d := range v.diagnosis {
		r.diagnoses[d]++
		if r.examples[d] == 0 {
			r.examples[d] = seed
		}
	}
	if v.diagnosed && !v.explained {
		r.unexplained++
		if r.examples[""] == 0 {
			r.examples[""] = seed
		}
	}
	if v.diagnosed {
		r.diagnosed++
	}
	return r.failed
}

// failures returns how many failing histories there were so far.
func (r *report) failures() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

// checkReport lists the failing histories by check failed.
func (r *report) checkReport() string {
	var b strings.Builder
	for _, c := range checks {
		if n := r.byCheck[c]; n > 0 {
			fmt.Fprintf(&b, "\n  %5d  %s (first: seed %d)", n, c, r.checkExamples[c])
		}
	}
	return b.String()
}

// diagnosisReport lists the failing histories by rule broken.
func (r *report) diagnosisReport() string {
	var b strings.Builder
	for _, rn := range relaxationNames {
		if n := r.diagnoses[rn.name]; n > 0 {
			fmt.Fprintf(&b, "\n  %5d  %s (first: seed %d)", n, rn.name, r.examples[rn.name])
		}
	}
	if r.unexplained > 0 {
		fmt.Fprintf(&b, "\n  %5d  not linearizable, unexplained by the known kinds of bugs (first: seed %d)", r.unexplained, r.examples[""])
	}
	return b.String()
}

func (r *report) String() string {
	var faults []string
	for k, n := range r.faults[:numInjected] {
		faults = append(faults, fmt.Sprintf("%v %d", faultKind(k), n))
	}
	return fmt.Sprintf("%d histories, %d operations (%d history entries); injected: %s, handler panics %d, early responses %d, hang-ups %d; "+
		"operations that met a store error not injected %d; outcomes known %d, panicked %d, unknown %d; %d violations in %d histories",
		r.histories, r.ops, r.entries, strings.Join(faults, ", "), r.panics, r.early, r.hungUp, r.faults[storeError],
		r.outcomes[known], r.outcomes[panicked], r.outcomes[unknown], r.violations, r.failed)
}
