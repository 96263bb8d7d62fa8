package sessions

import (
	"crypto/rand"
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
		sealed := k.seal(nil, kindSession, storeKey, plain)
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
				if _, _, err := k.open(kindSession, storeKey, sealed); err != nil {
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
	sealed := old.seal(nil, kindSession, "k", []byte("plain"))
	if len(sealed) != len("plain")+sealedOverhead {
		t.Fatalf("sealed %d bytes, want %d", len(sealed), len("plain")+sealedOverhead)
	}
	plain, by, err := cur.open(kindSession, "k", sealed)
	if err != nil || string(plain) != "plain" || by != &cur.keys[1] {
		t.Fatalf("open under a previous key = %q, %v", plain, err)
	}
	for name, open := range map[string]func() error{
		"other key":  func() error { _, _, err := cur.open(kindSession, "k2", sealed); return err },
		"other kind": func() error { _, _, err := cur.open(kindIndex, "k", sealed); return err },
		"short":      func() error { _, _, err := cur.open(kindSession, "k", sealed[:sealedOverhead-1]); return err },
		"clear":      func() error { _, _, err := cur.open(kindSession, "k", []byte("\\x02plain record")); return err },
	} {
		if err := open(); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
	if _, _, err := (&keyring{keys: cur.keys[:1]}).open(kindSession, "k", sealed); keyIDOf(err) != old.current().keyID() {
		t.Errorf("a record under a removed key: %v, want its key ID %s named", err, old.current().keyID())
	}
}
