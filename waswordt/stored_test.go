package waswordt

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
)

// pack is the list packed, uncompressed: what EncodeTo compresses.
func pack(l List) []byte {
	b := packHead(nil, l)
	for _, r := range l.Rows {
		b = packRow(b, r)
	}
	return b
}

func storedSample() List {
	return List{Format: "vo", Part: Complete, Rows: []Row{
		{Line: 2, Cells: []string{"Ada", "", "Lovelace", "1234 AB", "1", "a@old.nl", "a@new.nl"}},
		{Line: 7, Cells: []string{"Zoë", "van der", "Berg", "", "", "z@old.nl", "z@new.nl"}},
		{Line: 8, Cells: []string{}},
	}}
}

// renumbered is l as Decode gives it back: rows numbered from 2.
func renumbered(l List) List {
	out := List{Format: l.Format, Part: l.Part, Rows: make([]Row, len(l.Rows))}
	for i, r := range l.Rows {
		out.Rows[i] = Row{Line: i + 2, Cells: r.Cells}
	}
	return out
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, l := range []List{storedSample(), {Format: "mbo-eck", Part: SupplierPart, Rows: []Row{}}} {
		if got, err := Decode(pack(l)); err != nil || !reflect.DeepEqual(got, renumbered(l)) {
			t.Errorf("uncompressed: %+v, %v", got, err)
		}
		got, err := Decode(mustEncode(t, l))
		if err != nil {
			t.Fatal(err)
		}
		if want := renumbered(l); !reflect.DeepEqual(got, want) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
		}
	}
}

// Lists sealed before the binary encoding are JSON and must still open.
func TestDecodeReadsLegacyJSON(t *testing.T) {
	plain := `{"f":"vo","p":0,"c":[["Ada","","Lovelace","1234 AB","1","a@old.nl","a@new.nl"],["Zoë","van der","Berg","","","z@old.nl","z@new.nl"],[]]}`
	got, err := Decode([]byte(plain))
	if err != nil {
		t.Fatal(err)
	}
	if want := renumbered(storedSample()); !reflect.DeepEqual(got, want) {
		t.Errorf("legacy:\n got %+v\nwant %+v", got, want)
	}
}

// Every truncation, and trailing bytes, is refused rather than read as a
// shorter list.
func TestDecodeRefusesDamage(t *testing.T) {
	for _, b := range [][]byte{pack(storedSample()), mustEncode(t, storedSample())} {
		for n := 0; n < len(b); n++ {
			if _, err := Decode(b[:n]); !errors.Is(err, ErrStoredList) {
				t.Fatalf("%x truncated to %d of %d bytes: err %v", b[0], n, len(b), err)
			}
		}
		if _, err := Decode(append(b, 0)); !errors.Is(err, ErrStoredList) {
			t.Errorf("%x with a trailing byte: err %v", b[0], err)
		}
	}
	// A row count far beyond the input allocates nothing.
	if _, err := Decode([]byte{encodedV1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}); !errors.Is(err, ErrStoredList) {
		t.Errorf("huge count: err %v", err)
	}
	if _, err := Decode([]byte(`{"f":`)); !errors.Is(err, ErrStoredList) {
		t.Errorf("broken JSON: err %v", err)
	}
}

func mustEncode(t testing.TB, l List) []byte {
	t.Helper()
	b, err := encode(new(Encoder), l)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func encode(e *Encoder, l List) ([]byte, error) {
	var out bytes.Buffer
	err := e.EncodeTo(&out, l)
	return out.Bytes(), err
}

// A list larger than one block is packed and compressed in blocks.
func TestEncodeInBlocks(t *testing.T) {
	l := List{Format: "vo"}
	for i := 0; i < 40_000; i++ {
		l.Rows = append(l.Rows, Row{Cells: []string{fmt.Sprintf("Leerling %d", i), "", "Achternaam", "1234 AB", "1", fmt.Sprintf("l%d@old", i), fmt.Sprintf("l%d@new", i)}})
	}
	b := mustEncode(t, l)
	if n := len(pack(l)); n < 4*packChunk || len(b) > n/2 {
		t.Fatalf("packed %d bytes, encoded %d: want several chunks, compressed to less than half", n, len(b))
	}
	got, err := Decode(b)
	if err != nil || !reflect.DeepEqual(got, renumbered(l)) {
		t.Fatalf("decoded %d rows, %v", len(got.Rows), err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(mustEncode(f, storedSample()))
	f.Add(pack(storedSample()))
	f.Add([]byte(`{"f":"vo","p":0,"c":[["a"]]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := Decode(b)
		if err != nil {
			return
		}
		// What decodes encodes to what decodes the same.
		again, err := Decode(mustEncode(t, l))
		if err != nil || !reflect.DeepEqual(again, l) {
			t.Fatalf("re-encoded %+v differs from %+v (%v)", again, l, err)
		}
		// And the packing has one form only.
		if b[0] == encodedV1 && string(pack(l)) != string(b) {
			t.Fatalf("re-packed differs: %x vs %x", pack(l), b)
		}
	})
}

// TestEncoderReused: one Encoder packs lists one after another and at
// once, and each decodes to its own list (a compressor taken back from
// the pool starts afresh).
func TestEncoderReused(t *testing.T) {
	var e Encoder
	lists := make([]List, 8)
	for i := range lists {
		l := List{Format: "vo", Part: Complete}
		for r := 0; r < 500*(i+1); r++ {
			l.Rows = append(l.Rows, Row{Line: r + 2, Cells: []string{fmt.Sprintf("Leerling%d-%d", i, r), "", "Berg", "1234 AB", "1", fmt.Sprintf("l%d@old.nl", r), fmt.Sprintf("l%d@new%d.nl", r, i)}})
		}
		lists[i] = l
	}
	check := func(l List) {
		b, err := encode(&e, l)
		if err != nil {
			t.Error(err)
			return
		}
		got, err := Decode(b)
		if err != nil || !reflect.DeepEqual(got, l) {
			t.Errorf("list of %d rows decodes to %d rows, %v", len(l.Rows), len(got.Rows), err)
		}
	}
	for _, l := range lists {
		check(l)
	}
	var wg sync.WaitGroup
	for _, l := range lists {
		wg.Go(func() { check(l) })
	}
	wg.Wait()
}
