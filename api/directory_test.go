package api_test

import (
	"strings"
	"testing"

	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
)

// TestSchoolSearch: a party's system finds a school in the directory by
// part of its name, its ID or its BRIN, instead of listing every school;
// LIKE's wildcards are taken literally, and a search is of schools only.
func TestSchoolSearch(t *testing.T) {
	en := newEnv(t, gormdbtest.SQLite(t))
	for q, want := range map[string]string{"01ab": "school-vo", "school-mbo": "school-mbo", "MBO": "school-mbo", "school": "school-mbo school-vo", "%25": "", "lika": ""} {
		r := en.want(en.do("dist", "GET", "/api/v1/organisations?q="+q, nil), 200, "search "+q)
		var ids []string
		for _, o := range r.Body["organisations"].([]any) {
			ids = append(ids, o.(map[string]any)["id"].(string))
		}
		if strings.Join(ids, " ") != want {
			t.Errorf("q=%s: %v, want %q", q, ids, want)
		}
	}
	for _, path := range []string{"?q=x&role=publisher", "?q=", "?q=" + strings.Repeat("x", 201)} {
		if r := en.want(en.do("dist", "GET", "/api/v1/organisations"+path, nil), 400, path); r.Body["field"] != "q" {
			t.Errorf("%s: %s", path, r.Raw)
		}
	}
}
