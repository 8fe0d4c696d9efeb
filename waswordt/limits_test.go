package waswordt

import (
	"strconv"
	"strings"
	"testing"
)

// The limits the README and the issue promise ("Limits: 40 MB, 200,000
// rows"; a school of 100,000 pupils must fit). The tests below are built
// from the package's constants; these pin the constants to the promise,
// so a change to either is made to both.
const (
	promisedUploadBytes = 40 << 20
	promisedRows        = 200_000
	schoolRows          = 100_000
)

func TestUploadSizeCap(t *testing.T) {
	if MaxUploadBytes != promisedUploadBytes {
		t.Errorf("MaxUploadBytes is %d, the README promises %d", MaxUploadBytes, promisedUploadBytes)
	}
	// A list padded with empty lines (which hold no rows) to one byte over
	// the cap: it would read well if it were not too large, and without
	// its last byte it does.
	padded := func(prefix string) string {
		return prefix + strings.Repeat("\n", MaxUploadBytes+1-len(prefix))
	}
	list := padded(voHeader + "\r\n" + goodRows[0] + "\r\n")
	t.Run("at the cap", func(t *testing.T) {
		tab, err := ReadString(list[:MaxUploadBytes])
		if err != nil || len(tab.Rows) != 1 {
			t.Fatalf("a file of %d bytes: %d rows, %v", MaxUploadBytes, len(tab.Rows), err)
		}
	})
	for name, file := range map[string]string{
		"csv": list,
		// The size is checked before the zip reader sees the file.
		"xlsx": padded("PK\x03\x04"),
	} {
		t.Run(name+" just over the cap", func(t *testing.T) {
			_, err := ReadString(file)
			ps := problems(t, err)
			if len(ps) != 1 || ps[0].Code != "too_large" || ps[0].Row != 0 || ps[0].NL == "" || ps[0].EN == "" {
				t.Errorf("want one too_large problem for the file, got %+v", ps)
			}
		})
	}
}

// voLines is a VO list (CSV) of n valid rows, every pupil and identity its
// own, one realm; ends[k] is where its first k rows end, so a prefix is a
// list of k rows.
func voLines(n int) (text string, ends []int) {
	var b strings.Builder
	b.Grow(80 * (n + 1))
	b.WriteString(voHeader + "\r\n")
	ends = make([]int, n+1)
	ends[0] = b.Len()
	var buf []byte
	for i := range n {
		s := strconv.Itoa(i)
		buf = append(buf[:0], "Leerling"...)
		buf = append(buf, s...)
		buf = append(buf, ";;Achternaam"...)
		buf = append(buf, s...)
		buf = append(buf, ";1234 AB;"...)
		buf = strconv.AppendInt(buf, int64(i%99_999+1), 10) // a house number has at most 5 digits
		buf = append(buf, ";l"...)
		buf = append(buf, s...)
		buf = append(buf, "@magis.01AB;l"...)
		buf = append(buf, s...)
		buf = append(buf, "@lyceum.nl\r\n"...)
		b.Write(buf)
		ends[i+1] = b.Len()
	}
	return b.String(), ends
}

func TestRowCap(t *testing.T) {
	if MaxRows != promisedRows {
		t.Errorf("MaxRows is %d, the README promises %d", MaxRows, promisedRows)
	}
	text, ends := voLines(max(MaxRows, schoolRows) + 1)
	vo, _ := Lookup(FormatVO)
	// valid reads and validates a list of n rows.
	valid := func(t *testing.T, n int) {
		tab, err := ReadString(text[:ends[n]])
		if err != nil {
			t.Fatalf("read %d rows: %v", n, err)
		}
		l, err := Validate(vo, Complete, tab, Options{})
		if err != nil {
			t.Fatalf("validate %d rows: %v", n, err)
		}
		if len(l.Rows) != n || l.Rows[n-1].Line != n+1 {
			t.Errorf("%d rows, the last on line %d; want %d, on line %d", len(l.Rows), l.Rows[len(l.Rows)-1].Line, n, n+1)
		}
	}
	t.Run("a school of 100,000 pupils", func(t *testing.T) { valid(t, schoolRows) })
	t.Run("at the cap", func(t *testing.T) { valid(t, MaxRows) })
	t.Run("one over the cap", func(t *testing.T) {
		_, err := ReadString(text[:ends[MaxRows+1]])
		ps := problems(t, err)
		if len(ps) != 1 || ps[0].Code != "too_many_rows" || ps[0].Row != 0 || ps[0].NL == "" || ps[0].EN == "" {
			t.Errorf("want one too_many_rows problem for the file, got %+v", ps)
		}
	})
}
