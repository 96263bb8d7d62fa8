package sessions

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/fxamacker/cbor/v2"
)

// maxNesting is how deeply the built-in codecs let a value nest, counted
// the way their decoders count: every array, slice, map and struct (a
// map in the encoding) is one level; pointers and interfaces add none. The
// CBOR decoder is set to accept exactly this much, the JSON decoder
// accepts 10000. A value nested deeper (a cyclic value is infinitely
// deep) is refused before it is encoded: the encoders recurse without a
// limit, and the record would not decode.
const maxNesting = 256

// An encodeChecker refuses, before a built-in codec encodes them, the
// values whose encoding that codec could not decode again: nested deeper
// than maxNesting or cyclic, a non-nil embedded pointer to an unexported
// struct type (the decoders cannot allocate it), a non-nil value in a
// field of a non-empty interface type (the decoders cannot choose its
// type) and, for CBOR, a map with keys other than strings where the
// decoder fills an interface{} (it decodes maps as map[string]any).
//
// What it knows of a type it works out once per type: most session types
// (structs of strings, numbers, times, and slices and maps of such) have a
// depth fixed by their type and are never walked. Only values of types
// that can nest without a bound (interfaces, recursive types) or need a
// look at the value are walked.
type encodeChecker struct {
	cbor   bool     // CBOR rules (cbor struct tags, marshaler interfaces, text map keys); else JSON's
	shapes sync.Map // reflect.Type -> *shape
}

var (
	cborCheck = &encodeChecker{cbor: true}
	jsonCheck = &encodeChecker{}
)

// A shape is what an encodeChecker knows of a type.
type shape struct {
	// depth is the most levels a value of the type nests, if the type
	// alone bounds it by maxNesting and its values need no look;
	// otherwise it is unbounded and values are walked.
	depth int
	// opaque: the type encodes itself (a marshaler method the codec
	// uses); it counts as one level and is not looked into.
	opaque bool
	// text (CBOR): every map of a value of the type has string keys, so
	// that it also decodes into an interface{}.
	text bool
	// intKeys (CBOR): a struct with keyasint fields, encoded as a map
	// with integer keys.
	intKeys bool
	// fields are the fields of a struct that the codec encodes.
	fields []shapeField
}

// unbounded is the depth of a type whose values must be walked.
const unbounded = -1

// fixed reports whether a value of the shape needs no walk at nesting
// level depth; generic: the value is decoded into an interface{}.
func (s *shape) fixed(c *encodeChecker, depth int, generic bool) bool {
	return s.depth != unbounded && depth+s.depth <= maxNesting && (s.text || !generic || !c.cbor)
}

type shapeField struct {
	index int
	// embeddedPtr: an embedded pointer to an unexported struct type.
	// The encoders write its fields when it is not nil; the decoders
	// cannot allocate it and fail.
	embeddedPtr bool
}

// Marshalers the built-in codecs call instead of encoding a value's
// fields or elements.
var (
	cborMarshaler   = reflect.TypeFor[cbor.Marshaler]()
	binaryMarshaler = reflect.TypeFor[encoding.BinaryMarshaler]()
	jsonMarshaler   = reflect.TypeFor[json.Marshaler]()
	textMarshaler   = reflect.TypeFor[encoding.TextMarshaler]()
)

// check returns an error wrapping ErrNotEncodable if the codec could not
// decode what it would write for v, else nil.
func (c *encodeChecker) check(v any) error {
	if m, ok := v.(*map[string]any); ok && m != nil { // Flask-style sessions: no reflection
		return c.walkAny(*m, 0)
	}
	t := reflect.TypeOf(v)
	if t == nil || c.shape(t).fixed(c, 0, false) {
		return nil
	}
	return c.walk(reflect.ValueOf(v), 0, false)
}

// shape returns the shape of t, working it out on first use.
func (c *encodeChecker) shape(t reflect.Type) *shape {
	if s, ok := c.shapes.Load(t); ok {
		return s.(*shape)
	}
	return c.build(t, map[reflect.Type]*shape{})
}

// build works out the shape of t and of the types in it not known yet.
// building holds the shapes under construction: a type met again while
// its shape is being built is recursive, and so is every type between the
// two meetings, so they are all unbounded.
func (c *encodeChecker) build(t reflect.Type, building map[reflect.Type]*shape) *shape {
	if s, ok := c.shapes.Load(t); ok {
		return s.(*shape)
	}
	if s, ok := building[t]; ok {
		if s == nil {
			// Under construction: t is recursive. (A pointer to t
			// gets this shape too: walk looks up the element's.)
			return &shape{depth: unbounded}
		}
		return s
	}
	building[t] = nil
	s := c.newShape(t, building)
	if s.depth > maxNesting {
		s.depth = unbounded
	}
	building[t] = s
	actual, _ := c.shapes.LoadOrStore(t, s)
	return actual.(*shape)
}

func (c *encodeChecker) newShape(t reflect.Type, building map[reflect.Type]*shape) *shape {
	if t.Kind() == reflect.Pointer {
		return c.build(t.Elem(), building)
	}
	if c.isOpaque(t) {
		return &shape{depth: 1, opaque: true, text: true}
	}
	s := &shape{text: true}
	// add makes s one level deeper than the element shape e.
	add := func(e *shape) {
		if e.depth == unbounded {
			s.depth = unbounded
		} else if s.depth != unbounded {
			s.depth = max(s.depth, 1+e.depth)
		}
		s.text = s.text && e.text
	}
	switch t.Kind() {
	case reflect.Interface:
		s.depth = unbounded
	case reflect.Slice, reflect.Array:
		s.depth = 1
		add(c.build(t.Elem(), building))
	case reflect.Map:
		s.depth = 1
		add(c.build(t.Key(), building))
		add(c.build(t.Elem(), building))
		s.text = s.text && c.textKey(t.Key())
	case reflect.Struct:
		s.depth = 1
		c.addFields(s, t)
		for _, f := range s.fields {
			add(c.build(t.Field(f.index).Type, building))
			if f.embeddedPtr {
				s.depth = unbounded // look whether it is nil
			}
		}
		s.text = s.text && !s.intKeys
	}
	return s
}

// isOpaque reports whether the codec encodes a t with a method of t's.
// The CBOR encoder uses MarshalCBOR and MarshalBinary (as a byte string,
// so time.Time is a string), the JSON encoder MarshalJSON and MarshalText.
func (c *encodeChecker) isOpaque(t reflect.Type) bool {
	pt := reflect.PointerTo(t) // the method set of *t includes t's
	if c.cbor {
		return pt.Implements(cborMarshaler) || pt.Implements(binaryMarshaler)
	}
	return pt.Implements(jsonMarshaler) || pt.Implements(textMarshaler)
}

// textKey reports whether the CBOR encoder writes map keys of type t as
// text strings.
func (c *encodeChecker) textKey(t reflect.Type) bool {
	return t.Kind() == reflect.String && !c.isOpaque(t)
}

// addFields lists the fields of struct type t that the codec encodes:
// exported fields and embedded structs, unless tagged "-". The CBOR
// encoder reads the cbor tag and, if there is none, the json tag.
// Embedded structs count as a level here although the encoders flatten
// them, and fields hidden by name conflicts are kept: both only make the
// check stricter than the decoders, never looser.
func (c *encodeChecker) addFields(s *shape, t reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if !f.IsExported() && !(f.Anonymous && ft.Kind() == reflect.Struct) {
			continue
		}
		tag := f.Tag.Get("json")
		if c.cbor {
			if ct := f.Tag.Get("cbor"); ct != "" {
				tag = ct
			}
		}
		if tag == "-" {
			continue
		}
		if _, opts, _ := strings.Cut(tag, ","); c.cbor && strings.Contains(","+opts+",", ",keyasint,") {
			s.intKeys = true
		}
		s.fields = append(s.fields, shapeField{
			index:       i,
			embeddedPtr: f.Anonymous && !f.IsExported() && f.Type.Kind() == reflect.Pointer,
		})
	}
}

// walk checks v, a value at nesting level depth (the number of levels
// around it). generic: the decoder fills an interface{} with v.
func (c *encodeChecker) walk(v reflect.Value, depth int, generic bool) error {
	return c.walkShaped(v, c.shape(v.Type()), depth, generic)
}

// walkShaped is walk for a v whose shape s is known.
func (c *encodeChecker) walkShaped(v reflect.Value, s *shape, depth int, generic bool) error {
	// Pointers and interfaces add no level: follow them here, counting
	// them, so that a cycle of nothing else ends too.
	for hops := 0; ; hops++ {
		if s.fixed(c, depth, generic) {
			return nil
		}
		k := v.Kind()
		if k != reflect.Pointer && k != reflect.Interface {
			break
		}
		if v.IsNil() {
			return nil
		}
		if hops == maxNesting {
			return tooDeep(v.Type())
		}
		e := v.Elem()
		if k == reflect.Interface {
			if !generic && v.NumMethod() > 0 && !isNil(e) {
				return fmt.Errorf("%w: a %v in an interface of type %v, which the decoder cannot fill", ErrNotEncodable, e.Type(), v.Type())
			}
			generic = true
			if ek := e.Kind(); (ek == reflect.Map || ek == reflect.Slice) && e.CanInterface() {
				return c.walkAny(e.Interface(), depth) // e is not addressable: no copy
			}
		}
		v, s = e, c.shape(e.Type())
	}
	if s.opaque {
		return enter(v, depth)
	}
	switch v.Kind() {
	case reflect.Slice:
		if v.IsNil() {
			return nil // null
		}
		fallthrough
	case reflect.Array:
		if err := enter(v, depth); err != nil {
			return err
		}
		es := c.shape(v.Type().Elem())
		if es.fixed(c, depth+1, generic) {
			return nil
		}
		for i := range v.Len() {
			if err := c.walkShaped(v.Index(i), es, depth+1, generic); err != nil {
				return err
			}
		}
	case reflect.Map:
		if v.IsNil() {
			return nil // null
		}
		if v.CanInterface() {
			if m, ok := v.Interface().(map[string]any); ok { // a map is a pointer: no copy
				return c.walkAny(m, depth)
			}
		}
		if err := enter(v, depth); err != nil {
			return err
		}
		return c.walkMap(v, depth+1, generic)
	case reflect.Struct:
		if err := enter(v, depth); err != nil {
			return err
		}
		if generic && s.intKeys {
			return fmt.Errorf("%w: a %v (keyasint fields) in an interface{}: the decoder reads maps there as map[string]any", ErrNotEncodable, v.Type())
		}
		for _, f := range s.fields {
			fv := v.Field(f.index)
			fs := c.shape(fv.Type())
			if f.embeddedPtr && !generic && !fv.IsNil() && len(c.shape(fv.Type().Elem()).fields) > 0 {
				return fmt.Errorf("%w: the embedded pointer to unexported struct type %v is not nil, and the decoder cannot allocate it", ErrNotEncodable, fv.Type())
			}
			if err := c.walkShaped(fv, fs, depth+1, generic); err != nil {
				return err
			}
		}
	}
	return nil
}

// walkMap checks the keys and values of map v, whose entries are at
// nesting level depth.
func (c *encodeChecker) walkMap(v reflect.Value, depth int, generic bool) error {
	kt := v.Type().Key()
	if c.cbor && generic && kt.Kind() != reflect.Interface && !c.textKey(kt) && v.Len() > 0 {
		return fmt.Errorf("%w: a %v in an interface{}: the decoder reads maps there as map[string]any", ErrNotEncodable, v.Type())
	}
	ks, vs := c.shape(kt), c.shape(v.Type().Elem())
	walkKeys, walkValues := !ks.fixed(c, depth, generic), !vs.fixed(c, depth, generic)
	if !walkKeys && !walkValues {
		return nil
	}
	// Reuse one key and one value for all entries (it.Key and it.Value
	// allocate each), unless v came through an unexported field, which
	// SetIterKey and SetIterValue refuse.
	var kv, ev reflect.Value
	reuse := v.CanInterface()
	if reuse && walkKeys {
		kv = reflect.New(kt).Elem()
	}
	if reuse && walkValues {
		ev = reflect.New(v.Type().Elem()).Elem()
	}
	for it := v.MapRange(); it.Next(); {
		if walkKeys {
			k := kv
			if reuse {
				k.SetIterKey(it)
			} else {
				k = it.Key()
			}
			if c.cbor && kt.Kind() == reflect.Interface {
				if err := c.checkKey(k, generic); err != nil {
					return err
				}
			}
			if err := c.walkShaped(k, ks, depth, generic); err != nil {
				return err
			}
		}
		if walkValues {
			e := ev
			if reuse {
				e.SetIterValue(it)
			} else {
				e = it.Value()
			}
			if err := c.walkShaped(e, vs, depth, generic); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkKey checks a CBOR map key held in an interface: the decoder reads
// it into an interface{}, where it must be a string (when the map itself
// is decoded into an interface{}, as a map[string]any) or at least
// hashable: a string, a number or a bool.
func (c *encodeChecker) checkKey(k reflect.Value, generic bool) error {
	for k.Kind() == reflect.Interface || k.Kind() == reflect.Pointer {
		if k.IsNil() {
			return nil
		}
		k = k.Elem()
	}
	ok := c.textKey(k.Type())
	if !generic && !c.isOpaque(k.Type()) {
		switch k.Kind() {
		case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
			reflect.Float32, reflect.Float64:
			ok = true
		}
	}
	if !ok {
		return fmt.Errorf("%w: a map key of type %v, which the decoder cannot read back into an interface{}", ErrNotEncodable, k.Type())
	}
	return nil
}

// walkAny is walk for a value the decoder reads into an interface{}, with
// the types such values usually have checked without reflection.
func (c *encodeChecker) walkAny(x any, depth int) error {
	switch x := x.(type) {
	case map[string]any:
		if x == nil {
			return nil
		}
		if depth++; depth > maxNesting {
			return tooDeep(reflect.TypeOf(x))
		}
		for _, e := range x {
			if !isScalar(e) {
				if err := c.walkAny(e, depth); err != nil {
					return err
				}
			}
		}
		return nil
	case []any:
		if x == nil {
			return nil
		}
		if depth++; depth > maxNesting {
			return tooDeep(reflect.TypeOf(x))
		}
		for _, e := range x {
			if !isScalar(e) {
				if err := c.walkAny(e, depth); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if isScalar(x) {
		return nil
	}
	return c.walk(reflect.ValueOf(x), depth, true)
}

// isScalar reports whether x is nil or of a type sessions often hold
// that needs no check.
func isScalar(x any) bool {
	switch x.(type) {
	case nil, string, bool, float64, int, int64, uint64:
		return true
	}
	return false
}

// enter checks that a container v at nesting level depth opens a level
// the decoder accepts.
func enter(v reflect.Value, depth int) error {
	if depth >= maxNesting {
		return tooDeep(v.Type())
	}
	return nil
}

func tooDeep(t reflect.Type) error {
	return fmt.Errorf("%w: a %v nested more than %d levels deep (is the value cyclic?)", ErrNotEncodable, t, maxNesting)
}

// isNil reports whether v encodes as null.
func isNil(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
		return v.IsNil()
	}
	return false
}
