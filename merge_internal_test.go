package sessions

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// Session types with embedded structs: the codecs store the fields of an
// embedded struct as fields of the type embedding it.
type (
	mergeAccount struct{ UserID, Role string }
	MergeAccount struct{ UserID, Role string }

	embedsUnexported struct {
		mergeAccount
		Flash string
	}
	embedsExported struct {
		MergeAccount
		Flash string
	}
	embedsPointer struct {
		*MergeAccount
		Flash string
	}
	embedsUnexportedPointer struct {
		*mergeAccount
		Flash string
	}

	// Two levels: a pointer and a value embedded in an unexported
	// embedded struct.
	mergePrefs  struct{ Lang string }
	mergeMiddle struct {
		*MergeAccount
		mergePrefs
		Theme string
	}
	embedsNested struct {
		mergeMiddle
		Flash string
	}

	tagged struct {
		Name     string
		Hook     func() `json:"-"` // no codec can encode it
		NotCBOR  string `cbor:"-"`
		NotJSON  string `json:"-" cbor:"not_json"`
		internal string
	}

	// stamped encodes as its time.Time (a promoted marshaler): the embedded
	// time is one field, not its unexported fields.
	stamped struct{ time.Time }
)

var mergeCodecs = []struct {
	name  string
	codec Codec
}{{"cbor", CBOR()}, {"json", JSON()}}

// merged runs mergeChanges on copies of theirs, base and mine and returns
// the merged value.
func merged[T any](t *testing.T, c Codec, theirs, base, mine T) T {
	t.Helper()
	if err := mergeChanges(c, &theirs, &base, &mine); err != nil {
		t.Fatalf("mergeChanges: %v", err)
	}
	return theirs
}

// Each writer changed a different promoted field, and both changed Flash:
// every change is kept, this request's Flash wins.
func TestMergeEmbeddedStruct(t *testing.T) {
	for _, tc := range mergeCodecs {
		t.Run(tc.name, func(t *testing.T) {
			base := embedsUnexported{mergeAccount{"ann", "user"}, ""}
			theirs := embedsUnexported{mergeAccount{"ann", "admin"}, "theirs"}
			mine := embedsUnexported{mergeAccount{"bob", "user"}, "mine"}
			if got, want := merged(t, tc.codec, theirs, base, mine), (embedsUnexported{mergeAccount{"bob", "admin"}, "mine"}); got != want {
				t.Errorf("unexported embedding: merged %+v, want %+v", got, want)
			}

			eb := embedsExported{MergeAccount{"ann", "user"}, ""}
			et := embedsExported{MergeAccount{"ann", "admin"}, "theirs"}
			em := embedsExported{MergeAccount{"bob", "user"}, "mine"}
			if got, want := merged(t, tc.codec, et, eb, em), (embedsExported{MergeAccount{"bob", "admin"}, "mine"}); got != want {
				t.Errorf("exported embedding: merged %+v, want %+v", got, want)
			}
		})
	}
}

func TestMergeEmbeddedPointer(t *testing.T) {
	acct := func(id, role string) *MergeAccount { return &MergeAccount{id, role} }
	for _, tc := range mergeCodecs {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range []struct {
				name               string
				theirs, base, mine embedsPointer
				want               embedsPointer
			}{
				{"all set: field by field",
					embedsPointer{acct("ann", "admin"), "theirs"}, embedsPointer{acct("ann", "user"), ""}, embedsPointer{acct("bob", "user"), ""},
					embedsPointer{acct("bob", "admin"), "theirs"}},
				{"this request set it",
					embedsPointer{nil, "theirs"}, embedsPointer{}, embedsPointer{acct("bob", "user"), ""},
					embedsPointer{acct("bob", "user"), "theirs"}},
				{"both set it: this request's wins",
					embedsPointer{acct("ann", "admin"), ""}, embedsPointer{}, embedsPointer{acct("bob", ""), ""},
					embedsPointer{acct("bob", ""), ""}},
				{"this request cleared it",
					embedsPointer{acct("ann", "admin"), "theirs"}, embedsPointer{acct("ann", "user"), ""}, embedsPointer{},
					embedsPointer{nil, "theirs"}},
				{"they cleared it, this request changed it",
					embedsPointer{nil, "theirs"}, embedsPointer{acct("ann", "user"), ""}, embedsPointer{acct("ann", "admin"), ""},
					embedsPointer{acct("ann", "admin"), "theirs"}},
				{"they cleared it, this request did not change it",
					embedsPointer{nil, "theirs"}, embedsPointer{acct("ann", "user"), ""}, embedsPointer{acct("ann", "user"), "mine"},
					embedsPointer{nil, "mine"}},
				{"they set it",
					embedsPointer{acct("ann", "user"), ""}, embedsPointer{}, embedsPointer{nil, "mine"},
					embedsPointer{acct("ann", "user"), "mine"}},
			} {
				got := merged(t, tc.codec, c.theirs, c.base, c.mine)
				if got.Flash != c.want.Flash || (got.MergeAccount == nil) != (c.want.MergeAccount == nil) ||
					got.MergeAccount != nil && *got.MergeAccount != *c.want.MergeAccount {
					t.Errorf("%s: merged %s, want %s", c.name, showPointer(got), showPointer(c.want))
				}
			}
		})
	}
}

func showPointer(v embedsPointer) string {
	if v.MergeAccount == nil {
		return "{nil " + v.Flash + "}"
	}
	return "{&" + v.UserID + "/" + v.Role + " " + v.Flash + "}"
}

// An unexported embedded pointer is walked through when all three point to
// a struct; where it would have to be set, the merge fails, as the codecs
// fail to decode into a nil one.
func TestMergeUnexportedEmbeddedPointer(t *testing.T) {
	acct := func(id, role string) *mergeAccount { return &mergeAccount{id, role} }
	for _, tc := range mergeCodecs {
		t.Run(tc.name, func(t *testing.T) {
			got := merged(t, tc.codec,
				embedsUnexportedPointer{acct("ann", "admin"), "theirs"},
				embedsUnexportedPointer{acct("ann", "user"), ""},
				embedsUnexportedPointer{acct("bob", "user"), ""})
			if *got.mergeAccount != (mergeAccount{"bob", "admin"}) || got.Flash != "theirs" {
				t.Errorf("all set: merged %+v %q", *got.mergeAccount, got.Flash)
			}

			got = merged(t, tc.codec, embedsUnexportedPointer{nil, "theirs"}, embedsUnexportedPointer{}, embedsUnexportedPointer{nil, "mine"})
			if got.mergeAccount != nil || got.Flash != "mine" {
				t.Errorf("none set: merged %+v", got)
			}
			got = merged(t, tc.codec, embedsUnexportedPointer{nil, ""}, embedsUnexportedPointer{acct("ann", "user"), ""}, embedsUnexportedPointer{acct("ann", "user"), "mine"})
			if got.mergeAccount != nil || got.Flash != "mine" {
				t.Errorf("they cleared it, this request did not change it: merged %+v", got)
			}

			for name, c := range map[string][3]embedsUnexportedPointer{
				"this request set it":                      {{}, {}, {acct("bob", ""), ""}},
				"this request cleared it":                  {{acct("ann", ""), ""}, {acct("ann", ""), ""}, {}},
				"they cleared it, this request changed it": {{}, {acct("ann", "user"), ""}, {acct("ann", "admin"), ""}},
			} {
				err := mergeChanges(tc.codec, &c[0], &c[1], &c[2])
				if err == nil || !strings.Contains(err.Error(), "unexported struct") {
					t.Errorf("%s: %v, want the error of a pointer that cannot be set", name, err)
				}
			}
		})
	}
}

func TestMergeNestedEmbedding(t *testing.T) {
	mk := func(id, role, lang, theme, flash string) embedsNested {
		return embedsNested{mergeMiddle{&MergeAccount{id, role}, mergePrefs{lang}, theme}, flash}
	}
	for _, tc := range mergeCodecs {
		t.Run(tc.name, func(t *testing.T) {
			base := mk("ann", "user", "en", "light", "")
			theirs := mk("ann", "admin", "en", "dark", "")
			mine := mk("bob", "user", "fr", "light", "hi")
			got := merged(t, tc.codec, theirs, base, mine)
			if *got.MergeAccount != (MergeAccount{"bob", "admin"}) || got.Lang != "fr" || got.Theme != "dark" || got.Flash != "hi" {
				t.Errorf("merged %+v %+v", *got.MergeAccount, got)
			}
		})
	}
}

// Fields the codec does not store are not compared (a func would not even
// encode): this request keeps its values where they can be set; a field
// one codec skips is merged with the other.
func TestMergeSkipsFieldsTheCodecDoesNotStore(t *testing.T) {
	hook := func() {}
	for _, tc := range mergeCodecs {
		t.Run(tc.name, func(t *testing.T) {
			base := tagged{Name: "ann", NotCBOR: "b", NotJSON: "b"}
			theirs := tagged{Name: "ann", NotCBOR: "t", NotJSON: "t", internal: "t"}
			mine := tagged{Name: "bob", Hook: hook, NotCBOR: "b", NotJSON: "b", internal: "m"}
			got := merged(t, tc.codec, theirs, base, mine)
			want := tagged{Name: "bob", NotCBOR: "t", NotJSON: "b", internal: "t"} // JSON stores NotCBOR, not NotJSON
			if tc.name == "cbor" {
				want.NotCBOR, want.NotJSON = "b", "t"
			}
			if got.Hook == nil || got.Name != want.Name || got.NotCBOR != want.NotCBOR || got.NotJSON != want.NotJSON || got.internal != want.internal {
				t.Errorf("merged %+v (hook set: %t), want %+v with the hook", got, got.Hook != nil, want)
			}
		})
	}
}

// An embedded type that encodes itself is one field: its unexported
// fields are not skipped.
func TestMergeEmbeddedMarshalerIsOneField(t *testing.T) {
	t0, t1 := time.Unix(100, 0).UTC(), time.Unix(200, 0).UTC()
	for _, tc := range mergeCodecs {
		t.Run(tc.name, func(t *testing.T) {
			if got := merged(t, tc.codec, stamped{t0}, stamped{t0}, stamped{t1}); !got.Equal(t1) {
				t.Errorf("merged %v, want this request's %v", got.Time, t1)
			}
		})
	}
}

// A map T is merged key by key, as before.
func TestMergeMap(t *testing.T) {
	theirs := map[string]any{"a": "theirs", "b": "b", "gone": "x"}
	base := map[string]any{"a": "a", "b": "b", "gone": "x"}
	mine := map[string]any{"a": "a", "b": "mine", "new": "n"}
	got := merged(t, CBOR(), theirs, base, mine)
	if want := map[string]any{"a": "theirs", "b": "mine", "new": "n"}; !reflect.DeepEqual(got, want) {
		t.Errorf("merged %v, want %v", got, want)
	}
}

func BenchmarkMergeChanges(b *testing.B) {
	base := embedsNested{mergeMiddle{&MergeAccount{"ann", "user"}, mergePrefs{"en"}, "light"}, ""}
	mine := embedsNested{mergeMiddle{&MergeAccount{"ann", "user"}, mergePrefs{"fr"}, "light"}, "hi"}
	for b.Loop() {
		theirs := embedsNested{mergeMiddle{&MergeAccount{"ann", "admin"}, mergePrefs{"en"}, "light"}, ""}
		if err := mergeChanges(CBOR(), &theirs, &base, &mine); err != nil {
			b.Fatal(err)
		}
	}
}
