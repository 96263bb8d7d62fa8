package sessions_test

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/sessionkit/sessions"
)

type rich struct {
	When  time.Time
	Tags  map[string]int
	Blob  []byte
	Any   any
	Inner *struct{ N float64 }
}

func TestCodecsRoundTrip(t *testing.T) {
	when := time.Date(2026, 11, 25, 17, 0, 0, 123456789, time.FixedZone("X", 3600))
	in := rich{When: when, Tags: map[string]int{"b": 2, "a": 1, "c": 3}, Blob: []byte{0, 1, 255}, Any: map[string]any{"k": "v"}, Inner: &struct{ N float64 }{1.5}}
	for name, c := range map[string]sessions.Codec{"CBOR": sessions.CBOR(), "JSON": sessions.JSON()} {
		t.Run(name, func(t *testing.T) {
			b, err := c.Marshal(&in)
			if err != nil {
				t.Fatal(err)
			}
			var out rich
			if err := c.Unmarshal(b, &out); err != nil {
				t.Fatal(err)
			}
			if !out.When.Equal(when) || out.When.Nanosecond() != 123456789 {
				t.Errorf("time %v, want %v to the nanosecond", out.When, when)
			}
			if out.Tags["c"] != 3 || !bytes.Equal(out.Blob, in.Blob) || out.Inner.N != 1.5 {
				t.Errorf("round trip %+v", out)
			}
			if m, ok := out.Any.(map[string]any); !ok || m["k"] != "v" {
				t.Errorf("any decoded as %#v, want map[string]any", out.Any)
			}
			// Deterministic: maps encode the same every time, and a decoded
			// value re-encodes to the same bytes (change detection).
			for range 20 {
				again, _ := c.Marshal(&in)
				if !bytes.Equal(again, b) {
					t.Fatal("encoding is not deterministic")
				}
			}
			re, _ := c.Marshal(&out)
			if !bytes.Equal(re, b) {
				t.Errorf("decode+encode changed the bytes:\n%x\n%x", b, re)
			}
		})
	}
}

func TestCBORRejectsHostileInput(t *testing.T) {
	c := sessions.CBOR()
	var v any
	deep := append(bytes.Repeat([]byte{0x81}, 257), 0x01) // 257 nested arrays
	if err := c.Unmarshal(deep, &v); err == nil {
		t.Error("accepted 257 levels of nesting")
	}
	huge := []byte{0x9a, 0x7f, 0xff, 0xff, 0xff} // array claiming 2^31-1 items
	if err := c.Unmarshal(huge, &v); err == nil {
		t.Error("accepted an array of 2^31-1 elements")
	}
	indef := []byte{0x9f, 0x01, 0xff}
	if err := c.Unmarshal(indef, &v); err == nil {
		t.Error("accepted an indefinite-length array")
	}
}

// What the CBOR encoder can write, the decoder reads: text that is not
// valid UTF-8, and map keys that encode alike.
func TestCBORReadsWhatItWrites(t *testing.T) {
	c := sessions.CBOR()
	in := map[string]any{"next\xfe": "\xff/a"}
	b, err := c.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := c.Unmarshal(b, &out); err != nil || out["next\xfe"] != "\xff/a" {
		t.Errorf("invalid UTF-8: got %q, %v", out, err)
	}

	dup := map[any]int{int64(1): 1, uint64(1): 2} // both encode as 1
	if b, err = c.Marshal(dup); err != nil {
		t.Fatal(err)
	}
	var back map[any]int
	if err := c.Unmarshal(b, &back); err != nil || len(back) != 1 {
		t.Errorf("keys that encode alike: got %v, %v; want one entry", back, err)
	}
}

// NaN survives CBOR (JSON refuses to write it).
func TestCBORKeepsNaN(t *testing.T) {
	c := sessions.CBOR()
	b, err := c.Marshal(map[string]float64{"x": math.NaN()})
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]float64
	if err := c.Unmarshal(b, &out); err != nil || !math.IsNaN(out["x"]) {
		t.Errorf("NaN: got %v, %v", out, err)
	}
	if _, err := sessions.JSON().Marshal(map[string]float64{"x": math.NaN()}); err == nil {
		t.Error("JSON wrote NaN")
	}
}

// A header claiming a huge length in a few bytes fails without the
// decoder allocating by the claimed count: Unmarshal checks that the whole
// item is there (well-formed) before it decodes anything.
func TestCBORHostileLengthsAllocateNothing(t *testing.T) {
	c := sessions.CBOR()
	type typed struct {
		Items []int
		Set   map[string]int
		Rows  [][]string
	}
	inputs := map[string][]byte{
		"array 2^31-1":             {0x9a, 0x7f, 0xff, 0xff, 0xff, 0x01, 0x02},
		"array 2^31-1, 8-byte":     {0x9b, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0x01},
		"array 2^64-1":             {0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		"map 2^31-1":               {0xba, 0x7f, 0xff, 0xff, 0xff, 0x61, 'a', 0x01},
		"bytes 2^31-1":             {0x5a, 0x7f, 0xff, 0xff, 0xff, 0x00},
		"text 2^31-1":              {0x7a, 0x7f, 0xff, 0xff, 0xff, 'a'},
		"field of 2^31-1 items":    {0xa1, 0x65, 'I', 't', 'e', 'm', 's', 0x9a, 0x7f, 0xff, 0xff, 0xff, 0x01},
		"nested arrays of 2^31-1":  {0x83, 0x9a, 0x7f, 0xff, 0xff, 0xff, 0x9a, 0x7f, 0xff, 0xff, 0xff},
		"array of 2^31-1 in a map": {0xa1, 0x61, 'k', 0x9a, 0x7f, 0xff, 0xff, 0xff, 0xa0},
	}
	for name, b := range inputs {
		for _, target := range []any{new(any), new(typed), new([]int), new(map[string]any), new([][]string)} {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := c.Unmarshal(b, target)
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Errorf("%s into %T: accepted", name, target)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
				t.Errorf("%s into %T: allocated %d bytes", name, target, n)
			}
		}
	}
}

type named interface{ Name() string }

type nameImpl string

func (n nameImpl) Name() string { return string(n) }

type intKeyed struct {
	A int `cbor:"1,keyasint"`
}

// Each case is written and read back, or refused before anything is
// written (with ErrNotEncodable, or by the encoder itself); never written
// and then unreadable.
func TestCodecsRefuseWhatTheyCannotRead(t *testing.T) {
	type withIface struct{ N named }
	type withSecret struct {
		*secret
		Code2 string
	}
	type withAny struct{ X any }
	type anyKeys struct{ M map[any]int }
	loop := new(any) // a cycle of pointers and interfaces only: no level at all
	*loop = loop
	const (
		ok      = "read back"
		refused = "ErrNotEncodable"
		failed  = "an encoder error"
	)
	for _, tc := range []struct {
		name       string
		v          any
		cbor, json string
	}{
		{"non-empty interface holding a value", &withIface{nameImpl("x")}, refused, refused},
		{"non-empty interface, nil", &withIface{}, ok, ok},
		{"embedded pointer to unexported struct", &withSecret{secret: &secret{"c"}}, refused, refused},
		{"embedded pointer to unexported struct, nil", &withSecret{Code2: "c"}, ok, ok},
		{"map[int]int in an interface{}", &withAny{map[int]int{1: 2}}, refused, ok},
		{"empty map[int]int in an interface{}", &withAny{map[int]int{}}, ok, ok},
		{"keyasint struct in an interface{}", &withAny{intKeyed{1}}, refused, ok},
		{"keyasint struct, typed", &intKeyed{1}, ok, ok},
		{"array key in a map[any]int", &anyKeys{map[any]int{[1]int{1}: 1}}, refused, failed},
		{"number key in a map[any]int", &anyKeys{map[any]int{uint64(7): 1}}, ok, failed},
		{"pointer cycle", &withAny{loop}, refused, refused},
	} {
		for _, c := range codecs {
			want := tc.cbor
			if c.json {
				want = tc.json
			}
			b, err := c.codec.Marshal(tc.v)
			got := ok
			switch {
			case errors.Is(err, sessions.ErrNotEncodable):
				got = refused
			case err != nil:
				got = failed
			}
			if got != want {
				t.Errorf("%s, %s: Marshal gave %s (%v), want %s", tc.name, c.name, got, err, want)
				continue
			}
			if got == ok {
				out := reflect.New(reflect.TypeOf(tc.v).Elem()).Interface()
				if err := c.codec.Unmarshal(b, out); err != nil {
					t.Errorf("%s, %s: Unmarshal of what Marshal wrote: %v", tc.name, c.name, err)
				}
			}
		}
	}
}
