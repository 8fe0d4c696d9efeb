// Package waswordttest holds what tests of the list readers share across
// packages: a valid VO list, and the corpus of malformed lists that the
// readers must refuse (waswordt) and that an upload must refuse without
// storing anything (api). It does not import waswordt, so that package's
// own tests can use it too.
package waswordttest

import (
	"fmt"
	"strings"
)

// VOHeader is the VO dataset's heading row, as the template has it.
const VOHeader = "Voornaam;Tussenvoegsel;Achternaam;Postcode;Huisnummer;Oude identiteit (was);Nieuwe identiteit (wordt)"

// VOCSV is a VO list of rows as Excel writes it.
func VOCSV(rows ...string) []byte {
	return []byte(VOHeader + "\r\n" + strings.Join(rows, "\r\n") + "\r\n")
}

// GoodRows are valid VO rows, which the corpus breaks.
var GoodRows = []string{
	"Jan;van der;Berg;1234 AB;12;jberg@magis.apel16IH;j.vanderberg@lyceum.nl",
	"Émile;;Dupont;1234ab;12a;edupont@magis.apel16IH;e.dupont@lyceum.nl",
	"Sara;;Jansen;5678 CD;3-1;sjansen@magis.apel16IH;s.jansen@lyceum.nl",
}

// Malformed is the corpus of broken lists (at least 150 distinct files,
// 30 of them XLSX): variants of a valid VO list with a cell, a heading or a
// row broken, truncated, in another delimiter, with extra columns, and
// files that are no list at all. Every one must be refused. writeXLSX
// makes a workbook of a heading and rows (waswordt.Write).
func Malformed(writeXLSX func(header []string, rows [][]string) ([]byte, error)) (map[string][]byte, error) {
	return withXLSX(malformed(), writeXLSX)
}

// malformed generates broken variants of a valid list.
func malformed() map[string][]byte {
	out := map[string][]byte{}
	base := strings.Split(GoodRows[0], ";")
	breakers := map[string]func(int, []string) []string{
		"empty":     func(i int, c []string) []string { c[i] = ""; return c },
		"spaces":    func(i int, c []string) []string { c[i] = "a b@c d"; return c },
		"garbage":   func(i int, c []string) []string { c[i] = "@@@"; return c },
		"long":      func(i int, c []string) []string { c[i] = strings.Repeat("x", 600); return c },
		"no at":     func(i int, c []string) []string { c[i] = "12345"; return c },
		"postcode":  func(i int, c []string) []string { c[i] = "AB 1234"; return c },
		"dot":       func(i int, c []string) []string { c[i] = "."; return c },
		"formula":   func(i int, c []string) []string { c[i] = "=1+1"; return c },
		"ten zeros": func(i int, c []string) []string { c[i] = "0000000000"; return c },
		"tab":       func(i int, c []string) []string { c[i] = "a\tb@c"; return c },
		"two ats":   func(i int, c []string) []string { c[i] = "a@b@c"; return c },
	}
	for bname, br := range breakers {
		for col := 0; col < len(base); col++ {
			if col == 1 && bname != "long" {
				continue // Tussenvoegsel is free text
			}
			if (col == 0 || col == 2) && bname != "empty" && bname != "long" {
				continue // names are free text
			}
			if col == 4 && bname == "no at" {
				continue // 12345 is a house number
			}
			cells := br(col, append([]string{}, base...))
			out[fmt.Sprintf("%s in column %d", bname, col+1)] = VOCSV(strings.Join(cells, ";"))
		}
	}
	headings := strings.Split(VOHeader, ";")
	for i := range headings {
		h := append([]string{}, headings...)
		h[i] = "Kolom" + fmt.Sprint(i)
		out[fmt.Sprintf("renamed heading %d", i+1)] = []byte(strings.Join(h, ";") + "\n" + GoodRows[0] + "\n")
		h = append(append([]string{}, headings[:i]...), headings[i+1:]...)
		out[fmt.Sprintf("dropped heading %d", i+1)] = []byte(strings.Join(h, ";") + "\n" + GoodRows[0] + "\n")
	}
	for i := 0; i < 40; i++ {
		rows := append([]string{}, GoodRows...)
		rows = append(rows, rows[i%3])
		out[fmt.Sprintf("duplicate row %d", i)] = VOCSV(rows...)
		out[fmt.Sprintf("truncated %d", i)] = VOCSV(GoodRows...)[:len(VOHeader)+2+i%20]
	}
	for i, extra := range []string{"Klas", "Mentor", "Geboortedatum", "E-mail", "Opmerking", "Leerjaar", "BSN", "Stamnr", "Locatie", "Telefoon"} {
		out[fmt.Sprintf("extra column %d", i)] = []byte(VOHeader + ";" + extra + "\n" + GoodRows[0] + ";x\n")
		out[fmt.Sprintf("pipe delimited %d", i)] = []byte(strings.ReplaceAll(VOHeader, ";", "|") + "\n" + strings.ReplaceAll(GoodRows[i%3], ";", "|") + "\n")
	}
	for i, junk := range []string{"\x00\x00", "PK\x03\x04junk", "\xD0\xCF\x11\xE0", "%PDF-", "\x1f\x8b\x08", "\x89PNG\r\n", "\"unclosed", ""} {
		out[fmt.Sprintf("junk %d", i)] = []byte(junk)
	}
	return out
}

// withXLSX adds XLSX versions of the row-level breakages, and keeps one
// name per distinct file.
func withXLSX(in map[string][]byte, writeXLSX func([]string, [][]string) ([]byte, error)) (map[string][]byte, error) {
	columns := len(strings.Split(VOHeader, ";"))
	out := map[string][]byte{}
	seen := map[string]bool{}
	add := func(name string, data []byte) {
		if !seen[string(data)] {
			seen[string(data)] = true
			out[name] = data
		}
	}
	for name, data := range in {
		add(name, data)
		if !strings.HasPrefix(name, "junk") && !strings.HasPrefix(name, "truncated") {
			lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(string(data), "\r", "")), "\n")
			var rows [][]string
			for _, l := range lines[1:] {
				rows = append(rows, strings.Split(l, ";"))
			}
			if len(rows) == 0 || len(strings.Split(lines[0], ";")) != columns {
				continue
			}
			x, err := writeXLSX(strings.Split(lines[0], ";"), rows)
			if err != nil {
				return nil, err
			}
			add("xlsx "+name, x)
		}
	}
	return out, nil
}
