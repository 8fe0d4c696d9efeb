package gormdb

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/cmr-idp/cmr"
)

func TestStepDefsDecodeOnce(t *testing.T) {
	want := cmr.StepDef{Key: "11", Owner: cmr.RoleSchool, Kind: cmr.StepHuman, Title: "Lijst aanleveren", TitleEN: "Supply the list",
		Records: []cmr.Field{{Name: "note", Type: "text", Label: "Toelichting"}}, WaitsFor: []string{"10"}}
	raw, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var d stepDefs
	first, err := d.decode(string(raw))
	if err != nil || !reflect.DeepEqual(first, want) {
		t.Fatalf("decode: %+v, %v; want %+v", first, err, want)
	}
	if len(d.parsed) != 1 {
		t.Fatalf("%d definitions kept, want 1", len(d.parsed))
	}
	// A reader that changes what it got must not change the next case's
	// steps: the kept definition shares no slice with it.
	first.Records[0].Label = "changed"
	first.WaitsFor[0] = "changed"
	again, err := d.decode(string(raw))
	if err != nil || !reflect.DeepEqual(again, want) {
		t.Errorf("after the first reader changed its copy: %+v, %v; want %+v", again, err, want)
	}
	if len(d.parsed) != 1 {
		t.Errorf("%d definitions kept after the same JSON twice, want 1", len(d.parsed))
	}

	if _, err := d.decode(`{"key": `); err == nil {
		t.Error("broken JSON decoded without an error")
	}
	if len(d.parsed) != 1 {
		t.Errorf("broken JSON was kept: %d definitions", len(d.parsed))
	}

	// However many distinct definitions come by, at most maxStepDefs stay.
	for i := range maxStepDefs + 10 {
		if _, err := d.decode(fmt.Sprintf(`{"key": "k%d"}`, i)); err != nil {
			t.Fatal(err)
		}
		if len(d.parsed) > maxStepDefs {
			t.Fatalf("%d definitions kept, more than %d", len(d.parsed), maxStepDefs)
		}
	}
}
