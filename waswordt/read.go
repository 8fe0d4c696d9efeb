package waswordt

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Limits on an upload. A school of 100,000 pupils fits well within them.
const (
	MaxUploadBytes = 40 << 20  // the file as sent
	MaxRows        = 200_000   // data rows
	MaxUnzipBytes  = 400 << 20 // an XLSX, uncompressed (zip bombs)
	maxCellRunes   = 500
	MaxColumns     = 64 // a list has at most 8 columns; more is a wrong file
)

func tooWide(line int) error {
	return &Report{Problems: []Problem{{Row: line, Code: "too_many_columns",
		NL: fmt.Sprintf("Deze regel heeft meer dan %d kolommen: dit is geen was-wordt-lijst, of het scheidingsteken klopt niet.", MaxColumns),
		EN: fmt.Sprintf("This row has more than %d columns: this is not a was-wordt list, or the separator is wrong.", MaxColumns)}}}
}

// Table is an uploaded file as rows of cells, before validation.
type Table struct {
	Header []string
	Rows   [][]string
	// Lines are the spreadsheet row numbers of Rows (the header is row 1;
	// empty rows are skipped but keep their numbers).
	Lines []int
	// Sheets is how many worksheets the workbook had (0 for CSV): only
	// the first is read.
	Sheets int
}

// Read reads a CSV or XLSX upload. The kind is decided by the content
// (magic bytes), not the file name. Problems are returned as a *Report.
func Read(data []byte) (Table, error) { return ReadString(string(data)) }

// ReadString is Read of a file held in a string (as an upload is read),
// which spares a copy of it: the cells of a UTF-8 CSV are parts of file.
func ReadString(file string) (Table, error) {
	switch {
	case len(file) == 0:
		return Table{}, fileProblem("empty", "Het bestand is leeg.", "The file is empty.")
	case len(file) > MaxUploadBytes:
		return Table{}, fileProblem("too_large", fmt.Sprintf("Het bestand is groter dan %d MB.", MaxUploadBytes>>20), fmt.Sprintf("The file is larger than %d MB.", MaxUploadBytes>>20))
	case strings.HasPrefix(file, "PK\x03\x04"):
		return readXLSX(strings.NewReader(file))
	case strings.HasPrefix(file, "\xD0\xCF\x11\xE0"):
		return Table{}, fileProblem("xls", "Dit is een oud Excel-bestand (.xls). Sla het op als .xlsx of CSV en upload opnieuw.", "This is an old Excel file (.xls). Save it as .xlsx or CSV and upload again.")
	case strings.HasPrefix(file, "%PDF"), strings.HasPrefix(file, "\x1F\x8B"), strings.HasPrefix(file, "\x89PNG"):
		return Table{}, fileProblem("not_a_list", "Dit is geen CSV- of Excel-bestand.", "This is not a CSV or Excel file.")
	}
	return readCSV(file)
}

func fileProblem(code, nl, en string) *Report {
	return &Report{Problems: []Problem{{Row: 0, Code: code, NL: nl, EN: en}}}
}

// decodeText turns the bytes into UTF-8: a UTF-16 byte-order mark
// decides; UTF-8 (with or without its mark) stays; a file in which no
// character is written as UTF-8 is Windows-1252 (what Dutch Excel writes
// when it saves "CSV (gescheiden door lijstscheidingsteken)"). A file
// that mixes the two (rows pasted in from another file), or that has a
// UTF-8 mark but is not UTF-8, is refused with the lines that are not
// UTF-8: read as either, one part of its names would be garbled without
// a word.
func decodeText(data string) (string, error) {
	if strings.HasPrefix(data, "\xFF\xFE") || strings.HasPrefix(data, "\xFE\xFF") {
		out, _, err := transform.String(unicode.BOMOverride(unicode.UTF8.NewDecoder()), data)
		if err != nil {
			return "", errUnreadableText()
		}
		return out, nil
	}
	marked := strings.HasPrefix(data, "\xEF\xBB\xBF")
	data = strings.TrimPrefix(data, "\xEF\xBB\xBF")
	if utf8.ValidString(data) {
		return data, nil
	}
	if marked || hasUTF8(data) {
		return "", mixedText(data)
	}
	out, _, err := transform.String(charmap.Windows1252.NewDecoder(), data)
	if err != nil {
		return "", errUnreadableText()
	}
	return out, nil
}

func errUnreadableText() *Report {
	return fileProblem("encoding", "De tekenset van het bestand is niet te lezen; sla het op als CSV UTF-8.", "The file's character set cannot be read; save it as CSV UTF-8.")
}

// hasUTF8 says whether the text holds a character written as UTF-8 (of
// two bytes or more), which Windows-1252 text practically never does.
func hasUTF8(text string) bool {
	for i := 0; i < len(text); {
		if text[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(text[i:])
		if r != utf8.RuneError || n > 1 {
			return true
		}
		i += n
	}
	return false
}

// mixedText reports each line of the text that is not UTF-8.
func mixedText(text string) *Report {
	rep := &Report{}
	for line := 1; text != ""; line++ {
		l := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			l, text = text[:i], text[i+1:]
		} else {
			text = ""
		}
		if !utf8.ValidString(l) {
			rep.add(Problem{Row: line, Code: "encoding",
				NL: "Deze regel is in een andere tekenset opgeslagen dan de rest van het bestand (niet in UTF-8), zodat letters als é en ë verminkt zouden raken. Sla het hele bestand opnieuw op als \"CSV UTF-8\" en upload opnieuw.",
				EN: "This line is saved in another character set than the rest of the file (not UTF-8), so letters such as é and ë would be garbled. Save the whole file again as \"CSV UTF-8\" and upload again."})
		}
	}
	return rep
}

// delimiter picks ';' or ',' (or a tab) by counting outside quotes in the
// header line.
func delimiter(text string) rune {
	line := text
	if i := strings.IndexAny(text, "\r\n"); i >= 0 {
		line = text[:i]
	}
	counts := map[rune]int{}
	quoted := false
	for _, r := range line {
		switch {
		case r == '"':
			quoted = !quoted
		case !quoted && (r == ';' || r == ',' || r == '\t'):
			counts[r]++
		}
	}
	best := ';'
	for _, r := range []rune{';', ',', '\t'} {
		if counts[r] > counts[best] {
			best = r
		}
	}
	return best
}

func readCSV(data string) (Table, error) {
	if strings.IndexByte(data, 0) >= 0 && !strings.HasPrefix(data, "\xFF\xFE") && !strings.HasPrefix(data, "\xFE\xFF") {
		return Table{}, fileProblem("binary", "Het bestand bevat binaire gegevens: upload een CSV- of .xlsx-bestand.", "The file contains binary data: upload a CSV or .xlsx file.")
	}
	text, err := decodeText(data)
	if err != nil {
		return Table{}, err
	}
	if !strings.Contains(text, "\n") && strings.Contains(text, "\r") {
		// Lines ended by a carriage return alone: Excel for the Mac
		// before 2016 saved CSV so.
		text = strings.ReplaceAll(text, "\r", "\n")
	}
	// Room for a row per line (at most MaxRows), so the tables do not grow
	// by copying.
	rows := min(strings.Count(text, "\n")+1, MaxRows+1)
	t := Table{Rows: make([][]string, 0, rows), Lines: make([]int, 0, rows)}
	err = splitCSV(text, byte(delimiter(text)), t.add)
	var syntax csvSyntax
	if errors.As(err, &syntax) {
		return Table{}, &Report{Problems: []Problem{{Row: syntax.row, Code: "csv_syntax",
			NL: "Deze regel is geen geldige CSV (waarschijnlijk een aanhalingsteken dat niet gesloten wordt).",
			EN: "This line is not valid CSV (probably a quote that is never closed)."}}}
	}
	if err != nil {
		return Table{}, err
	}
	if t.Header == nil {
		return Table{}, fileProblem("empty", "Het bestand is leeg.", "The file is empty.")
	}
	return t, nil
}

// add takes the first non-empty record as the heading and the others as
// rows (with their line numbers), skipping empty ones, within MaxRows.
func (t *Table) add(rec []string, line int) error {
	switch {
	case blank(rec):
		return nil
	case t.Header == nil:
		t.Header = rec
		return nil
	case len(t.Rows) >= MaxRows:
		return fileProblem("too_many_rows", fmt.Sprintf("De lijst heeft meer dan %d regels, meer dan één school heeft; kijk of het bestand leerlingen van andere scholen of lege regels met opmaak bevat.", MaxRows),
			fmt.Sprintf("The list has more than %d rows, more than one school has; check whether the file holds pupils of other schools, or empty rows with formatting.", MaxRows))
	}
	t.Rows = append(t.Rows, rec)
	t.Lines = append(t.Lines, line)
	return nil
}

func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

func readXLSX(data io.Reader) (Table, error) {
	bad := fileProblem("xlsx", "Het Excel-bestand is beschadigd of te groot uitgepakt; sla het opnieuw op als .xlsx.", "The Excel file is damaged or too large when unpacked; save it again as .xlsx.")
	// Both limits equal: a worksheet never spills to a temporary file, so
	// no plaintext touches the disk; anything larger is refused.
	f, err := excelize.OpenReader(data, excelize.Options{UnzipSizeLimit: MaxUnzipBytes, UnzipXMLSizeLimit: MaxUnzipBytes})
	if err != nil {
		return Table{}, bad
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return Table{}, bad
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		return Table{}, bad
	}
	defer rows.Close()
	t := Table{Sheets: len(sheets)}
	for line := 1; rows.Next(); line++ {
		rec, err := rows.Columns()
		if err != nil {
			return Table{}, bad
		}
		for len(rec) > 0 && strings.TrimSpace(rec[len(rec)-1]) == "" {
			rec = rec[:len(rec)-1]
		}
		if len(rec) > MaxColumns {
			return Table{}, tooWide(line)
		}
		if err := t.add(rec, line); err != nil {
			return Table{}, err
		}
	}
	if err := rows.Error(); err != nil {
		return Table{}, bad
	}
	if t.Header == nil {
		return Table{}, fileProblem("empty", "Het werkblad is leeg.", "The worksheet is empty.")
	}
	return t, nil
}
