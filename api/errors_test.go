package api_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
)

// TestRequestRefusalsInBothLanguages: what the router and the JSON reader
// refuse says what was wrong in English and Dutch, with the route's own
// limit, and never in Go's words.
func TestRequestRefusalsInBothLanguages(t *testing.T) {
	en := newEnv(t, gormdbtest.SQLite(t))
	r := en.want(en.do("dist", "POST", "/api/v1/cases", `{"school":"01AB","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"likas":["lika-a"],"switch_on":"2027-07-15"}`), 201, "open")
	id := r.Body["id"].(string)
	check := func(name string, got response, status int, want ...string) {
		t.Helper()
		nl, _ := got.Body["error_nl"].(string)
		if got.Status != status || nl == "" || nl == got.Body["error"] {
			t.Errorf("%s: %d %s, want %d in English and Dutch", name, got.Status, got.Raw, status)
		}
		for _, w := range want {
			if !strings.Contains(got.Raw, w) {
				t.Errorf("%s: %s, want %q", name, got.Raw, w)
			}
		}
		for _, goWords := range []string{"unexpected EOF", "illegal base64", "json:"} {
			if strings.Contains(got.Raw, goWords) {
				t.Errorf("%s: Go's words reach the user: %s", name, got.Raw)
			}
		}
	}
	check("JSON cut short", en.do("dist", "POST", "/api/v1/scenarios/check", `{"sector":"VO"`), 400, "closing brackets", "sluitende haakjes")
	check("a file not base64", en.do("school-vo", "POST", "/api/v1/cases/"+id+"/wordt", `{"old":{"file":"@@@not-base64","identity":"x"}}`), 400, "base64")
	check("no such route", en.do("dist", "GET", "/api/v1/nope", nil), 404, "no such route", "bestaat niet")
	check("a number where text belongs", en.do("dist", "POST", "/api/v1/cases/"+id+"/cancel", `{"reason":5}`), 400, "must be a string, not a JSON number", "moet een tekst zijn, niet een getal")
	check("a fraction where a whole number belongs", en.do("dist", "POST", "/api/v1/scenarios/check", `{"sector":"VO","from":{"quadrant":1.5}}`), 400, "must be a whole number within range, not 1.5", "moet een geheel getal binnen het bereik zijn, niet 1.5")
	check("a status the API does not know", en.do("dist", "GET", "/api/v1/cases?status=lopend", nil), 400, "moet open (lopend)")

	for route, want := range map[string]string{
		"/api/v1/cases/" + id + "/lists": "the file is larger than 40 MB",
		"/api/v1/cases/" + id + "/wordt": "two exports of at most 40 MB each",
		"/api/v1/scenarios/check":        "larger than 1 MB",
	} {
		req := httptest.NewRequest("POST", route, strings.NewReader("x"))
		req.ContentLength = 90 << 20 // refused on its length, before it is read
		req.Header.Set("Authorization", "Bearer "+en.tokens["school-vo"])
		rec := httptest.NewRecorder()
		en.e.ServeHTTP(rec, req)
		got := response{Status: rec.Code, Raw: rec.Body.String()}
		got.Body = map[string]any{}
		_ = json.Unmarshal(rec.Body.Bytes(), &got.Body)
		check(route+" over its limit", got, 413, want)
	}
}
