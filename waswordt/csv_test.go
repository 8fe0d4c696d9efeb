package waswordt

import (
	"encoding/csv"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// csvRecord is a record with its spreadsheet row, as both readers give it.
type csvRecord struct {
	Row   int
	Cells []string
}

// viaEncodingCSV is the oracle: encoding/csv, strict quotes, rows
// counted as splitCSV counts them. fail is the row of the first record
// refused (bad quotes, or too wide), 0 if none.
func viaEncodingCSV(text string, comma byte) (recs []csvRecord, fail int) {
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = rune(comma)
	r.FieldsPerRecord = -1
	extra := 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return recs, 0
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return recs, pe.StartLine - extra
		}
		if err != nil {
			panic(err)
		}
		start, _ := r.FieldPos(0)
		if len(rec) > MaxColumns {
			return recs, start - extra
		}
		recs = append(recs, csvRecord{start - extra, rec})
		for _, f := range rec {
			extra += strings.Count(f, "\n")
		}
	}
}

func viaSplitCSV(text string, comma byte) (recs []csvRecord, fail int) {
	err := splitCSV(text, comma, func(rec []string, row int) error {
		recs = append(recs, csvRecord{row, rec})
		return nil
	})
	var syntax csvSyntax
	var rep *Report
	switch {
	case errors.As(err, &syntax):
		return recs, syntax.row
	case errors.As(err, &rep):
		return recs, rep.Problems[0].Row
	case err != nil:
		panic(err)
	}
	return recs, 0
}

func checkSameAsEncodingCSV(t *testing.T, text string, comma byte) {
	t.Helper()
	want, wantFail := viaEncodingCSV(text, comma)
	got, gotFail := viaSplitCSV(text, comma)
	if gotFail != wantFail || !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Fatalf("%q with %q:\nsplitCSV     %+v, refused at row %d\nencoding/csv %+v, refused at row %d", text, comma, got, gotFail, want, wantFail)
	}
}

func TestSplitCSVMatchesEncodingCSV(t *testing.T) {
	for _, text := range []string{
		"", "a", "a;b", "a;b\n", "a;b\r\n", "a;b\r", "a;\n", "a;\r\n", ";", ";;\n;",
		"\n\n", "\r\n\r\n", "\r", "\r\r\n", "a\rb;c\n", "\rx\n",
		"a;b\n\nc;d\n", "a;b\r\n\r\nc;d",
		`"a";"b"`, `"a;b";c`, `"a""b";c`, `"""";x`, `"";""`, `"a`, `a"b;c`, `"a"b;c`, `"a" ;c`,
		"\"a\nb\";c\nd;e\n", "\"a\r\nb\";c\r\nd;e", "\"a\r\r\nb\"\n", "x;\"a\n\nb\"\ny\n",
		"\"a\"\r", "\"a\"\rb", "\"a\n", "a;\"b\";", "a;\"b\";\r\n;",
		strings.Repeat(";", MaxColumns-1) + "\nx", strings.Repeat(";", MaxColumns) + "\nx",
		"ok\n\"a\nb\";" + strings.Repeat(";", MaxColumns) + "\n",
		"h\n\"a\nb\"\n\"c\nd\"\n\"e\n",
		// Records of the most cells there may be, over several of
		// splitCSV's blocks: each read in place, none written over.
		wideRecords(200),
	} {
		for _, comma := range []byte{';', ',', '\t'} {
			checkSameAsEncodingCSV(t, text, comma)
		}
	}
}

// wideRecords is a record of one cell, so that the wide ones do not fit
// a block exactly, then n records of MaxColumns cells, every third quoted
// and ending in a separator, so that splitCSV reads one more cell for it.
func wideRecords(n int) string {
	var b strings.Builder
	b.WriteString("h\n")
	for i := range n {
		cells := make([]string, MaxColumns)
		for j := range cells {
			cells[j] = strconv.Itoa(i*MaxColumns + j)
		}
		if i%3 == 0 {
			cells[0] = `"` + cells[0] + `"`
			cells = cells[:MaxColumns-1]
			cells = append(cells, "")
		}
		b.WriteString(strings.Join(cells, ";") + "\n")
	}
	return b.String()
}

// FuzzSplitCSV holds splitCSV to encoding/csv on any input: the same
// records, rows and refusals (`go test -fuzz FuzzSplitCSV ./waswordt`).
func FuzzSplitCSV(f *testing.F) {
	for _, s := range []string{"a;b\r\nc;d", "\"a\"\"\nb\";c\n\n;", "x,\"y\r\nz\",\r", "a\tb\n\"\t\"\t"} {
		f.Add(s, byte(';'))
		f.Add(s, byte(','))
		f.Add(s, byte('\t'))
	}
	f.Fuzz(func(t *testing.T, text string, comma byte) {
		if comma != ';' && comma != ',' && comma != '\t' {
			return // delimiter only ever picks these
		}
		checkSameAsEncodingCSV(t, text, comma)
	})
}
