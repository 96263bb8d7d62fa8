package sessions_test

import (
	"encoding/base64"
	"errors"
	"maps"
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/sessionkit/sessions"
	"pgregory.net/rapid"
)

// The property: what a built-in codec writes, it reads back into a fresh
// value equal (reflect.DeepEqual) to what was written (for JSON, to what
// was written as encoding/json changes it), or it refuses to write it,
// exactly when the test predicts a refusal: ErrNotEncodable for a non-nil
// embedded pointer to an unexported struct, encoding/json's own error for
// an infinity. The generators never produce:
//   - NaN: DeepEqual says NaN != NaN (TestCBORKeepsNaN checks it);
//   - a non-nil pointer to a nil pointer: it encodes as null and comes
//     back as a nil outer pointer, a different value holding the same
//     nothing;
//   - nil slices or maps inside an interface{}: they encode as null and
//     come back as a nil interface. (Typed nil and empty slices and maps
//     are generated both: each codec keeps them apart.)

// Base is embedded exported, by value.
type Base struct {
	ID   string
	Tags []string
}

// extra is embedded unexported, by value: its exported fields are stored.
type extra struct {
	Note string
	Hits map[string]int
}

// Opt is embedded exported, by pointer: the decoder allocates it.
type Opt struct {
	Flag  bool
	Label string
}

// secret is embedded unexported, by pointer: the decoders cannot allocate
// it, so a non-nil one is refused.
type secret struct{ Code string }

type leaf struct {
	S  string
	B  []byte
	N  int64
	U  uint32
	F  float64
	OK bool
}

type propSession struct {
	Base
	extra
	*Opt
	*secret
	Name   string
	Raw    []byte
	Leaves []leaf
	Matrix [][]string
	ByName map[string]leaf
	Ptr    *leaf
	PtrPtr **string
	Nested map[string][]map[string]string
	Arr    [3]int16
	Any    any    // decoded as the generic types (mapValue)
	hidden string // never stored: comes back empty
}

// tree is a recursive type: its values are walked by the nesting check.
type tree struct {
	Name string
	Kids []*tree
	Next *tree
}

// anyString is a string of arbitrary bytes, valid UTF-8 or not.
var anyString = rapid.Custom(func(t *rapid.T) string {
	return string(rapid.SliceOfN(rapid.Byte(), 0, 12).Draw(t, "bytes"))
})

// floatGen is a finite float64 or an infinity (never NaN).
var floatGen = rapid.OneOf(rapid.Float64(), rapid.SampledFrom([]float64{0, math.Copysign(0, -1), 1, math.Inf(1), math.Inf(-1), math.SmallestNonzeroFloat64}))

// byteSlice is a byte slice, sometimes nil.
var byteSlice = rapid.OneOf(rapid.Just([]byte(nil)), rapid.SliceOfN(rapid.Byte(), 0, 8))

func sliceOf[E any](g *rapid.Generator[E]) *rapid.Generator[[]E] {
	return rapid.OneOf(rapid.Just([]E(nil)), rapid.SliceOfN(g, 0, 4))
}

func mapOf[V any](g *rapid.Generator[V]) *rapid.Generator[map[string]V] {
	return rapid.OneOf(rapid.Just(map[string]V(nil)), rapid.MapOfN(anyString, g, 0, 4))
}

var leafGen = rapid.Custom(func(t *rapid.T) leaf {
	return leaf{
		S: anyString.Draw(t, "S"), B: byteSlice.Draw(t, "B"), N: rapid.Int64().Draw(t, "N"),
		U: rapid.Uint32().Draw(t, "U"), F: floatGen.Draw(t, "F"), OK: rapid.Bool().Draw(t, "OK"),
	}
})

// mapValue is a value of the types the CBOR decoder puts in an
// interface{}: string, uint64 (integers >= 0), int64 (< 0), float64,
// bool, []byte, []any, map[string]any, nil.
func mapValue(depth int) *rapid.Generator[any] {
	gens := []*rapid.Generator[any]{
		anyString.AsAny(),
		rapid.Uint64().AsAny(),
		rapid.Int64Max(-1).AsAny(),
		floatGen.AsAny(),
		rapid.Bool().AsAny(),
		rapid.SliceOfN(rapid.Byte(), 0, 6).AsAny(),
		rapid.Just[any](nil),
	}
	if depth > 0 {
		gens = append(gens,
			rapid.SliceOfN(mapValue(depth-1), 0, 3).AsAny(),
			rapid.MapOfN(anyString, mapValue(depth-1), 0, 3).AsAny())
	}
	return rapid.OneOf(gens...)
}

var propGen = rapid.Custom(func(t *rapid.T) propSession {
	s := propSession{
		Base:   Base{ID: anyString.Draw(t, "ID"), Tags: sliceOf(anyString).Draw(t, "Tags")},
		extra:  extra{Note: anyString.Draw(t, "Note"), Hits: mapOf(rapid.Int()).Draw(t, "Hits")},
		Opt:    rapid.Ptr(rapid.Custom(func(t *rapid.T) Opt { return Opt{rapid.Bool().Draw(t, "Flag"), anyString.Draw(t, "Label")} }), true).Draw(t, "Opt"),
		Name:   anyString.Draw(t, "Name"),
		Raw:    byteSlice.Draw(t, "Raw"),
		Leaves: sliceOf(leafGen).Draw(t, "Leaves"),
		Matrix: sliceOf(sliceOf(anyString)).Draw(t, "Matrix"),
		ByName: mapOf(leafGen).Draw(t, "ByName"),
		Ptr:    rapid.Ptr(leafGen, true).Draw(t, "Ptr"),
		Nested: mapOf(sliceOf(mapOf(anyString))).Draw(t, "Nested"),
		Arr:    [3]int16{rapid.Int16().Draw(t, "A0"), rapid.Int16().Draw(t, "A1"), rapid.Int16().Draw(t, "A2")},
		Any:    mapValue(2).Draw(t, "Any"),
		hidden: anyString.Draw(t, "hidden"),
	}
	if rapid.IntRange(0, 7).Draw(t, "secret") == 0 {
		s.secret = &secret{Code: anyString.Draw(t, "Code")}
	}
	if rapid.Bool().Draw(t, "PtrPtr") {
		str := anyString.Draw(t, "str")
		p := &str
		s.PtrPtr = &p
	}
	return s
})

func treeGen(depth int) *rapid.Generator[*tree] {
	return rapid.Custom(func(t *rapid.T) *tree {
		n := &tree{Name: anyString.Draw(t, "Name")}
		if depth > 0 {
			n.Kids = sliceOf(treeGen(depth-1)).Draw(t, "Kids")
			if rapid.Bool().Draw(t, "hasNext") {
				n.Next = treeGen(depth-1).Draw(t, "Next")
			}
		}
		return n
	})
}

var codecs = []struct {
	name  string
	codec sessions.Codec
	json  bool
}{{"CBOR", sessions.CBOR(), false}, {"JSON", sessions.JSON(), true}}

// roundTrip checks the property for one value v (a pointer) of a type T.
// want is what must come back, refuse whether the codec must refuse v;
// it returns Marshal's error.
func roundTrip[T any](t *rapid.T, c sessions.Codec, v *T, want *T, refuse bool) error {
	b, err := c.Marshal(v)
	if refuse {
		if err == nil {
			t.Fatalf("Marshal accepted %#v", *v)
		}
		return err
	}
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var got T
	if err := c.Unmarshal(b, &got); err != nil {
		t.Fatalf("Unmarshal of what Marshal wrote: %v\n%x", err, b)
	}
	if !reflect.DeepEqual(got, *want) {
		t.Fatalf("round trip changed the value:\n got %#v\nwant %#v", got, *want)
	}
	return nil
}

func TestCodecsReadBackWhatTheyWrite(t *testing.T) {
	for _, c := range codecs {
		t.Run(c.name+"/struct", func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				v := propGen.Draw(t, "session")
				want := v
				want.hidden = ""
				refuse := v.secret != nil
				if c.json {
					want = want.forJSON()
					refuse = refuse || hasInf(reflect.ValueOf(v))
				}
				err := roundTrip(t, c.codec, &v, &want, refuse)
				if v.secret != nil && !errors.Is(err, sessions.ErrNotEncodable) {
					t.Fatalf("embedded *secret: Marshal error %v, want ErrNotEncodable", err)
				}
			})
		})
		t.Run(c.name+"/map", func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				v := rapid.MapOfN(anyString, mapValue(3), 0, 6).Draw(t, "session")
				want, refuse := v, false
				if c.json {
					want = jsonAny(v).(map[string]any)
					refuse = hasInf(reflect.ValueOf(v))
				}
				roundTrip(t, c.codec, &v, &want, refuse)
			})
		})
		t.Run(c.name+"/tree", func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				v := *treeGen(3).Draw(t, "session")
				want := v
				if c.json {
					want = *v.forJSON()
				}
				roundTrip(t, c.codec, &v, &want, false)
			})
		})
	}
}

// Values nested around 256 levels deep are written and read back up to
// 256 levels, and refused beyond; the levels are slices, maps and structs
// of any mix.
func TestCodecsNestingLimit(t *testing.T) {
	type box struct{ In any }
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				levels := rapid.IntRange(250, 262).Draw(t, "levels")
				kinds := rapid.SliceOfN(rapid.IntRange(0, 2), levels, levels).Draw(t, "kinds")
				var v any = "leaf"
				for _, k := range kinds {
					switch k {
					case 0:
						v = []any{v}
					case 1:
						v = map[string]any{"k": v}
					case 2:
						v = &box{v} // a struct is a map; the pointer adds no level
					}
				}
				b, err := c.codec.Marshal(v)
				if levels > 256 {
					if !errors.Is(err, sessions.ErrNotEncodable) {
						t.Fatalf("%d levels: Marshal error %v, want ErrNotEncodable", levels, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("%d levels: Marshal: %v", levels, err)
				}
				var out any
				if err := c.codec.Unmarshal(b, &out); err != nil {
					t.Fatalf("%d levels: Unmarshal: %v", levels, err)
				}
			})
		})
	}
}

// hasInf reports whether v holds an infinite float, which encoding/json
// refuses to write.
func hasInf(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Float64:
		return math.IsInf(v.Float(), 0)
	case reflect.Pointer, reflect.Interface:
		return !v.IsNil() && hasInf(v.Elem())
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if hasInf(v.Index(i)) {
				return true
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if hasInf(it.Value()) {
				return true
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if hasInf(v.Field(i)) {
				return true
			}
		}
	}
	return false
}

// jsonString is s as encoding/json writes it: every byte that is not
// part of valid UTF-8 becomes U+FFFD (a []rune conversion does the same).
func jsonString(s string) string { return string([]rune(s)) }

// jsonKeys calls add for the entries of m in the order encoding/json
// writes them (sorted by the original key), with the key as it writes it:
// when two keys become the same, the decoder keeps the last.
func jsonKeys[V any](m map[string]V, add func(k string, v V)) {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		add(jsonString(k), m[k])
	}
}

// jsonAny is a value of mapValue's types as encoding/json reads it back
// into an interface{}: numbers become float64, byte slices base64 strings,
// strings and map keys lose their invalid UTF-8.
func jsonAny(v any) any {
	switch v := v.(type) {
	case string:
		return jsonString(v)
	case uint64:
		return float64(v)
	case int64:
		return float64(v)
	case []byte:
		return base64.StdEncoding.EncodeToString(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = jsonAny(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		jsonKeys(v, func(k string, e any) { out[k] = jsonAny(e) })
		return out
	}
	return v
}

// jsonSlice is s with f applied to its elements, nil if s is nil.
func jsonSlice[E any](s []E, f func(E) E) []E {
	if s == nil {
		return nil
	}
	out := make([]E, len(s))
	for i, e := range s {
		out[i] = f(e)
	}
	return out
}

// jsonMap is m as encoding/json reads it back, with f applied to its
// values; nil if m is nil.
func jsonMap[V any](m map[string]V, f func(V) V) map[string]V {
	if m == nil {
		return nil
	}
	out := make(map[string]V, len(m))
	jsonKeys(m, func(k string, v V) { out[k] = f(v) })
	return out
}

func same[V any](v V) V { return v }

func (l leaf) forJSON() leaf {
	l.S = jsonString(l.S)
	return l
}

// forJSON is s as encoding/json reads it back: every string and map key
// loses its invalid UTF-8 (byte slices are base64 and come back whole),
// and Any is as jsonAny returns it.
func (s propSession) forJSON() propSession {
	s.ID, s.Note, s.Name = jsonString(s.ID), jsonString(s.Note), jsonString(s.Name)
	s.Tags = jsonSlice(s.Tags, jsonString)
	s.Hits = jsonMap(s.Hits, same)
	if s.Opt != nil {
		s.Opt = &Opt{Flag: s.Opt.Flag, Label: jsonString(s.Opt.Label)}
	}
	s.Leaves = jsonSlice(s.Leaves, leaf.forJSON)
	s.Matrix = jsonSlice(s.Matrix, func(row []string) []string { return jsonSlice(row, jsonString) })
	s.ByName = jsonMap(s.ByName, leaf.forJSON)
	if s.Ptr != nil {
		l := s.Ptr.forJSON()
		s.Ptr = &l
	}
	if s.PtrPtr != nil {
		str := jsonString(**s.PtrPtr)
		p := &str
		s.PtrPtr = &p
	}
	s.Nested = jsonMap(s.Nested, func(l []map[string]string) []map[string]string {
		return jsonSlice(l, func(m map[string]string) map[string]string { return jsonMap(m, jsonString) })
	})
	s.Any = jsonAny(s.Any)
	return s
}

func (n *tree) forJSON() *tree {
	if n == nil {
		return nil
	}
	return &tree{Name: jsonString(n.Name), Kids: jsonSlice(n.Kids, (*tree).forJSON), Next: n.Next.forJSON()}
}
