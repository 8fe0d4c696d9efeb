package waswordt

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cmr-idp/cmr"
)

// Working is an MBO school's list as it stands while the school fills it
// in row by row: the publishers' rows with the "wordt" columns it filled
// so far.
type Working struct {
	Format Format
	// List's row numbers (Line) are the ones the school's edits and the
	// problems refer to.
	List List
	// Keys fingerprint each row's publisher columns (by index of
	// List.Rows): an edit names the key of the row it fills, so that a row
	// that moved (a publisher replaced its part meanwhile) is not filled
	// with another pupil's identity.
	Keys []string
	// Open counts the rows still to fill in.
	Open int
	// Version is the school's current completed list, if any.
	Version *cmr.ListVersion
	// Missing names the LiKas whose part has not arrived.
	Missing []string
}

// NewWorking takes l as the school's list in f and counts its open rows.
func NewWorking(f Format, l List) Working {
	w := Working{Format: f, List: l, Keys: make([]string, len(l.Rows))}
	for i, r := range l.Rows {
		w.Keys[i] = RowKey(f, r.Cells)
		if f.IsOpen(r) {
			w.Open++
		}
	}
	return w
}

// RowKey fingerprints a row's publisher columns.
func RowKey(f Format, cells []string) string {
	h := sha256.New()
	for i, c := range f.Columns {
		if c.Party == BySupplier && i < len(cells) {
			h.Write([]byte(cells[i]))
			h.Write([]byte{0})
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// RowEdit fills (or empties) the school's columns of one row.
type RowEdit struct {
	Row int    `json:"row"`
	Key string `json:"key"`
	// Cells by column key (profile_new, real_new): the school's columns
	// only; a column left out keeps its value.
	Cells map[string]string `json:"cells"`
}

// Apply fills the school's columns of the rows edits name, in place. It
// refuses an edit of a row that is not there, of a row whose key is not
// the edit's (the list changed since the school read it), or of a column
// that is not the school's; the rows' own checks are the upload's.
func (w Working) Apply(edits []RowEdit) error {
	if len(edits) == 0 {
		return cmr.FieldErrorf("rows", "name at least one row to fill in").NL("vul ten minste één regel in")
	}
	col := map[string]int{}
	var keys []string
	for i, c := range w.Format.Columns {
		if c.Party == BySchool {
			col[c.Key] = i
			keys = append(keys, c.Key)
		}
	}
	// Every edit at fault is named at once; a row that changed under the
	// school is said alone: the page has to be loaded again anyway.
	var problems []error
	for n, e := range edits {
		i := e.Row - 2
		if i < 0 || i >= len(w.List.Rows) {
			problems = append(problems, cmr.FieldErrorf(fmt.Sprintf("rows[%d].row", n), "row %d is not in the list (rows 2 to %d)", e.Row, len(w.List.Rows)+1).
				NL("regel %d staat niet in de lijst (regels 2 tot en met %d)", e.Row, len(w.List.Rows)+1))
			continue
		}
		if e.Key == "" {
			problems = append(problems, cmr.FieldErrorf(fmt.Sprintf("rows[%d].key", n), "is required: the row's key as GET .../lists/rows gave it, so that a row that changed meanwhile is not overwritten").
				NL("is verplicht: de sleutel van de regel zoals GET .../lists/rows die gaf, zodat een regel die intussen veranderde niet wordt overschreven"))
		} else if e.Key != w.Keys[i] {
			return cmr.Errorf(cmr.KindConflict, "row %d is no longer the row you filled in: the publishers' rows changed meanwhile (a part replaced, or a publisher let go); reload the list and fill it in again", e.Row).
				NL("regel %d is niet meer de regel die u invulde: de regels van de uitgevers zijn intussen veranderd (een deel vervangen, of een uitgever vervallen); laad de lijst opnieuw en vul hem opnieuw in", e.Row)
		}
		for _, k := range slices.Sorted(maps.Keys(e.Cells)) { // the same answer every time
			ci, ok := col[k]
			if !ok {
				problems = append(problems, cmr.FieldErrorf(fmt.Sprintf("rows[%d].cells", n), "%q is not a column the school fills in; use %s", k, strings.Join(keys, " or ")).
					NL("%q is geen kolom die de school invult; gebruik %s", k, strings.Join(keys, " of ")))
				continue
			}
			w.List.Rows[i].Cells[ci] = strings.TrimSpace(e.Cells[k])
		}
	}
	return cmr.Together(problems...)
}

// Table is the list as an upload of it would read: the headings and the
// rows with their numbers.
func (w Working) Table() Table {
	t := Table{Header: w.Format.Headings(Complete), Rows: make([][]string, len(w.List.Rows)), Lines: make([]int, len(w.List.Rows))}
	for i, r := range w.List.Rows {
		t.Rows[i], t.Lines[i] = r.Cells, r.Line
	}
	return t
}
