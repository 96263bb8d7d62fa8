// Package lean holds two minimal programs, on the memory store and on
// Redis, and checks that they link no database driver: the MongoDB and SQL
// stores live in their own packages so that programs that do not use them
// do not pay for them. It also checks that the go.mod and go.sum such a
// program gets name none of the test infrastructure (modgraph_test.go).
package lean

import (
	"os/exec"
	"strings"
	"testing"
)

// forbidden are the module paths a program that uses neither MongoDB nor
// SQL must not depend on.
var forbidden = []string{"go.mongodb.org/", "github.com/uptrace/", "modernc.org/", "github.com/go-sql-driver/"}

func TestProgramsLinkNoDatabaseDriver(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	for _, prog := range []string{"./memory", "./redis"} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", prog, err, out)
		}
		deps := strings.Fields(string(out))
		if len(deps) == 0 {
			t.Fatalf("go list %s listed nothing", prog)
		}
		for _, dep := range deps {
			for _, f := range forbidden {
				if strings.HasPrefix(dep, f) {
					t.Errorf("%s depends on %s", prog, dep)
				}
			}
		}
		if !strings.Contains(string(out), "github.com/sessionkit/sessions\n") {
			t.Errorf("%s does not list the sessions package: %q", prog, out)
		}
	}
}
