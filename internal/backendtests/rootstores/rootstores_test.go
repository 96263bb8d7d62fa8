package rootstores

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessions/internal/backendenv"
	"github.com/sessionkit/sessions/internal/backendtests/testbackend"
)

func TestMain(m *testing.M) { testbackend.Main(m) }

func TestMemcachedstore(t *testing.T) {
	goTest(t, "./store/memcachedstore", map[string]string{
		backendenv.MemcachedEnv: testbackend.Memcached(t),
	})
}

func TestMongostore(t *testing.T) {
	goTest(t, "./store/mongostore", map[string]string{
		backendenv.MongoEnv: testbackend.Mongo(t),
	})
}

// TestSqlstore runs the SQL store's tests on PostgreSQL, MariaDB and, where
// one is configured, MySQL (SQLite needs no server: the root module's own
// run covers it, and this one again).
func TestSqlstore(t *testing.T) {
	env := map[string]string{
		backendenv.PostgresEnv: testbackend.Postgres(t),
		backendenv.MariaDBEnv:  testbackend.MariaDB(t),
	}
	if dsn, ok := testbackend.MySQL(t); ok {
		env[backendenv.MySQLEnv] = dsn
	}
	goTest(t, "./store/sqlstore", env)
}

// goTest runs `go test` on pkg of the root module with env added to the
// environment, and fails t with the output if it fails.
func goTest(t *testing.T, pkg string, env map[string]string) {
	t.Helper()
	args := []string{"test", "-count=1"}
	if raceDetector {
		args = append(args, "-race")
	}
	if testing.Short() {
		args = append(args, "-short")
	}
	if testing.Verbose() {
		args = append(args, "-v")
	}
	if deadline, ok := t.Deadline(); ok {
		// Leave time to report before this binary's own deadline.
		args = append(args, "-timeout", max(time.Until(deadline)-30*time.Second, time.Minute).Round(time.Second).String())
	}
	args = append(args, pkg)
	cmd := exec.Command("go", args...)
	cmd.Dir = rootModule(t)
	cmd.Env = append(os.Environ(), backendenv.StartedEnv+"=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	line := "go " + strings.Join(args, " ")
	if err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
	t.Logf("%s:\n%s", line, out)
}

// rootModule returns the directory of the module github.com/sessionkit/sessions,
// three levels above this package.
func rootModule(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil || !strings.HasPrefix(string(b), "module github.com/sessionkit/sessions\n") {
		t.Fatalf("%s is not the root module (go.mod: %v)", dir, err)
	}
	return dir
}
