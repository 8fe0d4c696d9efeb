package web_test

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/web"
)

// directoryCounter counts the reads of the whole directory: every
// school (thousands, once it is filled), or every user.
type directoryCounter struct {
	*gormdb.Store
	reads atomic.Int32
}

func (s *directoryCounter) Organisations(ctx context.Context, roles ...cmr.Role) ([]cmr.Organisation, error) {
	if len(roles) == 0 || slices.Contains(roles, cmr.RoleSchool) {
		s.reads.Add(1)
	}
	return s.Store.Organisations(ctx, roles...)
}

func (s *directoryCounter) Users(ctx context.Context, orgIDs ...string) ([]cmr.User, error) {
	if len(orgIDs) == 0 {
		s.reads.Add(1)
	}
	return s.Store.Users(ctx, orgIDs...)
}

// TestWizardReadsOneSchool: the new-case wizard never reads every school
// in the directory (thousands, once it is filled): its first step
// searches, and once a school is chosen its steps and the check that runs
// on every change of the form look that school up.
func TestWizardReadsOneSchool(t *testing.T) {
	s := newPagesSite(t)
	counter := &directoryCounter{Store: s.store}
	s.e = echo.New()
	srv := &web.Server{Store: counter, Calendar: cmr.DefaultCalendarConfig(), DevSignIn: true, Now: func() time.Time { return s.now }, Engine: s.names, Submissions: s.subs, Opener: s.opener, SLADays: 3}
	if err := srv.Register(s.e); err != nil {
		t.Fatal(err)
	}
	dist := s.signIn("dist")
	token := s.token(dist)
	counter.reads.Store(0)
	if p := s.do("GET", "/cases/new?q=college", nil, dist); p.status != 200 || !strings.Contains(p.body, `?school=school2">Het College`) || counter.reads.Load() != 0 {
		t.Errorf("step 1's search: %d, %d reads of every school", p.status, counter.reads.Load())
	}
	counter.reads.Store(0)
	step2 := s.do("GET", "/cases/new?school=school", nil, dist)
	check := s.send(postForm("/cases/new/check", voForm("school", token), map[string]string{"HX-Request": "true"}), dist)
	if step2.status != 200 || !strings.Contains(step2.body, `Het Lyceum (01AB, VO)`) || check.status != 200 || counter.reads.Load() != 0 {
		t.Errorf("step 2 %d, check %d: %d reads of every school, want none", step2.status, check.status, counter.reads.Load())
	}
	// Not a school, or none: back to the list.
	for _, id := range []string{"lika1", "nope"} {
		if p := s.do("GET", "/cases/new?school="+id, nil, dist); p.status != http.StatusOK || !strings.Contains(p.body, "Deze school is niet gevonden; zoek de school opnieuw.") || strings.Contains(p.body, `name="from_quadrant"`) {
			t.Errorf("school=%s: %d", id, p.status)
		}
	}
}

// TestPagesReadNoWholeDirectory: the pages people open often read the
// organisations and people they show, not the whole directory: the
// sign-in page (for anyone) the organisations its providers serve, the
// admin page its own organisation's people, the cases report the schools
// of its cases.
func TestPagesReadNoWholeDirectory(t *testing.T) {
	s := newReportSite(t)
	ctx := context.Background()
	if err := s.store.SetAdmin(ctx, s.users["school"].ID, true); err != nil {
		t.Fatal(err)
	}
	admin, dist, kn := s.signIn("school"), s.signIn("dist"), s.signIn("kn")
	counter := &directoryCounter{Store: s.store}
	s.e = s.restartWith(func(srv *web.Server) {
		srv.Store, srv.Admin, srv.Reports, srv.SLADays = counter, s.store, s.store, 3
	})
	for _, c := range []struct {
		path  string
		as    *http.Cookie
		shows []string
	}{
		// Its own organisation's name, and its people with their e-mail.
		{"/admin", admin, []string{"<small>Het Lyceum</small>", "school@example.org"}},
		{"/reports/cases", dist, []string{"Het Lyceum"}},
		{"/reports/cases.csv", dist, []string{"Het Lyceum"}},
		{"/reports/cases", kn, []string{"Het Lyceum", "Het College"}},
	} {
		counter.reads.Store(0)
		p := s.do("GET", c.path, nil, c.as)
		if p.status != 200 || counter.reads.Load() != 0 {
			t.Errorf("%s: %d, %d reads of the whole directory", c.path, p.status, counter.reads.Load())
		}
		for _, want := range c.shows {
			if !strings.Contains(p.body, want) {
				t.Errorf("%s does not show %s", c.path, want)
			}
		}
	}

	// Sign-in through the organisations' own providers: the page offers
	// the organisations they serve, each once (one named by two
	// providers, one unknown), in ID order, and nothing else.
	s.e = s.restartWith(func(srv *web.Server) {
		srv.Store, srv.DevSignIn = counter, false
		srv.Providers = []web.Provider{
			{Name: "Scholen", Issuer: "https://idp.example", ClientID: "cmr", Organisations: []string{"school2", "school", "gone"}},
			{Name: "Distri", Issuer: "https://idp2.example", ClientID: "cmr", Organisations: []string{"dist", "school"}},
		}
		srv.SignIn, srv.PublicURL = s.store, "https://cmr.example"
	})
	counter.reads.Store(0)
	p := s.do("GET", "/login", nil)
	options := regexp.MustCompile(`<option value="([^"]*)">`).FindAllStringSubmatch(p.body, -1)
	var offered []string
	for _, m := range options {
		offered = append(offered, m[1])
	}
	if p.status != 200 || counter.reads.Load() != 0 || strings.Join(offered, " ") != "dist school school2" {
		t.Errorf("sign-in page: %d, %d reads of the whole directory, offers %v", p.status, counter.reads.Load(), offered)
	}
}
