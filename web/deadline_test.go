package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/web"
	"github.com/cmr-idp/cmr/workflows"
)

// stuckEngine is a workflow engine that does not answer: it waits until
// the request gives up and then returns the bare context error, as a
// client library that does not classify it would. (After 5 s it stops
// waiting, so that a page without a deadline fails the test, not hangs.)
type stuckEngine struct{ left time.Duration }

func (e *stuckEngine) Update(ctx context.Context, _, _ string, _ any) (workflows.UpdateResult, error) {
	if dl, ok := ctx.Deadline(); ok {
		e.left = time.Until(dl)
	}
	select {
	case <-ctx.Done():
		return workflows.UpdateResult{}, ctx.Err()
	case <-time.After(5 * time.Second):
		return workflows.UpdateResult{}, errors.New("no deadline came")
	}
}

// timedLists notes how long an upload was given.
type timedLists struct {
	*fakeLists
	left time.Duration
}

func (l *timedLists) UploadCaseList(ctx context.Context, me cmr.Actor, caseID, file string, several bool) (cmr.ListVersion, error) {
	if dl, ok := ctx.Deadline(); ok {
		l.left = time.Until(dl)
	}
	return l.fakeLists.UploadCaseList(ctx, me, caseID, file, several)
}

// TestPagesHaveADeadline: a step completed in the browser while the
// workflow engine does not answer is told, after the page's deadline, that
// the service is slow (503, Retry-After), not left waiting until the
// browser gives up and not shown an error of ours; an upload has the
// longer deadline of its own.
func TestPagesHaveADeadline(t *testing.T) {
	s := newSite(t, true)
	engine, lists := &stuckEngine{}, &timedLists{fakeLists: &fakeLists{}}
	s.e = echo.New()
	srv := &web.Server{Store: s.store, Sessions: s.store, Calendar: cmr.DefaultCalendarConfig(), DevSignIn: true, Now: func() time.Time { return s.now },
		Engine: engine, Submissions: s.store, Lists: lists, RequestTimeout: 300 * time.Millisecond, UploadTimeout: time.Hour}
	if err := srv.Register(s.e); err != nil {
		t.Fatal(err)
	}
	dist := s.signIn("dist")
	start := time.Now()
	p := s.do("POST", "/cases/01AB-20270715/steps/plan.identity", url.Values{"_csrf": {s.token(dist)}, "change": {"realm @magister → @som"}}, dist)
	took := time.Since(start)
	if p.status != http.StatusServiceUnavailable || !strings.Contains(p.body, "duurde te lang") || p.header.Get("Retry-After") == "" {
		t.Errorf("step while the engine does not answer: %d, Retry-After %q\n%s", p.status, p.header.Get("Retry-After"), p.body)
	}
	if engine.left <= 0 || engine.left > 300*time.Millisecond || took > 5*time.Second {
		t.Errorf("the engine was given %s, the page took %s: want the page's deadline of 300ms", engine.left, took)
	}

	school := s.signIn("school")
	up := s.send(upload(t, "/cases/01AB-20270715/lists", map[string]string{"_csrf": s.token(school)}, []byte("Voornaam;Achternaam\r\n")), school)
	if len(lists.uploads) != 1 || lists.left < time.Hour-time.Minute {
		t.Errorf("upload (%d): the list service was given %s, want the upload deadline of 1h", up.status, lists.left)
	}
}

// recordedEngine carries out every update but cannot have its answer
// written: the database went away in between (cmr.Recorded).
type recordedEngine struct{}

func (recordedEngine) Update(_ context.Context, caseID, _ string, _ any) (workflows.UpdateResult, error) {
	return workflows.UpdateResult{}, cmr.Recorded(caseID, cmr.Errorf(cmr.KindUnavailable, "the database is not reachable; try again shortly"))
}

// TestStepRecordedButNotShown: a step carried out whose answer could not
// be written is shown as recorded, with a link to the case and without
// Retry-After, which would invite sending it again.
func TestStepRecordedButNotShown(t *testing.T) {
	s := newSite(t, true)
	s.e = echo.New()
	srv := &web.Server{Store: s.store, Sessions: s.store, Calendar: cmr.DefaultCalendarConfig(), DevSignIn: true, Now: func() time.Time { return s.now },
		Engine: recordedEngine{}, Submissions: s.store}
	if err := srv.Register(s.e); err != nil {
		t.Fatal(err)
	}
	dist := s.signIn("dist")
	p := s.do("POST", "/cases/01AB-20270715/steps/plan.identity", url.Values{"_csrf": {s.token(dist)}, "change": {"realm @magister → @som"}}, dist)
	if p.status != http.StatusServiceUnavailable || !strings.Contains(p.body, "vastgelegd") || !strings.Contains(p.body, `href="/cases/01AB-20270715"`) || p.header.Get("Retry-After") != "" {
		t.Errorf("step recorded, answer not written: %d, Retry-After %q\n%s", p.status, p.header.Get("Retry-After"), p.body)
	}
}
