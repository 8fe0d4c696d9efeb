package waswordt

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strings"

	"github.com/xuri/excelize/v2"
)

// FileKind is an export's file type.
type FileKind string

// Export kinds.
const (
	CSV  FileKind = "csv"
	XLSX FileKind = "xlsx"
)

// ContentType is the MIME type of an export.
func (k FileKind) ContentType() string {
	if k == XLSX {
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "text/csv; charset=utf-8"
}

// Neutralise keeps a spreadsheet from reading a cell as a formula: values
// starting with =, +, -, @, a tab or a carriage return get a leading
// apostrophe.
func Neutralise(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// Write renders a header and rows as CSV (UTF-8 with BOM, ';' as Dutch
// Excel expects) or XLSX, every cell neutralised.
func Write(kind FileKind, header []string, rows [][]string) ([]byte, error) {
	switch kind {
	case CSV:
		var buf bytes.Buffer
		buf.WriteString("\ufeff")
		w := csv.NewWriter(&buf)
		w.Comma = ';'
		w.UseCRLF = true
		for _, rec := range append([][]string{header}, rows...) {
			out := make([]string, len(rec))
			for i, v := range rec {
				out[i] = Neutralise(v)
			}
			if err := w.Write(out); err != nil {
				return nil, err
			}
		}
		w.Flush()
		return buf.Bytes(), w.Error()
	case XLSX:
		// Built in memory: excelize's stream writer would move a large
		// sheet into a temporary file, and list data never touches disk.
		f := excelize.NewFile()
		defer f.Close()
		sheet := f.GetSheetName(0)
		for i, rec := range append([][]string{header}, rows...) {
			for j, v := range rec {
				cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
				// Text cells: postcodes, house numbers and identities must
				// never become numbers or dates.
				if err := f.SetCellStr(sheet, cell, Neutralise(v)); err != nil {
					return nil, err
				}
			}
		}
		var buf bytes.Buffer
		if err := f.Write(&buf); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	return nil, fmt.Errorf("unknown file kind %q", kind)
}

// Template is the empty list of a dataset part, for the school or a
// publisher to fill.
func Template(f Format, part Part, kind FileKind) ([]byte, error) {
	return Write(kind, f.Headings(part), nil)
}

// Render renders a validated list.
func Render(l List, kind FileKind) ([]byte, error) {
	f, _ := Lookup(l.Format)
	rows := make([][]string, len(l.Rows))
	for i, r := range l.Rows {
		rows[i] = r.Cells
	}
	return Write(kind, f.Headings(l.Part), rows)
}
