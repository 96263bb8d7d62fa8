package sessions

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"testing"
)

// BenchmarkKeyring measures sealing and opening one record alone, the
// cost WithEncryption adds to a write and to a load. The seal allocates
// the record the store keeps; the open reuses its buffer, as a request
// through Middleware does (baseline.go).
//
//	go test -run '^$' -bench Keyring -benchmem .
func BenchmarkKeyring(b *testing.B) {
	key := make([]byte, EncryptionKeySize)
	rand.Read(key)
	k, err := newKeyring(key, nil)
	if err != nil {
		b.Fatal(err)
	}
	const storeKey = "session:0123456789012345678901234567890123456789012"
	for _, size := range []struct {
		name string
		n    int
	}{{"1kB", 1 << 10}, {"100kB", 100 << 10}} {
		plain := make([]byte, size.n)
		sealed, err := k.seal(kindSession, storeKey, plain)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("seal/"+size.name, func(b *testing.B) {
			b.SetBytes(int64(size.n))
			b.ReportAllocs()
			for b.Loop() {
				k.seal(kindSession, storeKey, plain)
			}
		})
		b.Run("open/"+size.name, func(b *testing.B) {
			b.SetBytes(int64(size.n))
			b.ReportAllocs()
			buf := make([]byte, 0, openSize(storeKey, sealed))
			for b.Loop() {
				if _, err := k.open(buf, kindSession, storeKey, sealed); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	k1, k2 := make([]byte, EncryptionKeySize), make([]byte, EncryptionKeySize)
	rand.Read(k1)
	rand.Read(k2)
	cur, err := newKeyring(k2, [][]byte{k1})
	if err != nil {
		t.Fatal(err)
	}
	old, err := newKeyring(k1, nil)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := old.seal(kindSession, "k", []byte("plain"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) != len("plain")+sealedOverhead {
		t.Fatalf("sealed %d bytes, want %d", len(sealed), len("plain")+sealedOverhead)
	}
	plain, err := cur.open(nil, kindSession, "k", sealed)
	if err != nil || string(plain) != "plain" || !cur.stale(sealed) || old.stale(sealed) {
		t.Fatalf("open under a previous key = %q, %v", plain, err)
	}
	for name, open := range map[string]func() error{
		"other key":  func() error { _, err := cur.open(nil, kindSession, "k2", sealed); return err },
		"other kind": func() error { _, err := cur.open(nil, kindIndex, "k", sealed); return err },
		"short":      func() error { _, err := cur.open(nil, kindSession, "k", sealed[:sealedOverhead-1]); return err },
		"clear":      func() error { _, err := cur.open(nil, kindSession, "k", []byte("\\x02plain record")); return err },
	} {
		if err := open(); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
	if _, err := (&keyring{keys: cur.keys[:1]}).open(nil, kindSession, "k", sealed); keyIDOf(err) != old.current().keyID() {
		t.Errorf("a record under a removed key: %v, want its key ID %s named", err, old.current().keyID())
	}
}

// TestXAESVectors checks the construction against the test vectors of
// c2sp.org/XAES-256-GCM.
func TestXAESVectors(t *testing.T) {
	for _, v := range []struct {
		key  byte
		ad   string
		want string
	}{
		{0x01, "", "ce546ef63c9cc60765923609b33a9a1974e96e52daf2fcf7075e2271"},
		{0x03, "c2sp.org/XAES-256-GCM", "986ec1832593df5443a179437fd083bf3fdb41abd740a21f71eb769d"},
	} {
		x, err := newXAES(bytes.Repeat([]byte{v.key}, 32))
		if err != nil {
			t.Fatal(err)
		}
		nonce := []byte("ABCDEFGHIJKLMNOPQRSTUVWX")
		sk, err := x.derive((*[xaesPrefixSize]byte)(nonce))
		if err != nil {
			t.Fatal(err)
		}
		got := sk.aead.Seal(nil, nonce[xaesPrefixSize:], []byte("XAES-256-GCM"), []byte(v.ad))
		if hex.EncodeToString(got) != v.want {
			t.Errorf("key %02x: sealed %x, want %s", v.key, got, v.want)
		}
		plain, err := x.open(nil, nonce, got, []byte(v.ad))
		if err != nil || string(plain) != "XAES-256-GCM" {
			t.Errorf("key %02x: open = %q, %v", v.key, plain, err)
		}
	}
}

// TestXAESRuns checks the nonces of sealing: one random prefix for a run
// of records, suffixes that never repeat in it, and a new run (a new
// prefix, a new start) after xaesRunLength records. What it seals opens
// with the XAES-256-GCM subkey derived from the nonce alone.
func TestXAESRuns(t *testing.T) {
	x, err := newXAES(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	seal := func() []byte {
		t.Helper()
		nonce := make([]byte, xaesNonceSize)
		sealed, err := x.seal(nil, nonce, []byte("record"), []byte("ad"))
		if err != nil {
			t.Fatal(err)
		}
		sk, err := x.derive((*[xaesPrefixSize]byte)(nonce))
		if err != nil {
			t.Fatal(err)
		}
		if plain, err := sk.aead.Open(nil, nonce[xaesPrefixSize:], sealed, []byte("ad")); err != nil || string(plain) != "record" {
			t.Fatalf("open with the derived subkey = %q, %v", plain, err)
		}
		return nonce
	}
	seen := map[string]bool{}
	first := seal()
	seen[string(first)] = true
	for range 1000 {
		n := seal()
		if seen[string(n)] {
			t.Fatalf("nonce %x used twice", n)
		}
		seen[string(n)] = true
		if !bytes.Equal(n[:xaesPrefixSize], first[:xaesPrefixSize]) {
			t.Fatalf("prefix %x in a run that began with %x", n[:xaesPrefixSize], first[:xaesPrefixSize])
		}
	}
	x.run.Load().n.Store(xaesRunLength - 1)
	if last := seal(); !bytes.Equal(last[:xaesPrefixSize], first[:xaesPrefixSize]) {
		t.Fatal("the run ended before its last record")
	}
	if next := seal(); bytes.Equal(next[:xaesPrefixSize], first[:xaesPrefixSize]) || bytes.Equal(next[xaesPrefixSize:], first[xaesPrefixSize:]) {
		t.Fatalf("after %d records the run goes on: nonce %x, first %x", xaesRunLength, next, first)
	}
}

// TestXAESOpenCache checks the cache of subkeys: a record sealed by
// another process (another xaes under the same key) opens, and its subkey
// is cached only once a record under it opened; a forged record under a
// made-up prefix neither opens nor enters the cache.
func TestXAESOpenCache(t *testing.T) {
	key := bytes.Repeat([]byte{5}, 32)
	writer, err := newXAES(key)
	if err != nil {
		t.Fatal(err)
	}
	reader, err := newXAES(key)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, xaesNonceSize)
	sealed, err := writer.seal(nil, nonce, []byte("record"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	prefix := (*[xaesPrefixSize]byte)(nonce)
	cached := func() bool {
		sk := reader.slot(prefix).Load()
		return sk != nil && sk.prefix == *prefix
	}
	if _, err := reader.open(nil, nonce, sealed, []byte("other ad")); err == nil || cached() {
		t.Fatalf("a record that does not open: %v, cached %v", err, cached())
	}
	if plain, err := reader.open(nil, nonce, sealed, []byte("ad")); err != nil || string(plain) != "record" || !cached() {
		t.Fatalf("open = %q, %v; cached %v", plain, err, cached())
	}
	if plain, err := reader.open(nil, nonce, sealed, []byte("ad")); err != nil || string(plain) != "record" {
		t.Fatalf("open from the cache = %q, %v", plain, err)
	}
	tampered := bytes.Clone(sealed)
	tampered[0] ^= 1
	if _, err := reader.open(nil, nonce, tampered, []byte("ad")); err == nil {
		t.Fatal("a tampered record opened with a cached subkey")
	}
	forged := bytes.Clone(nonce)
	rand.Read(forged[:xaesPrefixSize])
	if _, err := reader.open(nil, forged, sealed, []byte("ad")); err == nil {
		t.Fatal("a record opened under a made-up prefix")
	}
	if sk := reader.slot((*[xaesPrefixSize]byte)(forged)).Load(); sk != nil && sk.prefix == [xaesPrefixSize]byte(forged) {
		t.Fatal("a made-up prefix entered the cache")
	}
}

// TestXAESRunsConcurrently seals from several goroutines across the end
// of a run: no nonce is used twice.
func TestXAESRunsConcurrently(t *testing.T) {
	x, err := newXAES(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.seal(nil, make([]byte, xaesNonceSize), nil, nil); err != nil {
		t.Fatal(err)
	}
	x.run.Load().n.Store(xaesRunLength - 100)
	const workers, each = 4, 200
	nonces := make([][]byte, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				n := make([]byte, xaesNonceSize)
				if _, err := x.seal(nil, n, []byte("r"), nil); err != nil {
					t.Error(err)
					return
				}
				nonces[w*each+i] = n
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	prefixes := map[string]bool{}
	for _, n := range nonces {
		if seen[string(n)] {
			t.Fatalf("nonce %x used twice", n)
		}
		seen[string(n)] = true
		prefixes[string(n[:xaesPrefixSize])] = true
	}
	if len(prefixes) != 2 {
		t.Errorf("%d prefixes across the end of one run, want 2", len(prefixes))
	}
}
