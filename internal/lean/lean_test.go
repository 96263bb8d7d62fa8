// Package lean holds two minimal programs, on the memory store and on
// Redis, and checks what they link: neither links a database driver (the
// MongoDB and SQL stores live in their own packages), and the memory
// program links no other store and no client library, since the root
// package links only the memory store. The size this saves is checked by
// TestBinarySize in the bench module, which can depend on scs. It also
// checks that the go.mod and go.sum such a program gets name none of the
// test infrastructure (modgraph_test.go).
package lean

import (
	"os/exec"
	"strings"
	"testing"
)

// databases are the module paths of the database drivers: a program that
// uses neither MongoDB nor SQL must not depend on them.
var databases = []string{"go.mongodb.org/", "github.com/uptrace/", "modernc.org/", "github.com/go-sql-driver/"}

// forbidden lists, per program, the package path prefixes it must not
// depend on.
var forbidden = map[string][]string{
	"./memory": append([]string{
		"github.com/redis/", "github.com/bradfitz/",
		"github.com/sessionkit/sessions/store/fsstore",
		"github.com/sessionkit/sessions/store/redisstore",
		"github.com/sessionkit/sessions/store/memcachedstore",
	}, databases...),
	"./redis": databases,
}

func TestProgramsLinkOnlyTheirStore(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	for prog, prefixes := range forbidden {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", prog, err, out)
		}
		deps := strings.Fields(string(out))
		if len(deps) == 0 {
			t.Fatalf("go list %s listed nothing", prog)
		}
		for _, dep := range deps {
			for _, f := range prefixes {
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
