package sessions

import (
	"bytes"
	"fmt"
	"reflect"
)

// mergeChanges resolves a conflict between this request and another
// writer of the same session. theirs is the other writer's data, base what
// this request loaded and mine what it holds now. Every field the codec
// stores of a struct T (every key of a map T) whose encoding differs
// between base and mine is copied from mine into theirs; the fields this
// request did not change keep the other writer's values. When both changed
// a field, this request's value wins.
//
// The fields are those the codecs see (see mergeStruct): the fields of an
// embedded struct, exported or not, by value or by pointer, are fields of
// T, as the built-in codecs flatten them into T's encoding.
func mergeChanges[T any](c Codec, theirs, base, mine *T) error {
	tv := reflect.ValueOf(theirs).Elem()
	bv := reflect.ValueOf(base).Elem()
	mv := reflect.ValueOf(mine).Elem()
	switch tv.Kind() {
	case reflect.Struct:
		_, err := mergeStruct(c, tv, bv, mv)
		return err
	case reflect.Map:
		if tv.IsNil() {
			tv.Set(reflect.MakeMap(tv.Type()))
		}
		for it := mv.MapRange(); it.Next(); {
			k, v := it.Key(), it.Value()
			old := bv.MapIndex(k)
			changed := !old.IsValid()
			if !changed {
				var err error
				if changed, err = differ(c, old, v); err != nil {
					return err
				}
			}
			if changed {
				tv.SetMapIndex(k, v)
			}
		}
		for it := bv.MapRange(); it.Next(); {
			if !mv.MapIndex(it.Key()).IsValid() {
				tv.SetMapIndex(it.Key(), reflect.Value{}) // this request deleted it
			}
		}
	default:
		return fmt.Errorf("sessions: cannot merge a %s", tv.Type())
	}
	return nil
}

// mergeStruct merges the struct values t (settable: theirs), b (base) and
// m (mine) of one type field by field, as mergeChanges describes, and
// reports whether it copied anything from m.
//
// It walks the fields the way encoding/json and fxamacker/cbor do:
//   - An embedded struct, exported or not, is not one field: its fields
//     are merged one by one (its exported fields are settable through an
//     unexported embedding), and so on down nested embeddings. An exported
//     embedded type that encodes itself (a Marshaler) is one field instead.
//   - An embedded pointer to a struct is walked through when t, b and m
//     all point to a struct. Otherwise it is one field: unchanged when b
//     and m are both nil; else copied from m when b and m differ in being
//     nil or, when only t is nil, when any field under it changed. An
//     unexported embedded pointer cannot be set; copying one fails with an
//     error, as encoding/json and fxamacker/cbor fail to decode into a nil
//     one ("cannot set embedded pointer to unexported struct").
//   - A field the codec does not store (unexported and not an embedded
//     struct, or tagged "-") is not compared: it carries nothing from the
//     other writer, so this request's value is kept where it can be set.
func mergeStruct(c Codec, t, b, m reflect.Value) (bool, error) {
	copied := false
	for i := range t.NumField() {
		sf := t.Type().Field(i)
		tf, bf, mf := t.Field(i), b.Field(i), m.Field(i)
		if !stored(c, sf) {
			if tf.CanSet() {
				tf.Set(mf)
			}
			continue
		}
		var changed bool
		var err error
		switch {
		case !flattened(sf):
			if changed, err = differ(c, bf, mf); changed {
				tf.Set(mf)
			}
		case sf.Type.Kind() == reflect.Struct:
			changed, err = mergeStruct(c, tf, bf, mf)
		case !tf.IsNil() && !bf.IsNil() && !mf.IsNil():
			changed, err = mergeStruct(c, tf.Elem(), bf.Elem(), mf.Elem())
		case bf.IsNil() && mf.IsNil():
			// Neither this request's baseline nor its data has it.
		default:
			// The embedded pointer is one field.
			changed = bf.IsNil() != mf.IsNil()
			if !changed { // only theirs is nil: did this request change anything under it?
				scratch := reflect.New(sf.Type.Elem()).Elem()
				changed, err = mergeStruct(c, scratch, bf.Elem(), mf.Elem())
			}
			if err == nil && changed {
				if !tf.CanSet() {
					return false, fmt.Errorf("sessions: cannot merge embedded pointer to unexported struct %s", sf.Type.Elem())
				}
				tf.Set(mf)
			}
		}
		if err != nil {
			return false, err
		}
		copied = copied || changed
	}
	return copied, nil
}

// stored reports whether codec c stores field sf of a struct: whether the
// field is exported or an embedded struct (or pointer to one), and not
// tagged "-". CBOR reads the cbor tag and then the json tag, other codecs
// the json tag.
func stored(c Codec, sf reflect.StructField) bool {
	ft := sf.Type
	if ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	if !sf.IsExported() && !(sf.Anonymous && ft.Kind() == reflect.Struct) {
		return false
	}
	tag := ""
	if _, ok := c.(cborCodec); ok {
		tag = sf.Tag.Get("cbor")
	}
	if tag == "" {
		tag = sf.Tag.Get("json")
	}
	return tag != "-"
}

// flattened reports whether sf is an embedded struct, or pointer to one,
// whose fields are merged one by one: an unexported one, or an exported
// one that does not encode itself through a marshaler (as time.Time does:
// its fields are unexported). An unexported one can be neither compared
// nor set as a whole: its exported fields are what can be merged. (A tag
// naming an embedded struct makes the codecs store it under that name, not
// flattened; merging its fields one by one still covers all they store.)
func flattened(sf reflect.StructField) bool {
	if !sf.Anonymous {
		return false
	}
	ft := sf.Type
	if ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	if ft.Kind() != reflect.Struct {
		return false
	}
	if !sf.IsExported() {
		return true
	}
	pt := reflect.PointerTo(ft)
	return !pt.Implements(jsonMarshaler) && !pt.Implements(cborMarshaler) &&
		!pt.Implements(textMarshaler) && !pt.Implements(binaryMarshaler)
}

// differ reports whether a and b encode differently.
func differ(c Codec, a, b reflect.Value) (bool, error) {
	ea, err := c.Marshal(a.Interface())
	if err != nil {
		return false, err
	}
	eb, err := c.Marshal(b.Interface())
	if err != nil {
		return false, err
	}
	return !bytes.Equal(ea, eb), nil
}
