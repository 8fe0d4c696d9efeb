package waswordt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/s2"
)

// A list version is stored (sealed) as its format, its part and its cells;
// line numbers are not kept, since a stored list is shown and downloaded
// with its rows numbered as in the download (see Decode).
//
// The encoding is binary: a version byte, then length-prefixed strings
// (uvarint lengths). It is about as large as the CSV it came from, where
// JSON was half as large again, and takes a single pass of appends: the
// 50,000-row upload spends its time on checking, not on packing. Versions
// sealed before it are JSON and still decode.
//
// The packed cells are then compressed as an S2 stream (S2 is Snappy's
// faster successor): lists are names and identities that repeat their
// realm on every row, and a third of the bytes is a third of the sealing
// and, above all, of the database write. The rows are packed in blocks
// that are compressed on the other cores while the next block is packed.
const (
	encodedV1 = 0x01 // packed cells
	encodedS2 = 0x02 // packed cells as an S2 stream
)

// packChunk is how much is packed before it is handed to the compressor,
// which copies it into blocks of its own and compresses full blocks on
// the other cores.
const packChunk = 64 << 10

// maxPacked bounds what Decode unpacks: more than any list that passed
// the upload limits packs to (its cells are at most what an XLSX unzips
// to), so a damaged stream cannot take the memory.
const maxPacked = MaxUnzipBytes + 64<<20

// ErrStoredList is returned for a plaintext that is not a stored list.
var ErrStoredList = errors.New("waswordt: not a stored list")

// An Encoder packs and compresses validated lists for sealing. It keeps
// its compressors for the next list: each holds its block buffers, which
// were 2 MB of garbage per 50,000-row list when made anew. The zero
// Encoder is ready for use, by any number of goroutines at once.
type Encoder struct {
	writers sync.Pool // *s2.Writer
}

// EncodeTo packs and compresses a validated list into out for sealing, a
// block at a time as it goes: the sealer and the store take the first
// blocks while the rest is still packed, and no copy of the whole packed
// list is made. A write to out that fails ends it.
func (e *Encoder) EncodeTo(out io.Writer, l List) error {
	if _, err := out.Write([]byte{encodedS2}); err != nil {
		return fmt.Errorf("encode list: %w", err)
	}
	w, _ := e.writers.Get().(*s2.Writer)
	if w == nil {
		w = s2.NewWriter(nil, s2.WriterBlockSize(256<<10))
	}
	w.Reset(out)
	b := packHead(make([]byte, 0, packChunk+packChunk/4), l)
	var err error
	for _, r := range l.Rows {
		if len(b) >= packChunk {
			if _, err = w.Write(b); err != nil {
				break
			}
			b = b[:0]
		}
		b = packRow(b, r)
	}
	if err == nil {
		_, err = w.Write(b)
	}
	if err = errors.Join(err, w.Close()); err != nil {
		// A writer that failed keeps its error: it is not kept.
		return fmt.Errorf("encode list: %w", err)
	}
	// Reset drops the writer's hold on out.
	w.Reset(nil)
	e.writers.Put(w)
	return nil
}

func packHead(b []byte, l List) []byte {
	b = append(b, encodedV1)
	b = appendString(b, string(l.Format))
	b = binary.AppendUvarint(b, uint64(l.Part))
	return binary.AppendUvarint(b, uint64(len(l.Rows)))
}

func packRow(b []byte, r Row) []byte {
	b = binary.AppendUvarint(b, uint64(len(r.Cells)))
	for _, c := range r.Cells {
		b = appendString(b, c)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// legacyJSON is how list versions were stored before EncodeTo.
type legacyJSON struct {
	Format FormatID   `json:"f"`
	Part   Part       `json:"p"`
	Cells  [][]string `json:"c"`
}

// Decode unpacks what EncodeTo (or the JSON before it) packed. Rows are
// numbered from 2, as in a download whose first row is the heading.
func Decode(plain []byte) (List, error) {
	if len(plain) > 0 && plain[0] == '{' {
		var st legacyJSON
		if err := json.Unmarshal(plain, &st); err != nil {
			return List{}, fmt.Errorf("%w: %v", ErrStoredList, err)
		}
		l := List{Format: st.Format, Part: st.Part, Rows: make([]Row, len(st.Cells))}
		for i, cells := range st.Cells {
			l.Rows[i] = Row{Line: i + 2, Cells: cells}
		}
		return l, nil
	}
	if len(plain) > 0 && plain[0] == encodedS2 {
		packed, err := io.ReadAll(io.LimitReader(s2.NewReader(bytes.NewReader(plain[1:])), maxPacked+1))
		if err != nil || len(packed) == 0 || len(packed) > maxPacked || packed[0] != encodedV1 {
			return List{}, ErrStoredList
		}
		plain = packed
	}
	if len(plain) == 0 || plain[0] != encodedV1 {
		return List{}, ErrStoredList
	}
	// One string holds every cell; the cells are slices of it.
	d := decoder{s: string(plain[1:])}
	var l List
	l.Format = FormatID(d.string())
	l.Part = Part(d.uvarint())
	n := d.count()
	l.Rows = make([]Row, n)
	for i := range l.Rows {
		cells := make([]string, d.count())
		for j := range cells {
			cells[j] = d.string()
		}
		l.Rows[i] = Row{Line: i + 2, Cells: cells}
	}
	if d.err || d.i != len(d.s) {
		return List{}, ErrStoredList
	}
	return l, nil
}

// decoder reads uvarints and strings from s; a short or malformed input
// sets err and yields zeros, checked once at the end.
type decoder struct {
	s   string
	i   int
	err bool
}

func (d *decoder) uvarint() uint64 {
	var x uint64
	for shift := 0; d.i < len(d.s) && shift < 64; shift += 7 {
		c := d.s[d.i]
		d.i++
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			// Only the shortest form: one list, one encoding.
			if (c == 0 && shift > 0) || (shift == 63 && c > 1) {
				break
			}
			return x
		}
	}
	d.err = true
	return 0
}

// count is a length that must fit in what is left (every item takes at
// least one byte), so a corrupt count cannot allocate without bound.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.s)-d.i) {
		d.err = true
		return 0
	}
	return int(n)
}

func (d *decoder) string() string {
	n := d.count()
	s := d.s[d.i : d.i+n]
	d.i += n
	return s
}
