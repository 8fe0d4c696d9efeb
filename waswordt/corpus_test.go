package waswordt_test

import (
	"strings"
	"testing"

	"github.com/cmr-idp/cmr/waswordt"
	"github.com/cmr-idp/cmr/waswordt/waswordttest"
)

func TestMalformedCorpus(t *testing.T) {
	vo, _ := waswordt.Lookup(waswordt.FormatVO)
	corpus, err := waswordttest.Malformed(func(header []string, rows [][]string) ([]byte, error) {
		return waswordt.Write(waswordt.XLSX, header, rows)
	})
	if err != nil {
		t.Fatal(err)
	}
	xlsx := 0
	for name := range corpus {
		if strings.HasPrefix(name, "xlsx ") {
			xlsx++
		}
	}
	if len(corpus) < 150 || xlsx < 30 {
		t.Fatalf("corpus has %d distinct files (%d XLSX), want at least 150 (30 XLSX)", len(corpus), xlsx)
	}
	for name, data := range corpus {
		tab, err := waswordt.Read(data)
		if err == nil {
			_, err = waswordt.Validate(vo, waswordt.Complete, tab, waswordt.Options{})
		}
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		rep, ok := err.(*waswordt.Report)
		if !ok {
			t.Fatalf("%s: want a *Report, got %v", name, err)
		}
		for _, p := range rep.Problems {
			if p.NL == "" || p.EN == "" || p.Code == "" || p.Row < 0 {
				t.Errorf("%s: unclear problem %+v", name, p)
			}
			// A problem in a cell names its row and column.
			cellLevel := p.Code == "required" || p.Code == "identity" || p.Code == "postcode" || p.Code == "house_number" || p.Code == "too_long"
			if cellLevel && (p.Row < 2 || p.Column == "") {
				t.Errorf("%s: cell problem without row and column: %+v", name, p)
			}
		}
	}
}
