package fsstore

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessions/store"
)

// childEnv carries the job of a child process of TestSaveIfAcrossProcesses.
const childEnv = "FSSTORE_TEST_CHILD"

// childJob is what a child process does on the shared directory.
type childJob struct {
	ID       int
	Dir      string
	Ready    string // the file the child creates when it is ready
	Start    string // the file the child waits for before it starts
	Keys     []string
	Versions []store.Version // SaveIf each key with its version, once
	Counter  string          // then increment the number under this key...
	Workers  int             // ...from this many goroutines...
	Adds     int             // ...this many times each
}

// childResult is what a child reports, on a line of its own after
// resultPrefix.
type childResult struct {
	Won       []int // indexes of the keys whose SaveIf won
	Adds      int   // successful increments
	Conflicts int   // SaveIf calls of the increments that lost
}

const resultPrefix = "CHILD RESULT "

// TestSaveIfAcrossProcesses runs copies of the test binary that race
// SaveIf on one directory: on each of several keys saved once, all of them
// SaveIf the same version, and exactly one must win; then they increment
// a counter with LoadVersion and SaveIf, retrying on conflicts, and no
// increment may be lost.
func TestSaveIfAcrossProcesses(t *testing.T) {
	const procs, keys, workers, adds = 3, 40, 2, 25
	dir, signals := t.TempDir(), t.TempDir()
	s := newStore(t, dir, WithSync(false), WithCleanupInterval(0))
	exp := time.Now().Add(time.Hour)
	job := childJob{Dir: dir, Start: filepath.Join(signals, "start"), Counter: "session:counter", Workers: workers, Adds: adds}
	for i := range keys {
		key := fmt.Sprintf("session:race%d", i)
		job.Keys = append(job.Keys, key)
		job.Versions = append(job.Versions, saveIf(t, s, key, "parent", exp, 0))
	}
	saveIf(t, s, job.Counter, "0", exp, 0)

	outs := make([]*bytes.Buffer, procs)
	cmds := make([]*exec.Cmd, procs)
	for i := range procs {
		job.ID, job.Ready = i, filepath.Join(signals, fmt.Sprint("ready", i))
		b, err := json.Marshal(job)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestSaveIfChild$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), childEnv+"="+string(b))
		outs[i] = new(bytes.Buffer)
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
	}
	// Start them together, once all are ready.
	for i := range procs {
		for deadline := time.Now().Add(time.Minute); !exists(filepath.Join(signals, fmt.Sprint("ready", i))); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("child %d is not ready after a minute", i)
			}
		}
	}
	if err := os.WriteFile(job.Start, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	winners := make([][]int, keys)
	totalAdds, conflicts := 0, 0
	for i, cmd := range cmds {
		err := cmd.Wait()
		res, perr := parseResult(outs[i].String())
		if err != nil || perr != nil {
			t.Fatalf("child %d: %v, %v; output:\n%s", i, err, perr, outs[i])
		}
		for _, k := range res.Won {
			winners[k] = append(winners[k], i)
		}
		totalAdds += res.Adds
		conflicts += res.Conflicts
	}
	for k, w := range winners {
		if len(w) != 1 {
			t.Errorf("key %d: children %v won SaveIf on one version, want exactly one", k, w)
			continue
		}
		if data, found := load(t, s, job.Keys[k]); string(data) != fmt.Sprint("child ", w[0]) {
			t.Errorf("key %d holds (%q, %v), want the winner's (child %d) data", k, data, found, w[0])
		}
	}
	want := procs * workers * adds
	data, _ := load(t, s, job.Counter)
	if string(data) != strconv.Itoa(want) || totalAdds != want {
		t.Fatalf("counter = %s after %d increments reported as won, want %d: an increment was lost", data, totalAdds, want)
	}
	t.Logf("%d processes: %d increments, %d conflicts retried", procs, want, conflicts)
}

// TestSaveIfChild is the child process of TestSaveIfAcrossProcesses; run
// directly, it does nothing.
func TestSaveIfChild(t *testing.T) {
	env := os.Getenv(childEnv)
	if env == "" {
		return
	}
	var job childJob
	if err := json.Unmarshal([]byte(env), &job); err != nil {
		t.Fatal(err)
	}
	s := newStore(t, job.Dir, WithSync(false), WithCleanupInterval(0))
	if err := os.WriteFile(job.Ready, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); !exists(job.Start); time.Sleep(100 * time.Microsecond) {
		if time.Now().After(deadline) {
			t.Fatal("no start after a minute")
		}
	}
	var res childResult
	exp := time.Now().Add(time.Hour)
	for i, key := range job.Keys {
		_, err := s.SaveIf(t.Context(), key, fmt.Append(nil, "child ", job.ID), exp, job.Versions[i])
		switch {
		case err == nil:
			res.Won = append(res.Won, i)
		case !errors.Is(err, store.ErrConflict):
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range job.Workers {
		wg.Go(func() {
			for added := 0; added < job.Adds; {
				l, err := s.LoadVersion(t.Context(), job.Counter, time.Time{})
				if err != nil {
					t.Error(err)
					return
				}
				n, err := strconv.Atoi(string(l.Data))
				if err != nil {
					t.Errorf("counter %q: %v", l.Data, err)
					return
				}
				_, err = s.SaveIf(t.Context(), job.Counter, strconv.AppendInt(nil, int64(n+1), 10), exp, l.Version)
				mu.Lock()
				switch {
				case err == nil:
					added++
					res.Adds++
				case errors.Is(err, store.ErrConflict):
					res.Conflicts++
				default:
					t.Error(err)
				}
				mu.Unlock()
				if t.Failed() {
					return
				}
			}
		})
	}
	wg.Wait()
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("\n%s%s\n", resultPrefix, b)
}

func parseResult(out string) (childResult, error) {
	var res childResult
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), resultPrefix); ok {
			return res, json.Unmarshal([]byte(line), &res)
		}
	}
	return res, errors.New("no result line")
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
