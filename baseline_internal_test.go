package sessions

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// aliasProbe has a field of every kind a decoder could fill with a slice
// of its input.
type aliasProbe struct {
	S   string
	B   []byte
	A   [4]byte
	P   *string
	L   []string
	M   map[string]string
	Any any
	Map map[string]any
	T   time.Time
	J   json.RawMessage
	C   cbor.RawMessage `json:"-"`
	N   *aliasProbe
}

// TestDecodedValuesDoNotAliasTheirInput checks what pooled baselines rely
// on (baseline.go): a value the built-in codecs decode shares no memory
// with the encoding, so the buffer can serve another request afterwards.
func TestDecodedValuesDoNotAliasTheirInput(t *testing.T) {
	s := "a string of some length"
	v := aliasProbe{
		S: s, B: []byte("bytes of some length"), A: [4]byte{1, 2, 3, 4}, P: &s,
		L: []string{"one", "two"}, M: map[string]string{"k": "value"},
		Any: map[string]any{"k": "v", "n": []any{"x", 1.5}},
		Map: map[string]any{"s": "text", "l": []any{"y"}},
		T:   time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		J:   json.RawMessage(`{"raw":"json"}`),
		C:   cbor.RawMessage{0x63, 'r', 'a', 'w'},
		N:   &aliasProbe{S: "nested", B: []byte("nested bytes")},
	}
	for name, c := range map[string]Codec{"CBOR": CBOR(), "JSON": JSON()} {
		if !pooledBaselines(c, &keyring{}) {
			t.Fatalf("%s: baselines not pooled", name)
		}
		enc, err := c.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		input := bytes.Clone(enc)
		var got aliasProbe
		if err := c.Unmarshal(input, &got); err != nil {
			t.Fatal(err)
		}
		for i := range input {
			input[i] = 0xAA // the buffer now serves another request
		}
		again, err := c.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, enc) {
			t.Errorf("%s: the decoded value changed with its input:\n%q\nwant\n%q", name, again, enc)
		}
	}
}

type ownCodec struct{ Codec }

func TestPooledBaselinesOnlyEncryptedWithBuiltinCodecs(t *testing.T) {
	k := &keyring{}
	if pooledBaselines(CBOR(), nil) || pooledBaselines(JSON(), nil) {
		t.Error("baselines pooled without encryption")
	}
	if pooledBaselines(ownCodec{CBOR()}, k) {
		t.Error("baselines pooled with a codec of the application's")
	}
}

// TestMiddlewareHandsBaselineBack checks that a request through
// Middleware keeps its opened record in a pooled buffer and gives it back
// when Middleware returns, leaving the session with no baseline.
func TestMiddlewareHandsBaselineBack(t *testing.T) {
	key := bytes.Repeat([]byte{7}, EncryptionKeySize)
	m, err := New[aliasProbe](WithEncryption(key))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var s *session[aliasProbe]
	var pooled bool
	change := true
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := m.Get(r.Context())
		if change {
			d.S += "x"
		}
		s = m.session(r.Context())
		pooled = s.savedBuf != nil
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	cookie := rec.Result().Cookies()[0]
	for _, c := range []bool{false, true} {
		change = c
		req := httptest.NewRequest("GET", "/", nil)
		req.AddCookie(cookie)
		h.ServeHTTP(httptest.NewRecorder(), req)
		if !pooled {
			t.Errorf("change %v: the opened record was not in a pooled buffer", c)
		}
		if !s.closed || s.savedBuf != nil || s.saved != nil || !s.noBaseline {
			t.Errorf("change %v: after Middleware returned: closed %v, buffer %v, baseline %q, no baseline %v", c, s.closed, s.savedBuf != nil, s.saved, s.noBaseline)
		}
	}
}
