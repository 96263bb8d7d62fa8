// Command mutants runs again, one by one, the mutants of a Gremlins report
// that Gremlins did not settle: by default those it marked NOT COVERED and
// LIVED.
//
// Gremlins runs a mutant only if Go's coverage profile covers its
// position, and the profile has no block for a case expression or a
// constant: mutants there are NOT COVERED even when tests run the line.
// This command applies each such mutant to the source (the same token
// swap Gremlins makes), runs the package's tests, and restores the file.
// It also re-checks survivors after tests were added, without a whole new
// Gremlins run:
//
//	go run ./scripts/mutants -report mutation-results/store-fsstore.json -pkg ./store/fsstore
//
// With -base, the report's positions are from an older tree: each mutant
// is moved to the line of the current file that has the same text (and
// skipped if that line is gone or not unique).
//
// It prints one line per mutant and the counts, and exits with status 1
// if a mutant it ran lived. Run it from the module root, with no other
// change to the package's files in progress: it edits them in place.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"go/build"
	"go/scanner"
	"go/token"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// report is the part of a Gremlins JSON report this command reads.
type report struct {
	Files []struct {
		FileName  string `json:"file_name"`
		Mutations []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
			Line   int    `json:"line"`
			Column int    `json:"column"`
		} `json:"mutations"`
	} `json:"files"`
}

// swaps is Gremlins' token table for its default mutators.
var swaps = map[string]map[token.Token]token.Token{
	"ARITHMETIC_BASE":       {token.ADD: token.SUB, token.MUL: token.QUO, token.QUO: token.MUL, token.REM: token.MUL, token.SUB: token.ADD},
	"CONDITIONALS_BOUNDARY": {token.GEQ: token.GTR, token.GTR: token.GEQ, token.LEQ: token.LSS, token.LSS: token.LEQ},
	"CONDITIONALS_NEGATION": {token.EQL: token.NEQ, token.GEQ: token.LSS, token.GTR: token.LEQ, token.LEQ: token.GTR,
		token.LSS: token.GEQ, token.NEQ: token.EQL},
	"INCREMENT_DECREMENT": {token.DEC: token.INC, token.INC: token.DEC},
	"INVERT_NEGATIVES":    {token.SUB: token.ADD},
}

func main() {
	reportPath := flag.String("report", "", "Gremlins JSON report (--output) of one package")
	pkg := flag.String("pkg", "", "the package's directory, e.g. ./store/fsstore")
	base := flag.String("base", "", "the package's directory in the tree the report was made on, if the sources changed since")
	statuses := flag.String("status", "NOT COVERED,LIVED", "comma-separated statuses to run again")
	timeout := flag.Duration("timeout", 90*time.Second, "longest test run of one mutant (longer counts as TIMED OUT)")
	run := flag.String("run", "", "go test -run pattern (default: every test)")
	flag.Parse()
	if *reportPath == "" || *pkg == "" {
		flag.Usage()
		os.Exit(2)
	}
	raw, err := os.ReadFile(*reportPath)
	if err != nil {
		log.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(raw, &rep); err != nil {
		log.Fatalf("%s: %v", *reportPath, err)
	}
	want := map[string]bool{}
	for _, s := range strings.Split(*statuses, ",") {
		want[strings.TrimSpace(s)] = true
	}
	// An interrupted run still restores the file it mutated.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	counts := map[string]int{}
	for _, f := range rep.Files {
		file := filepath.Join(*pkg, filepath.Base(f.FileName))
		for _, m := range f.Mutations {
			if !want[m.Status] {
				continue
			}
			line := m.Line
			if *base != "" {
				if line, err = relocate(filepath.Join(*base, filepath.Base(f.FileName)), file, m.Line); err != nil {
					fmt.Printf("%-9s %s %s:%d:%d: %v\n", "SKIPPED", m.Type, file, m.Line, m.Column, err)
					counts["SKIPPED"]++
					continue
				}
			}
			if ctx.Err() != nil {
				log.Fatal("interrupted")
			}
			if ok, err := build.Default.MatchFile(filepath.Dir(file), filepath.Base(file)); err == nil && !ok {
				// Excluded by build constraints here: the mutant cannot be
				// tested on this system.
				fmt.Printf("%-9s %s %s:%d:%d (was %s)\n", "NOT BUILT", m.Type, file, line, m.Column, m.Status)
				counts["NOT BUILT"]++
				continue
			}
			status, err := try(ctx, file, line, m.Column, m.Type, *pkg, *run, *timeout)
			if err != nil {
				status = "SKIPPED"
				fmt.Printf("%-9s %s %s:%d:%d (was %s): %v\n", status, m.Type, file, line, m.Column, m.Status, err)
			} else {
				fmt.Printf("%-9s %s %s:%d:%d (was %s)\n", status, m.Type, file, line, m.Column, m.Status)
			}
			counts[status]++
		}
	}
	fmt.Printf("killed %d, timed out %d, lived %d, skipped %d, not built here %d\n",
		counts["KILLED"], counts["TIMED OUT"], counts["LIVED"], counts["SKIPPED"], counts["NOT BUILT"])
	if counts["LIVED"] > 0 {
		os.Exit(1)
	}
}

// relocate returns the line of file whose text is that of line in old.
// When several lines have that text, the one whose neighbours match most
// lines around the old one wins, then the one nearest the old position.
func relocate(old, file string, line int) (int, error) {
	oldSrc, err := os.ReadFile(old)
	if err != nil {
		return 0, err
	}
	src, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	oldLines, lines := bytes.Split(oldSrc, []byte("\n")), bytes.Split(src, []byte("\n"))
	if line < 1 || line > len(oldLines) {
		return 0, fmt.Errorf("line %d is not in %s", line, old)
	}
	context := func(i int) int { // matching neighbours of lines[i]
		n := 0
		for d := -3; d <= 3; d++ {
			o, c := line-1+d, i+d
			if d != 0 && o >= 0 && o < len(oldLines) && c >= 0 && c < len(lines) && bytes.Equal(oldLines[o], lines[c]) {
				n++
			}
		}
		return n
	}
	best, bestContext, bestDist := 0, -1, 0
	for i, l := range lines {
		if !bytes.Equal(l, oldLines[line-1]) {
			continue
		}
		c, d := context(i), max(i+1-line, line-i-1)
		if c > bestContext || c == bestContext && d < bestDist {
			best, bestContext, bestDist = i+1, c, d
		}
	}
	if best == 0 {
		return 0, fmt.Errorf("the line is gone from %s", file)
	}
	return best, nil
}

// try applies the mutation at line:col of file, runs the package's tests
// and restores the file.
func try(ctx context.Context, file string, line, col int, typ, pkg, run string, timeout time.Duration) (string, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	mutated, err := mutate(src, line, col, typ)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(file, mutated, 0o644); err != nil {
		return "", err
	}
	defer func() {
		if err := os.WriteFile(file, src, 0o644); err != nil {
			log.Fatalf("restore %s: %v", file, err)
		}
	}()
	args := []string{"test", "-count=1", "-failfast", "-timeout", (timeout + 10*time.Second).String()}
	if run != "" {
		args = append(args, "-run", run)
	}
	cmd := exec.Command("go", append(args, pkg)...)
	out := new(bytes.Buffer)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // to stop the test binary too
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		switch {
		case err == nil:
			return "LIVED", nil
		case strings.Contains(out.String(), "[build failed]") || strings.Contains(out.String(), "[setup failed]"):
			return "NOT VIABLE", nil
		}
		return "KILLED", nil
	case <-time.After(timeout):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return "TIMED OUT", nil
	case <-ctx.Done():
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return "", ctx.Err()
	}
}

// mutate swaps the token at line:col as Gremlins' mutator typ does.
func mutate(src []byte, line, col int, typ string) ([]byte, error) {
	table, ok := swaps[typ]
	if !ok {
		return nil, fmt.Errorf("unknown mutator %s", typ)
	}
	fset := token.NewFileSet()
	f := fset.AddFile("", fset.Base(), len(src))
	var s scanner.Scanner
	s.Init(f, src, nil, 0)
	for {
		pos, tok, _ := s.Scan()
		if tok == token.EOF {
			return nil, fmt.Errorf("no token at %d:%d", line, col)
		}
		p := fset.Position(pos)
		if p.Line != line || p.Column != col {
			continue
		}
		to, ok := table[tok]
		if !ok {
			return nil, fmt.Errorf("%s has no swap for %s at %d:%d", typ, tok, line, col)
		}
		off := f.Offset(pos)
		out := append([]byte(nil), src[:off]...)
		out = append(out, to.String()...)
		return append(out, src[off+len(tok.String()):]...), nil
	}
}
