package redisstore

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

var (
	testKeyA = Key{ID: "A", Secret: bytes.Repeat([]byte{0xa}, 32)}
	testKeyB = Key{ID: "B", Secret: bytes.Repeat([]byte{0xb}, 32)}
)

func mustKeyring(t *testing.T, keys ...Key) *keyring {
	t.Helper()
	r, err := newKeyring(keys)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestOpenRefusesTampering: an entry opens only unchanged, under the cache
// key it was sealed for, with a key the application lists.
func TestOpenRefusesTampering(t *testing.T) {
	a := mustKeyring(t, testKeyA)
	env := a.seal([]byte("access token"), []byte("key-1"))
	flip := func(i int) []byte {
		b := bytes.Clone(env)
		b[i] ^= 1
		return b
	}
	tests := []struct {
		name string
		r    *keyring
		env  []byte
		ad   string
		want error
	}{
		{"intact", a, env, "key-1", nil},
		{"rotated to B then A", mustKeyring(t, testKeyB, testKeyA), env, "key-1", nil},
		{"moved to another cache key", a, env, "key-2", ErrTampered},
		{"flipped version", a, flip(0), "key-1", ErrTampered},
		{"flipped key ID length", a, flip(1), "key-1", ErrUnknownKey},
		{"flipped key ID", a, flip(2), "key-1", ErrUnknownKey},
		{"flipped nonce", a, flip(4), "key-1", ErrTampered},
		{"flipped ciphertext", a, flip(len(env) - 20), "key-1", ErrTampered},
		{"flipped tag", a, flip(len(env) - 1), "key-1", ErrTampered},
		{"truncated tag", a, env[:len(env)-1], "key-1", ErrTampered},
		{"truncated to header", a, env[:3], "key-1", ErrTampered},
		{"empty", a, nil, "key-1", ErrTampered},
		{"unknown key", mustKeyring(t, testKeyB), env, "key-1", ErrUnknownKey},
		{"same ID, other secret", mustKeyring(t, Key{ID: "A", Secret: testKeyB.Secret}), env, "key-1", ErrTampered},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.r.open(tt.env, []byte(tt.ad))
			if !errors.Is(err, tt.want) {
				t.Fatalf("open = %v, want %v", err, tt.want)
			}
			if err == nil && string(got) != "access token" {
				t.Fatalf("open = %q", got)
			}
			if err != nil && got != nil {
				t.Fatal("plaintext returned with an error")
			}
		})
	}
}

func TestSealUsesFirstKeyAndFreshNonces(t *testing.T) {
	r := mustKeyring(t, testKeyB, testKeyA)
	e1, e2 := r.seal([]byte("x"), nil), r.seal([]byte("x"), nil)
	if e1[2] != 'B' || bytes.Equal(e1, e2) {
		t.Fatalf("envelopes %x %x", e1, e2)
	}
}

func TestNewKeyring(t *testing.T) {
	for _, keys := range [][]Key{
		nil,
		{{ID: "", Secret: testKeyA.Secret}},
		{{ID: "A", Secret: []byte("short")}},
		{testKeyA, testKeyA},
		{{ID: string(bytes.Repeat([]byte("k"), 65)), Secret: testKeyA.Secret}},
	} {
		if _, err := newKeyring(keys); err == nil {
			t.Errorf("keys %v accepted", keys)
		}
	}
	if s := fmt.Sprintf("%v %+v %#v", testKeyA, testKeyA, testKeyA); bytes.Contains([]byte(s), testKeyA.Secret) || !bytes.Contains([]byte(s), []byte(`"A"`)) {
		t.Fatalf("Key prints as %s", s)
	}
}

func FuzzOpen(f *testing.F) {
	r, _ := newKeyring([]Key{testKeyA})
	f.Add(r.seal([]byte("tok"), []byte("k")))
	f.Add([]byte{1, 1, 'A'})
	f.Fuzz(func(t *testing.T, env []byte) {
		plain, err := r.open(env, []byte("k"))
		if err == nil && string(plain) != "tok" {
			t.Fatalf("forged envelope opened: %q", plain)
		}
	})
}
