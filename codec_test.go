package sessions_test

import (
	"bytes"
	"strings"
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
	deep := append(bytes.Repeat([]byte{0x81}, 100), 0x01) // 100 nested arrays
	if err := c.Unmarshal(deep, &v); err == nil {
		t.Error("accepted 100 levels of nesting")
	}
	dup := []byte{0xa2, 0x61, 'a', 0x01, 0x61, 'a', 0x02} // {"a":1,"a":2}
	if err := c.Unmarshal(dup, &v); err == nil {
		t.Error("accepted a duplicate map key")
	}
	huge := []byte{0x9a, 0x7f, 0xff, 0xff, 0xff} // array claiming 2^31-1 items
	if err := c.Unmarshal(huge, &v); err == nil {
		t.Error("accepted an array of 2^31-1 elements")
	}
	indef := []byte{0x9f, 0x01, 0xff}
	if err := c.Unmarshal(indef, &v); err == nil {
		t.Error("accepted an indefinite-length array")
	}
	if err := c.Unmarshal([]byte{0x61, 0xff}, &v); err == nil || !strings.Contains(err.Error(), "cbor") {
		t.Errorf("invalid UTF-8 text: err = %v", err)
	}
}
