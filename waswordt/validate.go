package waswordt

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Problem is one thing wrong with an upload: where (spreadsheet row, 1 is
// the heading; 0 the file as a whole; the column's heading) and what to do,
// in Dutch and English. It never quotes a cell's value.
type Problem struct {
	Row    int    `json:"row"`
	Column string `json:"column,omitempty"`
	Code   string `json:"code"`
	NL     string `json:"nl"`
	EN     string `json:"en"`
}

// Report is every problem of an upload; it is an error.
type Report struct {
	Problems []Problem `json:"problems"`
	// More counts problems beyond the ones listed.
	More int `json:"more,omitempty"`
}

func (r *Report) Error() string {
	return fmt.Sprintf("the list has %d problem(s); the first: row %d %s: %s", len(r.Problems)+r.More, r.Problems[0].Row, r.Problems[0].Column, r.Problems[0].EN)
}

// maxListed bounds a report: a list with a wrong delimiter would otherwise
// give 100,000 identical problems.
const maxListed = 1000

func (r *Report) add(p Problem) {
	if len(r.Problems) >= maxListed {
		r.More++
		return
	}
	r.Problems = append(r.Problems, p)
}

// Options adjust validation.
type Options struct {
	// SeveralRealms: the user confirmed that the new identities may use
	// more than one realm.
	SeveralRealms bool
}

// Row is a validated row: cells in the format's column order.
type Row struct {
	Line  int      `json:"line"`
	Cells []string `json:"cells"`
}

// List is a validated list.
type List struct {
	Format FormatID `json:"format"`
	Part   Part     `json:"part"`
	Rows   []Row    `json:"rows"`
}

// Cell returns the value of the column with key in row r.
func (l List) Cell(r Row, key string) string {
	f, _ := Lookup(l.Format)
	for i, c := range f.ColumnsOf(l.Part) {
		if c.Key == key && i < len(r.Cells) {
			return r.Cells[i]
		}
	}
	return ""
}

// validIdentity reports whether v is userid@realm: exactly one @, text on
// both sides, no white space. (A loop: this runs twice per row.)
func validIdentity(v string) bool {
	at := -1
	for i, r := range v {
		switch {
		case r == '@':
			if at >= 0 {
				return false
			}
			at = i
		case unicode.IsSpace(r):
			return false
		}
	}
	return at > 0 && at < len(v)-1
}

// postcode returns a Dutch postcode as "1234 AB", or false.
func postcode(v string) (string, bool) {
	v = strings.Replace(v, " ", "", 1)
	if len(v) != 6 || v[0] < '1' || v[0] > '9' {
		return "", false
	}
	for i := 1; i < 4; i++ {
		if v[i] < '0' || v[i] > '9' {
			return "", false
		}
	}
	letters := strings.ToUpper(v[4:])
	for i := 0; i < 2; i++ {
		if letters[i] < 'A' || letters[i] > 'Z' {
			return "", false
		}
	}
	return v[:4] + " " + letters, true
}

var (
	houseNumberRE = regexp.MustCompile(`^[1-9][0-9]{0,4}(\s?[A-Za-z]{1,4}|\s?[-/]\s?[A-Za-z0-9]{1,6})?$`)
)

// Validate checks a table against a dataset part and returns the list,
// or a *Report with every problem found.
func Validate(f Format, part Part, t Table, opt Options) (List, error) {
	cols := f.ColumnsOf(part)
	rep := &Report{}
	index := mapHeader(f, part, t.Header, rep)
	if len(rep.Problems) > 0 {
		return List{}, rep
	}
	if len(t.Rows) == 0 {
		return List{}, fileProblem("no_rows", "De lijst heeft een kopregel maar geen leerlingen.", "The list has a heading but no pupils.")
	}
	list := List{Format: f.ID, Part: part, Rows: make([]Row, 0, len(t.Rows))}
	for i, rec := range t.Rows {
		line := t.Lines[i]
		if len(rec) > len(t.Header) && !blank(rec[len(t.Header):]) {
			rep.add(Problem{Row: line, Code: "extra_cells", NL: "Deze regel heeft meer cellen dan er kolommen zijn; verwijder de waarden rechts van de laatste kolom.",
				EN: "This row has more cells than there are columns; remove the values right of the last column."})
		}
		row := Row{Line: line, Cells: make([]string, len(cols))}
		for ci, c := range cols {
			v := ""
			if j := index[ci]; j >= 0 && j < len(rec) {
				v = strings.TrimSpace(rec[j])
			}
			row.Cells[ci] = checkCell(c, v, line, rep)
		}
		list.Rows = append(list.Rows, row)
	}
	checkList(f, cols, list, opt, rep)
	if len(rep.Problems) > 0 {
		sort.SliceStable(rep.Problems, func(i, j int) bool { return rep.Problems[i].Row < rep.Problems[j].Row })
		return List{}, rep
	}
	return list, nil
}

// mapHeader finds each column of the part in the header (any order, case
// and white space ignored) and reports missing, doubled and extra columns.
func mapHeader(f Format, part Part, header []string, rep *Report) []int {
	cols := f.ColumnsOf(part)
	index := make([]int, len(cols))
	byName := map[string]int{}
	for j, h := range header {
		n := normaliseHeading(h)
		if n == "" {
			continue
		}
		if _, dup := byName[n]; dup {
			rep.add(Problem{Row: 1, Column: columnName(j), Code: "duplicate_column", NL: "Deze kolom staat twee keer in de kopregel; houd er één.", EN: "This column appears twice in the heading; keep one."})
			continue
		}
		byName[n] = j
	}
	known := map[string]bool{}
	for i, c := range cols {
		known[normaliseHeading(c.Heading)] = true
		j, ok := byName[normaliseHeading(c.Heading)]
		if !ok {
			index[i] = -1
			if c.Need == Required || c.Need == Mandatory {
				rep.add(Problem{Row: 1, Column: c.Heading, Code: "missing_column",
					NL: fmt.Sprintf("De kolom %q ontbreekt in de kopregel. Gebruik de kolomnamen van het sjabloon: %s.", c.Heading, strings.Join(f.Headings(part), ", ")),
					EN: fmt.Sprintf("The column %q is missing from the heading. Use the template's headings: %s.", c.Heading, strings.Join(f.Headings(part), ", "))})
			}
			continue
		}
		index[i] = j
	}
	var other []string
	if part == SupplierPart {
		for _, c := range f.Columns {
			if c.Party == BySchool {
				other = append(other, normaliseHeading(c.Heading))
			}
		}
	}
	for j, h := range header {
		n := normaliseHeading(h)
		if n == "" || known[n] {
			continue
		}
		if slices.Contains(other, n) {
			continue // the school's columns may be present, empty, in a publisher's part
		}
		// Named by position, not by its text: without a heading row the
		// "heading" is a pupil's data.
		rep.add(Problem{Row: 1, Column: columnName(j), Code: "extra_column",
			NL: fmt.Sprintf("Kolom %s hoort niet bij deze lijst (of de kopregel ontbreekt); verwijder hem. Toegestaan: %s.", columnName(j), strings.Join(f.Headings(part), ", ")),
			EN: fmt.Sprintf("Column %s does not belong in this list (or the heading row is missing); remove it. Allowed: %s.", columnName(j), strings.Join(f.Headings(part), ", "))})
	}
	return index
}

// columnName is a column's spreadsheet letter: 0 → "A", 27 → "AB".
func columnName(i int) string {
	name := ""
	for i++; i > 0; i = (i - 1) / 26 {
		name = string(rune('A'+(i-1)%26)) + name
	}
	return name
}

// checkCell checks one value and returns it normalised.
func checkCell(c Column, v string, line int, rep *Report) string {
	if v == "" {
		if c.Need == Required || c.Need == Mandatory {
			rep.add(Problem{Row: line, Column: c.Heading, Code: "required", NL: "Deze cel is leeg maar verplicht; vul hem in.", EN: "This cell is empty but required; fill it in."})
		}
		return ""
	}
	if utf8.RuneCountInString(v) > maxCellRunes {
		rep.add(Problem{Row: line, Column: c.Heading, Code: "too_long", NL: fmt.Sprintf("Deze cel is langer dan %d tekens.", maxCellRunes), EN: fmt.Sprintf("This cell is longer than %d characters.", maxCellRunes)})
		return v
	}
	switch c.Kind {
	case KindPostcode:
		pc, ok := postcode(v)
		if !ok {
			rep.add(Problem{Row: line, Column: c.Heading, Code: "postcode", NL: "Geen geldige postcode: gebruik 4 cijfers en 2 letters, zoals 1234 AB.", EN: "Not a valid postcode: use 4 digits and 2 letters, like 1234 AB."})
			return v
		}
		return pc
	case KindHouseNumber:
		if !houseNumberRE.MatchString(v) {
			rep.add(Problem{Row: line, Column: c.Heading, Code: "house_number", NL: "Geen geldig huisnummer: een getal, eventueel met toevoeging (12, 12a, 12-3).", EN: "Not a valid house number: a number, optionally with an addition (12, 12a, 12-3)."})
		}
	case KindOldIdentity, KindNewIdentity, KindIdentity:
		if !validIdentity(v) {
			rep.add(Problem{Row: line, Column: c.Heading, Code: "identity", NL: "Geen geldige identiteit: verwacht gebruikersnaam@realm, zonder spaties en met precies één @.", EN: "Not a valid identity: expected userid@realm, without spaces and with exactly one @."})
		}
	}
	return v
}

func realm(id string) string {
	if i := strings.LastIndexByte(id, '@'); i >= 0 {
		return strings.ToLower(id[i+1:])
	}
	return ""
}

// checkList applies the checks across rows: duplicates, old = new, one
// realm for the new identities.
func checkList(f Format, cols []Column, list List, opt Options, rep *Report) {
	col := func(kind Kind) int {
		for i, c := range cols {
			if c.Kind == kind {
				return i
			}
		}
		return -1
	}
	oldI, newI := col(KindOldIdentity), col(KindNewIdentity)
	// person is the row's name and address, lower case, joined by NULs,
	// in a buffer reused for every row: the map keeps a copy only of the
	// first row of each person (50,000 rows, one allocation each).
	var buf []byte
	person := func(r Row) []byte {
		buf = buf[:0]
		first := true
		for i, c := range cols {
			if c.Kind == KindText || c.Kind == KindPostcode || c.Kind == KindHouseNumber {
				if !first {
					buf = append(buf, 0)
				}
				first = false
				buf = appendLower(buf, r.Cells[i])
			}
		}
		return buf
	}
	n := len(list.Rows)
	firstOld, firstNew, firstPerson := make(map[string]int, n), make(map[string]int, n), make(map[string]int, n)
	realms := map[string]int{}
	var realmOrder []string
	for _, r := range list.Rows {
		if oldI >= 0 && r.Cells[oldI] != "" {
			k := strings.ToLower(r.Cells[oldI])
			if first, dup := firstOld[k]; dup {
				rep.add(Problem{Row: r.Line, Column: cols[oldI].Heading, Code: "duplicate_old",
					NL: fmt.Sprintf("Deze oude identiteit staat ook op regel %d; elke oude identiteit hoort één keer in de lijst.", first),
					EN: fmt.Sprintf("This old identity is also on row %d; each old identity belongs in the list once.", first)})
			} else {
				firstOld[k] = r.Line
			}
		}
		if newI >= 0 && r.Cells[newI] != "" {
			k := strings.ToLower(r.Cells[newI])
			if first, dup := firstNew[k]; dup {
				rep.add(Problem{Row: r.Line, Column: cols[newI].Heading, Code: "duplicate_new",
					NL: fmt.Sprintf("Deze nieuwe identiteit is ook op regel %d gebruikt: twee leerlingen kunnen niet dezelfde nieuwe identiteit krijgen.", first),
					EN: fmt.Sprintf("This new identity is also used on row %d: two pupils cannot get the same new identity.", first)})
			} else {
				firstNew[k] = r.Line
			}
			if oldI >= 0 && strings.EqualFold(r.Cells[oldI], r.Cells[newI]) {
				rep.add(Problem{Row: r.Line, Column: cols[newI].Heading, Code: "unchanged",
					NL: "De nieuwe identiteit is gelijk aan de oude: deze leerling hoeft niet in de lijst, of de nieuwe identiteit klopt niet.",
					EN: "The new identity equals the old one: this pupil need not be on the list, or the new identity is wrong."})
			}
			if rl := realm(r.Cells[newI]); rl != "" {
				if _, seen := realms[rl]; !seen {
					realmOrder = append(realmOrder, rl)
				}
				realms[rl]++
			}
		}
		// Without an old identity (MBO NON-ECK) two students may share a
		// name and location: only identities can tell them apart.
		if p := person(r); oldI >= 0 && len(bytes.Trim(p, "\x00")) > 0 {
			if first, dup := firstPerson[string(p)]; dup {
				rep.add(Problem{Row: r.Line, Code: "duplicate_person",
					NL: fmt.Sprintf("Deze leerling (zelfde naam en gegevens) staat ook op regel %d; verwijder een van beide regels.", first),
					EN: fmt.Sprintf("This pupil (same name and details) is also on row %d; remove one of the two rows.", first)})
			} else {
				firstPerson[string(p)] = r.Line
			}
		}
	}
	if len(realms) > 1 && !opt.SeveralRealms && newI >= 0 {
		major := realmOrder[0]
		for _, rl := range realmOrder {
			if realms[rl] > realms[major] {
				major = rl
			}
		}
		rep.add(Problem{Row: 0, Column: cols[newI].Heading, Code: "several_realms",
			NL: fmt.Sprintf("De nieuwe identiteiten gebruiken %d verschillende realms; de meeste eindigen op @%s. Klopt dat, bevestig dan 'meerdere realms'; anders corrigeer de regels hieronder.", len(realms), major),
			EN: fmt.Sprintf("The new identities use %d different realms; most end in @%s. If that is right, confirm 'several realms'; otherwise correct the rows below.", len(realms), major)})
		for _, r := range list.Rows {
			if rl := realm(r.Cells[newI]); rl != "" && rl != major {
				rep.add(Problem{Row: r.Line, Column: cols[newI].Heading, Code: "other_realm",
					NL: fmt.Sprintf("Deze nieuwe identiteit eindigt niet op @%s zoals de meeste.", major),
					EN: fmt.Sprintf("This new identity does not end in @%s like most.", major)})
			}
		}
	}
}

// appendLower appends s in lower case; ASCII without a copy of s.
func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return append(b, strings.ToLower(s)...)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}
