package sessions

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"testing"
)

// BenchmarkKeyring measures sealing and opening one record alone, the
// cost WithEncryption adds to a write and to a load.
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
		sealed, err := k.seal(nil, kindSession, storeKey, plain)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("seal/"+size.name, func(b *testing.B) {
			b.SetBytes(int64(size.n))
			b.ReportAllocs()
			for b.Loop() {
				k.seal(make([]byte, 0, len(plain)+sealedOverhead), kindSession, storeKey, plain)
			}
		})
		b.Run("open/"+size.name, func(b *testing.B) {
			b.SetBytes(int64(size.n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.open(kindSession, storeKey, sealed); err != nil {
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
	sealed, err := old.seal(nil, kindSession, "k", []byte("plain"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) != len("plain")+sealedOverhead {
		t.Fatalf("sealed %d bytes, want %d", len(sealed), len("plain")+sealedOverhead)
	}
	plain, err := cur.open(kindSession, "k", sealed)
	if err != nil || string(plain) != "plain" || !cur.stale(sealed) || old.stale(sealed) {
		t.Fatalf("open under a previous key = %q, %v", plain, err)
	}
	for name, open := range map[string]func() error{
		"other key":  func() error { _, err := cur.open(kindSession, "k2", sealed); return err },
		"other kind": func() error { _, err := cur.open(kindIndex, "k", sealed); return err },
		"short":      func() error { _, err := cur.open(kindSession, "k", sealed[:sealedOverhead-1]); return err },
		"clear":      func() error { _, err := cur.open(kindSession, "k", []byte("\\x02plain record")); return err },
	} {
		if err := open(); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
	if _, err := (&keyring{keys: cur.keys[:1]}).open(kindSession, "k", sealed); keyIDOf(err) != old.current().keyID() {
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
		got, err := x.seal(nil, nonce, []byte("XAES-256-GCM"), []byte(v.ad))
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(got) != v.want {
			t.Errorf("key %02x: sealed %x, want %s", v.key, got, v.want)
		}
		plain, err := x.open(nil, nonce, got, []byte(v.ad))
		if err != nil || string(plain) != "XAES-256-GCM" {
			t.Errorf("key %02x: open = %q, %v", v.key, plain, err)
		}
	}
}
