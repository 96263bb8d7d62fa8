package sessions

import (
	"context"
	"testing"
	"time"
)

// A store's sweep reports only this manager's live session records: not
// a forward, a tombstone, an owner index, a record under another prefix
// or bytes that are no record.
func TestSweptReportsOnlySessions(t *testing.T) {
	var got []Event
	m, err := New[struct{ N int }](WithEvents(func(_ context.Context, e Event) { got = append(got, e) }))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	id, other := newToken(), newToken()
	deadline := time.Now()
	live := appendRecord(nil, record{deadline: deadline, owner: "ann", payload: []byte{0xa0}})
	for _, c := range []struct {
		key  string
		data []byte
	}{
		{"session:" + id, appendRecord(nil, record{forward: true, payload: []byte(other)})},
		{"session:" + id, appendRecord(nil, record{revoked: true})},
		{m.indexKey("ann"), appendIndex(nil, indexChunk{chunks: 1, entries: []indexEntry{{id: id, deadline: deadline}}})},
		{"other:" + id, live},
		{"session:" + id, []byte("garbage")},
		{"session:" + id, live},
	} {
		m.ev.(*events).swept(t.Context(), c.key, c.data)
	}
	if len(got) != 1 || got[0].Kind != EventExpired || got[0].ID != id || got[0].Owner != "ann" || got[0].Cause != "sweep" {
		t.Errorf("events %+v, want one expiry of the live session", got)
	}
}

// Every kind has a name, and an unknown one does not panic.
func TestEventKindNames(t *testing.T) {
	seen := map[string]bool{}
	for k := EventCreated; k <= EventRefused; k++ {
		name := k.String()
		if name == "unknown" || seen[name] {
			t.Errorf("kind %d: name %q", k, name)
		}
		seen[name] = true
	}
	if EventKind(0).String() != "unknown" || EventKind(200).String() != "unknown" {
		t.Error("an invalid kind has a name")
	}
}
