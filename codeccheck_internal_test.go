package sessions

import (
	"reflect"
	"testing"
	"time"
)

type checkItem struct {
	SKU string
	Qty int
}

type checkShop struct {
	Name    string
	Cart    []checkItem
	Prefs   map[string][]string
	Created time.Time
	Avatar  []byte
	Ptr     *checkItem
}

type checkNode struct {
	Name string
	Next *checkNode
}

type checkInner struct{ A int }

type checkValues map[string]any

// Ordinary session types get a depth from their type and are never
// walked; types that can nest without a bound, or whose values need a
// look, are.
func TestCheckWalksOnlyTypesThatNeedIt(t *testing.T) {
	for _, tc := range []struct {
		v     any
		depth int // shape depth, or unbounded
	}{
		{checkShop{}, 3},  // Prefs: a map of slices in a struct
		{&checkShop{}, 3}, // pointers add no level
		{struct{ T time.Time }{}, 2},
		{struct{ A [][]int }{}, 3},
		{struct {
			Hidden any `json:"-" cbor:"-"`
		}{}, 1},
		{map[string]any{}, unbounded},
		{checkNode{}, unbounded},
		{&checkNode{}, unbounded},
		{struct{ N []*checkNode }{}, unbounded},
		{struct{ E error }{}, unbounded},
		{struct{ *checkInner }{}, unbounded}, // is it nil?
	} {
		for _, c := range []*encodeChecker{cborCheck, jsonCheck} {
			if got := c.shape(reflect.TypeOf(tc.v)).depth; got != tc.depth {
				t.Errorf("%T (cbor %v): depth %d, want %d", tc.v, c.cbor, got, tc.depth)
			}
		}
	}
	shop := &checkShop{Name: "ada", Cart: []checkItem{{"a", 1}}, Prefs: map[string][]string{"k": {"v"}}}
	for _, c := range []*encodeChecker{cborCheck, jsonCheck} {
		if n := testing.AllocsPerRun(100, func() { _ = c.check(shop) }); n != 0 {
			t.Errorf("check of a struct session (cbor %v): %v allocations", c.cbor, n)
		}
	}
	flask := &map[string]any{"user": "ada", "cart": []any{map[string]any{"sku": "a", "qty": uint64(1)}}}
	attrs := &struct {
		Name  string
		Attrs map[string]any
		List  []any
	}{"ada", *flask, []any{"x", *flask}}
	for _, v := range []any{flask, attrs} {
		if n := testing.AllocsPerRun(100, func() { _ = cborCheck.check(v) }); n != 0 {
			t.Errorf("check of a %T session: %v allocations", v, n)
		}
	}
	// A named map type is walked with reflection: a few allocations per
	// map, none per entry.
	small, large := checkValues{}, checkValues{}
	for i := range 100 {
		if i < 10 {
			small[string(rune('a'+i))] = i
		}
		large[string(rune('a'+i))] = []any{"x", i}
	}
	ns := testing.AllocsPerRun(100, func() { _ = cborCheck.check(&small) })
	nl := testing.AllocsPerRun(100, func() { _ = cborCheck.check(&large) })
	if ns > 3 || nl > 3 {
		t.Errorf("check of a named map: %v allocations with 10 entries, %v with 100", ns, nl)
	}
}

// BenchmarkEncodeCheck measures the check alone, on the sessions of
// BenchmarkCodecMarshal: a struct session (its type fixes its depth) and a
// map[string]any session (walked).
func BenchmarkEncodeCheck(b *testing.B) {
	shop := &checkShop{Name: "ada", Cart: []checkItem{{"A-1", 2}, {"B-2", 1}}, Prefs: map[string][]string{"theme": {"dark"}}}
	flask := &map[string]any{
		"user_id": uint64(42), "name": "ada", "next": "/checkout",
		"cart":  []any{map[string]any{"sku": "A-1", "qty": uint64(2)}, map[string]any{"sku": "B-2", "qty": uint64(1)}},
		"prefs": map[string]any{"theme": "dark", "lang": "en"},
		"admin": false,
	}
	for _, v := range []struct {
		name  string
		value any
	}{{"struct", shop}, {"map", flask}} {
		b.Run(v.name, func(b *testing.B) {
			for b.Loop() {
				if err := cborCheck.check(v.value); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
