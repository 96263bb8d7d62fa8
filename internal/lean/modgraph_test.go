package lean

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// testInfrastructure are parts of module paths that must not appear in the
// go.mod or go.sum of a program on the memory store or on Redis: the test
// harness's (testcontainers-go, Docker's client, and what they bring in).
// The harness lives in the module internal/backendtests for this reason.
var testInfrastructure = []string{"testcontainers", "moby", "docker", "containerd", "opentelemetry", "gopsutil"}

// TestModuleGraphHasNoTestInfrastructure puts each program in a fresh module
// that requires this one (replaced by the working tree), runs go mod tidy
// and reads the go.mod and go.sum a user of the library would get. The
// go.sum starts as a copy of this module's, so that tidy needs only the
// module cache; tidy drops the lines the program does not need.
func TestModuleGraphHasNoTestInfrastructure(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	rootMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	rootSum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go \S+$`).Find(rootMod)
	if !strings.HasPrefix(string(rootMod), "module github.com/sessionkit/sessions\n") || goLine == nil {
		t.Fatalf("%s/go.mod is not the root module's", root)
	}
	for _, prog := range []string{"memory", "redis"} {
		t.Run(prog, func(t *testing.T) {
			t.Parallel()
			main, err := os.ReadFile(filepath.Join(prog, "main.go"))
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			files := map[string]string{
				"main.go": string(main),
				"go.mod": "module example.com/" + prog + "\n\n" + string(goLine) + "\n\n" +
					"require github.com/sessionkit/sessions v0.0.0\n\n" +
					"replace github.com/sessionkit/sessions => " + root + "\n",
				"go.sum": string(rootSum),
			}
			for name, content := range files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command("go", "mod", "tidy")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod=mod"), "GOWORK=off")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go mod tidy: %v\n%s", err, out)
			}
			for _, name := range []string{"go.mod", "go.sum"} {
				b, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				lines := strings.Split(strings.TrimSpace(string(b)), "\n")
				t.Logf("%s: %d lines", name, len(lines))
				for _, line := range lines {
					for _, bad := range testInfrastructure {
						if strings.Contains(strings.ToLower(line), bad) {
							t.Errorf("the %s program's %s names %q: %s", prog, name, bad, line)
						}
					}
				}
			}
		})
	}
}
