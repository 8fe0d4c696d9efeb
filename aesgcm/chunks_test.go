package aesgcm

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
)

func sealChunks(t *testing.T, key, plain, aad []byte, writes int) []byte {
	t.Helper()
	var out bytes.Buffer
	s, err := NewChunkSealer(key, aad, &out)
	if err != nil {
		t.Fatal(err)
	}
	// Written in pieces of odd sizes, as a compressor hands on its blocks.
	step := max(1, len(plain)/writes+7)
	for p := plain; len(p) > 0; {
		k := min(step, len(p))
		if n, err := s.Write(p[:k]); n != k || err != nil {
			t.Fatalf("write: %d of %d, %v", n, k, err)
		}
		p = p[k:]
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write([]byte("x")); err == nil {
		t.Error("a write after Close was taken")
	}
	return out.Bytes()
}

func TestChunksRoundTrip(t *testing.T) {
	key := make([]byte, KeySize)
	rand.Read(key)
	aad := Binding("C1", "L1", 1)
	for _, size := range []int{0, 1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 3*ChunkSize + 5000} {
		plain := make([]byte, size)
		rand.Read(plain)
		for _, writes := range []int{1, 13} {
			sealed := sealChunks(t, key, plain, aad, writes)
			if !Chunked(sealed) {
				t.Fatalf("%d bytes: no chunks header", size)
			}
			chunks := max(1, (size+ChunkSize-1)/ChunkSize) // a full last chunk is the last
			if want := len(chunksHeader) + size + chunks*overhead; len(sealed) != want {
				t.Errorf("%d bytes: sealed to %d bytes, want %d (%d chunks)", size, len(sealed), want, chunks)
			}
			got, err := Open(key, sealed, aad)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("%d bytes in %d writes: open: %v", size, writes, err)
			}
		}
	}
	// A list sealed whole still opens.
	whole, _ := Seal(key, []byte("whole"), aad)
	if got, err := Open(key, whole, aad); err != nil || string(got) != "whole" {
		t.Errorf("whole: %q %v", got, err)
	}
}

// TestChunksTampered: chunks moved, dropped, added or changed, or the
// list opened with another binding, do not open.
func TestChunksTampered(t *testing.T) {
	key := make([]byte, KeySize)
	rand.Read(key)
	aad := Binding("C1", "L1", 1)
	plain := make([]byte, 3*ChunkSize+100)
	rand.Read(plain)
	sealed := sealChunks(t, key, plain, aad, 1)
	other := sealChunks(t, key, plain, Binding("C1", "L2", 1), 1)
	// Of exactly two full chunks: one more full chunk after them still
	// cuts into chunks, so only the last flag tells it was added.
	even := sealChunks(t, key, plain[:2*ChunkSize], aad, 1)
	h, full := len(chunksHeader), ChunkSize+overhead
	chunk := func(b []byte, i int) []byte { return b[h+i*full : min(len(b), h+(i+1)*full)] }
	join := func(parts ...[]byte) []byte { return bytes.Join(append([][]byte{chunksHeader}, parts...), nil) }
	flipped := bytes.Clone(sealed)
	flipped[h+full+40] ^= 1
	for name, b := range map[string][]byte{
		"first two swapped":   join(chunk(sealed, 1), chunk(sealed, 0), chunk(sealed, 2), chunk(sealed, 3)),
		"cut after a chunk":   sealed[:h+3*full],
		"middle one dropped":  join(chunk(sealed, 0), chunk(sealed, 2), chunk(sealed, 3)),
		"last one cut short":  sealed[:len(sealed)-1],
		"chunk from another":  join(chunk(sealed, 0), chunk(other, 1), chunk(sealed, 2), chunk(sealed, 3)),
		"a chunk added":       join(chunk(even, 0), chunk(even, 1), chunk(sealed, 2)),
		"a bit flipped":       flipped,
		"the header alone":    chunksHeader,
		"another list's blob": other,
	} {
		if _, err := Open(key, b, aad); err != ErrOpen {
			t.Errorf("%s: opened (%v)", name, err)
		}
	}
	wrong := make([]byte, KeySize)
	rand.Read(wrong)
	if _, err := Open(wrong, sealed, aad); err != ErrOpen {
		t.Errorf("another key: %v", err)
	}
	if bytes.Contains(sealed, plain[:32]) {
		t.Error("plaintext visible in the chunks")
	}
}

type failingWriter struct{ err error }

func (w failingWriter) Write(p []byte) (int, error) { return 0, w.err }

// TestChunkSealerWriteFails: a failing writer's error reaches the writes
// and Close, and nothing is taken after it.
func TestChunkSealerWriteFails(t *testing.T) {
	key := make([]byte, KeySize)
	rand.Read(key)
	broken := errors.New("the store went away")
	s, err := NewChunkSealer(key, Binding("C1", "L1", 1), failingWriter{broken})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(make([]byte, 2*ChunkSize)); err != broken {
		t.Errorf("write: %v", err)
	}
	if _, err := s.Write([]byte("x")); err != broken {
		t.Errorf("write after the failure: %v", err)
	}
	if err := s.Close(); err != broken {
		t.Errorf("close: %v", err)
	}
	if _, err := NewChunkSealer(make([]byte, 16), nil, failingWriter{}); err == nil {
		t.Error("a 16-byte key was taken")
	}
}
