package sessions_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/store/memstore"
)

// newEncryptionKey returns a random key for WithEncryption.
func newEncryptionKey() []byte {
	k := make([]byte, sessions.EncryptionKeySize)
	rand.Read(k)
	return k
}

// logBuffer collects log lines from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

// newSharedMemstore is a memory store for several managers, closed at
// the end of the test.
func newSharedMemstore(t *testing.T) *memstore.Store {
	t.Helper()
	st, err := memstore.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// recordIndexed hides the memory store's owner index (store.OwnerIndex),
// so that the manager keeps owner indexes in records, which it seals.
type recordIndexed struct {
	store.Versioned
	store.Scanner
}

// rawRecords returns every record under prefix in st, by key.
func rawRecords(t *testing.T, st store.Store, prefix string) map[string][]byte {
	t.Helper()
	sc := st.(store.Scanner)
	out := map[string][]byte{}
	cursor := ""
	for {
		keys, next, err := sc.Scan(t.Context(), prefix, cursor, 50)
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
		for _, k := range keys {
			b, found, err := st.Load(t.Context(), k)
			if err != nil {
				t.Fatalf("Load(%q): %v", k, err)
			}
			if found {
				out[k] = b
			}
		}
		if next == "" {
			return out
		}
		cursor = next
	}
}

// keyIDs returns the key IDs of the sealed records under prefix in st,
// with how many records each sealed; "clear" counts records that are not
// sealed.
func keyIDs(t *testing.T, st store.Store) map[string]int {
	t.Helper()
	ids := map[string]int{}
	for _, b := range rawRecords(t, st, "session:") {
		if len(b) < 45 || b[0] != 0x81 {
			ids["clear"]++
			continue
		}
		ids[hex.EncodeToString(b[1:5])]++
	}
	return ids
}

func TestWithEncryptionValidatesKeys(t *testing.T) {
	k := newEncryptionKey()
	for _, tc := range []struct {
		name    string
		opt     sessions.Option
		wantErr bool
	}{
		{"one key", sessions.WithEncryption(k), false},
		{"with previous", sessions.WithEncryption(k, newEncryptionKey(), newEncryptionKey()), false},
		{"the same key twice", sessions.WithEncryption(k, k), false},
		{"nil current", sessions.WithEncryption(nil), true},
		{"short current", sessions.WithEncryption(k[:16]), true},
		{"long previous", sessions.WithEncryption(k, append(newEncryptionKey(), 0)), true},
		{"empty previous", sessions.WithEncryption(k, []byte{}), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := sessions.New[profile](tc.opt)
			if m != nil {
				m.Close()
			}
			switch {
			case tc.wantErr && !errors.Is(err, sessions.ErrInvalidConfig):
				t.Fatalf("New = %v, want an error wrapping ErrInvalidConfig", err)
			case !tc.wantErr && err != nil:
				t.Fatalf("New: %v", err)
			}
			if err != nil && strings.Contains(err.Error(), base64.StdEncoding.EncodeToString(k[:16])) {
				t.Fatalf("the error shows key material: %v", err)
			}
		})
	}
}

// TestEncryptionSealsEverything: with every codec, neither the value nor
// the owner appears in any record, and every record is sealed; the
// session reads back, Sessions lists it and RevokeOwner ends it.
func TestEncryptionSealsEverything(t *testing.T) {
	for _, codec := range []struct {
		name  string
		codec sessions.Codec
	}{{"cbor", sessions.CBOR()}, {"json", sessions.JSON()}} {
		t.Run(codec.name, func(t *testing.T) {
			st := newSharedMemstore(t)
			m := mustNew[profile](t, sessions.WithStore(recordIndexed{st, st}), sessions.WithCodec(codec.codec), sessions.WithEncryption(newEncryptionKey()))
			const marker, owner = "marker-value-7f3a", "alice@example.com"
			ctx := ownedSession(t, m, owner)
			m.Get(ctx).Name = marker
			if err := m.Renew(ctx); err != nil { // leaves a forward behind
				t.Fatal(err)
			}
			token, _, err := m.Commit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			recs := rawRecords(t, st, "")
			if len(recs) != 3 { // the session, the forward, the index
				t.Fatalf("%d records, want 3", len(recs))
			}
			for k, b := range recs {
				if bytes.Contains(b, []byte(marker)) || bytes.Contains(b, []byte(owner)) || b[0] != 0x81 {
					t.Fatalf("record %q is not sealed: %q", k, b)
				}
			}
			ctx, err = m.Load(t.Context(), token)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Get(ctx).Name; got != marker {
				t.Fatalf("Name = %q, want %q", got, marker)
			}
			list, err := m.Sessions(ctx, owner)
			if err != nil || len(list) != 1 || list[0].Data.Name != marker || !list[0].Current {
				t.Fatalf("Sessions = %+v, %v", list, err)
			}
			if n, err := m.RevokeOwner(t.Context(), owner); n != 1 || err != nil {
				t.Fatalf("RevokeOwner = %d, %v", n, err)
			}
		})
	}
}

// TestEncryptionTamperedRecord: a record with a flipped byte is a missing
// session: a fresh one, a log line with its key ID (and no key material),
// and the record deleted.
func TestEncryptionTamperedRecord(t *testing.T) {
	for _, at := range []int{1, 10, 40, -1} { // key ID, nonce, ciphertext, tag
		t.Run(fmt.Sprint(at), func(t *testing.T) {
			st := newSharedMemstore(t)
			key := newEncryptionKey()
			var logs logBuffer
			m := mustNew[profile](t, sessions.WithStore(st), sessions.WithEncryption(key), sessions.WithLogger(logs.logger()))
			token := savedSession(t, m, "ada")
			recs := rawRecords(t, st, "session:")
			var storeKey string
			var b []byte
			for k, v := range recs {
				storeKey, b = k, v
			}
			keyID := hex.EncodeToString(b[1:5])
			if at < 0 {
				at += len(b)
			}
			b[at] ^= 0x40
			if err := st.Save(t.Context(), storeKey, b, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if at < 5 {
				keyID = hex.EncodeToString(b[1:5]) // the ID the record claims
			}

			c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, m.Get(r.Context()).Name) })
			c.cookie = token
			res := c.do()
			if res.StatusCode != 200 {
				t.Fatalf("status %d, want 200", res.StatusCode)
			}
			if body := readBody(t, res); body != "" {
				t.Fatalf("a tampered record loaded as %q, want a fresh session", body)
			}
			if _, found, _ := st.Load(t.Context(), storeKey); found {
				t.Fatal("the tampered record was not deleted")
			}
			out := logs.String()
			if !strings.Contains(out, "key_id="+keyID) {
				t.Fatalf("no log line names key ID %s:\n%s", keyID, out)
			}
			for _, enc := range []string{hex.EncodeToString(key), base64.StdEncoding.EncodeToString(key), base64.RawURLEncoding.EncodeToString(key)} {
				if strings.Contains(out, enc) || strings.Contains(out, enc[:12]) {
					t.Fatalf("the log shows key material:\n%s", out)
				}
			}
			// The next request is a fresh session again, not an error.
			if res := c.do(); res.StatusCode != 200 {
				t.Fatalf("second request: status %d", res.StatusCode)
			}
		})
	}
}

// TestEncryptionSwappedRecord: a record copied under another session's
// key, or an owner index copied under a session key, does not open.
func TestEncryptionSwappedRecord(t *testing.T) {
	st := newSharedMemstore(t)
	m := mustNew[profile](t, sessions.WithStore(st), sessions.WithEncryption(newEncryptionKey()), sessions.WithLogger(slog.New(slog.DiscardHandler)))
	admin := savedSession(t, m, "admin")
	ctx := ownedSession(t, m, "mallory")
	m.Get(ctx).Name = "mallory"
	mallory, _, err := m.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	keyOf := func(token string) string {
		for k := range rawRecords(t, st, "session:") {
			if k == "session:"+idOf(token) {
				return k
			}
		}
		t.Fatalf("no record for %s", token)
		return ""
	}
	adminKey, malloryKey := keyOf(admin), keyOf(mallory)
	recs := rawRecords(t, st, "session:")
	var indexRec []byte
	for k, b := range recs {
		if strings.HasPrefix(k, "session:owner:") {
			indexRec = b
		}
	}
	for name, data := range map[string][]byte{"session": recs[adminKey], "index": indexRec} {
		t.Run(name, func(t *testing.T) {
			if err := st.Save(t.Context(), malloryKey, data, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			ctx, err := m.Load(t.Context(), mallory)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Get(ctx).Name; got != "" {
				t.Fatalf("a record moved under another key loaded as %q, want a fresh session", got)
			}
		})
	}
}

// readBody returns res's body.
func readBody(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestEncryptionPreviousKeyOpensAndResealsOnWrite: a record under a
// previous key opens; a read-only request leaves it; the next write
// seals it under the current key, which then opens it alone.
func TestEncryptionPreviousKeyOpensAndResealsOnWrite(t *testing.T) {
	st := newSharedMemstore(t)
	k1, k2 := newEncryptionKey(), newEncryptionKey()
	old := mustNew[profile](t, sessions.WithStore(st), sessions.WithEncryption(k1))
	token := savedSession(t, old, "ada")
	before := keyIDs(t, st)

	m := mustNew[profile](t, sessions.WithStore(st), sessions.WithEncryption(k2, k1))
	ctx, err := m.Load(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Get(ctx).Name; got != "ada" {
		t.Fatalf("Name = %q under a previous key, want ada", got)
	}
	if _, _, err := m.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := keyIDs(t, st); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Fatalf("a read-only request resealed the record: %v, then %v", before, got)
	}
	ctx, _ = m.Load(t.Context(), token)
	m.Get(ctx).Visits++
	if _, _, err := m.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	after := keyIDs(t, st)
	if len(after) != 1 || after["clear"] != 0 || fmt.Sprint(after) == fmt.Sprint(before) {
		t.Fatalf("after a write the records are sealed by %v, before by %v: want the new key alone", after, before)
	}
	only := mustNew[profile](t, sessions.WithStore(st), sessions.WithEncryption(k2))
	ctx, _ = only.Load(t.Context(), token)
	if got := only.Get(ctx); got.Name != "ada" || got.Visits != 1 {
		t.Fatalf("under the new key alone: %+v", got)
	}
}

// TestRekey: Rekey reseals every record under a previous key (sessions,
// forwards, owner indexes), in several batches, and counts them; dropping
// the previous key afterwards signs nobody out.
func TestRekey(t *testing.T) {
	st := newSharedMemstore(t)
	k1, k2 := newEncryptionKey(), newEncryptionKey()
	old := mustNew[profile](t, sessions.WithStore(recordIndexed{st, st}), sessions.WithEncryption(k1))
	const n = 230 // over two batches
	tokens := make([]string, n)
	for i := range tokens {
		ctx := ownedSession(t, old, fmt.Sprintf("user%d", i%3))
		m := old.Get(ctx)
		m.Name, m.Visits = fmt.Sprint("user", i), i
		var err error
		if tokens[i], _, err = old.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	clearToken := savedSession(t, mustNew[profile](t, sessions.WithStore(recordIndexed{st, st}), sessions.WithKeyPrefix("other:")), "other app")
	records := len(rawRecords(t, st, "session:"))
	if records != n+3 {
		t.Fatalf("%d records, want %d", records, n+3)
	}

	m := mustNew[profile](t, sessions.WithStore(recordIndexed{st, st}), sessions.WithEncryption(k2, k1))
	got, err := m.Rekey(t.Context())
	if err != nil || got != records {
		t.Fatalf("Rekey = %d, %v; want %d", got, err, records)
	}
	if ids := keyIDs(t, st); len(ids) != 1 || ids["clear"] != 0 {
		t.Fatalf("after Rekey, records sealed by %v, want one key", ids)
	}
	if got, err := m.Rekey(t.Context()); got != 0 || err != nil {
		t.Fatalf("second Rekey = %d, %v; want 0", got, err)
	}

	only := mustNew[profile](t, sessions.WithStore(recordIndexed{st, st}), sessions.WithEncryption(k2))
	for i, token := range tokens {
		ctx, err := only.Load(t.Context(), token)
		if err != nil {
			t.Fatal(err)
		}
		if d := only.Get(ctx); d.Visits != i || d.Name != fmt.Sprint("user", i) {
			t.Fatalf("session %d after dropping the old key: %+v", i, d)
		}
	}
	for o := range 3 {
		list, err := only.Sessions(t.Context(), fmt.Sprint("user", o))
		if err != nil || len(list) != (n+2-o)/3 {
			t.Fatalf("Sessions(user%d) = %d sessions, %v; want %d", o, len(list), err, (n+2-o)/3)
		}
	}
	// Another prefix's records are not this manager's.
	other := mustNew[profile](t, sessions.WithStore(st), sessions.WithKeyPrefix("other:"))
	ctx, _ := other.Load(t.Context(), clearToken)
	if other.Get(ctx).Name != "other app" {
		t.Fatal("Rekey touched another prefix's record")
	}
}

func TestRekeyWithoutWorkOrSupport(t *testing.T) {
	k1, k2 := newEncryptionKey(), newEncryptionKey()
	for name, opts := range map[string][]sessions.Option{
		"off":         nil,
		"no previous": {sessions.WithEncryption(k1)},
	} {
		m := mustNew[profile](t, opts...)
		if n, err := m.Rekey(t.Context()); n != 0 || err != nil {
			t.Errorf("%s: Rekey = %d, %v; want 0, nil", name, n, err)
		}
	}
	for name, st := range map[string]store.Store{
		"unversioned": newSpy(t),          // no conditional writes, no listing
		"unlisted":    newVersionedSpy(t), // no listing
	} {
		m := mustNew[profile](t, sessions.WithStore(st), sessions.WithEncryption(k2, k1))
		if _, err := m.Rekey(t.Context()); !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("%s: Rekey = %v, want an error wrapping errors.ErrUnsupported", name, err)
		}
	}
}

// racingStore runs hook once, before the first SaveIf of a key whose
// record it names.
type racingStore struct {
	*memstore.Store
	fired atomic.Bool
	hook  func()
}

func (s *racingStore) SaveIf(ctx context.Context, key string, data []byte, exp time.Time, v store.Version) (store.Version, error) {
	if s.hook != nil && s.fired.CompareAndSwap(false, true) {
		s.hook()
	}
	return s.Store.SaveIf(ctx, key, data, exp, v)
}

// racingRotation returns a racing store holding one session sealed under
// a previous key, a manager that rotates to a new key on it, and the
// session's token.
func racingRotation(t *testing.T) (*racingStore, *sessions.Manager[profile], string) {
	st := &racingStore{Store: newSharedMemstore(t)}
	k1, k2 := newEncryptionKey(), newEncryptionKey()
	old := mustNew[profile](t, sessions.WithStore(st), sessions.WithEncryption(k1))
	token := savedSession(t, old, "ada")
	return st, mustNew[profile](t, sessions.WithStore(st), sessions.WithEncryption(k2, k1)), token
}

// TestRekeyNeverOverwritesAWrite: a request that writes between Rekey's
// read and its write keeps its change, and Rekey does not count it.
func TestRekeyNeverOverwritesAWrite(t *testing.T) {
	st, m, token := racingRotation(t)
	st.hook = func() {
		ctx, err := m.Load(t.Context(), token)
		if err != nil {
			t.Error(err)
			return
		}
		if err := m.Update(ctx, func(p *profile) error { p.Visits = 42; return nil }); err != nil {
			t.Error(err)
		}
	}
	if n, err := m.Rekey(t.Context()); n != 0 || err != nil {
		t.Fatalf("Rekey = %d, %v; want 0 (the racing write resealed the record)", n, err)
	}
	ctx, _ := m.Load(t.Context(), token)
	if d := m.Get(ctx); d.Visits != 42 || d.Name != "ada" {
		t.Fatalf("after Rekey raced a write: %+v, want Visits 42", d)
	}
}

// TestRekeyKeepsEndedSessionsEnded: a session destroyed between Rekey's
// read and its write stays destroyed.
func TestRekeyKeepsEndedSessionsEnded(t *testing.T) {
	st, m, token := racingRotation(t)
	st.hook = func() {
		ctx, _ := m.Load(t.Context(), token)
		if err := m.Revoke(t.Context(), sessionID(t, m, ctx)); err != nil {
			t.Error(err)
		}
	}
	if n, err := m.Rekey(t.Context()); n != 0 || err != nil {
		t.Fatalf("Rekey = %d, %v; want 0", n, err)
	}
	if live(t, m, token) {
		t.Fatal("a revoked session came back") // what is left is its tombstone
	}
}

// TestEncryptionCustomStore: a store with none of the optional interfaces
// (last writer wins) seals and opens like the others.
func TestEncryptionCustomStore(t *testing.T) {
	spy := newSpy(t)
	m := mustNew[map[string]any](t, sessions.WithStore(spy), sessions.WithCodec(sessions.JSON()), sessions.WithEncryption(newEncryptionKey()))
	ctx, err := m.Load(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	(*m.Get(ctx))["secret"] = "marker-8c1d"
	token, _, err := m.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for k, b := range rawRecords(t, spy.inner, "") {
		if bytes.Contains(b, []byte("marker-8c1d")) {
			t.Fatalf("record %q holds the value in the clear", k)
		}
	}
	ctx, _ = m.Load(t.Context(), token)
	if got := (*m.Get(ctx))["secret"]; got != "marker-8c1d" {
		t.Fatalf("secret = %v", got)
	}
}

// TestEncryptionOnAndOff: records in the clear do not open once
// encryption is on, and sealed ones do not decode once it is off: a fresh
// session each time, never an error.
func TestEncryptionOnAndOff(t *testing.T) {
	st := newSharedMemstore(t)
	quiet := sessions.WithLogger(slog.New(slog.DiscardHandler))
	clear := mustNew[profile](t, sessions.WithStore(st), quiet)
	sealed := mustNew[profile](t, sessions.WithStore(st), quiet, sessions.WithEncryption(newEncryptionKey()))
	for name, pair := range map[string][2]*sessions.Manager[profile]{"on": {clear, sealed}, "off": {sealed, clear}} {
		t.Run(name, func(t *testing.T) {
			token := savedSession(t, pair[0], "ada")
			ctx, err := pair[1].Load(t.Context(), token)
			if err != nil {
				t.Fatal(err)
			}
			if got := pair[1].Get(ctx).Name; got != "" {
				t.Fatalf("Name = %q, want a fresh session", got)
			}
		})
	}
}

// Rotating the key of WithEncryption without signing anybody out: the new
// key first opens only, then seals, Rekey reseals what is left, and the
// old key goes.
func ExampleManager_Rekey() {
	// Keys are 32 random bytes: in production, read them from your secret
	// store (openssl rand -base64 32, decoded).
	oldKey, newKey := make([]byte, sessions.EncryptionKeySize), make([]byte, sessions.EncryptionKeySize)
	rand.Read(oldKey)
	rand.Read(newKey)
	st, _ := memstore.New()
	defer st.Close()

	before, _ := sessions.New[profile](sessions.WithStore(st), sessions.WithEncryption(oldKey))
	ctx, _ := before.Load(context.Background(), "")
	before.Get(ctx).Name = "ada"
	token, _, _ := before.Commit(ctx)

	// Step 1, every process: WithEncryption(oldKey, newKey). Step 2, every
	// process: the new key seals, the old one still opens.
	during, _ := sessions.New[profile](sessions.WithStore(st), sessions.WithEncryption(newKey, oldKey))
	n, err := during.Rekey(context.Background())
	fmt.Println("resealed:", n, err)

	// Step 3: the old key goes; the session is still there.
	after, _ := sessions.New[profile](sessions.WithStore(st), sessions.WithEncryption(newKey))
	ctx, _ = after.Load(context.Background(), token)
	fmt.Println("name:", after.Get(ctx).Name)
	// Output:
	// resealed: 1 <nil>
	// name: ada
}

// TestEncryptionCallAfterMiddlewareReturned checks a session used from a
// goroutine the handler left running, after Middleware handed its opened
// record back to the pool: an Update still saves, and where another
// request wrote meanwhile it fails with ErrSessionChanged (it has no
// baseline to merge with) and the other write stays.
func TestEncryptionCallAfterMiddlewareReturned(t *testing.T) {
	m := mustNew[profile](t, sessions.WithEncryption(newEncryptionKey()))
	var kept context.Context
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := m.Get(r.Context())
		switch r.URL.Path {
		case "/keep":
			kept = r.Context()
		case "/set":
			d.Name = r.URL.Query().Get("name")
		}
		io.WriteString(w, d.Name)
	}))
	var cookie *http.Cookie
	get := func(target string) string {
		t.Helper()
		req := httptest.NewRequest("GET", target, nil)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if cs := rec.Result().Cookies(); len(cs) > 0 {
			cookie = cs[0]
		}
		return rec.Body.String()
	}
	get("/set?name=ann")
	get("/keep")
	if err := m.Update(kept, func(d *profile) error { d.Name += "+late"; return nil }); err != nil {
		t.Fatalf("Update after Middleware returned: %v", err)
	}
	if got := get("/"); got != "ann+late" {
		t.Fatalf("after the late Update the session holds %q, want %q", got, "ann+late")
	}
	get("/keep")
	get("/set?name=bob")
	err := m.Update(kept, func(d *profile) error { d.Name += "+late"; return nil })
	if !errors.Is(err, sessions.ErrSessionChanged) {
		t.Fatalf("late Update after another write: %v, want ErrSessionChanged", err)
	}
	if got := get("/"); got != "bob" {
		t.Fatalf("after the failed late Update the session holds %q, want %q", got, "bob")
	}
}
