package web_test

import (
	"context"
	"net/http"
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

// schoolCounter counts the reads of every school in the directory.
type schoolCounter struct {
	*gormdb.Store
	reads atomic.Int32
}

func (s *schoolCounter) Organisations(ctx context.Context, roles ...cmr.Role) ([]cmr.Organisation, error) {
	if len(roles) == 0 || slices.Contains(roles, cmr.RoleSchool) {
		s.reads.Add(1)
	}
	return s.Store.Organisations(ctx, roles...)
}

// TestWizardReadsOneSchool: the new-case wizard never reads every school
// in the directory (thousands, once it is filled): its first step
// searches, and once a school is chosen its steps and the check that runs
// on every change of the form look that school up.
func TestWizardReadsOneSchool(t *testing.T) {
	s := newPagesSite(t)
	counter := &schoolCounter{Store: s.store}
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
