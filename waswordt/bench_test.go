package waswordt

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cmr-idp/cmr"
)

// BenchmarkBuildPattern50k derives "wordt" for 50,000 pupils from a naming
// pattern and matches them against a 50,000-user new export.
func BenchmarkBuildPattern50k(b *testing.B) {
	var old, nw strings.Builder
	old.WriteString("Voornaam;Tussenvoegsel;Achternaam;Login\n")
	nw.WriteString("UPN\n")
	for i := 0; i < 50_000; i++ {
		fmt.Fprintf(&old, "Léa%d;van der;Berg%d;l%d@magis\n", i, i, i)
		fmt.Fprintf(&nw, "lea%d.vanderberg%d@school.nl\n", i, i)
	}
	ot, _ := Read([]byte(old.String()))
	nt, _ := Read([]byte(nw.String()))
	req := BuildRequest{Old: Export{ot, "Login"}, New: Export{nt, "UPN"}, Pattern: "[voornaam].[achternaam]@school.nl",
		FirstName: "Voornaam", Infix: "Tussenvoegsel", LastName: "Achternaam"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := Build(req)
		if err != nil || res.Matched != 50_000 {
			b.Fatalf("%v %d", err, res.Matched)
		}
	}
}

// voBenchList is the benchmarks' 50,000-row VO list, as a CSV upload.
func voBenchList(f Format) string {
	var s strings.Builder
	s.WriteString(strings.Join(f.Headings(Complete), ";") + "\n")
	for i := range 50_000 {
		fmt.Fprintf(&s, "Leerling%d;;Achternaam%d;1234 AB;%d;l%d@magis.01AB;l%d@lyceum.nl\n", i, i, i+1, i, i)
	}
	return s.String()
}

// BenchmarkChecksAcrossRows50k is the checks across the rows of a valid
// 50,000-row VO list (duplicates, unchanged identities, realms): in an
// upload they run beside the list's encryption and database write, and
// the write's commit waits for them.
func BenchmarkChecksAcrossRows50k(b *testing.B) {
	f := ForCase(cmr.Scenario{Sector: cmr.SectorVO})
	t, err := ReadString(voBenchList(f))
	if err != nil {
		b.Fatal(err)
	}
	l, err := Validate(f, Complete, t, Options{})
	if err != nil {
		b.Fatal(err)
	}
	cols := f.ColumnsOf(Complete)
	var c Checker
	b.ReportAllocs()
	for b.Loop() {
		var rep Report
		c.checkList(f, cols, l, Options{}, &rep)
		if len(rep.Problems) != 0 {
			b.Fatal(rep.Problems[0])
		}
	}
}

// BenchmarkRowChecks50k is the checks of each row of a 50,000-row VO list
// on one core (an upload runs two halves at once), in the rows as they
// are read (the cells of the benchmark upload, which need no change).
func BenchmarkRowChecks50k(b *testing.B) {
	f := ForCase(cmr.Scenario{Sector: cmr.SectorVO})
	list := voBenchList(f)
	cols := f.ColumnsOf(Complete)
	out := make([]Row, 50_000)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		t, err := ReadString(list)
		if err != nil {
			b.Fatal(err)
		}
		var rep Report
		index := mapHeader(f, Complete, t.Header, &rep)
		b.StartTimer()
		checkRows(cols, index, t, out, 0, len(t.Rows), false, &rep)
		if len(rep.Problems) != 0 {
			b.Fatal(rep.Problems[0])
		}
	}
}

// BenchmarkReadCSV50k reads the benchmarks' 50,000-row VO list, as an
// upload is read before its rows are checked.
func BenchmarkReadCSV50k(b *testing.B) {
	list := voBenchList(ForCase(cmr.Scenario{Sector: cmr.SectorVO}))
	b.SetBytes(int64(len(list)))
	b.ReportAllocs()
	for b.Loop() {
		t, err := ReadString(list)
		if err != nil || len(t.Rows) != 50_000 {
			b.Fatal(err, len(t.Rows))
		}
	}
}
