package web_test

import (
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden HTML files in testdata/golden")

// sessionValues hides what differs per run: CSRF tokens.
var sessionValues = regexp.MustCompile(`name="_csrf" value="[^"]+"`)

// TestGoldenPages compares key pages, as the fixed store renders them,
// with testdata/golden; `go test ./web -run Golden -update` rewrites them
// after a deliberate change (review the diff).
func TestGoldenPages(t *testing.T) {
	s := newSite(t, true)
	en := &http.Cookie{Name: "cmr-lang", Value: "en"}
	for _, c := range []struct {
		name, org, path string
		english         bool
	}{
		{"home-distributor", "dist", "/", false},
		{"home-lika", "lika1", "/", false},
		{"case-school", "school", "/cases/01AB-20270715", false},
		{"case-lika", "lika1", "/cases/01AB-20270715", false},
		{"case-school-en", "school", "/cases/01AB-20270715", true},
		{"cases-distributor", "dist", "/cases", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cookies := []*http.Cookie{s.signIn(c.org)}
			if c.english {
				cookies = append(cookies, en)
			}
			p := s.do("GET", c.path, nil, cookies...)
			if p.status != http.StatusOK {
				t.Fatalf("%s: %d", c.path, p.status)
			}
			got := sessionValues.ReplaceAllString(p.body, `name="_csrf" value="CSRF"`)
			file := filepath.Join("testdata", "golden", c.name+".html")
			if *updateGolden {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from %s; run `go test ./web -run Golden -update` if the change is meant, and review the diff.\ngot:\n%s", c.path, file, got)
			}
		})
	}
}
