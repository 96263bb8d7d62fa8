package sessions_test

import (
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/sessionkit/sessions"
)

func TestNewAcceptsStructAndMapTypesOnly(t *testing.T) {
	if err := newErr[map[string]any](); err != nil {
		t.Errorf("map[string]any: %v", err)
	}
	if err := newErr[struct{ A int }](); err != nil {
		t.Errorf("struct: %v", err)
	}
	for name, err := range map[string]error{
		"pointer":   newErr[*profile](),
		"func":      newErr[func()](),
		"chan":      newErr[chan int](),
		"interface": newErr[any](),
		"int":       newErr[int](),
		"slice":     newErr[[]string](),
	} {
		if !errors.Is(err, sessions.ErrInvalidConfig) {
			t.Errorf("%s: %v, want ErrInvalidConfig", name, err)
		}
	}
}

func newErr[T any]() error {
	m, err := sessions.New[T]()
	if err == nil {
		m.Close()
	}
	return err
}

// A map session works like a Flask session dict with either codec: it
// starts empty and writable, and comes back with nested maps as
// map[string]any and strings as strings.
func TestMapSessionsLikeFlask(t *testing.T) {
	for name, codec := range map[string]sessions.Codec{"CBOR": sessions.CBOR(), "JSON": sessions.JSON()} {
		t.Run(name, func(t *testing.T) {
			m := mustNew[map[string]any](t, sessions.WithCodec(codec))
			var got map[string]any
			c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
				d := m.Get(r.Context())
				if len(*d) == 0 {
					(*d)["user"] = "ada"
					(*d)["prefs"] = map[string]any{"theme": "dark", "tags": []any{"a", "b"}}
					return
				}
				got = *d
			})
			c.do()
			c.do()
			if got["user"] != "ada" {
				t.Errorf("user = %#v, want the string \"ada\"", got["user"])
			}
			prefs, ok := got["prefs"].(map[string]any)
			if !ok {
				t.Fatalf("prefs = %T, want map[string]any", got["prefs"])
			}
			if prefs["theme"] != "dark" || !reflect.DeepEqual(prefs["tags"], []any{"a", "b"}) {
				t.Errorf("prefs = %#v", prefs)
			}
		})
	}
}

func TestUnexportedFieldsAreNotStored(t *testing.T) {
	type withHidden struct {
		Shown  string
		hidden string
	}
	m := mustNew[withHidden](t)
	ctx, _ := m.Load(t.Context(), "")
	d := m.Get(ctx)
	d.Shown, d.hidden = "yes", "no"
	token, _, err := m.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ctx, _ = m.Load(t.Context(), token)
	if d := m.Get(ctx); d.Shown != "yes" || d.hidden != "" {
		t.Errorf("reloaded %+v, want only the exported field", *d)
	}
}
