package sessions

import (
	"bytes"
	"fmt"
	"reflect"
)

// mergeChanges resolves a conflict between this request and another
// writer of the same session. theirs is the other writer's data, base what
// this request loaded and mine what it holds now. Every top-level field of
// a struct T (every key of a map T) whose encoding differs between base and
// mine is copied from mine into theirs; the fields this request did not
// change keep the other writer's values. When both changed a field, this
// request's value wins.
func mergeChanges[T any](c Codec, theirs, base, mine *T) error {
	tv := reflect.ValueOf(theirs).Elem()
	bv := reflect.ValueOf(base).Elem()
	mv := reflect.ValueOf(mine).Elem()
	switch tv.Kind() {
	case reflect.Struct:
		for i := range tv.NumField() {
			if !tv.Type().Field(i).IsExported() {
				continue // not stored
			}
			changed, err := differ(c, bv.Field(i), mv.Field(i))
			if err != nil {
				return err
			}
			if changed {
				tv.Field(i).Set(mv.Field(i))
			}
		}
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
