package waswordt

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/waswordt/waswordttest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// The valid VO list the tests vary, shared with the corpus.
const voHeader = waswordttest.VOHeader

var goodRows = waswordttest.GoodRows

func voCSV(rows ...string) []byte { return waswordttest.VOCSV(rows...) }

func mustRead(t *testing.T, data []byte) Table {
	t.Helper()
	tab, err := Read(data)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return tab
}

func TestReadVariants(t *testing.T) {
	vo, _ := Lookup(FormatVO)
	comma := strings.ReplaceAll(string(voCSV(goodRows...)), ";", ",")
	reordered := "  nieuwe IDENTITEIT (wordt) ;Oude identiteit (was);Achternaam;voornaam;POSTCODE;Huisnummer;Tussenvoegsel\n" +
		"j.vanderberg@lyceum.nl;jberg@magis.apel16IH;Berg;Jan;1234 AB;12;van der\n"
	win, _ := charmap.Windows1252.NewEncoder().Bytes(voCSV(goodRows...))
	xlsx, err := Write(XLSX, vo.Headings(Complete), [][]string{strings.Split(goodRows[0], ";")})
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"semicolon":     voCSV(goodRows...),
		"comma":         []byte(comma),
		"utf-8 bom":     append([]byte("\ufeff"), voCSV(goodRows...)...),
		"windows-1252":  win,
		"any order":     []byte(reordered),
		"quoted fields": []byte(voHeader + "\n\"Jan\";\"van der\";\"Berg\";\"1234 AB\";\"12\";\"jberg@magis.apel16IH\";\"j.vanderberg@lyceum.nl\"\n"),
		"blank lines":   []byte(voHeader + "\n\n" + goodRows[0] + "\n;;;;;;\n"),
		"old mac":       []byte(strings.ReplaceAll(string(voCSV(goodRows...)), "\n", "\r")),
		"xlsx":          xlsx,
	} {
		t.Run(name, func(t *testing.T) {
			l, err := Validate(vo, Complete, mustRead(t, data), Options{})
			if err != nil {
				t.Fatalf("validate: %v", err)
			}
			r := l.Rows[0]
			if l.Cell(r, "voornaam") != "Jan" || l.Cell(r, "tussenvoegsel") != "van der" || l.Cell(r, "new") != "j.vanderberg@lyceum.nl" || l.Cell(r, "postcode") != "1234 AB" {
				t.Errorf("row: %+v", r)
			}
			if name == "windows-1252" && l.Cell(l.Rows[1], "voornaam") != "Émile" {
				t.Errorf("Windows-1252 not decoded: %q", l.Cell(l.Rows[1], "voornaam"))
			}
			if name == "semicolon" && l.Cell(l.Rows[1], "postcode") != "1234 AB" {
				t.Errorf("postcode not normalised: %q", l.Cell(l.Rows[1], "postcode"))
			}
		})
	}
}

// TestMixedEncodingRefused: a file partly UTF-8 and partly Windows-1252
// (rows pasted in from another file), or marked UTF-8 but not, is refused
// with the lines that are not UTF-8: read as either, some names would be
// garbled without a word.
func TestMixedEncodingRefused(t *testing.T) {
	cp, _ := charmap.Windows1252.NewEncoder().String("Zoë;;Müller;1111 AA;2;zoe@magister;zoe@som\n")
	mixed := voHeader + "\nEloïse;;Ménard;5678 CD;12;elo@magister;elo@som\n" + cp
	for name, data := range map[string]string{"mixed": mixed, "utf-8 bom on windows-1252": "\ufeff" + voHeader + "\n" + cp} {
		_, err := ReadString(data)
		p := problems(t, err)
		if len(p) != 1 || p[0].Code != "encoding" || p[0].Row != strings.Count(data, "\n") || strings.Contains(p[0].NL+p[0].EN, "Zo") {
			t.Errorf("%s: %+v", name, p)
		}
	}
}

// TestBadIdentityNotARealm: a new identity refused as malformed is not
// counted as a realm as well (no several_realms, no other_realm for it).
func TestBadIdentityNotARealm(t *testing.T) {
	vo, _ := Lookup(FormatVO)
	data := voCSV(goodRows[0], goodRows[1], "Sara;;Jansen;5678 CD;3;sjansen@magis.apel16IH;s.jansen@lyc eum.nl")
	_, err := Validate(vo, Complete, mustRead(t, data), Options{})
	if p := problems(t, err); len(p) != 1 || p[0].Code != "identity" || p[0].Row != 4 {
		t.Errorf("problems: %+v", p)
	}
}

func problems(t *testing.T, err error) []Problem {
	t.Helper()
	rep, ok := err.(*Report)
	if !ok {
		t.Fatalf("want a *Report, got %v", err)
	}
	return rep.Problems
}

// TestHeadingDoesNotHideRows: a heading at fault is reported with the
// problems of the rows' cells, not instead of them; rows short of a
// column are not compared with each other; a file whose heading names
// none of the list's columns is not read as rows.
func TestHeadingDoesNotHideRows(t *testing.T) {
	vo, _ := Lookup(FormatVO)
	codes := func(data string) []string {
		t.Helper()
		_, err := Validate(vo, Complete, mustRead(t, []byte(data)), Options{})
		var out []string
		for _, p := range problems(t, err) {
			out = append(out, fmt.Sprintf("%d %s %s", p.Row, p.Column, p.Code))
		}
		return out
	}
	extra := voHeader + ";Klas\nJan;;Berg;12345;x;jberg;jan@itslearning;3B\n"
	if got, want := codes(extra), []string{"1 H extra_column", "2 Postcode postcode", "2 Huisnummer house_number", "2 Oude identiteit (was) identity"}; !slices.Equal(got, want) {
		t.Errorf("extra column: %q, want %q", got, want)
	}
	// Without "Postcode" two pupils of one name are not taken for one.
	short := "Voornaam;Tussenvoegsel;Achternaam;Huisnummer;Oude identiteit (was);Nieuwe identiteit (wordt)\n" +
		"Jan;;Berg;12;jberg@magis;jberg@lyceum.nl\nJan;;Berg;12;jberg2@magis;jberg2\n"
	if got, want := codes(short), []string{"1 Postcode missing_column", "3 Nieuwe identiteit (wordt) identity"}; !slices.Equal(got, want) {
		t.Errorf("missing column: %q, want %q", got, want)
	}
	if _, err := Validate(vo, Complete, mustRead(t, []byte(short)), Options{}); err != nil {
		if _, ok := err.(*Report).Rows(); ok {
			t.Error("rows short of a column offered for checks against the case")
		}
	}
	if got := codes("Naam;Klas\nJan;3B\n"); slices.ContainsFunc(got, func(c string) bool { return !strings.HasPrefix(c, "1 ") }) {
		t.Errorf("another list's rows were checked: %q", got)
	}
}

func TestValidateChecks(t *testing.T) {
	vo, _ := Lookup(FormatVO)
	tests := []struct {
		name   string
		data   []byte
		opt    Options
		code   string
		row    int
		column string
	}{
		{"missing column", []byte("Voornaam;Achternaam;Postcode;Huisnummer;Oude identiteit (was)\nJan;Berg;1234 AB;1;a@b\n"), Options{}, "missing_column", 1, "Nieuwe identiteit (wordt)"},
		{"extra column", []byte(voHeader + ";Klas\n" + goodRows[0] + ";3b\n"), Options{}, "extra_column", 1, "H"},
		{"duplicate column", []byte(voHeader + ";Voornaam\n" + goodRows[0] + ";Jan\n"), Options{}, "duplicate_column", 1, "H"},
		{"empty required", voCSV(";;Berg;1234 AB;12;jberg@magis.apel16IH;j.berg@lyceum.nl"), Options{}, "required", 2, "Voornaam"},
		{"bad identity", voCSV("Jan;;Berg;1234 AB;12;jberg magis;j.berg@lyceum.nl"), Options{}, "identity", 2, "Oude identiteit (was)"},
		{"zero-width space", voCSV("Jan;;Berg;1234 AB;12;jberg\u200b@magis;j.berg@lyceum.nl"), Options{}, "identity", 2, "Oude identiteit (was)"},
		{"byte order mark", voCSV("Jan;;Berg;1234 AB;12;jberg@magis;j.berg\ufeff@lyceum.nl"), Options{}, "identity", 2, "Nieuwe identiteit (wordt)"},
		{"two @", voCSV("Jan;;Berg;1234 AB;12;jberg@magis@x;j.berg@lyceum.nl"), Options{}, "identity", 2, "Oude identiteit (was)"},
		{"bad postcode", voCSV("Jan;;Berg;123 AB;12;jberg@magis;j.berg@lyceum.nl"), Options{}, "postcode", 2, "Postcode"},
		{"bad house number", voCSV("Jan;;Berg;1234 AB;twaalf;jberg@magis;j.berg@lyceum.nl"), Options{}, "house_number", 2, "Huisnummer"},
		{"same old twice", voCSV(goodRows[0], "Piet;;Bos;1234 AB;14;JBERG@magis.apel16IH;p.bos@lyceum.nl"), Options{}, "duplicate_old", 3, "Oude identiteit (was)"},
		{"two old to one new", voCSV(goodRows[0], "Piet;;Bos;1234 AB;14;pbos@magis.apel16IH;j.vanderberg@lyceum.nl"), Options{}, "duplicate_new", 3, "Nieuwe identiteit (wordt)"},
		{"same person twice", voCSV(goodRows[0], "Jan;van der;Berg;1234 AB;12;jberg2@magis.apel16IH;j.berg2@lyceum.nl"), Options{}, "duplicate_person", 3, ""},
		{"old equals new", voCSV("Jan;;Berg;1234 AB;12;j@lyceum.nl;J@lyceum.nl"), Options{}, "unchanged", 2, "Nieuwe identiteit (wordt)"},
		{"several realms", voCSV(goodRows[0], "Piet;;Bos;1234 AB;14;pbos@magis.apel16IH;p.bos@anders.nl"), Options{}, "several_realms", 0, "Nieuwe identiteit (wordt)"},
		{"extra cells", voCSV(goodRows[0] + ";;x"), Options{}, "extra_cells", 2, ""},
		{"no rows", []byte(voHeader + "\n"), Options{}, "no_rows", 0, ""},
		{"unclosed quote", []byte(voHeader + "\n\"Jan;;Berg;1234 AB;12;a@b;c@d\n"), Options{}, "csv_syntax", 2, ""},
		{"empty file", []byte{}, Options{}, "empty", 0, ""},
		{"old excel", []byte{0xD0, 0xCF, 0x11, 0xE0, 1, 2, 3}, Options{}, "xls", 0, ""},
		{"pdf", []byte("%PDF-1.7 ..."), Options{}, "not_a_list", 0, ""},
		{"binary", []byte("Voornaam\x00\x01\x02"), Options{}, "binary", 0, ""},
		{"broken xlsx", []byte("PK\x03\x04 this is not really a zip"), Options{}, "xlsx", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, err := Read(tt.data)
			if err == nil {
				_, err = Validate(vo, Complete, tab, tt.opt)
			}
			for _, p := range problems(t, err) {
				if p.Code == tt.code && p.Row == tt.row && p.Column == tt.column {
					if p.NL == "" || p.EN == "" {
						t.Errorf("problem without a message: %+v", p)
					}
					return
				}
			}
			t.Errorf("no %s problem at row %d column %q in %+v", tt.code, tt.row, tt.column, err)
		})
	}
	// Confirming several realms accepts the list.
	if _, err := Validate(vo, Complete, mustRead(t, voCSV(goodRows[0], "Piet;;Bos;1234 AB;14;pbos@magis.apel16IH;p.bos@anders.nl")), Options{SeveralRealms: true}); err != nil {
		t.Errorf("several realms confirmed: %v", err)
	}
}

func TestReportIsCompleteAndGolden(t *testing.T) {
	vo, _ := Lookup(FormatVO)
	data := voCSV(
		";;Berg;1234 AB;12;jberg@magis.apel16IH;j.berg@lyceum.nl",
		"Piet;;Bos;12345;14;pbos magis;p.bos@lyceum.nl",
		"Anna;;Smit;1234 AB;x;asmit@magis.apel16IH;j.berg@lyceum.nl",
		"Kees;;Vos;1234 AB;1;kvos@magis.apel16IH;",
	)
	_, err := Validate(vo, Complete, mustRead(t, data), Options{})
	got, _ := json.MarshalIndent(err, "", "  ")
	golden := filepath.Join("testdata", "report.golden.json")
	if *update {
		os.WriteFile(golden, got, 0o644)
	}
	want, rerr := os.ReadFile(golden)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("report differs from %s (run with -update after checking):\n%s", golden, got)
	}
	if n := len(problems(t, err)); n != 6 {
		t.Errorf("want all 6 problems at once, got %d", n)
	}
	for _, pii := range []string{"Berg", "pbos", "Smit", "kvos", "lyceum.nl"} {
		if bytes.Contains(got, []byte(pii)) {
			t.Errorf("the report quotes cell data %q", pii)
		}
	}
}

func TestXLSXRoundTripAndNeutralising(t *testing.T) {
	vo, _ := Lookup(FormatVO)
	l, err := Validate(vo, Complete, mustRead(t, voCSV(goodRows...)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	l.Rows[0].Cells[0] = "=HYPERLINK(\"x\")"
	for _, kind := range []FileKind{CSV, XLSX} {
		data, err := Render(l, kind)
		if err != nil {
			t.Fatal(err)
		}
		tab := mustRead(t, data)
		if got := tab.Rows[0][0]; got != "'=HYPERLINK(\"x\")" {
			t.Errorf("%s: formula not neutralised: %q", kind, got)
		}
		if got := tab.Rows[1][3]; got != "1234 AB" {
			t.Errorf("%s: postcode %q", kind, got)
		}
		// The export uploads again as it was: the school sends back the
		// merged list it downloaded, and its rows must match.
		again, err := Validate(vo, Complete, tab, Options{})
		if err != nil || !reflect.DeepEqual(again.Rows, l.Rows) {
			t.Errorf("%s: the export read back differs: %v\n%+v\n%+v", kind, err, again.Rows, l.Rows)
		}
	}
	for v, want := range map[string]string{"'=1": "=1", "'-Klaassen": "-Klaassen", "'@x": "@x", "'t Hart": "'t Hart", "'": "'", "''=1": "''=1"} {
		if got := unneutralise(v); got != want {
			t.Errorf("unneutralise(%q) = %q, want %q", v, got, want)
		}
	}
	for _, v := range []string{"=1", "+1", "-1", "@x", "\tx", "\rx"} {
		if Neutralise(v)[0] != '\'' {
			t.Errorf("%q not neutralised", v)
		}
	}
	if Neutralise("Jan") != "Jan" {
		t.Error("plain text changed")
	}
	tpl, err := Template(vo, Complete, XLSX)
	if err != nil || len(mustRead(t, tpl).Header) != 7 {
		t.Errorf("template: %v", err)
	}
}

func TestXLSXZipBombRefused(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"[Content_Types].xml", "xl/workbook.xml"} {
		w, _ := zw.Create(name)
		w.Write([]byte("<x/>"))
	}
	w, _ := zw.Create("xl/worksheets/sheet1.xml")
	chunk := bytes.Repeat([]byte(" "), 1<<20)
	for i := 0; i < (MaxUnzipBytes>>20)+8; i++ {
		w.Write(chunk)
	}
	zw.Close()
	if buf.Len() > 2<<20 {
		t.Fatalf("bomb is %d bytes", buf.Len())
	}
	_, err := Read(buf.Bytes())
	if ps := problems(t, err); ps[0].Code != "xlsx" {
		t.Errorf("zip bomb: %+v", ps)
	}
}

// TestColumnWithoutHeading: a column without a heading may stand in the
// file (Excel leaves such columns), but not with values, which the list
// would not keep.
func TestColumnWithoutHeading(t *testing.T) {
	vo, _ := Lookup(FormatVO)
	head := "Voornaam;Tussenvoegsel;Achternaam;;Postcode;Huisnummer;Oude identiteit (was);Nieuwe identiteit (wordt)\n"
	empty := head + "Jan;;Berg;;1234 AB;1;jberg@magister;jberg@som\n"
	if _, err := Validate(vo, Complete, mustRead(t, []byte(empty)), Options{}); err != nil {
		t.Errorf("an empty column without a heading: %v", err)
	}
	filled := empty + "Kim;;Vos;06-12345678;1234 AB;2;kvos@magister;kvos@som\n"
	_, err := Validate(vo, Complete, mustRead(t, []byte(filled)), Options{})
	if p := problems(t, err); len(p) != 1 || p[0].Code != "ignored_column_filled" || p[0].Row != 3 || p[0].Column != "D" || strings.Contains(p[0].EN+p[0].NL, "06-") {
		t.Errorf("values under no heading: %+v", p)
	}
}

// TestListOnAnotherSheet: only the first worksheet is read; a refusal of
// its headings says so when the workbook has more.
func TestListOnAnotherSheet(t *testing.T) {
	vo, _ := Lookup(FormatVO)
	f := excelize.NewFile()
	defer f.Close()
	f.SetCellStr("Sheet1", "A1", "Toelichting")
	f.NewSheet("Lijst")
	for j, h := range vo.Headings(Complete) {
		cell, _ := excelize.CoordinatesToCellName(j+1, 1)
		f.SetCellStr("Lijst", cell, h)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	_, err := Validate(vo, Complete, mustRead(t, buf.Bytes()), Options{})
	p := problems(t, err)
	if last := p[len(p)-1]; last.Code != "first_sheet" || !strings.Contains(last.EN, "has 2") {
		t.Errorf("problems: %+v", p)
	}
}

func TestMBOParts(t *testing.T) {
	f, _ := Lookup(FormatMBOECK)
	was := "Voorletters;Voornaam;Achternaam;School locatie;nlEduPersonProfileId oud;nlEduPersonRealId oud\nJ.;Jan;Berg;Zwolle;j.berg@roc.adfs.nl;123@roc.nl\n"
	l, err := Validate(f, SupplierPart, mustRead(t, []byte(was)), Options{})
	if err != nil || len(l.Rows) != 1 || len(l.Rows[0].Cells) != 6 {
		t.Fatalf("publisher part: %v %+v", err, l)
	}
	// The school's columns may be present but empty in a publisher's part.
	withEmpty := "Voorletters;Voornaam;Achternaam;School locatie;nlEduPersonProfileId oud;nlEduPersonRealId oud;nlEduPersonProfileId nieuw;nlEduPersonRealId nieuw\nJ.;Jan;Berg;;j.berg@roc.adfs.nl;123@roc.nl;;\n"
	if _, err := Validate(f, SupplierPart, mustRead(t, []byte(withEmpty)), Options{}); err != nil {
		t.Errorf("part with empty school columns: %v", err)
	}
	// Filled in, they would be dropped without a word: refused.
	withFilled := strings.Replace(withEmpty, ";;\n", ";j.berg@roc.nieuw.nl;\n", 1)
	if _, err := Validate(f, SupplierPart, mustRead(t, []byte(withFilled)), Options{}); err == nil {
		t.Error("part with the school's column filled in accepted")
	} else if p := problems(t, err); len(p) != 1 || p[0].Code != "ignored_column_filled" || p[0].Row != 2 || p[0].Column != "G" {
		t.Errorf("problems %+v", p)
	}
	if _, err := Validate(f, Complete, mustRead(t, []byte(withEmpty)), Options{}); err == nil {
		t.Error("complete list without the mandatory new ProfileId accepted")
	} else if p := problems(t, err)[0]; p.Code != "required" || p.Column != "nlEduPersonProfileId nieuw" {
		t.Errorf("problem %+v", p)
	}
	// The older text's spelling "nl EduPersonProfileId" matches too.
	spaced := strings.Replace(was, "nlEduPersonProfileId oud", "nl EduPersonProfileId oud", 1)
	if _, err := Validate(f, SupplierPart, mustRead(t, []byte(spaced)), Options{}); err != nil {
		t.Errorf("spaced heading: %v", err)
	}
}

// TestOpenRows: with OpenRows, a row whose school columns are all empty
// is left open and passes; a row with only some of them filled still
// needs the required one; without OpenRows an open row is refused.
func TestOpenRows(t *testing.T) {
	f, _ := Lookup(FormatMBOECK)
	head := "Voorletters;Voornaam;Achternaam;School locatie;nlEduPersonProfileId oud;nlEduPersonRealId oud;nlEduPersonProfileId nieuw;nlEduPersonRealId nieuw\n"
	list := head +
		"J.;Jan;Berg;;j.berg@roc.adfs.nl;123@roc.nl;jan.berg@roc.nl;\n" + // filled
		"P.;Piet;Dam;;p.dam@roc.adfs.nl;124@roc.nl;  ;\n" + // open (white space only)
		"K.;Kees;Veen;;k.veen@roc.adfs.nl;125@roc.nl;;k.veen@roc.nl\n" // half: ProfileId nieuw missing
	_, err := Validate(f, Complete, mustRead(t, []byte(list)), Options{OpenRows: true})
	probs := problems(t, err)
	if len(probs) != 1 || probs[0].Row != 4 || probs[0].Code != "required" || probs[0].Column != "nlEduPersonProfileId nieuw" {
		t.Fatalf("open rows: want only row 4's missing ProfileId, got %+v", probs)
	}
	ok := strings.Join(strings.Split(list, "\n")[:3], "\n") + "\n"
	l, err := Validate(f, Complete, mustRead(t, []byte(ok)), Options{OpenRows: true})
	if err != nil {
		t.Fatalf("filled and open rows refused: %v", err)
	}
	if f.IsOpen(l.Rows[0]) || !f.IsOpen(l.Rows[1]) || l.Rows[1].Cells[6] != "" {
		t.Errorf("IsOpen: %v %v, open row's cell %q", f.IsOpen(l.Rows[0]), f.IsOpen(l.Rows[1]), l.Rows[1].Cells[6])
	}
	if _, err := Validate(f, Complete, mustRead(t, []byte(ok)), Options{}); err == nil {
		t.Error("an open row passed without OpenRows")
	}
}

// TestSamePersonTwice: a row whose person (the person columns) is that
// of an earlier row is the same pupil twice only where the person holds
// an address (VO). MBO lists have name and location, which two students
// at a large ROC may share: there only a repeated identity is refused.
func TestSamePersonTwice(t *testing.T) {
	const (
		eckPart     = "Voorletters;Voornaam;Achternaam;School locatie;nlEduPersonProfileId oud;nlEduPersonRealId oud\n"
		eckComplete = "Voorletters;Voornaam;Achternaam;School locatie;nlEduPersonProfileId oud;nlEduPersonRealId oud;nlEduPersonProfileId nieuw;nlEduPersonRealId nieuw\n"
	)
	tests := []struct {
		name   string
		format FormatID
		part   Part
		data   string
		code   string // "" where the list is accepted
		row    int
	}{
		{"VO: same name and address", FormatVO, Complete,
			string(voCSV(goodRows[0], "JAN;Van der;berg;1234ab;12;jberg2@magis.apel16IH;j.berg2@lyceum.nl")), "duplicate_person", 3},
		{"VO: same name, another address", FormatVO, Complete,
			string(voCSV(goodRows[0], "Jan;van der;Berg;1234 AB;14;jberg2@magis.apel16IH;j.berg2@lyceum.nl")), "", 0},
		{"MBO ECK publisher part: namesakes at one location", FormatMBOECK, SupplierPart,
			eckPart + "J.;Jan;de Jong;Zwolle;j.dejong@roc.adfs.nl;1001@roc.nl\nJ.;Jan;de Jong;Zwolle;j.dejong2@roc.adfs.nl;1002@roc.nl\n", "", 0},
		{"MBO ECK complete list: namesakes at one location", FormatMBOECK, Complete,
			eckComplete + "J.;Jan;de Jong;Zwolle;j.dejong@roc.adfs.nl;1001@roc.nl;jan.dejong@roc.nl;1001@roc-nieuw.nl\n" +
				"J.;Jan;de Jong;Zwolle;j.dejong2@roc.adfs.nl;1002@roc.nl;jan.dejong2@roc.nl;1002@roc-nieuw.nl\n", "", 0},
		{"MBO ECK publisher part: namesakes with one old identity", FormatMBOECK, SupplierPart,
			eckPart + "J.;Jan;de Jong;Zwolle;j.dejong@roc.adfs.nl;1001@roc.nl\nJ.;Jan;de Jong;Zwolle;J.DeJong@roc.adfs.nl;1002@roc.nl\n", "duplicate_old", 3},
		{"MBO ECK complete list: namesakes with one new identity", FormatMBOECK, Complete,
			eckComplete + "J.;Jan;de Jong;Zwolle;j.dejong@roc.adfs.nl;1001@roc.nl;jan.dejong@roc.nl;1001@roc-nieuw.nl\n" +
				"J.;Jan;de Jong;Zwolle;j.dejong2@roc.adfs.nl;1002@roc.nl;jan.dejong@roc.nl;1002@roc-nieuw.nl\n", "duplicate_new", 3},
		{"MBO NON-ECK complete list: namesakes at one location", FormatMBONonECK, Complete,
			"Voorletters;Voornaam;Achternaam;School locatie;nlEduPersonProfileId nieuw;nlEduPersonRealId nieuw\n" +
				"J.;Jan;de Jong;Zwolle;jan.dejong@roc.nl;\nJ.;Jan;de Jong;Zwolle;jan.dejong2@roc.nl;\n", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := Lookup(tt.format)
			_, err := Validate(f, tt.part, mustRead(t, []byte(tt.data)), Options{})
			if tt.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			ps := problems(t, err)
			if len(ps) != 1 || ps[0].Code != tt.code || ps[0].Row != tt.row || ps[0].NL == "" || ps[0].EN == "" {
				t.Errorf("want only %s at row %d, got %+v", tt.code, tt.row, ps)
			}
		})
	}
}

func TestBuild(t *testing.T) {
	old := mustRead(t, []byte("Stamnr;Voornaam;Tussenvoegsel;Achternaam;Gebruikersnaam\n"+
		"101;Jan;van der;Berg;jberg@magis\n102;Émile;;Dupont;edupont@magis\n103;Sara;;Jansen;sjansen@magis\n104;Sara;;Jansen;sjansen2@magis\n105;Kim;;Nieuw;knieuw@magis\n"))
	nw := mustRead(t, []byte("employeeNumber;UPN\n101;jan.vanderberg@lyceum.nl\n102;emile.dupont@lyceum.nl\n103;sara.jansen@lyceum.nl\n104;sara.jansen@lyceum.nl\n"))
	res, err := Build(BuildRequest{Old: Export{old, "Gebruikersnaam"}, New: Export{nw, "UPN"}, OldKey: "Stamnr", NewKey: "employeeNumber"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Matched != 4 || res.Unmatched != 1 || res.Ambiguous != 0 || res.Rows[0].New != "jan.vanderberg@lyceum.nl" {
		t.Errorf("join: %+v", res)
	}
	res, err = Build(BuildRequest{Old: Export{old, "Gebruikersnaam"}, New: Export{nw, "UPN"},
		Pattern: "[voornaam].[achternaam]@lyceum.nl", FirstName: "Voornaam", Infix: "Tussenvoegsel", LastName: "Achternaam"})
	if err != nil {
		t.Fatal(err)
	}
	// Jan and Émile match (van der → vander, é → e); the two Sara Jansens
	// both derive the same identity: ambiguous, never guessed; Kim is not
	// in the new export.
	want := []string{Matched, Matched, Ambiguous, Ambiguous, Unmatched}
	for i, r := range res.Rows {
		if r.Status != want[i] {
			t.Errorf("row %d: %s, want %s", i, r.Status, want[i])
		}
	}
	if res.Rows[1].New != "emile.dupont@lyceum.nl" || res.Matched != 2 || res.Ambiguous != 2 || res.Unmatched != 1 {
		t.Errorf("pattern: %+v", res)
	}
	if _, err := Build(BuildRequest{Old: Export{old, "Gebruikersnaam"}, New: Export{nw, "UPN"}, Pattern: "[roepnaam]@x", FirstName: "Voornaam", LastName: "Achternaam"}); err == nil {
		t.Error("unknown placeholder accepted")
	}
	if _, err := Build(BuildRequest{Old: Export{old, "Nope"}, New: Export{nw, "UPN"}, OldKey: "Stamnr"}); err == nil {
		t.Error("unknown column accepted")
	}
	// The tussenvoegsel: in [achternaam] (joined, or dropped), or placed by
	// [tussenvoegsel] itself, never twice.
	for _, tc := range []struct{ pattern, mode, want string }{
		{"[voornaam].[achternaam]@lyceum.nl", "", "jan.vanderberg@lyceum.nl"},
		{"[voornaam].[achternaam]@lyceum.nl", "drop", "jan.berg@lyceum.nl"},
		{"[voornaam].[tussenvoegsel][achternaam]@lyceum.nl", "", "jan.vanderberg@lyceum.nl"},
		{"[voornaam].[tussenvoegsel][achternaam]@lyceum.nl", "drop", "jan.vanderberg@lyceum.nl"},
		{"[achternaam].[v]@lyceum.nl", "join", "vanderberg.j@lyceum.nl"},
	} {
		nw := mustRead(t, []byte("UPN\njan.vanderberg@lyceum.nl\njan.berg@lyceum.nl\nvanderberg.j@lyceum.nl\njan.vandervanderberg@lyceum.nl\n"))
		res, err := Build(BuildRequest{Old: Export{old, "Gebruikersnaam"}, New: Export{nw, "UPN"}, Pattern: tc.pattern, InfixMode: tc.mode,
			FirstName: "Voornaam", Infix: "Tussenvoegsel", LastName: "Achternaam"})
		if err != nil || res.Rows[0].Status != Matched || res.Rows[0].New != tc.want {
			t.Errorf("%s (%q): %v %+v, want %s", tc.pattern, tc.mode, err, res.Rows[0], tc.want)
		}
	}
	for name, req := range map[string]BuildRequest{
		"infix_mode":   {Pattern: "[voornaam]@lyceum.nl", InfixMode: "bogus", FirstName: "Voornaam", LastName: "Achternaam"},
		"pattern":      {Pattern: "[voornaam]@", FirstName: "Voornaam", LastName: "Achternaam"},
		"pattern ":     {Pattern: "[voornaam]@[achternaam]@lyceum.nl", FirstName: "Voornaam", LastName: "Achternaam"},
		"pattern  ":    {Pattern: "[voornaam]@[achternaam].nl", FirstName: "Voornaam", LastName: "Achternaam"},
		"first_name":   {Pattern: "[voornaam]@lyceum.nl", LastName: "Achternaam"},
		"old_key":      {OldKey: "Nope"},
		"new.identity": {OldKey: "Stamnr", NewKey: "employeeNumber"},
	} {
		req.Old, req.New = Export{old, "Gebruikersnaam"}, Export{nw, "UPN"}
		if name == "new.identity" {
			req.New.Identity = ""
		}
		var e *cmr.Error
		if _, err := Build(req); !errors.As(err, &e) || e.Field != strings.TrimSpace(name) || e.MessageNL == "" {
			t.Errorf("%s: %v, want a refusal of that field", name, err)
		}
	}
	if Simplify("d'Ancona") != "dancona" || Simplify("Van Der") != "vander" {
		t.Error("simplify")
	}
}

func FuzzRead(f *testing.F) {
	f.Add(voCSV(goodRows...))
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte("\xff\xfeV\x00o\x00"))
	vo, _ := Lookup(FormatVO)
	// Whole workbooks, so the fuzzer starts inside the XLSX reader rather
	// than having to build a zip from "PK\x03\x04": a valid list, one
	// with an extra column, one with an empty row between its rows.
	var rows, extra [][]string
	for _, r := range goodRows {
		rows = append(rows, strings.Split(r, ";"))
		extra = append(extra, append(strings.Split(r, ";"), "3b"))
	}
	for _, book := range []struct {
		header []string
		rows   [][]string
	}{
		{vo.Headings(Complete), rows},
		{append(vo.Headings(Complete), "Klas"), extra},
		{vo.Headings(Complete), [][]string{rows[0], nil, rows[1], make([]string, len(vo.Columns)), rows[2]}},
	} {
		data := rowsXLSX(f, book.header, book.rows)
		if tab, err := Read(data); err != nil || len(tab.Rows) != len(goodRows) {
			f.Fatalf("XLSX seed does not read as %d rows: %v %+v", len(goodRows), err, tab)
		}
		f.Add(data)
	}
	// The valid list once more with its parts stored and unchecked: in a
	// deflated, checksummed part nearly every change the fuzzer makes
	// fails the zip's checksum before the XML is read.
	plain := storedZip(f, rowsXLSX(f, vo.Headings(Complete), rows))
	if tab, err := Read(plain); err != nil || len(tab.Rows) != len(goodRows) {
		f.Fatalf("stored XLSX seed does not read as %d rows: %v %+v", len(goodRows), err, tab)
	}
	f.Add(plain)
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := Read(data)
		if err != nil {
			if _, ok := err.(*Report); !ok {
				t.Fatalf("not a report: %v", err)
			}
			return
		}
		_, _ = Validate(vo, Complete, tab, Options{})
	})
}

func rowsXLSX(tb testing.TB, header []string, rows [][]string) []byte {
	tb.Helper()
	data, err := Write(XLSX, header, rows)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// storedZip rewrites a zip with every part stored, not deflated, and
// without a checksum (archive/zip checks none where a part's CRC is 0 and
// no data descriptor follows it), so a change to a part's bytes reaches
// the part's reader. The workbook's theme, styles and document
// properties, which reading a list does without, are left out: a smaller
// seed is minimised sooner.
func storedZip(tb testing.TB, data []byte) []byte {
	tb.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		if strings.HasPrefix(f.Name, "docProps/") || strings.HasPrefix(f.Name, "xl/theme/") || f.Name == "xl/styles.xml" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			tb.Fatal(err)
		}
		part, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			tb.Fatal(err)
		}
		w, err := zw.CreateRaw(&zip.FileHeader{Name: f.Name, Method: zip.Store, CompressedSize64: uint64(len(part)), UncompressedSize64: uint64(len(part))})
		if err != nil {
			tb.Fatal(err)
		}
		w.Write(part)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func FuzzValidateRow(f *testing.F) {
	f.Add("Jan", "van der", "Berg", "1234 AB", "12", "a@b", "c@d")
	vo, _ := Lookup(FormatVO)
	f.Fuzz(func(t *testing.T, a, b, c, d, e, g, h string) {
		tab := Table{Header: vo.Headings(Complete), Rows: [][]string{{a, b, c, d, e, g, h}}, Lines: []int{2}}
		l, err := Validate(vo, Complete, tab, Options{})
		if err == nil && len(l.Rows) != 1 {
			t.Fatal("accepted list lost its row")
		}
		if rep, ok := err.(*Report); ok {
			for _, p := range rep.Problems {
				for _, v := range []string{g, h} {
					if len(v) > 3 && strings.Contains(p.NL+p.EN, v) {
						t.Fatalf("problem quotes a cell: %+v", p)
					}
				}
			}
		}
	})
}

func TestHostileAndEdgeInput(t *testing.T) {
	vo, _ := Lookup(FormatVO)
	// A file of separators is refused before it becomes millions of cells.
	if ps := problems(t, func() error { _, err := Read(bytes.Repeat([]byte(";"), 5<<20)); return err }()); ps[0].Code != "too_many_columns" {
		t.Errorf("separators: %+v", ps)
	}
	// An XLSX row with a cell far to the right is refused.
	xl := excelizeWide(t)
	if ps := problems(t, func() error { _, err := Read(xl); return err }()); ps[0].Code != "too_many_columns" || ps[0].Row != 2 {
		t.Errorf("wide xlsx: %+v", ps)
	}
	// Without a heading row, problems name column letters, not the data.
	_, err := Validate(vo, Complete, mustRead(t, []byte(goodRows[0]+"\n"+goodRows[1]+"\n")), Options{})
	raw, _ := json.Marshal(err)
	for _, pii := range []string{"Berg", "jberg", "1234 AB", "lyceum"} {
		if bytes.Contains(raw, []byte(pii)) {
			t.Errorf("report quotes %q: %s", pii, raw)
		}
	}
	// A line break inside a quoted cell does not shift row numbers.
	multi := []byte(voHeader + "\n\"Jan\nJr.\";;Berg;1234 AB;12;jberg@magis;j.berg@lyceum.nl\nPiet;;Bos;9999;1;pbos@magis;p.bos@lyceum.nl\n")
	_, err = Validate(vo, Complete, mustRead(t, multi), Options{})
	if ps := problems(t, err); ps[0].Code != "postcode" || ps[0].Row != 3 {
		t.Errorf("row after a multi-line cell: %+v", ps)
	}
	// Several realms: the rows that differ from most are named.
	_, err = Validate(vo, Complete, mustRead(t, voCSV(goodRows[0], goodRows[2], "Piet;;Bos;1234 AB;14;pbos@magis.apel16IH;p.bos@anders.nl")), Options{})
	var rows []int
	for _, p := range problems(t, err) {
		if p.Code == "other_realm" {
			rows = append(rows, p.Row)
		}
	}
	if len(rows) != 1 || rows[0] != 4 {
		t.Errorf("other realm rows: %v", rows)
	}
	// MBO NON-ECK: two students with the same name and location are fine.
	ne, _ := Lookup(FormatMBONonECK)
	twins := "Voorletters;Voornaam;Achternaam;School locatie\nJ.;Jan;de Jong;Zwolle\nJ.;Jan;de Jong;Zwolle\n"
	if _, err := Validate(ne, SupplierPart, mustRead(t, []byte(twins)), Options{}); err != nil {
		t.Errorf("namesakes refused: %v", err)
	}
	// MBO RealId columns are identities.
	eck, _ := Lookup(FormatMBOECK)
	bad := "Voorletters;Voornaam;Achternaam;School locatie;nlEduPersonProfileId oud;nlEduPersonRealId oud\nJ.;Jan;Berg;;j.berg@roc.adfs.nl;not an identity\n"
	if ps := problems(t, func() error { _, err := Validate(eck, SupplierPart, mustRead(t, []byte(bad)), Options{}); return err }()); ps[0].Code != "identity" || ps[0].Column != "nlEduPersonRealId oud" {
		t.Errorf("RealId shape: %+v", ps)
	}
}

func excelizeWide(t *testing.T) []byte {
	vo, _ := Lookup(FormatVO)
	data, err := Write(XLSX, vo.Headings(Complete), [][]string{append(strings.Split(goodRows[0], ";"), make([]string, 100)...)})
	if err != nil {
		t.Fatal(err)
	}
	// Put a value far to the right of row 2.
	f, err := excelizeOpen(data)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestXLSXExportStaysInMemory(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	vo, _ := Lookup(FormatVO)
	rows := make([][]string, 60_000)
	for i := range rows {
		rows[i] = []string{"Jan", "", "Berg", "1234 AB", "1", fmt.Sprintf("j%d@magis", i), fmt.Sprintf("j%d@lyceum.nl", i)}
	}
	if _, err := Write(XLSX, vo.Headings(Complete), rows); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the export wrote %d temporary file(s)", len(entries))
	}
}

func TestBuildSkipsUnusableIdentitiesAndFoldsLetters(t *testing.T) {
	old := mustRead(t, []byte("Nr;Voornaam;Achternaam;Login\n1;Łukasz;Nowak;ln@magis\n2;Jan;Berg;jb@magis\n"))
	nw := mustRead(t, []byte("Nr;UPN\n1;l.nowak@school.nl\n2;not an identity\n"))
	res, err := Build(BuildRequest{Old: Export{old, "Login"}, New: Export{nw, "UPN"}, OldKey: "Nr"})
	if err != nil || res.Rows[1].Status != Unmatched || res.Rows[0].Status != Matched {
		t.Errorf("join with an unusable identity: %+v %v", res, err)
	}
	res, err = Build(BuildRequest{Old: Export{old, "Login"}, New: Export{nw, "UPN"}, Pattern: "[v].[achternaam]@school.nl", FirstName: "Voornaam", LastName: "Achternaam"})
	if err != nil || res.Rows[0].New != "l.nowak@school.nl" {
		t.Errorf("[v] of Łukasz: %+v %v", res, err)
	}
	if Simplify("Strauß-Ødegård") != "strauss-odegard" {
		t.Errorf("fold: %q", Simplify("Strauß-Ødegård"))
	}
}
