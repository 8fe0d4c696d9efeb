package aesgcm

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
)

// A list can also be sealed in chunks, as it is packed: the store then
// writes the first parts of the ciphertext while the rest of the list is
// still being compressed, where one seal over the whole list waits for its
// last byte. The chunks follow a header that says so (chunksHeader): a
// list sealed whole begins with a random nonce, which is that header with
// a chance of 2^-128, so Open tells the two apart by it.
//
// Each chunk is sealed on its own, with a nonce of its own, bound to the
// list (the binding) and to its place: its index and whether it is the
// last. Chunks swapped, dropped or added at the end therefore do not open,
// and neither does a list cut off at a chunk's end (that chunk was not
// sealed as the last).

// chunksHeader begins a list sealed in chunks.
var chunksHeader = []byte("cmr-gcm-chunks/1")

// ChunkSize is the plaintext of each chunk but the last, which holds what
// is left (possibly nothing, or a full chunk). It is part of the format
// the header names: another size needs another header.
const ChunkSize = 64 << 10

// overhead is what sealing adds to each chunk: its nonce and tag.
const overhead = 12 + 16

// A ChunkSealer seals what is written to it in chunks and writes them, in
// order, to the writer it was made with. Close seals the last chunk: a
// full chunk is sealed only when the next byte arrives (it is then not
// the last) or at Close (it is).
type ChunkSealer struct {
	a       cipher.AEAD
	aad     []byte // the binding, then the chunk's index and last flag
	w       io.Writer
	buf     []byte // the chunk being filled
	out     []byte // the chunk sealed
	index   uint64
	started bool
	err     error
}

// NewChunkSealer seals what is written to it with dataKey, bound to aad,
// and writes it to w.
func NewChunkSealer(dataKey, aad []byte, w io.Writer) (*ChunkSealer, error) {
	a, err := newAEAD(dataKey)
	if err != nil {
		return nil, err
	}
	return &ChunkSealer{a: a, aad: append(bytes.Clone(aad), make([]byte, 9)...), w: w, buf: make([]byte, 0, ChunkSize)}, nil
}

// Write takes p into the chunk being filled, sealing and writing every
// chunk that is full and followed by more.
func (s *ChunkSealer) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 && s.err == nil {
		if len(s.buf) == ChunkSize {
			s.seal(false)
			continue
		}
		k := copy(s.buf[len(s.buf):ChunkSize], p)
		s.buf = s.buf[:len(s.buf)+k]
		p = p[k:]
		n += k
	}
	return n, s.err
}

// Close seals and writes the last chunk. It does not close the writer.
func (s *ChunkSealer) Close() error {
	if s.err == nil {
		s.seal(true)
	}
	if s.err == nil {
		s.err = errClosed
		return nil
	}
	return s.err
}

var errClosed = errors.New("aesgcm: write to a closed chunk sealer")

// seal seals the chunk being filled as the index-th and writes it, after
// the header if it is the first.
func (s *ChunkSealer) seal(last bool) {
	out := s.out[:0]
	if !s.started {
		out = append(out, chunksHeader...)
		s.started = true
	}
	chunkAAD(s.aad, s.index, last)
	nonce := len(out)
	out = append(out, make([]byte, s.a.NonceSize())...)
	rand.Read(out[nonce:]) // never fails: it ends the program instead
	out = s.a.Seal(out, out[nonce:], s.buf, s.aad)
	s.out, s.buf = out, s.buf[:0]
	s.index++
	if _, err := s.w.Write(out); err != nil {
		s.err = err
	}
}

// chunkAAD writes the chunk's index and last flag into the last 9 bytes of
// aad, after the binding.
func chunkAAD(aad []byte, index uint64, last bool) {
	tail := aad[len(aad)-9:]
	binary.BigEndian.PutUint64(tail, index)
	tail[8] = 0
	if last {
		tail[8] = 1
	}
}

// Chunked reports whether sealed was sealed in chunks (by a ChunkSealer).
func Chunked(sealed []byte) bool { return bytes.HasPrefix(sealed, chunksHeader) }

// openChunks opens what a ChunkSealer wrote.
func openChunks(a cipher.AEAD, sealed, aad []byte) ([]byte, error) {
	body := sealed[len(chunksHeader):]
	full := ChunkSize + overhead
	n := (len(body) + full - 1) / full
	if n == 0 || len(body)-(n-1)*full < overhead {
		return nil, ErrOpen // no chunk, or the last one cut short
	}
	out := make([]byte, 0, len(body)-n*overhead)
	aad = append(bytes.Clone(aad), make([]byte, 9)...)
	for i := range n {
		c := body[i*full : min(len(body), (i+1)*full)]
		chunkAAD(aad, uint64(i), i == n-1)
		var err error
		if out, err = a.Open(out, c[:a.NonceSize()], c[a.NonceSize():], aad); err != nil {
			return nil, ErrOpen
		}
	}
	return out, nil
}
