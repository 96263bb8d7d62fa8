package cleanup

import (
	"context"
	"slices"
	"testing"
)

// Sweep returns the store's reporting sweep only while a function is
// registered; Report reaches each registered function until its stop, and
// a stop called twice removes nothing else.
func TestReporters(t *testing.T) {
	var r Reporters
	if r.Sweep() != nil {
		t.Fatal("Sweep of the zero Reporters is not nil")
	}
	var swept int
	sweep := func(context.Context) (int, error) { swept++; return 0, nil }
	var got []string
	record := func(name string) func(context.Context, string, []byte) {
		return func(_ context.Context, key string, data []byte) { got = append(got, name+":"+key+"="+string(data)) }
	}
	stopA := r.Register(record("a"), sweep)
	stopB := r.Register(record("b"), sweep)
	if s := r.Sweep(); s == nil {
		t.Fatal("Sweep is nil with two functions registered")
	} else if s(t.Context()); swept != 1 {
		t.Fatal("Sweep did not return the sweep given to Register")
	}
	r.Report(t.Context(), "k", []byte("v"))
	if want := []string{"a:k=v", "b:k=v"}; !slices.Equal(got, want) {
		t.Errorf("reported %q, want %q", got, want)
	}

	stopA()
	stopA()
	got = nil
	r.Report(t.Context(), "k2", []byte("w"))
	if want := []string{"b:k2=w"}; !slices.Equal(got, want) {
		t.Errorf("after a's stop (twice): reported %q, want %q", got, want)
	}
	stopC := r.Register(record("c"), sweep) // takes a's place
	stopB()
	got = nil
	r.Report(t.Context(), "k3", []byte("x"))
	if want := []string{"c:k3=x"}; !slices.Equal(got, want) {
		t.Errorf("after b's stop: reported %q, want %q", got, want)
	}
	stopC()
	if r.Sweep() != nil {
		t.Error("Sweep is not nil once every function stopped")
	}
	got = nil
	r.Report(t.Context(), "k4", nil)
	if got != nil {
		t.Errorf("reported %q with no function registered", got)
	}
}
