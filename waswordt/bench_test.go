package waswordt

import (
	"fmt"
	"strings"
	"testing"
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
