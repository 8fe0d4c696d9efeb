package aesgcm

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
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

// TestKeyFileKeptAndNeverReplaced: `cmr dev` makes its master key once and
// finds the same one at every start; a damaged key file is an error, not
// replaced by a new key (which would lose every list sealed under it).
func TestKeyFileKeptAndNeverReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	k1, err := LoadOrCreateKeyFile(path)
	if err != nil || len(k1) != KeySize {
		t.Fatalf("new key: %d bytes, %v", len(k1), err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: %v %v", fi.Mode(), err)
	}
	k2, err := LoadOrCreateKeyFile(path)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Errorf("second start: another key (%v)", err)
	}
	if err := os.WriteFile(path, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKeyFile(path); err == nil {
		t.Error("a damaged key file was accepted")
	}
	if b, _ := os.ReadFile(path); string(b) != "not a key\n" {
		t.Errorf("the damaged key file was replaced: %q", b)
	}
}
