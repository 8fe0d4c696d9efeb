package api_test

import (
	"net/url"
	"slices"
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
		if ids := orgIDs(r); strings.Join(ids, " ") != want {
			t.Errorf("q=%s: %v, want %q", q, ids, want)
		}
	}
	for _, path := range []string{"?q=x&role=publisher", "?q=", "?q=" + strings.Repeat("x", 201)} {
		if r := en.want(en.do("dist", "GET", "/api/v1/organisations"+path, nil), 400, path); r.Body["field"] != "q" {
			t.Errorf("%s: %s", path, r.Raw)
		}
	}
}

// TestDirectoryPages: the directory comes a page at a time, by ID;
// following next visits every organisation once, the role filter holds
// across pages, and a search takes no paging.
func TestDirectoryPages(t *testing.T) {
	en := newEnv(t, gormdbtest.SQLite(t))
	for _, role := range []string{"", "school", "publisher"} {
		whole := en.want(en.do("dist", "GET", "/api/v1/organisations?role="+role, nil), 200, "one page "+role)
		want := orgIDs(whole)
		if _, more := whole.Body["next"]; more || len(want) < 2 || !slices.IsSorted(want) {
			t.Fatalf("role %q in one page: %v, next %v", role, want, whole.Body["next"])
		}
		var got []string
		path := "/api/v1/organisations?limit=1&role=" + role
		for pages := 1; ; pages++ {
			r := en.want(en.do("dist", "GET", path, nil), 200, "page")
			page := orgIDs(r)
			got = append(got, page...)
			next, more := r.Body["next"].(string)
			if !more {
				break
			}
			if len(page) != 1 || pages > len(want) {
				t.Fatalf("role %q: page %d holds %v and has a next", role, pages, page)
			}
			path = "/api/v1/organisations?limit=1&role=" + role + "&after=" + url.QueryEscape(next)
		}
		if !slices.Equal(got, want) {
			t.Errorf("role %q by pages: %v, want %v", role, got, want)
		}
	}
	for path, field := range map[string]string{
		"?limit=0": "limit", "?limit=1001": "limit", "?limit=x": "limit", "?after=nonsense": "after",
		"?q=school&limit=5": "limit", "?q=school&after=b3JnfHg": "after",
	} {
		if r := en.want(en.do("dist", "GET", "/api/v1/organisations"+path, nil), 400, path); r.Body["field"] != field {
			t.Errorf("%s: %s", path, r.Raw)
		}
	}
}

// orgIDs are the IDs of the organisations in a directory answer, in order.
func orgIDs(r response) []string {
	var ids []string
	for _, o := range r.Body["organisations"].([]any) {
		ids = append(ids, o.(map[string]any)["id"].(string))
	}
	return ids
}
