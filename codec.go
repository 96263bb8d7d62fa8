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
	dec, err := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF, // reject duplicate keys
		MaxNestedLevels:  32,
		MaxArrayElements: 65536,
		MaxMapPairs:      65536,
		IndefLength:      cbor.IndefLengthForbidden,
		DefaultMapType:   reflect.TypeFor[map[string]any](),
	}.DecMode()
	if err != nil {
		panic(err) // constant options: cannot fail
	}
	return cborCodec{enc: enc, dec: dec}
}()

// CBOR returns the default codec: CBOR (RFC 8949) through
// github.com/fxamacker/cbor/v2, with map keys sorted, times kept to the
// nanosecond, and decoding limits for hostile input (32 levels of nesting,
// 65536 array elements or map pairs, duplicate map keys and
// indefinite-length items rejected). Fields are named like encoding/json
// names them, honouring `cbor` and then `json` struct tags.
func CBOR() Codec { return defaultCBOR }

func (c cborCodec) Marshal(v any) ([]byte, error) {
	return c.enc.Marshal(v)
}

func (c cborCodec) Unmarshal(data []byte, v any) error {
	return c.dec.Unmarshal(data, v)
}

// jsonCodec encodes with encoding/json.
type jsonCodec struct{}

// JSON returns a codec built on encoding/json: larger and slower than CBOR,
// but readable in the store. Map keys are sorted; times keep nanoseconds.
func JSON() Codec { return jsonCodec{} }

func (jsonCodec) Marshal(v any) ([]byte, error) {
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
		buf.Reset()
		if err := cc.enc.MarshalToBuffer(v, buf); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	return c.Marshal(v)
}
