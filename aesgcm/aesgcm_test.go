package aesgcm

import (
	"bytes"
	"crypto/rand"
	"testing"
)

func TestEnvelope(t *testing.T) {
	master := make([]byte, KeySize)
	rand.Read(master)
	kr, err := NewKeyring(master)
	if err != nil {
		t.Fatal(err)
	}
	key, wrapped, err := kr.NewDataKey("C1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(wrapped, key) {
		t.Fatal("wrapped key contains the key")
	}
	got, err := kr.Unwrap("C1", wrapped)
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("unwrap: %v", err)
	}
	if _, err := kr.Unwrap("C2", wrapped); err != ErrOpen {
		t.Errorf("key of C1 unwrapped as C2's: %v", err)
	}
	other := make([]byte, KeySize)
	rand.Read(other)
	kr2, _ := NewKeyring(other)
	if _, err := kr2.Unwrap("C1", wrapped); err != ErrOpen {
		t.Errorf("unwrapped with another master key: %v", err)
	}

	plain := []byte("Voornaam;Achternaam\nJan;Berg\n")
	sealed, err := Seal(key, plain, Binding("C1", "L1", 1))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("Jan")) {
		t.Fatal("plaintext visible in ciphertext")
	}
	if out, err := Open(key, sealed, Binding("C1", "L1", 1)); err != nil || !bytes.Equal(out, plain) {
		t.Fatalf("open: %v", err)
	}
	for name, aad := range map[string][]byte{
		"other case": Binding("C2", "L1", 1), "other list": Binding("C1", "L2", 1), "other version": Binding("C1", "L1", 2),
	} {
		if _, err := Open(key, sealed, aad); err != ErrOpen {
			t.Errorf("%s: a copied blob decrypted", name)
		}
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := Open(key, sealed, Binding("C1", "L1", 1)); err != ErrOpen {
		t.Error("tampered ciphertext decrypted")
	}
	if _, err := ParseKey("short"); err == nil {
		t.Error("short key accepted")
	}
}
