package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
	"github.com/cmr-idp/cmr/web"
	"github.com/cmr-idp/cmr/workflows"
)

// fakeEngine records the updates the pages send; the real engine is
// exercised by the API tests.
type fakeEngine struct{ calls []any }

func (f *fakeEngine) Update(_ context.Context, caseID, name string, arg any) (workflows.UpdateResult, error) {
	f.calls = append(f.calls, arg)
	return workflows.UpdateResult{Status: cmr.CaseOpen}, nil
}

type site struct {
	store  *gormdb.Store
	dev    bool
	engine *fakeEngine
	t      *testing.T
	e      *echo.Echo
	users  map[string]cmr.User // organisation ID → its user
	now    time.Time
}

// newSite serves the pages over a store with one open VO case that has
// two tickets, one overdue.
func newSite(t *testing.T, dev bool) *site {
	ctx := context.Background()
	store := gormdbtest.SQLite(t)
	s := &site{t: t, users: map[string]cmr.User{}, now: time.Date(2027, 6, 10, 12, 0, 0, 0, time.UTC)}
	for _, o := range []cmr.Organisation{
		{ID: "school", Name: "Het Lyceum", Role: cmr.RoleSchool, BRIN: "01AB", Sector: cmr.SectorVO},
		{ID: "dist", Name: "Distri", Role: cmr.RoleDistributor},
		{ID: "dist2", Name: "Andere distri", Role: cmr.RoleDistributor},
		{ID: "lika1", Name: "LiKa Een", Role: cmr.RolePublisher},
		{ID: "lika2", Name: "LiKa Twee", Role: cmr.RolePublisher},
		{ID: "kn", Name: "Kennisnet", Role: cmr.RoleKennisnet},
	} {
		if err := store.UpsertOrganisation(ctx, o); err != nil {
			t.Fatal(err)
		}
		u, err := store.UpsertUser(ctx, cmr.User{OrganisationID: o.ID, Email: o.ID + "@example.org", Name: "Mens van " + o.Name})
		if err != nil {
			t.Fatal(err)
		}
		s.users[o.ID] = u
	}
	parties := cmr.Parties{SchoolID: "school", DistributorID: "dist", LiKaIDs: []string{"lika1", "lika2"}, KennisnetIDs: []string{"kn"}}
	plan := cmr.Procedure(cmr.PlanInput{Sector: cmr.SectorVO, Funding: cmr.FundingELF, Options: cmr.CaseOptions{KeepHistory: true}, WasWordt: cmr.WasWordtSuppliers})
	st := cmr.NewCaseState("01AB-20270715", cmr.SectorVO, parties, plan, cmr.Actor{UserID: "x", OrganisationID: "dist", Role: cmr.RoleDistributor}, s.now)
	h := cmr.CaseHeader{ID: st.CaseID, SchoolID: "school", DistributorID: "dist", Sector: cmr.SectorVO, SwitchOn: time.Date(2027, 7, 15, 0, 0, 0, 0, time.UTC),
		Deadline: time.Date(2027, 8, 1, 0, 0, 0, 0, time.UTC), Warnings: []cmr.Warning{{Code: "x", Message: "Let op <b>dit</b>"}}}
	if err := store.SaveCase(ctx, h, *st, 1, "", []cmr.Event{{Key: "e1", CaseID: st.CaseID, Type: cmr.EventCaseOpened, At: s.now,
		Actor: &cmr.Actor{UserID: "x", OrganisationID: "dist", Role: cmr.RoleDistributor}}}); err != nil {
		t.Fatal(err)
	}
	past, future := s.now.Add(-time.Hour), s.now.Add(72*time.Hour)
	for i, tk := range []cmr.Ticket{
		{ID: "01AB-20270715-T1", CaseID: st.CaseID, LiKaID: "lika1", State: cmr.TicketOpen, WarnAt: &past, DueAt: &past, Version: 1},
		{ID: "01AB-20270715-T2", CaseID: st.CaseID, LiKaID: "lika2", State: cmr.TicketOpen, WarnAt: &future, DueAt: &future, Version: 1},
	} {
		if err := store.SaveTicket(ctx, tk, []cmr.Event{{Key: tk.ID, CaseID: tk.CaseID, TicketID: tk.ID, Type: cmr.EventTicketCreated, At: s.now.Add(time.Duration(i) * time.Second)}}); err != nil {
			t.Fatal(err)
		}
	}
	s.engine = &fakeEngine{}
	s.store, s.dev = store, dev
	s.e = s.restart()
	return s
}

// restart serves the pages anew over the same store, as a restarted (or a
// second) `cmr serve` would.
func (s *site) restart() *echo.Echo {
	e := echo.New()
	srv := &web.Server{Store: s.store, Sessions: s.store, Calendar: cmr.DefaultCalendarConfig(), DevSignIn: s.dev, Now: func() time.Time { return s.now },
		Engine: s.engine, Submissions: s.store}
	if err := srv.Register(e); err != nil {
		s.t.Fatal(err)
	}
	return e
}

type page struct {
	status int
	body   string
	header http.Header
	cookie []*http.Cookie
}

func (s *site) do(method, path string, form url.Values, cookies ...*http.Cookie) page {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, "https://cmr.example"+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	s.e.ServeHTTP(rec, req)
	return page{status: rec.Code, body: rec.Body.String(), header: rec.Header(), cookie: rec.Result().Cookies()}
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// signIn goes through the dev sign-in page as a person would.
func (s *site) signIn(org string) *http.Cookie {
	s.t.Helper()
	lp := s.do("GET", "/login", nil)
	m := csrfField.FindStringSubmatch(lp.body)
	if lp.status != 200 || m == nil || len(lp.cookie) != 1 {
		s.t.Fatalf("login page: %d %v", lp.status, lp.cookie)
	}
	p := s.do("POST", "/login", url.Values{"_csrf": {m[1]}, "user": {s.users[org].ID}}, lp.cookie[0])
	if p.status != http.StatusSeeOther {
		s.t.Fatalf("sign in: %d %s", p.status, p.body)
	}
	for _, c := range p.cookie {
		if c.Name == "__Host-cmr" && c.Value != "" {
			if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
				s.t.Errorf("session cookie flags: %+v", c)
			}
			return c
		}
	}
	s.t.Fatal("no session cookie")
	return nil
}

func TestDevSignInAndMyWork(t *testing.T) {
	s := newSite(t, true)
	if p := s.do("GET", "/", nil); p.status != http.StatusSeeOther || p.header.Get("Location") != "/login" {
		t.Errorf("anonymous home: %d %s", p.status, p.header.Get("Location"))
	}
	lp := s.do("GET", "/login", nil)
	for _, want := range []string{"Het Lyceum", "LiKa Een", "Kennisnet"} {
		if !strings.Contains(lp.body, want) {
			t.Errorf("login page lacks %q", want)
		}
	}
	if p := s.do("POST", "/login", url.Values{"user": {s.users["dist"].ID}}); p.status != http.StatusForbidden {
		t.Errorf("sign in without the form's token: %d", p.status)
	}

	dist := s.signIn("dist")
	home := s.do("GET", "/", nil, dist)
	if home.status != 200 || !strings.Contains(home.body, "plan.identity") || !strings.Contains(home.body, "01AB-20270715-T1") || strings.Contains(home.body, "01AB-20270715-T2") {
		t.Errorf("distributor's work: want its open step and only the overdue ticket:\n%s", home.body)
	}
	for h, want := range map[string]string{"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
		if got := home.header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	if csp := home.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP: %q", csp)
	}
	lika := s.signIn("lika2")
	if p := s.do("GET", "/", nil, lika); !strings.Contains(p.body, "01AB-20270715-T2") || strings.Contains(p.body, "01AB-20270715-T1") {
		t.Errorf("LiKa queue shows another LiKa's ticket or not its own:\n%s", p.body)
	}
}

func TestCasePage(t *testing.T) {
	s := newSite(t, true)
	school := s.signIn("school")
	p := s.do("GET", "/cases/01AB-20270715", nil, school)
	if p.status != 200 || !strings.Contains(p.body, "plan.identity") || !strings.Contains(p.body, "Logboek") {
		t.Fatalf("case page: %d", p.status)
	}
	// Data from the store is escaped, never HTML.
	if strings.Contains(p.body, "<b>dit</b>") || !strings.Contains(p.body, "&lt;b&gt;dit&lt;/b&gt;") {
		t.Error("a warning was rendered as HTML")
	}
	if p := s.do("GET", "/cases/01AB-20270715", nil, s.signIn("dist2")); p.status != 404 || strings.Contains(p.body, "01AB-20270715") {
		t.Errorf("foreign distributor: %d", p.status)
	}
	lika := s.do("GET", "/cases/01AB-20270715", nil, s.signIn("lika1"))
	if strings.Contains(lika.body, "01AB-20270715-T2") {
		t.Error("a LiKa sees another LiKa's ticket on the case page")
	}
}

func TestSessionsEnd(t *testing.T) {
	s := newSite(t, true)
	c := s.signIn("school")
	home := s.do("GET", "/", nil, c)
	token := csrfField.FindStringSubmatch(home.body)[1]
	if p := s.do("POST", "/logout", url.Values{}, c); p.status != http.StatusForbidden {
		t.Errorf("logout without the CSRF token: %d", p.status)
	}
	if p := s.do("POST", "/logout", url.Values{"_csrf": {token}}, c); p.status != http.StatusSeeOther {
		t.Errorf("logout: %d", p.status)
	}
	if p := s.do("GET", "/", nil, c); p.status != http.StatusSeeOther {
		t.Errorf("session alive after logout: %d", p.status)
	}
	c = s.signIn("school")
	s.now = s.now.Add(web.IdleTimeout + time.Minute)
	if p := s.do("GET", "/", nil, c); p.status != http.StatusSeeOther {
		t.Errorf("session alive after the idle timeout: %d", p.status)
	}
}

// TestSessionsInTheDatabase: a restart keeps people signed in; the
// database holds only a hash of the browser's session ID; the absolute
// timeout ends even a busy session.
func TestSessionsInTheDatabase(t *testing.T) {
	s := newSite(t, true)
	ctx := context.Background()
	c := s.signIn("school")
	if _, err := s.store.Session(ctx, c.Value); err != cmr.ErrNotFound {
		t.Errorf("the session ID itself is stored: %v", err)
	}
	sum := sha256.Sum256([]byte(c.Value))
	stored, err := s.store.Session(ctx, hex.EncodeToString(sum[:]))
	if err != nil || stored.UserID != s.users["school"].ID {
		t.Fatalf("no session under the ID's hash: %+v %v", stored, err)
	}

	s.e = s.restart()
	if p := s.do("GET", "/", nil, c); p.status != http.StatusOK || !strings.Contains(p.body, "Het Lyceum") {
		t.Fatalf("signed out by a restart: %d", p.status)
	}
	// The CSRF token lives with the session, so a form loaded before the
	// restart still posts after it.
	token := csrfField.FindStringSubmatch(s.do("GET", "/", nil, c).body)[1]
	s.e = s.restart()
	if p := s.do("POST", "/logout", url.Values{"_csrf": {token}}, c); p.status != http.StatusSeeOther {
		t.Errorf("logout with a token from before the restart: %d", p.status)
	}
	if _, err := s.store.Session(ctx, hex.EncodeToString(sum[:])); err != cmr.ErrNotFound {
		t.Errorf("logout left the session in the database: %v", err)
	}

	busy := s.signIn("dist")
	start := s.now
	for s.now.Sub(start) < web.AbsoluteTimeout-time.Minute {
		if p := s.do("GET", "/", nil, busy); p.status != http.StatusOK {
			t.Fatalf("signed out after %s of use: %d", s.now.Sub(start), p.status)
		}
		s.now = s.now.Add(25 * time.Minute)
	}
	s.now = start.Add(web.AbsoluteTimeout + time.Minute)
	if p := s.do("GET", "/", nil, busy); p.status != http.StatusSeeOther {
		t.Errorf("session alive after the absolute timeout: %d", p.status)
	}
}

func TestNoDevSignInInServe(t *testing.T) {
	s := newSite(t, false)
	if p := s.do("GET", "/login", nil); p.status != 200 || strings.Contains(p.body, "Het Lyceum") {
		t.Errorf("serve's login page lists users: %d", p.status)
	}
	if p := s.do("POST", "/login", url.Values{"user": {s.users["dist"].ID}}); p.status != 404 {
		t.Errorf("dev sign-in in serve: %d", p.status)
	}
	if p := s.do("GET", "/static/style.css", nil); p.status != 200 {
		t.Errorf("stylesheet: %d", p.status)
	}
}

func TestActionForms(t *testing.T) {
	s := newSite(t, true)
	if p := s.do("GET", "/cases/01AB-20270715", nil, s.signIn("school")); strings.Contains(p.body, `action="/cases/01AB-20270715/steps/plan.identity"`) {
		t.Error("the school gets a form for the distributor's step")
	}
	dist := s.signIn("dist")
	p := s.do("GET", "/cases/01AB-20270715", nil, dist)
	if !strings.Contains(p.body, `action="/cases/01AB-20270715/steps/plan.identity"`) || !strings.Contains(p.body, `<label for="f-plan.identity-change">`) {
		t.Fatalf("no labelled form for the distributor's open step:\n%s", p.body)
	}
	// A step this system adds goes by its title, not its key.
	if !strings.Contains(p.body, `<button type="submit">Stap afronden</button>`) || strings.Contains(p.body, "<strong>plan.identity</strong>") {
		t.Error("the step without a number is named by its key")
	}
	token := csrfField.FindStringSubmatch(p.body)[1]
	if p := s.do("POST", "/cases/01AB-20270715/steps/plan.identity", url.Values{"change": {"realm"}}, dist); p.status != http.StatusForbidden {
		t.Errorf("form without its token: %d", p.status)
	}
	bad := s.do("POST", "/cases/01AB-20270715/steps/plan.identity", url.Values{"_csrf": {token}}, dist)
	if bad.status != http.StatusBadRequest || !strings.Contains(bad.body, "Wat wijzigt (realm, portaal, userid): is verplicht") || len(s.engine.calls) != 0 {
		t.Errorf("missing field: %d, %d calls", bad.status, len(s.engine.calls))
	}
	ok := s.do("POST", "/cases/01AB-20270715/steps/plan.identity", url.Values{"_csrf": {token}, "change": {"realm @magister → @som"}}, dist)
	if ok.status != http.StatusSeeOther || len(s.engine.calls) != 1 {
		t.Fatalf("complete step: %d, %d calls", ok.status, len(s.engine.calls))
	}
	if r, _ := s.engine.calls[0].(workflows.StepRequest); r.Step != "plan.identity" || r.SubmissionID == "" || r.Actor.OrganisationID != "dist" {
		t.Errorf("update sent: %+v", s.engine.calls[0])
	}
	if p := s.do("POST", "/tickets/01AB-20270715-T1/waive", url.Values{"_csrf": {token}}, dist); p.status != http.StatusBadRequest || !strings.Contains(p.body, "reden") {
		t.Errorf("waive without a reason: %d", p.status)
	}
	if p := s.do("POST", "/tickets/01AB-20270715-T1/waive", url.Values{"_csrf": {token}, "text": {"school heeft geen licenties van deze uitgever"}}, dist); p.status != http.StatusSeeOther {
		t.Errorf("waive with a reason: %d %s", p.status, p.body)
	}
	if r, _ := s.engine.calls[len(s.engine.calls)-1].(workflows.TicketRequest); r.To != cmr.TicketWaived || r.TicketID != "01AB-20270715-T1" || r.SubmissionID == "" {
		t.Errorf("waive sent: %+v", s.engine.calls[len(s.engine.calls)-1])
	}
	other := s.signIn("dist2")
	otherToken := csrfField.FindStringSubmatch(s.do("GET", "/", nil, other).body)[1]
	if p := s.do("POST", "/tickets/01AB-20270715-T1/waive", url.Values{"_csrf": {otherToken}, "text": {"x"}}, other); p.status != http.StatusNotFound {
		t.Errorf("another distributor waives the ticket: %d", p.status)
	}

	// The distributor cancels the case on its page, with a reason.
	if !strings.Contains(s.do("GET", "/cases/01AB-20270715", nil, dist).body, `action="/cases/01AB-20270715/cancel"`) {
		t.Error("no cancel form for the distributor")
	}
	calls := len(s.engine.calls)
	if p := s.do("POST", "/cases/01AB-20270715/cancel", url.Values{"_csrf": {token}, "reason": {"  "}}, dist); p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, `id="problem-cancel"`) || !strings.Contains(p.body, "geef aan waarom de zaak wordt geannuleerd") || len(s.engine.calls) != calls {
		t.Errorf("cancel without a reason: %d, %d calls", p.status, len(s.engine.calls)-calls)
	}
	if p := s.do("POST", "/cases/01AB-20270715/cancel", url.Values{"_csrf": {token}, "reason": {"dubbel aangemaakt"}}, dist); p.status != http.StatusSeeOther ||
		len(s.engine.calls) != calls+1 {
		t.Fatalf("cancel: %d %s", p.status, p.body)
	}
	if r, _ := s.engine.calls[calls].(workflows.CancelRequest); r.SubmissionID == "" || r.Actor.OrganisationID != "dist" {
		t.Errorf("cancel sent: %+v", s.engine.calls[calls])
	}
	if p := s.do("POST", "/cases/01AB-20270715/cancel", url.Values{"_csrf": {otherToken}, "reason": {"x"}}, other); p.status != http.StatusNotFound {
		t.Errorf("another distributor cancels the case: %d", p.status)
	}
	// A party without the form is told why, on top of the page.
	school := s.signIn("school")
	schoolToken := csrfField.FindStringSubmatch(s.do("GET", "/", nil, school).body)[1]
	if p := s.do("POST", "/cases/01AB-20270715/cancel", url.Values{"_csrf": {schoolToken}, "reason": {"x"}}, school); p.status != http.StatusForbidden ||
		!strings.Contains(p.body, `id="problem-page"`) || !strings.Contains(p.body, "alleen de distributeur van de zaak kan de zaak annuleren") {
		t.Errorf("the school cancels: %d\n%s", p.status, p.body)
	}
	// A reason of 2000 characters, not bytes.
	long := strings.Repeat("é", 1500)
	if p := s.do("POST", "/cases/01AB-20270715/cancel", url.Values{"_csrf": {token}, "reason": {long}}, dist); p.status != http.StatusSeeOther {
		t.Errorf("a reason of 1500 characters: %d", p.status)
	}
	lika := s.signIn("lika1")
	lp := s.do("GET", "/cases/01AB-20270715", nil, lika)
	if !strings.Contains(lp.body, `action="/tickets/01AB-20270715-T1/close"`) {
		t.Fatal("no close form for the LiKa's ticket")
	}
	lt := csrfField.FindStringSubmatch(lp.body)[1]
	if p := s.do("POST", "/tickets/01AB-20270715-T2/close", url.Values{"_csrf": {lt}}, lika); p.status != 404 {
		t.Errorf("closing another LiKa's ticket: %d", p.status)
	}
	if p := s.do("POST", "/tickets/01AB-20270715-T1/close", url.Values{"_csrf": {lt}, "text": {"verwerkt"}}, lika); p.status != http.StatusSeeOther {
		t.Errorf("close: %d", p.status)
	}
	if r, _ := s.engine.calls[len(s.engine.calls)-1].(workflows.TicketRequest); r.TicketID != "01AB-20270715-T1" || r.To != cmr.TicketClosed {
		t.Errorf("ticket update: %+v", s.engine.calls[len(s.engine.calls)-1])
	}
}

// TestRefusedBeforeAnythingIsStored: the pages refuse, from the case and
// ticket as read, what the workflow would refuse, as the API does
// (casework.CheckStep, CheckResolve), with the reason, before a note is
// stored or the workflow asked.
func TestRefusedBeforeAnythingIsStored(t *testing.T) {
	s := newSite(t, true)
	ctx := context.Background()
	dist := s.signIn("dist")
	token := csrfField.FindStringSubmatch(s.do("GET", "/cases/01AB-20270715", nil, dist).body)[1]
	if p := s.do("POST", "/cases/01AB-20270715/steps/plan.history", url.Values{"_csrf": {token}, "keep_history": {"false"}}, dist); p.status != http.StatusConflict ||
		!strings.Contains(p.body, "hij wacht op stap &#34;Distributeur stelt vast wanneer de oude omgeving bevroren wordt&#34;") {
		t.Errorf("a step waiting: %d %s", p.status, refusalText(p.body))
	}
	lika := s.signIn("lika1")
	lt := csrfField.FindStringSubmatch(s.do("GET", "/tickets/01AB-20270715-T1", nil, lika).body)[1]
	if p := s.do("POST", "/tickets/01AB-20270715-T1/waive", url.Values{"_csrf": {lt}}, lika); p.status != http.StatusForbidden ||
		!strings.Contains(p.body, "alleen de distributeur") {
		t.Errorf("a LiKa waives its ticket: %d", p.status)
	}
	closed := cmr.Ticket{ID: "01AB-20270715-T1", CaseID: "01AB-20270715", LiKaID: "lika1", State: cmr.TicketClosed, Version: 2}
	if err := s.store.SaveTicket(ctx, closed, nil); err != nil {
		t.Fatal(err)
	}
	if p := s.do("POST", "/tickets/01AB-20270715-T1/close", url.Values{"_csrf": {lt}, "text": {"nogmaals"}, "from": {"ticket"}}, lika); p.status != http.StatusConflict ||
		!strings.Contains(p.body, "is al afgemeld") {
		t.Errorf("a ticket closed twice: %d %s", p.status, refusalText(p.body))
	}
	if p := s.do("POST", "/tickets/01AB-20270715-T1/waive", url.Values{"_csrf": {token}, "text": {"x"}}, dist); p.status != http.StatusConflict {
		t.Errorf("a closed ticket waived: %d", p.status)
	}
	if len(s.engine.calls) != 0 {
		t.Errorf("the workflow was asked: %+v", s.engine.calls)
	}
}

// refusalText is the page's refusal, for a failure's message.
func refusalText(body string) string {
	if m := regexp.MustCompile(`(?s)class="(?:error|refusal)[^"]*"[^>]*>(.*?)</`).FindStringSubmatch(body); m != nil {
		return strings.TrimSpace(m[1])
	}
	return "(no alert on the page)"
}

// TestRouterErrorsArePages: what the router refuses on a page route (no
// such page, a file or form over its limit) is a page with the reason,
// the pages' security headers and the route's own limit, not JSON.
func TestRouterErrorsArePages(t *testing.T) {
	s := newSite(t, true)
	e := echo.New()
	srv := &web.Server{Store: s.store, Sessions: s.store, Calendar: cmr.DefaultCalendarConfig(), Now: func() time.Time { return s.now },
		Engine: s.engine, Submissions: s.store, Lists: &fakeLists{}}
	if err := srv.Register(e); err != nil {
		t.Fatal(err)
	}
	e.HTTPErrorHandler = srv.ErrorPage
	for _, tc := range []struct {
		method, path string
		length       int64
		status       int
		want         string
	}{
		{"GET", "/nope", 0, 404, "Deze pagina bestaat niet"},
		{"POST", "/cases/01AB-20270715/lists", 90 << 20, 413, "Het bestand is groter dan 40 MB"},
		{"POST", "/cases/01AB-20270715/wordt", 90 << 20, 413, "De exports zijn samen groter dan 80 MB"},
		{"POST", "/logout", 2 << 20, 413, "Het formulier is groter dan 1 MB"},
	} {
		req := httptest.NewRequest(tc.method, "https://cmr.example"+tc.path, strings.NewReader("x"))
		if tc.length > 0 {
			req.ContentLength = tc.length
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.want) || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") ||
			rec.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("%s %s: %d %s %q", tc.method, tc.path, rec.Code, rec.Header().Get("Content-Type"), refusalText(rec.Body.String()))
		}
	}
}

// TestRefusedStepFormKeepsWhatWasTyped: a step refused for its data comes
// back with the form as it was sent, and only that step's form.
func TestRefusedStepFormKeepsWhatWasTyped(t *testing.T) {
	s := newSite(t, true)
	dist := s.signIn("dist")
	token := csrfField.FindStringSubmatch(s.do("GET", "/cases/01AB-20270715", nil, dist).body)[1]
	long := strings.Repeat("realm ", 400) // over 2000 characters
	p := s.do("POST", "/cases/01AB-20270715/steps/plan.identity", url.Values{"_csrf": {token}, "change": {long}}, dist)
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, `name="change" value="`+long+`"`) || len(s.engine.calls) != 0 {
		t.Errorf("refused step: %d, its form not refilled: %s", p.status, refusalText(p.body))
	}
	if again := s.do("GET", "/cases/01AB-20270715", nil, dist); strings.Contains(again.body, long) {
		t.Error("what was typed stays on the next visit")
	}
	if en := s.do("GET", "/cases/01AB-20270715", nil, dist, english); !strings.Contains(en.body, ">What changes (realm, portal, user ID) (required)</label>") {
		t.Error("the step's field is not labelled in English on the English page")
	}
}

// TestTicketShowsItsClosing: the school, the distributor and the LiKa read
// on the ticket page the LiKa's note and the rows it could not process.
func TestTicketShowsItsClosing(t *testing.T) {
	s := newSite(t, true)
	ctx := context.Background()
	lika := cmr.Actor{UserID: s.users["lika1"].ID, OrganisationID: "lika1", Role: cmr.RolePublisher}
	sub, err := s.store.CreateSubmission(ctx, cmr.Submission{CaseID: "01AB-20270715", Kind: "ticket:close", Actor: lika,
		Data: map[string]any{"note": "verwerkt op maandag", "unprocessed": []cmr.UnprocessedRow{{Row: 3, Reason: "leerling onbekend", ListRow: 7}}}})
	if err != nil {
		t.Fatal(err)
	}
	closed := cmr.Ticket{ID: "01AB-20270715-T1", CaseID: "01AB-20270715", LiKaID: "lika1", State: cmr.TicketClosed, SubmissionID: sub, ResolvedBy: &lika, Version: 2}
	if err := s.store.SaveTicket(ctx, closed, nil); err != nil {
		t.Fatal(err)
	}
	for _, org := range []string{"school", "dist", "lika1"} {
		p := s.do("GET", "/tickets/01AB-20270715-T1", nil, s.signIn(org))
		for _, want := range []string{"verwerkt op maandag", "<td>3 (in de lijst van de school: 7)</td><td>leerling onbekend</td>"} {
			if p.status != 200 || !strings.Contains(p.body, want) {
				t.Errorf("%s: %d, want %q on the ticket page", org, p.status, want)
			}
		}
	}
}

// TestLanguageSwitchAfterARefusal: the language link on a refused form's
// page goes back to the page the form was on, not to the home page.
func TestLanguageSwitchAfterARefusal(t *testing.T) {
	s := newSite(t, true)
	dist := s.signIn("dist")
	token := csrfField.FindStringSubmatch(s.do("GET", "/cases/01AB-20270715", nil, dist).body)[1]
	req := httptest.NewRequest("POST", "/cases/01AB-20270715/steps/plan.identity", strings.NewReader(url.Values{"_csrf": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Referer", "http://example.com/cases/01AB-20270715")
	p := s.send(req, dist)
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, `back=%2fcases%2f01AB-20270715"`) {
		t.Errorf("a refused step's language link: %d\n%s", p.status, p.body)
	}
	req = httptest.NewRequest("POST", "/cases/01AB-20270715/steps/plan.identity", strings.NewReader(url.Values{"_csrf": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Referer", "https://elsewhere.example/cases/x")
	if p := s.send(req, dist); !strings.Contains(p.body, `back=%2f"`) {
		t.Error("a foreign referrer is followed")
	}
}

// TestStepDatesOnTheCasePage: a day something was done takes no day after
// today (the form's max, and a refusal in words), and a migration planned
// on or after the deadline shows as a warning on the case page.
func TestStepDatesOnTheCasePage(t *testing.T) {
	s := newSite(t, true)
	ctx := context.Background()
	cs, err := s.store.Case(ctx, gormdb.Viewer{OrganisationID: "dist", Role: cmr.RoleDistributor}, "01AB-20270715")
	if err != nil {
		t.Fatal(err)
	}
	st := cmr.NewCaseState(cs.ID, cs.Sector, cs.Parties, cmr.Procedure(cmr.PlanInput{Sector: cmr.SectorVO, Funding: cmr.FundingELF, Options: cmr.CaseOptions{KeepHistory: true}, WasWordt: cmr.WasWordtSuppliers}), cmr.Actor{UserID: "x", OrganisationID: "dist", Role: cmr.RoleDistributor}, s.now)
	orgOf := map[cmr.Role]string{cmr.RoleSchool: "school", cmr.RoleDistributor: "dist", cmr.RoleKennisnet: "kn"}
	// Up to step 11 done, with step 12 open.
	for key := st.OpenSteps()[0]; key != "12" || slices.Contains(st.OpenSteps(), "11"); key = st.OpenSteps()[0] {
		if key == "12" {
			key = st.OpenSteps()[1]
		}
		d, _ := cmr.FindStep(st.Plan, key)
		a := cmr.Actor{UserID: "x", OrganisationID: orgOf[d.Owner], Role: d.Owner}
		sub := ""
		data := map[string]map[string]any{"10": {"migration_on": "2027-08-02"}, "11": {"row_count": 120.0}}[key]
		if data != nil {
			if sub, err = s.store.CreateSubmission(ctx, cmr.Submission{CaseID: cs.ID, Kind: "step:" + key, Data: data, Actor: a}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := st.Complete(a, key, sub, s.now); err != nil {
			t.Fatalf("step %s: %v", key, err)
		}
	}
	if err := s.store.SaveCase(ctx, cs.CaseHeader, *st, 2, "", nil); err != nil {
		t.Fatal(err)
	}
	school := s.signIn("school")
	p := s.do("GET", "/cases/01AB-20270715", nil, school)
	today := s.now.UTC().Format(cmr.DateLayout) // the case's calendar has no zone: UTC
	if en := s.do("GET", "/cases/01AB-20270715", nil, school, english); !strings.Contains(en.body, `<button type="submit">Complete step 12</button>`) {
		t.Error("the English button of step 12 does not read as an action")
	}
	if !strings.Contains(p.body, `name="done_on" value="" max="`+today+`">`) {
		t.Errorf("step 12's day done has no max:\n%s", p.body)
	}
	if !strings.Contains(p.body, `Stap 10 zette &#34;Datum verhuizing&#34; op 2-8-2027, op of na de uiterste datum van de zaak (1-8-2027)`) {
		t.Errorf("no warning for the migration after the deadline:\n%s", p.body)
	}
	token := csrfField.FindStringSubmatch(p.body)[1]
	calls := len(s.engine.calls)
	late := s.now.AddDate(0, 0, 2).Format(cmr.DateLayout)
	if r := s.do("POST", "/cases/01AB-20270715/steps/12", url.Values{"_csrf": {token}, "done_on": {late}}, school); r.status != http.StatusBadRequest ||
		!strings.Contains(r.body, "Uitgevoerd op: ligt na vandaag") || len(s.engine.calls) != calls {
		t.Errorf("done after today (%s, today %s): %d %s", late, today, r.status, refusalText(r.body))
	}
	// In English the page names the field by its label too, not by the
	// API's name for it.
	if r := s.do("POST", "/cases/01AB-20270715/steps/12", url.Values{"_csrf": {token}, "done_on": {late}}, school, english); r.status != http.StatusBadRequest ||
		!strings.Contains(r.body, "Done on: lies after today") || strings.Contains(r.body, "done_on (") {
		t.Errorf("done after today, in English: %d %s", r.status, refusalText(r.body))
	}

	// A list the school replaced after step 11 is named to the school and
	// the distributor, not to a LiKa.
	lists := &fakeLists{versions: []cmr.ListVersion{
		{ID: "L1", CaseID: cs.ID, Kind: cmr.ListComplete, Version: 1, RowCount: 120, UploadedAt: s.now.Add(-time.Hour)},
		{ID: "L2", CaseID: cs.ID, Kind: cmr.ListComplete, Version: 2, RowCount: 118, UploadedAt: s.now.Add(time.Minute), Current: true}}}
	s.e = echo.New()
	srv := &web.Server{Store: s.store, Sessions: s.store, Calendar: cmr.DefaultCalendarConfig(), DevSignIn: true, Now: func() time.Time { return s.now },
		Engine: s.engine, Submissions: s.store, Lists: lists}
	if err := srv.Register(s.e); err != nil {
		t.Fatal(err)
	}
	const replaced = "De school heeft de was-wordt-lijst vervangen na stap 11"
	for _, org := range []string{"school", "dist", "lika1"} {
		p := s.do("GET", "/cases/01AB-20270715", nil, s.signIn(org))
		if told := strings.Contains(p.body, replaced); told != (org != "lika1") {
			t.Errorf("%s told of the replaced list: %v\n%s", org, told, p.body)
		}
	}
	// The school's lists page says so before it uploads.
	if p := s.do("GET", "/cases/01AB-20270715/lists", nil, school); !strings.Contains(p.body, "Stap 11 is afgerond met een lijst van 120 regels. Een nieuwe versie vervangt die") || !strings.Contains(p.body, `name="file"`) {
		t.Errorf("the school's lists page after step 11:\n%s", p.body)
	}
	// Once step 14 handed the list out, the school gets no upload form.
	for !slices.Contains(st.OpenSteps(), "15") {
		key := st.OpenSteps()[0]
		d, _ := cmr.FindStep(st.Plan, key)
		if _, err := st.Complete(cmr.Actor{UserID: "x", OrganisationID: orgOf[d.Owner], Role: d.Owner}, key, "", s.now); err != nil {
			t.Fatalf("step %s: %v", key, err)
		}
	}
	// (A failed final test in the trail names the steps it sent back, and
	// why it failed, as the school's submission said.)
	sub, err := s.store.CreateSubmission(ctx, cmr.Submission{CaseID: cs.ID, Kind: "step:17", Data: map[string]any{"passed": false, "note": "De <licentiepagina> faalt"}})
	if err != nil {
		t.Fatal(err)
	}
	failed := cmr.Event{Key: "test-failed", CaseID: cs.ID, Type: cmr.EventTestFailed, Step: "17", At: s.now, SubmissionID: sub,
		Details: map[string]any{"reopened": []string{"16", "elf.rollback"}}}
	if err := s.store.SaveCase(ctx, cs.CaseHeader, *st, 3, "", []cmr.Event{failed}); err != nil {
		t.Fatal(err)
	}
	if p := s.do("GET", "/cases/01AB-20270715", nil, school); !strings.Contains(p.body, ", stap 17 (opnieuw te doen: stap 16, Oude portaal draait de pre-match waardes tijdig terug) — reden: De &lt;licentiepagina&gt; faalt ·") {
		t.Errorf("the trail does not name the steps a failed test sent back, nor why:\n%s", p.body)
	}
	if p := s.do("GET", "/cases/01AB-20270715/lists", nil, school); !strings.Contains(p.body, "De lijst is aan de LiKa&#39;s gegeven (stap 14) en kan niet meer worden vervangen") || strings.Contains(p.body, `name="file"`) {
		t.Errorf("the school's lists page after step 14:\n%s", p.body)
	}

	// The final test's form: no answer chosen for the school, and after a
	// refusal the answers it gave, not the first option.
	for _, tp := range st.UnresolvedTickets() {
		st.TicketResolved(tp.ID, cmr.TicketClosed, s.now)
	}
	for !slices.Contains(st.OpenSteps(), "17") {
		key := st.OpenSteps()[0]
		d, _ := cmr.FindStep(st.Plan, key)
		if _, err := st.Complete(cmr.Actor{UserID: "x", OrganisationID: orgOf[d.Owner], Role: d.Owner}, key, "", s.now); err != nil {
			t.Fatalf("step %s: %v", key, err)
		}
	}
	if err := s.store.SaveCase(ctx, cs.CaseHeader, *st, 4, "", nil); err != nil {
		t.Fatal(err)
	}
	if p := s.do("GET", "/cases/01AB-20270715", nil, school); !strings.Contains(p.body, `name="passed"><option value="">kies</option><option value="true">Ja</option>`) {
		t.Errorf("the final test's form chooses an answer:\n%s", p.body)
	}
	calls = len(s.engine.calls)
	r := s.do("POST", "/cases/01AB-20270715/steps/17", url.Values{"_csrf": {token}, "passed": {"false"}, "redo_step": {"12"}, "note": {strings.Repeat("x", 2001)}}, school)
	if r.status != http.StatusBadRequest || len(s.engine.calls) != calls || !strings.Contains(r.body, `<option value="false" selected>Nee</option>`) ||
		!strings.Contains(r.body, `<option value="12" selected>`) || !strings.Contains(r.body, "Toelichting: is langer dan 2000 tekens") {
		t.Errorf("a refused final test forgets its answers: %d %s\n%s", r.status, refusalText(r.body), r.body)
	}
}
