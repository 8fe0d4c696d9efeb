package api_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
)

// TestMassAssignment sends every write route the fields a caller may not
// set (organisation, case, ticket, status, version, role...) beside a
// body that would otherwise be accepted: each is refused naming the field,
// and the case, its tickets and its events are unchanged.
func TestMassAssignment(t *testing.T) {
	en := newEnv(t, gormdbtest.SQLite(t))
	r := en.want(en.do("dist", "POST", "/api/v1/cases", `{"school":"01AB","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"likas":["lika-a"],"switch_on":"2027-07-15"}`), 201, "open")
	id := r.Body["id"].(string)
	snapshot := func() string {
		c := en.want(en.do("dist", "GET", "/api/v1/cases/"+id, nil), 200, "case")
		ev := en.want(en.do("dist", "GET", "/api/v1/cases/"+id+"/events", nil), 200, "events")
		cases := en.want(en.do("dist", "GET", "/api/v1/cases", nil), 200, "cases")
		return c.Raw + ev.Raw + cases.Raw
	}
	before := snapshot()

	forbidden := []string{"id", "case_id", "organisation_id", "distributor_id", "school_id", "lika_id", "status", "state", "version", "role", "user_id", "opened_by", "deadline", "funding", "done_by"}
	writes := []struct {
		org, path string
		body      map[string]any
	}{
		{"dist", "/api/v1/cases", map[string]any{"school": "01AB", "from": map[string]any{"quadrant": 1, "idp": "Magister"}, "to": map[string]any{"quadrant": 1, "idp": "SOM"}, "likas": []string{"lika-a"}, "switch_on": "2027-07-22"}},
		{"dist", "/api/v1/cases/" + id + "/steps/plan.identity", map[string]any{"data": map[string]any{}}},
		{"dist", "/api/v1/cases/" + id + "/cancel", map[string]any{"reason": "test"}},
		{"dist", "/api/v1/scenarios/check", map[string]any{"sector": "VO", "from": map[string]any{"quadrant": 1, "idp": "Magister"}, "to": map[string]any{"quadrant": 1, "idp": "SOM"}}},
	}
	n := 0
	for _, w := range writes {
		for _, f := range forbidden {
			body := map[string]any{}
			for k, v := range w.body {
				body[k] = v
			}
			body[f] = "dist-other"
			raw, _ := json.Marshal(body)
			res := en.do(w.org, "POST", w.path, string(raw))
			n++
			if res.Status != 400 || res.Body["field"] != f {
				t.Errorf("%s with %q: %d %s", w.path, f, res.Status, res.Raw)
			}
		}
	}
	// Nested: a side of the scenario, a step's data.
	for _, body := range []string{
		`{"school":"01AB","from":{"quadrant":1,"idp":"Magister","organisation_id":"x"},"to":{"quadrant":1,"idp":"SOM"},"likas":["lika-a"],"switch_on":"2027-07-22"}`,
	} {
		n++
		if res := en.do("dist", "POST", "/api/v1/cases", body); res.Status != 400 {
			t.Errorf("nested extra field: %d %s", res.Status, res.Raw)
		}
	}
	n++
	if res := en.do("dist", "POST", fmt.Sprintf("/api/v1/cases/%s/steps/plan.identity", id), `{"data":{"status":"completed"}}`); res.Status != 400 {
		t.Errorf("a status in step data: %d %s", res.Status, res.Raw)
	}
	if after := snapshot(); after != before {
		t.Errorf("refused requests changed the case:\nbefore %s\nafter  %s", before, after)
	}
	t.Logf("%d requests with fields the caller may not set: all refused, nothing changed", n)
}
