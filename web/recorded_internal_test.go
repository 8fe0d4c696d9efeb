package web

import (
	"testing"
	"time"

	"github.com/cmr-idp/cmr"
)

// TestRecordedAsPeopleReadIt: what a step recorded is shown under its
// fields' labels, in their order, with yes/no, lists on one line, dates
// as 15-7-2027 and moments in Dutch time; other values under their key.
func TestRecordedAsPeopleReadIt(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{loc: loc}
	st := cmr.Step{StepDef: cmr.StepDef{Records: []cmr.Field{
		{Name: "switch_at", Type: cmr.FieldDateTime, Label: "Afgesproken moment van omzetting"},
		{Name: "freeze_on", Type: cmr.FieldDate, Label: "Oude omgeving bevroren op"},
		{Name: "keep", Type: cmr.FieldBool, Label: "Leerhistorie meenemen"},
		{Name: "ids", Type: cmr.FieldList, Label: "DigiDeliveryIds"},
		{Name: "row_count", Type: cmr.FieldNumber, Label: "Aantal regels in de lijst"},
	}}, Data: map[string]any{"switch_at": "2027-07-15T07:00:00Z", "freeze_on": "2027-08-01", "keep": false,
		"ids": []any{"A1", "B2"}, "row_count": float64(1200), "list_id": "L9"}}
	want := []recordedValue{{"Afgesproken moment van omzetting", "15-7-2027 09:00"}, {"Oude omgeving bevroren op", "1-8-2027"},
		{"Leerhistorie meenemen", "nee"}, {"DigiDeliveryIds", "A1, B2"}, {"Aantal regels in de lijst", "1200"}, {"list_id", "L9"}}
	got := s.recorded("nl", st)
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%d: got %v, want %v", i, got[i], want[i])
		}
	}
	if en := s.recorded("en", st); en[0].Label != "Agreed moment of the switch" || en[2].Value != "no" {
		t.Errorf("in English: %v", en)
	}
}
