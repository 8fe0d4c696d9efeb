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

func TestStepDefsSame(t *testing.T) {
	var d stepDefs
	ours := `{"key":"11","owner":"school","kind":"human","title":"Lijst","title_en":"List","waits_for":["10"]}`
	for _, c := range []struct {
		stored string
		want   bool
	}{
		{ours, true},
		// As PostgreSQL's JSONB gives it back: keys by length, spaced.
		{`{"key": "11", "kind": "human", "owner": "school", "title": "Lijst", "title_en": "List", "waits_for": ["10"]}`, true},
		{`{"key": "11", "kind": "human", "owner": "school", "title": "Lijst", "title_en": "List", "waits_for": ["9"]}`, false},
		{`{"key": "11", "kind": "human", "owner": "publisher", "title": "Lijst", "title_en": "List", "waits_for": ["10"]}`, false},
		{`{"key": "11", "kind": "human", "owner": "school", "title": "Lijst", "title_en": "List"}`, false},
		{`{"key": `, false},
	} {
		if got := d.same(c.stored, ours); got != c.want {
			t.Errorf("same(%s, ours) = %v, want %v", c.stored, got, c.want)
		}
	}
}
