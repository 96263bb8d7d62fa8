package sessions

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sync"

	"github.com/fxamacker/cbor/v2"
)

// A Codec turns a session value into bytes and back.
//
// Marshal must be deterministic: the same value must always encode to the
// same bytes, because the manager detects changes by comparing encodings
// (both built-in codecs sort map keys). Unmarshal must not panic on hostile
// input and should ignore unknown fields, so that adding or removing a field
// of the session type keeps the rest of the stored data.
//
// Unmarshal must read whatever Marshal writes: a record that does not
// decode is discarded on the next request, which then starts a new session
// (signing the user out). A value that cannot be written so that it reads
// back must make Marshal fail instead; the save then fails before anything
// is written, and the stored session stays as it was. The built-in codecs
// do so: what they write they read back (with the differences their docs
// list), or they refuse it with an error wrapping [ErrNotEncodable]. In both,
// a value may nest at most 256 levels deep (every array, slice, map and
// struct is a level; pointers and interfaces are none), so a cyclic value
// fails that save with an error. Types with their own marshalling method
// ([time.Time], for one) count as one level and are not looked into: what
// such a method writes is its own business.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// cborCodec is the default codec; its modes are built once.
type cborCodec struct {
	enc cbor.UserBufferEncMode
	dec cbor.DecMode
}

var defaultCBOR = func() cborCodec {
	enc, err := cbor.EncOptions{
		Sort:        cbor.SortCoreDeterministic, // deterministic maps
		Time:        cbor.TimeRFC3339Nano,       // keep nanoseconds
		IndefLength: cbor.IndefLengthForbidden,
	}.UserBufferEncMode()
	if err != nil {
		panic(err) // constant options: cannot fail
	}
	// The decoder reads everything the encoder writes: text that is not
	// valid UTF-8 (a string from a query parameter), duplicate map keys
	// (keys that encode alike: NaN, or 1 and uint64(1) in a map[any]int),
	// any number of elements, and maxNesting levels, the most the encoder
	// is let write (see encodeChecker). Hostile input needs no limit on
	// elements: Unmarshal first checks that the whole item is well-formed,
	// walking the data (a header claiming 2^31-1 elements in a few bytes
	// fails at the end of the data), before it allocates anything by a
	// claimed count, so a count never exceeds the input's length. The
	// record limit (WithMaxSize) bounds what the manager writes.
	dec, err := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyQuiet,
		MaxNestedLevels:  maxNesting,
		MaxArrayElements: maxCBORElements,
		MaxMapPairs:      maxCBORElements,
		UTF8:             cbor.UTF8DecodeInvalid,
		IndefLength:      cbor.IndefLengthForbidden,
		DefaultMapType:   reflect.TypeFor[map[string]any](),
	}.DecMode()
	if err != nil {
		panic(err) // constant options: cannot fail
	}
	return cborCodec{enc: enc, dec: dec}
}()

// maxCBORElements is the most elements of an array, or pairs of a map,
// the CBOR decoder accepts: the largest limit it can be given.
const maxCBORElements = 1<<31 - 1

// CBOR returns the default codec: CBOR (RFC 8949) through
// [github.com/fxamacker/cbor/v2], with map keys sorted and times kept to the
// nanosecond. Fields are named like encoding/json names them, honouring
// `cbor` and then `json` struct tags.
//
// What it writes it reads back: strings byte for byte, valid UTF-8 or not;
// slices and maps of any length (the record limit, [WithMaxSize], bounds
// them). In an interface{} (a map[string]any session, an any field) maps
// come back as map[string]any, arrays as []any, integers as uint64 (or
// int64 when negative), floats as float64. It refuses to write, with an
// error wrapping [ErrNotEncodable]:
//   - a value nested more than 256 levels deep, or a cyclic one;
//   - a non-nil embedded pointer to an unexported struct type (the
//     decoder cannot allocate it);
//   - a non-nil value in a field of a non-empty interface type (the
//     decoder cannot know its type);
//   - in an interface{}, a non-empty map whose keys are not strings, or a
//     struct with keyasint fields (the decoder reads maps there as
//     map[string]any); in a map[any]T, keys that are not strings, numbers
//     or bools.
//
// Map keys that encode alike are written and read back: NaN keys, and
// distinct pointers to equal values, come back as as many entries; int64(1)
// and uint64(1) in a map[any]T both come back as uint64(1), one entry.
// Decoding is hardened against hostile records: well-formedness is checked
// before anything is allocated, indefinite-length items are rejected, and
// nesting is limited to 256 levels.
func CBOR() Codec { return defaultCBOR }

func (c cborCodec) Marshal(v any) ([]byte, error) {
	if err := cborCheck.check(v); err != nil {
		return nil, err
	}
	return c.enc.Marshal(v)
}

func (c cborCodec) Unmarshal(data []byte, v any) error {
	return c.dec.Unmarshal(data, v)
}

// jsonCodec encodes with encoding/json.
type jsonCodec struct{}

// JSON returns a codec built on [encoding/json]: larger and slower than [CBOR],
// but readable in the store. Map keys are sorted; times keep nanoseconds.
//
// What it writes it reads back, with encoding/json's changes: bytes of a
// string that are not valid UTF-8 are replaced by U+FFFD (the session
// keeps working; the invalid bytes do not survive), and in an interface{}
// every number comes back as a float64. It refuses to write, with an
// error wrapping [ErrNotEncodable], a value nested more than 256 levels deep
// or cyclic, a non-nil embedded pointer to an unexported struct type, and
// a non-nil value in a field of a non-empty interface type; encoding/json
// itself refuses NaN, infinities, channels, functions and maps with keys
// it cannot write.
func JSON() Codec { return jsonCodec{} }

func (jsonCodec) Marshal(v any) ([]byte, error) {
	if err := jsonCheck.check(v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

func (jsonCodec) Unmarshal(data []byte, v any) error {
	return json.Unmarshal(data, v)
}

// An encodeBuffer is what the manager encodes into when it only needs to
// compare the encoding with what was loaded.
type encodeBuffer = bytes.Buffer

// maxPooledBuffer is the largest buffer kept for reuse, the default record
// limit: sessions of any allowed size reuse their buffers, and one huge
// session cannot pin more than this for the life of the process.
const maxPooledBuffer = DefaultMaxSize

var encodeBuffers = sync.Pool{New: func() any { return new(encodeBuffer) }}

func getBuffer() *encodeBuffer { return encodeBuffers.Get().(*encodeBuffer) }

func putBuffer(b *encodeBuffer) {
	if b.Cap() <= maxPooledBuffer {
		encodeBuffers.Put(b)
	}
}

// encode marshals v with c, into buf when the codec can (the result then
// aliases buf and is valid until buf is reused).
func encode(c Codec, v any, buf *encodeBuffer) ([]byte, error) {
	if cc, ok := c.(cborCodec); ok {
		if err := cborCheck.check(v); err != nil {
			return nil, err
		}
		buf.Reset()
		if err := cc.enc.MarshalToBuffer(v, buf); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	return c.Marshal(v)
}
