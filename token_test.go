package sessions

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestNewTokenIsValidAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		tok := newToken()
		if !validToken(tok) {
			t.Fatalf("newToken() = %q is not valid", tok)
		}
		if seen[tok] {
			t.Fatalf("duplicate token %q", tok)
		}
		seen[tok] = true
	}
}

func TestValidToken(t *testing.T) {
	good := newToken()
	for _, tc := range []struct {
		tok  string
		want bool
	}{
		{good, true},
		{strings.Repeat("A", 43), true},
		{strings.Repeat("A", 42) + "E", true}, // E = 4: low two bits zero
		{strings.Repeat("A", 42) + "B", false},
		{strings.Repeat("A", 42), false},
		{strings.Repeat("A", 44), false},
		{strings.Repeat("A", 42) + "=", false},
		{strings.Repeat("A", 41) + "+A", false},
		{strings.Repeat("A", 41) + "/A", false},
		{strings.Repeat("A", 41) + "\x00A", false},
		{strings.Repeat("A", 40) + "\xc3\xa9A", false},
		{"", false},
	} {
		if got := validToken(tc.tok); got != tc.want {
			t.Errorf("validToken(%q) = %v, want %v", tc.tok, got, tc.want)
		}
	}
}

func TestStoreKey(t *testing.T) {
	tok := newToken()
	k := storeKey("session:", tok)
	if !strings.HasPrefix(k, "session:") || len(k) != len("session:")+43 {
		t.Errorf("storeKey = %q", k)
	}
	if strings.Contains(k, tok) {
		t.Errorf("store key %q contains the token", k)
	}
	if storeKey("session:", tok) != k || storeKey("session:", newToken()) == k {
		t.Errorf("storeKey is not a function of the token")
	}
}

func TestTokenFromRequest(t *testing.T) {
	tok, other := newToken(), newToken()
	for _, tc := range []struct {
		headers []string
		want    string
	}{
		{nil, ""},
		{[]string{"session=" + tok}, tok},
		{[]string{"a=b; session=" + tok + "; c=d"}, tok},
		{[]string{"a=b", "session=" + tok}, tok},
		{[]string{"session=bogus; session=" + tok}, tok},
		{[]string{"session=" + tok + "; session=" + other}, tok},
		{[]string{"xsession=" + tok}, ""},
		{[]string{"session=\"" + tok + "\""}, ""},
		{[]string{"session=" + tok + "x"}, ""},
		{[]string{"  session=" + tok + "  "}, tok},
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		for _, h := range tc.headers {
			r.Header.Add("Cookie", h)
		}
		got := ""
		if toks := appendTokens(nil, r, "session"); len(toks) > 0 {
			got = toks[0]
		}
		if got != tc.want {
			t.Errorf("appendTokens(%q) = %q, want %q first", tc.headers, got, tc.want)
		}
	}
}

func FuzzAppendTokens(f *testing.F) {
	f.Add("session=" + newToken())
	f.Add("a=b; session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA; c")
	f.Add(";;;=;session=;session")
	f.Add("session=\xff\xfe\x00")
	f.Fuzz(func(t *testing.T, header string) {
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", header)
		toks := appendTokens(nil, r, "session")
		if len(toks) > maxPresentedTokens {
			t.Fatalf("appendTokens(%q) returned %d tokens", header, len(toks))
		}
		for _, got := range toks {
			if !validToken(got) || !strings.Contains(header, got) {
				t.Fatalf("appendTokens(%q) = %q", header, got)
			}
		}
	})
}

func TestRecordRoundTrip(t *testing.T) {
	in := record{deadline: time.Unix(1700000000, 123456789), created: time.Unix(1600000000, 5), persistent: true, owner: "user:ü/1", payload: []byte("payload")}
	out, err := parseRecord(appendRecord(nil, in))
	if err != nil {
		t.Fatal(err)
	}
	if !out.deadline.Equal(in.deadline) || !out.created.Equal(in.created) || out.persistent != in.persistent ||
		out.owner != in.owner || out.revoked || string(out.payload) != "payload" {
		t.Errorf("round trip: %+v, want %+v", out, in)
	}
	// A version 1 record (no owner, no creation time) still reads.
	v1 := append([]byte{1, flagPersistent}, make([]byte, 24)...)
	v1 = append(v1, "old"...)
	if r, err := parseRecord(v1); err != nil || string(r.payload) != "old" || !r.persistent || r.owner != "" {
		t.Errorf("version 1 record: %+v, %v", r, err)
	}
}

func TestParseRecordRejects(t *testing.T) {
	good := appendRecord(nil, record{deadline: time.Now(), payload: []byte{1}})
	long := appendRecord(nil, record{deadline: time.Now(), owner: "abc"})
	bad := [][]byte{nil, {}, good[:recordHeaderSize-1], append([]byte{4}, good[1:]...), append([]byte{2, 0x80}, good[2:]...),
		long[:recordHeaderSize+2], // owner cut short
		append([]byte{1, flagRevoked}, good[2:]...)}
	for _, b := range bad {
		if _, err := parseRecord(b); err == nil {
			t.Errorf("parseRecord(%x) accepted a malformed record", b)
		}
	}
}
