package backendenv

import (
	"fmt"
	"testing"
)

// outcome records what lookup did to a test.
type outcome struct {
	testing.TB
	skipped, failed string
}

func (o *outcome) Helper()                      {}
func (o *outcome) Skipf(f string, args ...any)  { o.skipped = fmt.Sprintf(f, args...) }
func (o *outcome) Fatalf(f string, args ...any) { o.failed = fmt.Sprintf(f, args...) }

func TestLookup(t *testing.T) {
	for _, c := range []struct {
		name                    string
		value, started, require string
		want                    string // "value", "skip" or "fail"
	}{
		{"set", "host:1", "", "", "value"},
		{"set, started, required", "host:1", "1", "1", "value"},
		{"unset", "", "", "", "skip"},
		{"unset, required at the root", "", "", "1", "skip"},
		{"unset, started, not required", "", "1", "", "skip"},
		{"unset, started, required", "", "1", "1", "fail"},
		{"unset, started, required=false", "", "1", "false", "skip"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(MemcachedEnv, c.value)
			t.Setenv(StartedEnv, c.started)
			t.Setenv(RequireEnv, c.require)
			o := &outcome{TB: t}
			v := Memcached(o)
			got := "value"
			switch {
			case o.failed != "":
				got = "fail"
			case o.skipped != "":
				got = "skip"
			case v != c.value:
				t.Fatalf("Memcached = %q, want %q", v, c.value)
			}
			if got != c.want {
				t.Errorf("lookup did %s (%q%q), want %s", got, o.skipped, o.failed, c.want)
			}
		})
	}
}
