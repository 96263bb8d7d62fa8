package bench

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"unsafe"

	"github.com/sessionkit/sessions"
)

// floorRedis is a handler without a session library that does the least
// any server-side session library must do for op: it reads the session
// cookie, derives the store key from the token (the manager's prefix and
// SHA-256), loads the record with op's command (GET, or GETEX for the idle
// timeout) through the same rueidis client and decodes the value into a
// fresh userData with the manager's codec; for a change (wireSaveIf) it
// increments the visits, encodes the value and writes the new record with
// redisstore's conditional EVALSHA. It wraps no writer, copies no request,
// bounds no store call with a timeout and compares nothing to find a
// change: what a library adds over this row is what its own design costs,
// and what this row adds over bare is what no session library can avoid.
func floorRedis(op wireOp) func(*wire, *testing.B) func(*testing.B) *wireClient {
	return func(w *wire, b *testing.B) func(*testing.B) *wireClient {
		client, _ := w.redisClient(b)
		m, prefix := w.redisManager(b, "floor", op == wireGetex)
		if op == wireSaveIf {
			loadSaveIf(b, client)
		}
		codec := sessions.CBOR()
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token := floorToken(r)
			if token == "" {
				http.Error(w, "no session cookie", http.StatusBadRequest)
				return
			}
			key := prefix + storeKeyOf(token)
			rec, err := client.Do(r.Context(), wireLoad(client, op, key)).ToString() // the reply's string, not a copy
			if err != nil {
				http.Error(w, fmt.Sprint("load: ", err), http.StatusInternalServerError)
				return
			}
			start, err := floorPayload(rec)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			var d userData
			payload := unsafe.Slice(unsafe.StringData(rec[start:]), len(rec)-start)
			if err := codec.Unmarshal(payload, &d); err != nil || d.UserID != seed.UserID {
				http.Error(w, fmt.Sprint("decode: ", err), http.StatusInternalServerError)
				return
			}
			if op == wireSaveIf {
				d.Visits++
				payload, err := codec.Marshal(&d)
				if err == nil {
					// The same header (the owner) with the new payload.
					err = wireSave(r.Context(), client, op, key, rec, rec[8:start], payload)
				}
				if err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
			}
			w.Write(body)
		})
		return func(b *testing.B) *wireClient {
			return &wireClient{h: h, cookie: createWire(b, m, seed)}
		}
	}
}

// floorToken is the value of the request's session cookie, found without
// building http.Cookie values, or "".
func floorToken(r *http.Request) string {
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			if name, value, ok := strings.Cut(strings.TrimSpace(part), "="); ok && name == cookieName {
				return value
			}
		}
	}
	return ""
}

// floorPayload is where the codec's part starts in a record as redisstore
// keeps it: an 8-byte version, then the manager's record (record.go: a
// 28-byte header whose last two bytes are the owner's length, the owner,
// the payload).
func floorPayload(raw string) (int, error) {
	const version, header = 8, 28
	if len(raw) < version+header {
		return 0, fmt.Errorf("record of %d bytes", len(raw))
	}
	owner := int(raw[version+header-2])<<8 | int(raw[version+header-1])
	start := version + header + owner
	if raw[version] != 2 || start > len(raw) {
		return 0, fmt.Errorf("record version %d, payload at %d of %d", raw[version], start, len(raw))
	}
	return start, nil
}
