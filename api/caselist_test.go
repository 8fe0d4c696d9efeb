package api_test

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cmr-idp/cmr"
)

// TestCaseListPages: the case list comes a page at a time, newest first;
// following "next" visits every case once, and each page's at-risk flags
// come from that page's open tickets.
func TestCaseListPages(t *testing.T) {
	each(t, func(t *testing.T, en *env) {
		now := time.Now().UTC()
		for i := range 7 {
			// Switch dates in 2028: no deadline near, so only a ticket
			// past its warning point puts a case at risk.
			rc := readCase{i: 800 + i, dist: "dist", school: parties[0], status: cmr.CaseCompleted}
			switch i {
			case 0:
				rc.status, rc.due = cmr.CaseOpen, 12*time.Hour // warned 12 hours ago
			case 1:
				rc.status, rc.due = cmr.CaseOpen, 10*24*time.Hour
			case 2, 3:
				rc.status = cmr.CaseCancelled // tickets without a due time
			}
			if err := seedCase(en.store, rc, now); err != nil {
				t.Fatal(err)
			}
		}
		whole := en.want(en.do("dist", "GET", "/api/v1/cases?limit=500", nil), 200, "one page")
		if _, ok := whole.Body["next"]; ok || len(whole.Body["cases"].([]any)) != 7 {
			t.Fatalf("one page of 500: %s", whole.Raw)
		}
		var want, got []string
		risk := map[string]bool{}
		for _, c := range whole.Body["cases"].([]any) {
			want = append(want, c.(map[string]any)["id"].(string))
		}
		path, pages := "/api/v1/cases?limit=3", 0
		for {
			page := en.want(en.do("dist", "GET", path, nil), 200, "page")
			pages++
			for _, x := range page.Body["cases"].([]any) {
				c := x.(map[string]any)
				got = append(got, c["id"].(string))
				risk[c["id"].(string)] = c["at_risk"].(bool)
			}
			next, ok := page.Body["next"].(string)
			if !ok {
				break
			}
			path = "/api/v1/cases?limit=3&after=" + url.QueryEscape(next)
		}
		if pages != 3 || !slices.Equal(got, want) {
			t.Errorf("%d pages of 3: %v, want %v", pages, got, want)
		}
		atRisk := fmt.Sprintf("%s-%s-800", parties[0].BRIN, time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 800).Format("20060102"))
		for id, r := range risk {
			if r != (id == atRisk) {
				t.Errorf("case %s at risk: %v", id, r)
			}
		}
		// A LiKa's tickets, most urgent first, those without a due time last.
		all := en.want(en.do("lika-a", "GET", "/api/v1/tickets?limit=1000", nil), 200, "all tickets")
		var wantT, gotT []string
		for _, x := range all.Body["tickets"].([]any) {
			wantT = append(wantT, x.(map[string]any)["id"].(string))
		}
		path, pages = "/api/v1/tickets?limit=2", 0
		for {
			page := en.want(en.do("lika-a", "GET", path, nil), 200, "ticket page")
			pages++
			for _, x := range page.Body["tickets"].([]any) {
				gotT = append(gotT, x.(map[string]any)["id"].(string))
			}
			next, ok := page.Body["next"].(string)
			if !ok {
				break
			}
			path = "/api/v1/tickets?limit=2&after=" + url.QueryEscape(next)
		}
		if len(wantT) != 7 || pages != 4 || !slices.Equal(gotT, wantT) {
			t.Errorf("%d ticket pages of 2: %v, want %v", pages, gotT, wantT)
		}
		if d := en.want(en.do("dist", "GET", "/api/v1/cases", nil), 200, "default page"); len(d.Body["cases"].([]any)) != 7 {
			t.Errorf("default page: %d cases", len(d.Body["cases"].([]any)))
		}
		for _, q := range []string{"limit=0", "limit=1001", "limit=x", "after=nonsense", "after=" + base64.RawURLEncoding.EncodeToString([]byte("2026-01-01|"))} {
			for _, list := range []string{"cases", "tickets"} {
				r := en.want(en.do("dist", "GET", "/api/v1/"+list+"?"+q, nil), 400, list+"?"+q)
				if f := r.Body["field"]; f != strings.SplitN(q, "=", 2)[0] {
					t.Errorf("%s?%s: field %v", list, q, f)
				}
			}
		}
	})
}
