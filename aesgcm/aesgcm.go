// Package aesgcm encrypts was-wordt lists at rest with AES-256-GCM in an
// envelope: every case has its own data key, stored only wrapped by the
// master key from configuration. Each ciphertext is bound to its case and
// list by the additional data, so a blob copied to another row or case does
// not decrypt.
package aesgcm

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// KeySize is the size of master and data keys (AES-256).
const KeySize = 32

// ErrOpen is returned for a ciphertext that does not decrypt: wrong key,
// wrong binding or tampered.
var ErrOpen = errors.New("aesgcm: ciphertext does not decrypt with this key and binding")

// Keyring wraps and unwraps data keys with the master key.
type Keyring struct {
	master cipher.AEAD
}

// NewKeyring uses a 32-byte master key.
func NewKeyring(master []byte) (*Keyring, error) {
	a, err := newAEAD(master)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	return &Keyring{master: a}, nil
}

// ParseKey decodes a base64 key (as CMR_MASTER_KEY holds it).
func ParseKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(k) != KeySize {
		return nil, fmt.Errorf("want %d bytes, base64-encoded (e.g. `openssl rand -base64 32`)", KeySize)
	}
	return k, nil
}

// LoadOrCreateKeyFile reads a base64 key from path, creating it (mode
// 0600) with a fresh random key when missing. For `cmr dev` only. A file
// that is there but cannot be read, or holds no key, is an error, never
// replaced: the lists sealed under it would be lost.
func LoadOrCreateKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		k, err := ParseKey(string(b))
		if err != nil {
			return nil, fmt.Errorf("master key file %s: %w", path, err)
		}
		return k, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("read master key: %w", err)
	}
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("write master key: %w", err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		return nil, fmt.Errorf("write master key: %w", err)
	}
	return k, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("key must be %d bytes, got %d", KeySize, len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func seal(a cipher.AEAD, plaintext, aad []byte) []byte {
	nonce := make([]byte, a.NonceSize(), a.NonceSize()+len(plaintext)+a.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic("aesgcm: no randomness: " + err.Error())
	}
	return a.Seal(nonce, nonce, plaintext, aad)
}

func open(a cipher.AEAD, sealed, aad []byte) ([]byte, error) {
	if len(sealed) < a.NonceSize()+a.Overhead() {
		return nil, ErrOpen
	}
	out, err := a.Open(nil, sealed[:a.NonceSize()], sealed[a.NonceSize():], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}

func keyBinding(caseID string) []byte { return []byte("cmr/case-key/" + caseID) }

// NewDataKey makes a data key for a case and returns it with its wrapped
// form (the only form that is stored).
func (k *Keyring) NewDataKey(caseID string) (key, wrapped []byte, err error) {
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, nil, err
	}
	return key, seal(k.master, key, keyBinding(caseID)), nil
}

// Unwrap recovers a case's data key.
func (k *Keyring) Unwrap(caseID string, wrapped []byte) ([]byte, error) {
	return open(k.master, wrapped, keyBinding(caseID))
}

// Binding is what a list's ciphertext is bound to.
func Binding(caseID, listID string, version int) []byte {
	return fmt.Appendf(nil, "cmr/list/%s/%s/v%d", caseID, listID, version)
}

// Seal encrypts plaintext with a data key, bound to aad.
func Seal(dataKey, plaintext, aad []byte) ([]byte, error) {
	a, err := newAEAD(dataKey)
	if err != nil {
		return nil, err
	}
	return seal(a, plaintext, aad), nil
}

// Open decrypts what Seal or a ChunkSealer produced with the same key and
// binding.
func Open(dataKey, sealed, aad []byte) ([]byte, error) {
	a, err := newAEAD(dataKey)
	if err != nil {
		return nil, err
	}
	if Chunked(sealed) {
		return openChunks(a, sealed, aad)
	}
	return open(a, sealed, aad)
}

// Rewrap re-wraps a case's data key under the keyring to, for rotating the
// master key: the lists themselves are not touched, since their data keys
// stay the same.
func (k *Keyring) Rewrap(caseID string, wrapped []byte, to *Keyring) ([]byte, error) {
	key, err := k.Unwrap(caseID, wrapped)
	if err != nil {
		return nil, err
	}
	return seal(to.master, key, keyBinding(caseID)), nil
}
