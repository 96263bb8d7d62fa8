package option

import (
	"errors"
	"log/slog"
	"testing"
)

type config struct{ n []int }

type opt func(*config) error

func set(n int) opt { return func(c *config) error { c.n = append(c.n, n); return nil } }

func TestApplySkipsNilAndKeepsOrder(t *testing.T) {
	var c config
	if err := Apply(&c, []opt{set(1), nil, set(2)}); err != nil {
		t.Fatal(err)
	}
	if len(c.n) != 2 || c.n[0] != 1 || c.n[1] != 2 {
		t.Errorf("applied %v, want [1 2]", c.n)
	}
}

func TestApplyStopsAtTheFirstError(t *testing.T) {
	first, second := errors.New("first"), errors.New("second")
	fail := func(err error) opt { return func(*config) error { return err } }
	var c config
	err := Apply(&c, []opt{set(1), fail(first), set(2), fail(second)})
	if err != first {
		t.Errorf("Apply = %v, want the first error", err)
	}
	if len(c.n) != 1 {
		t.Errorf("applied %v after the error, want only [1]", c.n)
	}
}

func TestLogger(t *testing.T) {
	if Logger(nil) != slog.Default() {
		t.Error("Logger(nil) is not slog.Default()")
	}
	l := slog.New(slog.DiscardHandler)
	if Logger(l) != l {
		t.Error("Logger(l) is not l")
	}
}
