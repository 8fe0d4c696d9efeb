package waswordt

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"math/bits"
	"slices"
	"sort"
	"strings"
	"sync"
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
	// rows: what the upload's rows were read as, where the problems are
	// in its rows (see Rows).
	rows *List
}

// Rows returns the rows of an upload whose problems are in its rows,
// as read: a check of the rows against something beyond the file (the
// rows the publishers supplied) can then report beside the file's own
// problems. It has none for a file that could not be read as a list.
func (r *Report) Rows() (List, bool) {
	if r.rows == nil {
		return List{}, false
	}
	return *r.rows, true
}

func (r *Report) Error() string {
	return fmt.Sprintf("the list has %d problem(s); the first: row %d %s: %s", len(r.Problems)+r.More, r.Problems[0].Row, r.Problems[0].Column, r.Problems[0].EN)
}

// maxListed bounds a report: a list with a wrong delimiter would otherwise
// give 100,000 identical problems.
const maxListed = 1000

// Append adds the problems of o after those of r, as if they had been
// added to r (as many as a report lists).
func (r *Report) Append(o *Report) {
	for _, p := range o.Problems {
		r.add(p)
	}
	r.More += o.More
}

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
	// OpenRows: a row whose school columns are all empty is open, left for
	// the school to fill in later (an MBO list in progress), not wrong. A
	// row with some of them filled must have its required ones.
	OpenRows bool
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
// both sides, no white space or invisible formatting characters. (A loop: this runs twice per row.)
func validIdentity(v string) bool {
	at := -1
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '@':
			if at >= 0 {
				return false
			}
			at = i
		case c >= utf8.RuneSelf:
			// Not ASCII: the rest rune by rune (white space beyond ASCII).
			for j, r := range v[i:] {
				switch {
				case r == '@':
					if at >= 0 {
						return false
					}
					at = i + j
				case unicode.IsSpace(r), unicode.Is(unicode.Cf, r):
					// A zero-width space or a byte order mark pasted
					// with the identity matches no account.
					return false
				}
			}
			return at > 0 && at < len(v)-1
		case asciiSpace[c]:
			return false
		}
	}
	return at > 0 && at < len(v)-1
}

// asciiSpace is unicode.IsSpace for the ASCII bytes.
var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// postcode returns a Dutch postcode as "1234 AB", or false. One space
// anywhere is allowed and letters may be lower case; a postcode already
// written as "1234 AB" (nearly all of them) is returned without a copy.
func postcode(v string) (string, bool) {
	var w [6]byte // v without its first space
	n, space := 0, false
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == ' ' && !space:
			space = true
		case n == len(w):
			return "", false
		default:
			w[n] = v[i]
			n++
		}
	}
	if n != len(w) || w[0] < '1' || w[0] > '9' {
		return "", false
	}
	for i := 1; i < 4; i++ {
		if !isDigit(w[i]) {
			return "", false
		}
	}
	if !isLetter(w[4]) || !isLetter(w[5]) {
		return "", false
	}
	if len(v) == 7 && v[4] == ' ' && isUpper(v[5]) && isUpper(v[6]) {
		return v, true
	}
	return string([]byte{w[0], w[1], w[2], w[3], ' ', upper(w[4]), upper(w[5])}), true
}

// houseNumber reports whether v is a Dutch house number: 1 to 99999, then
// either up to 4 letters (12a, 12 AB) or a dash or slash and up to 6
// letters or digits (12-3, 12 / 2b), a space allowed before each. It is
// the expression ^[1-9][0-9]{0,4}(\s?[A-Za-z]{1,4}|\s?[-/]\s?[A-Za-z0-9]{1,6})?$
// by hand, which FuzzHouseNumber holds it to: the expression was a tenth
// of a 50,000-row upload.
func houseNumber(v string) bool {
	if v == "" || v[0] < '1' || v[0] > '9' {
		return false
	}
	i := 1
	for n := 0; n < 4 && i < len(v) && isDigit(v[i]); n++ {
		i++
	}
	if i == len(v) {
		return true
	}
	if isRESpace(v[i]) {
		i++
	}
	if n := run(v[i:], isLetter); n >= 1 && n <= 4 && i+n == len(v) {
		return true
	}
	if i == len(v) || (v[i] != '-' && v[i] != '/') {
		return false
	}
	i++
	if i < len(v) && isRESpace(v[i]) {
		i++
	}
	n := run(v[i:], func(c byte) bool { return isLetter(c) || isDigit(c) })
	return n >= 1 && n <= 6 && i+n == len(v)
}

// run counts the leading bytes of s that are in.
func run(s string, in func(byte) bool) int {
	n := 0
	for n < len(s) && in(s[n]) {
		n++
	}
	return n
}

func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isUpper(c byte) bool  { return 'A' <= c && c <= 'Z' }
func isLetter(c byte) bool { return isUpper(c) || ('a' <= c && c <= 'z') }

// isRESpace is \s of Go's regular expressions.
func isRESpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

// Validate checks a table against a dataset part and returns the list,
// or a *Report with every problem found. The list may share (normalised)
// cells with t, which is not for use afterwards.
func Validate(f Format, part Part, t Table, opt Options) (List, error) {
	p, err := Start(f, part, t, opt)
	if err == nil {
		err = p.Wait()
	}
	if err != nil {
		return List{}, err
	}
	return p.List, nil
}

// Pending is a list whose rows are checked while its checks across rows
// (duplicates, one realm) still run. Its cells are final, so it can be
// packed and written meanwhile, as long as nothing is kept before Wait
// says the list is valid: an upload overlaps its database write with
// those checks, the two largest parts of its time.
type Pending struct {
	List List
	done chan struct{}
	err  error
}

// Wait returns nil when the list is valid, or the *Report of every
// problem, in the rows and across them.
func (p *Pending) Wait() error {
	<-p.done
	return p.err
}

// Start checks every row of t, then starts the checks across rows and
// returns. A problem with the heading is returned at once; where a row
// has a problem, it waits for the checks across rows as well and returns
// the *Report of every problem. The list may share (normalised) cells
// with t, which is not for use afterwards.
func Start(f Format, part Part, t Table, opt Options) (*Pending, error) {
	return new(Checker).Start(f, part, t, opt)
}

// A Checker checks lists, as Start does, and keeps the hash tables of its
// duplicate checks for the next list: two of 512 KB for a 50,000-row
// list, which, made anew for each, cost more to clear (fresh memory is
// faulted in) than to fill. The zero Checker is ready for use, by any
// number of goroutines at once; it must not be copied after first use.
type Checker struct {
	// OneCore has the checks across rows run on one goroutine, not two.
	// Set it where an upload waits on a database across the network
	// while they run (PostgreSQL) and there are only two cores for Go
	// (GOMAXPROCS): with a goroutine busy on each, Go's scheduler looks
	// for network answers only every 10 ms or so (its monitor thread),
	// and each of the upload's round trips waited 2-3 ms; on one core the
	// checks still end before the list is written. Set it before first
	// use.
	OneCore bool
	tables  sync.Pool // *[]uint32
}

// table returns an empty table of n slots.
func (c *Checker) table(n int) []uint32 {
	if t, ok := c.tables.Get().(*[]uint32); ok && cap(*t) >= n {
		s := (*t)[:n]
		clear(s)
		return s
	}
	return make([]uint32, n)
}

// keep gives a table back for the next list.
func (c *Checker) keep(t []uint32) { c.tables.Put(&t) }

// firstRows is a firstRows for rows in one of c's tables; done gives the
// table back.
func (c *Checker) firstRows(rows []Row, key func([]byte, Row) []byte, hash func([]byte) uint64) (f *firstRows, done func()) {
	f = newFirstRows(c.table(firstRowsSlots(len(rows))), rows, key, hash)
	return f, func() { c.keep(f.slots) }
}

// Start is the package's Start, with c's tables.
func (c *Checker) Start(f Format, part Part, t Table, opt Options) (*Pending, error) {
	cols := f.ColumnsOf(part)
	rep := &Report{}
	index := mapHeader(f, part, t.Header, rep)
	heading := len(rep.Problems) > 0
	if heading && t.Sheets > 1 {
		rep.add(Problem{Row: 1, Code: "first_sheet",
			NL: fmt.Sprintf("Alleen het eerste werkblad is gelezen; deze werkmap heeft er %d. Staat de lijst op een ander werkblad, zet hem dan op het eerste, of sla dat werkblad op als CSV.", t.Sheets),
			EN: fmt.Sprintf("Only the first worksheet is read; this workbook has %d. If the list is on another one, move it to the first, or save that worksheet as CSV.", t.Sheets)})
	}
	// A heading at fault does not hide the rows' problems: the cells of
	// the columns it names are checked too, so that one upload tells all.
	// Not where it names none of the list's columns (no heading row, or
	// another list): its rows would be read as the wrong cells.
	if heading && (len(t.Rows) == 0 || !slices.ContainsFunc(index, func(j int) bool { return j >= 0 })) {
		return nil, rep
	}
	if len(t.Rows) == 0 {
		return nil, fileProblem("no_rows", "De lijst heeft een kopregel maar geen leerlingen.", "The list has a heading but no pupils.")
	}
	// Rows short of a column are not held against each other (two pupils
	// with one name look alike without their address), nor against the
	// case (see Report.Rows): that waits for the column.
	missing := slices.ContainsFunc(rep.Problems, func(p Problem) bool { return p.Code == "missing_column" })
	checkIgnored(f, part, t, rep)
	list := List{Format: f.ID, Part: part, Rows: make([]Row, len(t.Rows))}
	// The rows are checked in two halves at once, each with its own
	// report; the reports are joined in row order, as one would have been.
	var halves [2]Report
	mid := len(t.Rows) / 2
	if len(t.Rows) < parallelRows {
		mid = 0
	}
	both(func() { checkRows(cols, index, t, list.Rows, 0, mid, opt.OpenRows, &halves[0]) },
		func() { checkRows(cols, index, t, list.Rows, mid, len(t.Rows), opt.OpenRows, &halves[1]) })
	for _, h := range halves {
		rep.Append(&h)
	}
	acrossRows := func() error {
		if !missing {
			c.checkList(f, cols, list, opt, rep)
		}
		if len(rep.Problems) > 0 {
			sort.SliceStable(rep.Problems, func(i, j int) bool { return rep.Problems[i].Row < rep.Problems[j].Row })
			return rep
		}
		return nil
	}
	if len(rep.Problems) > 0 {
		if !missing {
			rep.rows = &list
		}
		return nil, acrossRows()
	}
	p := &Pending{List: list, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.err = acrossRows()
	}()
	return p, nil
}

// beside runs the two halves of the checks across rows: at once, or with
// OneCore one after the other.
func (c *Checker) beside(a, b func()) {
	if c.OneCore {
		a()
		b()
		return
	}
	both(a, b)
}

// parallelRows: below it a list is checked on one goroutine.
const parallelRows = 2000

// both runs a and b at once and returns when both are done. A 50,000-row
// upload is mostly checking, and the machine has (at least) two cores.
func both(a, b func()) {
	var wg sync.WaitGroup
	wg.Go(a)
	b()
	wg.Wait()
}

// checkRows checks rows [from, to) of t into out. A record whose columns
// are the format's, in its order (a list made from the template), becomes
// the row's cells as it is, normalised in place: no copy of 50,000 rows.
// With openRows a row whose school columns are all empty passes without
// them.
func checkRows(cols []Column, index []int, t Table, out []Row, from, to int, openRows bool, rep *Report) {
	inOrder := true
	for ci := range cols {
		inOrder = inOrder && index[ci] == ci
	}
	for i := from; i < to; i++ {
		rec, line := t.Rows[i], t.Lines[i]
		if len(rec) > len(t.Header) && !blank(rec[len(t.Header):]) {
			rep.add(Problem{Row: line, Code: "extra_cells", NL: "Deze regel heeft meer cellen dan er kolommen zijn; verwijder de waarden rechts van de laatste kolom.",
				EN: "This row has more cells than there are columns; remove the values right of the last column."})
		}
		row := Row{Line: line}
		if inOrder && len(rec) == len(cols) {
			row.Cells = rec
		} else {
			row.Cells = make([]string, len(cols))
		}
		open := openRows && schoolCellsEmpty(cols, index, rec)
		for ci := range cols {
			c := &cols[ci] // not a copy of the column for every cell
			j := index[ci]
			if j < 0 {
				continue // not in the file: said of the heading where it has to be
			}
			v := ""
			if j < len(rec) {
				v = unneutralise(trimSpace(rec[j]))
			}
			if open && c.Party == BySchool {
				if row.Cells[ci] != "" {
					row.Cells[ci] = "" // white space only
				}
				continue // empty, and may be
			}
			// A cell kept as it was is not stored again: a store of a
			// string is a write barrier while the collector runs.
			if nv := checkCell(c, v, line, rep); nv != row.Cells[ci] {
				row.Cells[ci] = nv
			}
		}
		out[i] = row
	}
}

// schoolCellsEmpty says whether every school column of the record is
// empty (or white space).
func schoolCellsEmpty(cols []Column, index []int, rec []string) bool {
	for ci, c := range cols {
		if j := index[ci]; c.Party == BySchool && j >= 0 && j < len(rec) && strings.TrimSpace(rec[j]) != "" {
			return false
		}
	}
	return true
}

// IsOpen says whether the row's school columns are all empty: a row the
// school has still to fill in.
func (f Format) IsOpen(r Row) bool {
	for i, c := range f.Columns {
		if c.Party == BySchool && i < len(r.Cells) && r.Cells[i] != "" {
			return false
		}
	}
	return true
}

// unneutralise takes off the apostrophe Neutralise put before a cell
// that a spreadsheet would read as a formula, so that a list exported
// here uploads again as it was: the school fills in the merged list it
// downloaded, and its publishers' rows must match what they supplied.
func unneutralise(v string) string {
	if len(v) > 1 && v[0] == '\'' && strings.IndexByte("=+-@\t\r", v[1]) >= 0 {
		return v[1:]
	}
	return v
}

// trimSpace is strings.TrimSpace, answered without a call for a cell that
// starts and ends with a printable ASCII byte, as nearly every cell does.
func trimSpace(v string) string {
	if n := len(v); n == 0 || v[0]-'!' < '~'-'!'+1 && v[n-1]-'!' < '~'-'!'+1 {
		return v
	}
	return strings.TrimSpace(v)
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

// checkIgnored refuses values in the columns the header allows but the
// list does not keep: a column without a heading, and in a publisher's
// part the school's columns. Stored without them, such values would be
// lost without a word.
func checkIgnored(f Format, part Part, t Table, rep *Report) {
	type ignored struct {
		j      int
		nl, en string
	}
	var cols []ignored
	for j, h := range t.Header {
		n := normaliseHeading(h)
		if n == "" {
			cols = append(cols, ignored{j, fmt.Sprintf("Kolom %s heeft geen kopje maar wel waarden; geef hem het juiste kopje of verwijder de waarden.", columnName(j)),
				fmt.Sprintf("Column %s has no heading but holds values; give it the right heading or remove the values.", columnName(j))})
			continue
		}
		if part != SupplierPart {
			continue
		}
		for _, c := range f.Columns {
			if c.Party == BySchool && normaliseHeading(c.Heading) == n {
				cols = append(cols, ignored{j, fmt.Sprintf("De kolom %q vult de school in, niet de uitgever; laat hem leeg of verwijder hem.", c.Heading),
					fmt.Sprintf("The school fills in column %q, not the publisher; leave it empty or remove it.", c.Heading)})
			}
		}
	}
	for _, c := range cols {
		for i, rec := range t.Rows {
			if c.j < len(rec) && strings.TrimSpace(rec[c.j]) != "" {
				rep.add(Problem{Row: t.Lines[i], Column: columnName(c.j), Code: "ignored_column_filled", NL: c.nl, EN: c.en})
			}
		}
	}
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
func checkCell(c *Column, v string, line int, rep *Report) string {
	if v == "" {
		if c.Need == Required || c.Need == Mandatory {
			rep.add(Problem{Row: line, Column: c.Heading, Code: "required", NL: "Deze cel is leeg maar verplicht; vul hem in.", EN: "This cell is empty but required; fill it in."})
		}
		return ""
	}
	if len(v) > maxCellRunes && utf8.RuneCountInString(v) > maxCellRunes {
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
		if !houseNumber(v) {
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
func (c *Checker) checkList(f Format, cols []Column, list List, opt Options, rep *Report) {
	col := func(kind Kind) int {
		for i, c := range cols {
			if c.Kind == kind {
				return i
			}
		}
		return -1
	}
	oldI, newI := col(KindOldIdentity), col(KindNewIdentity)
	seed := maphash.MakeSeed()
	hash := func(b []byte) uint64 { return maphash.Bytes(seed, b) }
	rows := list.Rows
	// Each kind of duplicate is looked for on its own (old identities and
	// persons on one goroutine, new identities on the other), and the
	// problems are put back in the order one pass over the rows would have
	// found them: per row, old, new, unchanged, person.
	var oldDup, newDup, unchanged, personDup []Problem
	var realms realmCounts
	c.beside(func() {
		if oldI < 0 {
			return
		}
		seen, done := c.firstRows(rows, lowerCell(oldI), hash)
		defer done()
		oldDup = duplicates(rows, func(r Row) bool { return r.Cells[oldI] != "" }, seen, func(r Row, first int) Problem {
			return Problem{Row: r.Line, Column: cols[oldI].Heading, Code: "duplicate_old",
				NL: fmt.Sprintf("Deze oude identiteit staat ook op regel %d; elke oude identiteit hoort één keer in de lijst.", first),
				EN: fmt.Sprintf("This old identity is also on row %d; each old identity belongs in the list once.", first)}
		})
		// Name and address (VO) tell one pupil from another; name and
		// location (MBO) do not: two students at a large ROC may share
		// initials, name and location, and only their identities, checked
		// above and beside, tell them apart.
		if !personIdentifies(cols) {
			return
		}
		person := personColumns(cols)
		seen.reuse(func(b []byte, r Row) []byte { return appendPerson(b, person, r) })
		personDup = duplicates(rows, func(r Row) bool { return hasPerson(person, r) }, seen, func(r Row, first int) Problem {
			return Problem{Row: r.Line, Code: "duplicate_person",
				NL: fmt.Sprintf("Deze leerling (zelfde naam en gegevens) staat ook op regel %d; verwijder een van beide regels.", first),
				EN: fmt.Sprintf("This pupil (same name and details) is also on row %d; remove one of the two rows.", first)}
		})
	}, func() {
		if newI < 0 {
			return
		}
		seen, done := c.firstRows(rows, lowerCell(newI), hash)
		defer done()
		newDup = duplicates(rows, func(r Row) bool { return r.Cells[newI] != "" }, seen, func(r Row, first int) Problem {
			return Problem{Row: r.Line, Column: cols[newI].Heading, Code: "duplicate_new",
				NL: fmt.Sprintf("Deze nieuwe identiteit is ook op regel %d gebruikt: twee leerlingen kunnen niet dezelfde nieuwe identiteit krijgen.", first),
				EN: fmt.Sprintf("This new identity is also used on row %d: two pupils cannot get the same new identity.", first)}
		})
		for _, r := range rows {
			if r.Cells[newI] == "" {
				continue
			}
			if oldI >= 0 && strings.EqualFold(r.Cells[oldI], r.Cells[newI]) {
				unchanged = append(unchanged, Problem{Row: r.Line, Column: cols[newI].Heading, Code: "unchanged",
					NL: "De nieuwe identiteit is gelijk aan de oude: deze leerling hoeft niet in de lijst, of de nieuwe identiteit klopt niet.",
					EN: "The new identity equals the old one: this pupil need not be on the list, or the new identity is wrong."})
			}
			if validIdentity(r.Cells[newI]) { // a bad one is reported already, not as a realm too
				realms.add(r.Cells[newI])
			}
		}
	})
	found := slices.Concat(oldDup, newDup, unchanged, personDup)
	sort.SliceStable(found, func(i, j int) bool { return found[i].Row < found[j].Row })
	for _, p := range found {
		rep.add(p)
	}
	if len(realms.counts) > 1 && !opt.SeveralRealms && newI >= 0 {
		major := realms.counts[0]
		for _, rc := range realms.counts {
			if rc.rows > major.rows {
				major = rc
			}
		}
		rep.add(Problem{Row: 0, Column: cols[newI].Heading, Code: "several_realms",
			NL: fmt.Sprintf("De nieuwe identiteiten gebruiken %d verschillende realms; de meeste eindigen op @%s. Klopt dat, vink dan bij het uploaden 'Nieuwe identiteiten in meer dan één realm (bewust)' aan (in de API: several_realms=true); anders corrigeer de regels hieronder.", len(realms.counts), major.name),
			EN: fmt.Sprintf("The new identities use %d different realms; most end in @%s. If that is right, tick 'New identities in more than one realm (on purpose)' when you upload (in the API: several_realms=true); otherwise correct the rows below.", len(realms.counts), major.name)})
		for _, r := range list.Rows {
			if rl := realm(r.Cells[newI]); rl != "" && rl != major.name && validIdentity(r.Cells[newI]) {
				rep.add(Problem{Row: r.Line, Column: cols[newI].Heading, Code: "other_realm",
					NL: fmt.Sprintf("Deze nieuwe identiteit eindigt niet op @%s zoals de meeste.", major.name),
					EN: fmt.Sprintf("This new identity does not end in @%s like most.", major.name)})
			}
		}
	}
}

// personIdentifies reports whether the person columns of cols hold an
// address (postcode and house number), so that two rows with the same
// person are the same pupil twice.
func personIdentifies(cols []Column) bool {
	return slices.ContainsFunc(cols, func(c Column) bool { return c.Kind == KindPostcode }) &&
		slices.ContainsFunc(cols, func(c Column) bool { return c.Kind == KindHouseNumber })
}

// personColumn: a person is the row's name and address.
func personColumn(c Column) bool {
	return c.Kind == KindText || c.Kind == KindPostcode || c.Kind == KindHouseNumber
}

// personColumns are the places of the columns that personColumn picks:
// looked up once, not for every row.
func personColumns(cols []Column) []int {
	var out []int
	for i, c := range cols {
		if personColumn(c) {
			out = append(out, i)
		}
	}
	return out
}

// appendPerson appends the row's name and address (its cells at person),
// lower case, joined by NULs.
func appendPerson(b []byte, person []int, r Row) []byte {
	for k, i := range person {
		if k > 0 {
			b = append(b, 0)
		}
		b = appendLower(b, r.Cells[i])
	}
	return b
}

func hasPerson(person []int, r Row) bool {
	for _, i := range person {
		if r.Cells[i] != "" {
			return true
		}
	}
	return false
}

func lowerCell(i int) func([]byte, Row) []byte {
	return func(b []byte, r Row) []byte { return appendLower(b, r.Cells[i]) }
}

// duplicates returns a problem for every row (that has a key) whose key
// an earlier row has, as seen by seen (empty).
func duplicates(rows []Row, has func(Row) bool, seen *firstRows, problem func(r Row, first int) Problem) []Problem {
	var out []Problem
	// The keys of a batch of rows are hashed first and looked up after:
	// the look-ups, each a likely miss of the core's cache in a table of
	// half a megabyte, then no longer wait on each other's hashing, and
	// the core has several under way at once.
	var batch [16]int
	var hashes [16]uint64
	for start := 0; start < len(rows); start += len(batch) {
		n := 0
		for i := start; i < min(start+len(batch), len(rows)); i++ {
			if has(rows[i]) {
				batch[n], hashes[n] = i, seen.hashOf(i)
				n++
			}
		}
		for k, i := range batch[:n] {
			if first, dup := seen.seeHashed(i, hashes[k]); dup {
				out = append(out, problem(rows[i], first))
			}
		}
	}
	return out
}

// firstRows remembers, per key, the first row that has it. It is a hash
// table of its own rather than a map of the keys: a slot is one 32-bit
// number, the row and, in the bits the row number leaves, a tag of the
// key's hash, so no key is copied, a look-up and an insert are one probe,
// and the table of a 50,000-row list (512 KB) stays in the core's cache;
// a map of 50,000 strings was a fifth of an upload. Where a tag matches,
// the keys themselves are compared (so a duplicate is only ever reported
// for equal keys).
type firstRows struct {
	rows     []Row
	key      func([]byte, Row) []byte
	hash     func([]byte) uint64
	slots    []uint32 // tag | row+1; 0 is empty
	rowBits  uint     // the low bits of a slot that hold row+1
	buf, alt []byte
}

// firstRowsSlots is the size of the table for rows rows: a power of two,
// at most half full.
func firstRowsSlots(rows int) int {
	n := 16
	for n < 2*rows {
		n *= 2
	}
	return n
}

// newFirstRows makes a firstRows in slots, empty and of
// firstRowsSlots(len(rows)).
func newFirstRows(slots []uint32, rows []Row, key func([]byte, Row) []byte, hash func([]byte) uint64) *firstRows {
	// MaxRows leaves at least 14 bits for the tag.
	return &firstRows{rows: rows, key: key, hash: hash, slots: slots, rowBits: uint(bits.Len(uint(len(rows))))}
}

// reuse empties f for another key, keeping its room.
func (f *firstRows) reuse(key func([]byte, Row) []byte) {
	clear(f.slots)
	f.key = key
}

// hashOf is the hash of row i's key.
func (f *firstRows) hashOf(i int) uint64 {
	f.buf = f.key(f.buf[:0], f.rows[i])
	return f.hash(f.buf)
}

// seeHashed returns the line of the first row with the key of row i, which
// hashes to h, or records row i as the first with it.
func (f *firstRows) seeHashed(i int, h uint64) (first int, dup bool) {
	rowMask := uint32(1)<<f.rowBits - 1
	tag, mask := uint32(h>>32)&^rowMask, uint64(len(f.slots)-1)
	for p := h & mask; ; p = (p + 1) & mask {
		e := f.slots[p]
		if e == 0 {
			f.slots[p] = tag | uint32(i+1)
			return 0, false
		}
		if e&^rowMask != tag {
			continue
		}
		j := int(e&rowMask) - 1
		// Made again: buf holds the key hashed last, a later row's
		// when duplicates hashes ahead.
		f.buf = f.key(f.buf[:0], f.rows[i])
		if f.alt = f.key(f.alt[:0], f.rows[j]); bytes.Equal(f.buf, f.alt) {
			return f.rows[j].Line, true
		}
	}
}

// realmCounts counts the rows per realm of the new identities, in the
// order the realms first appear. A list nearly always has one realm, so
// a row with the same realm as the row before is counted without a
// lookup or a lower-case copy.
type realmCounts struct {
	counts  []realmCount
	index   map[string]int
	lastRaw string
	last    int
}

type realmCount struct {
	name string // lower case
	rows int
}

func (rc *realmCounts) add(id string) {
	i := strings.LastIndexByte(id, '@')
	if i < 0 || i == len(id)-1 {
		return
	}
	raw := id[i+1:]
	if rc.counts == nil || raw != rc.lastRaw {
		name := strings.ToLower(raw)
		j, ok := rc.index[name]
		if !ok {
			if rc.index == nil {
				rc.index = map[string]int{}
			}
			j = len(rc.counts)
			rc.index[name] = j
			rc.counts = append(rc.counts, realmCount{name: name})
		}
		rc.last, rc.lastRaw = j, raw
	}
	rc.counts[rc.last].rows++
}

// appendLower appends s in lower case: ASCII in one pass into room made
// once, without a copy of s (this runs for every key of the duplicate
// checks).
func appendLower(b []byte, s string) []byte {
	n := len(b)
	b = slices.Grow(b, len(s))[:n+len(s)]
	out := b[n:]
	for i := range len(out) {
		c := s[i]
		if c >= utf8.RuneSelf {
			return append(b[:n], strings.ToLower(s)...)
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return b
}
