package waswordt

import "strings"

// splitCSV splits CSV text into records exactly as encoding/csv does with
// strict quotes and any number of fields per record (RFC 4180: a quoted
// cell may hold separators, doubled quotes and line breaks; "\r\n" ends a
// line like "\n"; empty lines are skipped), but its cells are substrings
// of text instead of copies. A 50,000-row list is then one string and a
// few arrays of cells rather than 50,000 records of their own, which made
// reading half the cost of an upload. FuzzSplitCSV holds it to
// encoding/csv.
//
// each gets every record with its spreadsheet row: the text's line
// number less the line breaks inside quoted cells before it, as Excel
// counts. A record of more than MaxColumns cells stops the reading (a
// file of separators would otherwise become millions of empty cells), as
// does an error from each.
func splitCSV(text string, comma byte, each func(rec []string, row int) error) error {
	r := csvReader{text: text, comma: comma, line: 1}
	// The cells of the records, in blocks: a record's cells are written
	// where they stay, in the room left in the block, which holds any
	// record (at most MaxColumns+2 cells are read). Copied there after
	// reading, they cost a ninth of the reading (BenchmarkReadCSV50k 9.0
	// → 8.0 ms): a copy of strings is a write barrier for each while the
	// collector runs, and an upload's garbage has it run for much of the
	// reading.
	var slab []string
	for r.i < len(text) {
		// Empty lines hold no record.
		if e := lineEnd(text, r.i); e > r.i {
			r.i = e
			r.line++
			continue
		}
		row := r.line - r.embedded
		if cap(slab)-len(slab) < MaxColumns+2 {
			slab = make([]string, 0, slabCells)
		}
		r.fields = slab[len(slab):]
		var err error
		if !r.plainLine() {
			err = r.quotedLine()
		}
		if err != nil {
			return err
		}
		if len(r.fields) > MaxColumns {
			return tooWide(row)
		}
		n := len(slab)
		slab = slab[:n+len(r.fields)]
		if err := each(slab[n:len(slab):len(slab)], row); err != nil {
			return err
		}
	}
	return nil
}

// slabCells is the size of splitCSV's blocks of cells: 64 KB of strings.
const slabCells = 4096

// A block must hold the largest record read (MaxColumns+2 cells): this
// does not compile otherwise.
const _ = uint(slabCells - (MaxColumns + 2))

// csvReader is splitCSV's position in the text.
type csvReader struct {
	text     string
	comma    byte
	i        int      // the next byte to read
	line     int      // of the text, at i
	embedded int      // line breaks inside quoted cells so far
	fields   []string // the record being read, in splitCSV's block
}

// plainLine reads the line at r.i if it holds no quote, which is every
// line of most lists: its cells are what lies between the separators,
// found by the fast byte searches. It reads nothing otherwise.
func (r *csvReader) plainLine() bool {
	text := r.text
	end := strings.IndexByte(text[r.i:], '\n')
	if end < 0 {
		end = len(text)
	} else {
		end += r.i
	}
	line := text[r.i:end]
	if strings.IndexByte(line, '"') >= 0 {
		return false
	}
	line = strings.TrimSuffix(line, "\r")
	for len(r.fields) <= MaxColumns {
		j := strings.IndexByte(line, r.comma)
		if j < 0 {
			r.fields = append(r.fields, line)
			break
		}
		r.fields = append(r.fields, line[:j])
		line = line[j+1:]
	}
	r.i = min(end+1, len(text))
	r.line++
	return true
}

// quotedLine reads a record with quoted cells, which may run over
// several lines.
func (r *csvReader) quotedLine() error {
	text, start := r.text, r.line-r.embedded
	for len(r.fields) <= MaxColumns {
		var cell string
		if text[r.i] == '"' {
			var lines int
			var ok bool
			cell, r.i, lines, ok = quotedCell(text, r.i+1, r.comma)
			if !ok {
				return csvSyntax{row: start}
			}
			r.line += lines
			r.embedded += lines
		} else {
			cell, r.i = plainCell(text, r.i, r.comma)
			if strings.IndexByte(cell, '"') >= 0 {
				return csvSyntax{row: start}
			}
		}
		r.fields = append(r.fields, cell)
		// After a cell: the end of the line, or a separator and another
		// cell (empty where the line ends right after it).
		if r.i == len(text) || text[r.i] != r.comma {
			break
		}
		r.i++
		if e := lineEnd(text, r.i); e > r.i || r.i == len(text) {
			r.fields = append(r.fields, "")
			break
		}
	}
	r.i = lineEnd(text, r.i)
	r.line++
	return nil
}

// lineEnd returns the position after the line break at i ("\n", "\r\n",
// or a "\r" that ends the text), or i where there is none.
func lineEnd(text string, i int) int {
	switch {
	case i >= len(text):
	case text[i] == '\n':
		return i + 1
	case text[i] == '\r' && i+1 == len(text):
		return i + 1
	case text[i] == '\r' && text[i+1] == '\n':
		return i + 2
	}
	return i
}

// plainCell reads an unquoted cell from i up to the separator or the line
// break. A "\r" stays part of the cell unless it ends the line.
func plainCell(text string, i int, comma byte) (string, int) {
	j := i
	for j < len(text) {
		c := text[j]
		if c == comma || c == '\n' {
			break
		}
		if c == '\r' && (j+1 == len(text) || text[j+1] == '\n') {
			break
		}
		j++
	}
	return text[i:j], j
}

// quotedCell reads a quoted cell whose opening quote is just before i. It
// returns the cell, the position after the closing quote, the line breaks
// inside, and false where the quote is never closed properly: not closed,
// or followed by anything but a separator or the end of the line.
func quotedCell(text string, i int, comma byte) (string, int, int, bool) {
	var (
		b     *strings.Builder // only when the cell is not a plain substring
		from  = i
		lines = 0
	)
	for {
		j := strings.IndexAny(text[i:], "\"\n")
		if j < 0 {
			return "", 0, 0, false
		}
		j += i
		if text[j] == '\n' {
			lines++
			if j > i && text[j-1] == '\r' {
				// "\r\n" inside a cell reads as "\n".
				if b == nil {
					b = &strings.Builder{}
					b.WriteString(text[from : j-1])
				} else {
					b.WriteString(text[i : j-1])
				}
				b.WriteByte('\n')
			} else if b != nil {
				b.WriteString(text[i : j+1])
			}
			i = j + 1
			continue
		}
		// A quote: doubled, it is one quote of the cell; single, it closes.
		if b != nil {
			b.WriteString(text[i:j])
		}
		if j+1 < len(text) && text[j+1] == '"' {
			if b == nil {
				b = &strings.Builder{}
				b.WriteString(text[from:j])
			}
			b.WriteByte('"')
			i = j + 2
			continue
		}
		k := j + 1
		if k < len(text) && text[k] != comma && text[k] != '\n' && !(text[k] == '\r' && (k+1 == len(text) || text[k+1] == '\n')) {
			return "", 0, 0, false
		}
		if b != nil {
			return b.String(), k, lines, true
		}
		return text[from:j], k, lines, true
	}
}

// csvSyntax is a line that is not valid CSV, by spreadsheet row.
type csvSyntax struct{ row int }

func (e csvSyntax) Error() string { return "csv syntax" }
