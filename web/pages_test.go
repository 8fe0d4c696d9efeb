package web_test

// Tests of the pages added for the case list, the new-case wizard, the
// was-wordt lists, the ticket page and the language switch, through the
// real Echo router. They reuse the harness of web_test.go (site, do,
// signIn, csrfField, fakeEngine) with a store that holds more cases, and
// fakes for the Opener and the Lists service.

import (
	"bytes"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/casework"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
	"github.com/cmr-idp/cmr/waswordt"
	"github.com/cmr-idp/cmr/web"
	"github.com/cmr-idp/cmr/workflows"
)

// fakeOpener records the cases the wizard asks to open.
type fakeOpener struct {
	inputs []workflows.CaseInput
	err    error
}

func (f *fakeOpener) OpenCase(_ context.Context, in workflows.CaseInput) (workflows.UpdateResult, error) {
	f.inputs = append(f.inputs, in)
	if f.err != nil {
		return workflows.UpdateResult{}, f.err
	}
	return workflows.UpdateResult{Status: cmr.CaseOpen}, nil
}

func (f *fakeOpener) OpenOrAwaitCase(ctx context.Context, in workflows.CaseInput) (workflows.UpdateResult, error) {
	return f.OpenCase(ctx, in)
}

var _ casework.Opener = (*fakeOpener)(nil)

type listUpload struct {
	me       cmr.Actor
	caseID   string
	ticketID string
	data     []byte
	several  bool
}

type listFile struct {
	caseID, name string
	data         []byte
}

type unprocessedCall struct {
	me     cmr.Actor
	ticket cmr.Ticket
	rows   []cmr.UnprocessedRow
}

// fakeLists is the was-wordt list service as the pages see it.
type fakeLists struct {
	versions    []cmr.ListVersion
	uploadErr   error
	uploads     []listUpload
	files       map[string]listFile // list ID → file
	fileKinds   []waswordt.FileKind
	unprocessed []unprocessedCall
	returnErr   error
	returns     []string // ticket IDs
	working     *waswordt.Working
	saveErr     error
	saves       [][]waswordt.RowEdit
}

func (f *fakeLists) CaseLists(_ context.Context, me cmr.Actor, caseID string) ([]cmr.ListVersion, error) {
	if me.Role == cmr.RoleKennisnet { // as api.Server.CaseLists: no part in the lists
		return nil, cmr.Errorf(cmr.KindForbidden, "no lists for Kennisnet").NL("geen lijsten voor Kennisnet")
	}
	var out []cmr.ListVersion
	for _, v := range f.versions {
		if v.CaseID == caseID {
			out = append(out, v)
		}
	}
	return out, nil
}

func (f *fakeLists) UploadCaseList(_ context.Context, me cmr.Actor, caseID, file string, severalRealms bool) (cmr.ListVersion, error) {
	f.uploads = append(f.uploads, listUpload{me: me, caseID: caseID, data: []byte(file), several: severalRealms})
	if f.uploadErr != nil {
		return cmr.ListVersion{}, f.uploadErr
	}
	return cmr.ListVersion{ID: "new", CaseID: caseID, Kind: cmr.ListComplete, Version: 2}, nil
}

func (f *fakeLists) UploadTicketList(_ context.Context, me cmr.Actor, ticketID, file string) (cmr.ListVersion, error) {
	f.uploads = append(f.uploads, listUpload{me: me, ticketID: ticketID, data: []byte(file)})
	return cmr.ListVersion{}, f.uploadErr
}

func (f *fakeLists) ListFile(_ context.Context, _ cmr.Actor, caseID, listID string, kind waswordt.FileKind) (string, []byte, error) {
	f.fileKinds = append(f.fileKinds, kind)
	file, ok := f.files[listID]
	if !ok || file.caseID != caseID {
		return "", nil, cmr.ErrNotFound
	}
	return file.name, file.data, nil
}

func (f *fakeLists) MergedFile(context.Context, cmr.Actor, string, waswordt.FileKind) (string, []byte, error) {
	return "", nil, cmr.ErrNotFound
}

func (f *fakeLists) ReturnList(_ context.Context, _ cmr.Actor, ticketID string) error {
	f.returns = append(f.returns, ticketID)
	return f.returnErr
}

func (f *fakeLists) UnprocessedData(_ context.Context, me cmr.Actor, t cmr.Ticket, rows []cmr.UnprocessedRow) (map[string]any, error) {
	f.unprocessed = append(f.unprocessed, unprocessedCall{me: me, ticket: t, rows: rows})
	for i, r := range rows {
		if r.Row == 999 { // beyond every test list
			return nil, cmr.FieldErrorf(fmt.Sprintf("unprocessed[%d].row", i), "row 999 is not a row of your list").NL("regel 999 is geen regel van uw lijst")
		}
		if r.Row == 998 { // the list could not be read
			return nil, cmr.Errorf(cmr.KindUnavailable, "the database is not answering")
		}
	}
	return map[string]any{"unprocessed": rows}, nil
}

func (f *fakeLists) WordtRows(context.Context, cmr.Actor, string) (waswordt.Working, error) {
	if f.working == nil {
		return waswordt.Working{}, cmr.ErrNotFound
	}
	return *f.working, nil
}

func (f *fakeLists) SaveWordtRows(_ context.Context, _ cmr.Actor, _ string, edits []waswordt.RowEdit, _ bool) (cmr.ListVersion, error) {
	f.saves = append(f.saves, edits)
	return cmr.ListVersion{}, f.saveErr
}

var _ web.Lists = (*fakeLists)(nil)

// namedEngine records the name of every update besides its argument.
type namedEngine struct {
	*fakeEngine
	names []string
}

func (n *namedEngine) Update(ctx context.Context, caseID, name string, arg any) (workflows.UpdateResult, error) {
	n.names = append(n.names, name)
	return n.fakeEngine.Update(ctx, caseID, name, arg)
}

// recordingSubmissions keeps what the pages store before the engine acts.
type recordingSubmissions struct {
	inner web.Submissions
	subs  []cmr.Submission
}

func (r *recordingSubmissions) CreateSubmission(ctx context.Context, sub cmr.Submission) (string, error) {
	r.subs = append(r.subs, sub)
	return r.inner.CreateSubmission(ctx, sub)
}

type pagesSite struct {
	*site
	store  *gormdb.Store
	opener *fakeOpener
	lists  *fakeLists
	names  *namedEngine
	subs   *recordingSubmissions
	// guardErr and guardChecked are the list precheck's answer to
	// every step.
	guardErr     error
	guardChecked casework.Checked
}

const (
	caseVO        = "01AB-20270715" // open, VO, at risk (ticket T1 past its warning)
	caseMBO       = "03EF-20270901" // open, MBO, not at risk
	caseDone      = "01AB-20260701" // completed
	caseForeign   = "09ZZ-20270715" // another distributor's: dist is no party
	ticketOverdue = caseVO + "-T1"  // lika1's
	ticketLika2   = caseVO + "-T2"
)

// newPagesSite serves the pages like newSite, with an Opener and a Lists
// service, over a store with cases of both sectors, one completed, and one
// of another distributor.
func newPagesSite(t *testing.T) *pagesSite {
	t.Helper()
	ctx := context.Background()
	store := gormdbtest.SQLite(t)
	s := &site{t: t, users: map[string]cmr.User{}, now: time.Date(2027, 6, 10, 12, 0, 0, 0, time.UTC)}
	for _, o := range []cmr.Organisation{
		{ID: "school", Name: "Het Lyceum", Role: cmr.RoleSchool, BRIN: "01AB", Sector: cmr.SectorVO},
		{ID: "school2", Name: "Het College", Role: cmr.RoleSchool, BRIN: "02CD", Sector: cmr.SectorVO},
		{ID: "mbo", Name: "ROC Midden", Role: cmr.RoleSchool, BRIN: "03EF", Sector: cmr.SectorMBO},
		{ID: "far", Name: "Verre School", Role: cmr.RoleSchool, BRIN: "09ZZ", Sector: cmr.SectorVO},
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
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	for i, c := range []struct {
		id, school, dist string
		sector           cmr.Sector
		status           cmr.CaseStatus
		switchOn, due    time.Time
		likas            []string
	}{
		{caseVO, "school", "dist", cmr.SectorVO, cmr.CaseOpen, day(2027, 7, 15), day(2027, 8, 1), []string{"lika1", "lika2"}},
		{caseMBO, "mbo", "dist", cmr.SectorMBO, cmr.CaseOpen, day(2027, 9, 1), day(2027, 10, 1), []string{"lika1"}},
		{caseDone, "school", "dist", cmr.SectorVO, cmr.CaseCompleted, day(2026, 7, 1), day(2026, 8, 1), []string{"lika1"}},
		// At risk by its deadline, so it would show in every filter if the
		// party rule leaked.
		{caseForeign, "far", "dist2", cmr.SectorVO, cmr.CaseOpen, day(2027, 7, 15), day(2027, 6, 20), []string{"lika1"}},
	} {
		parties := cmr.Parties{SchoolID: c.school, DistributorID: c.dist, LiKaIDs: c.likas, KennisnetIDs: []string{"kn"}}
		plan := cmr.Procedure(cmr.PlanInput{Sector: c.sector, Funding: cmr.FundingELF, Options: cmr.CaseOptions{KeepHistory: true}, WasWordt: cmr.WasWordtSuppliers})
		st := cmr.NewCaseState(c.id, c.sector, parties, plan, cmr.Actor{UserID: "x", OrganisationID: c.dist, Role: cmr.RoleDistributor}, s.now)
		st.Status = c.status
		h := cmr.CaseHeader{ID: c.id, SchoolID: c.school, DistributorID: c.dist, Sector: c.sector, SwitchOn: c.switchOn, Deadline: c.due, WasWordt: cmr.WasWordtSuppliers}
		if err := store.SaveCase(ctx, h, *st, 1, "", []cmr.Event{{Key: c.id + "-open", CaseID: c.id, Type: cmr.EventCaseOpened, At: s.now.Add(time.Duration(i) * time.Second)}}); err != nil {
			t.Fatal(err)
		}
	}
	past, future := s.now.Add(-time.Hour), s.now.Add(72*time.Hour)
	for i, tk := range []cmr.Ticket{
		{ID: ticketOverdue, CaseID: caseVO, LiKaID: "lika1", State: cmr.TicketOpen, WarnAt: &past, DueAt: &past, Version: 1},
		{ID: ticketLika2, CaseID: caseVO, LiKaID: "lika2", State: cmr.TicketOpen, WarnAt: &future, DueAt: &future, Version: 1},
	} {
		if err := store.SaveTicket(ctx, tk, []cmr.Event{{Key: tk.ID, CaseID: tk.CaseID, TicketID: tk.ID, Type: cmr.EventTicketCreated, At: s.now.Add(time.Duration(i) * time.Second)}}); err != nil {
			t.Fatal(err)
		}
	}
	s.e = echo.New()
	s.engine = &fakeEngine{}
	p := &pagesSite{site: s, store: store, opener: &fakeOpener{}, names: &namedEngine{fakeEngine: s.engine},
		subs: &recordingSubmissions{inner: store},
		lists: &fakeLists{
			versions: []cmr.ListVersion{{ID: "L1", CaseID: caseVO, Kind: cmr.ListComplete, Format: "vo", Version: 1, RowCount: 12, UploadedAt: s.now, Current: true}},
			files:    map[string]listFile{"L1": {caseID: caseVO, name: "wasword-" + caseVO + "-v1", data: []byte("Was;Wordt\r\na;b\r\n")}},
		}}
	srv := &web.Server{Store: store, Calendar: cmr.DefaultCalendarConfig(), DevSignIn: true, Now: func() time.Time { return s.now },
		Engine: p.names, Submissions: p.subs, Opener: p.opener, SLADays: 3, Lists: p.lists,
		Guard: func(context.Context, gormdb.Viewer, cmr.Case, string, map[string]any) (casework.Checked, error) {
			return p.guardChecked, p.guardErr
		}}
	if err := srv.Register(s.e); err != nil {
		t.Fatal(err)
	}
	return p
}

// send serves a request built by the test (headers, multipart bodies).
func (s *site) send(req *http.Request, cookies ...*http.Cookie) page {
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	s.e.ServeHTTP(rec, req)
	return page{status: rec.Code, body: rec.Body.String(), header: rec.Header(), cookie: rec.Result().Cookies()}
}

// token is the session's CSRF token, as every signed-in page carries it.
func (s *site) token(c *http.Cookie) string {
	s.t.Helper()
	p := s.do("GET", "/", nil, c)
	m := csrfField.FindStringSubmatch(p.body)
	if m == nil {
		s.t.Fatalf("no CSRF token on the home page: %d", p.status)
	}
	return m[1]
}

func postForm(path string, form url.Values, headers map[string]string) *http.Request {
	req := httptest.NewRequest("POST", "https://cmr.example"+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return req
}

// upload is a multipart form with the fields and a file part named "file".
func upload(t *testing.T, path string, fields map[string]string, data []byte) *http.Request {
	t.Helper()
	var parts []formPart
	for k, v := range fields {
		parts = append(parts, fieldPart(k, v))
	}
	return multipartForm(t, path, append(parts, formPart{name: "file", filename: "lijst.csv", data: data})...)
}

var english = &http.Cookie{Name: "cmr-lang", Value: "en"}

// caseLink is how the case list links a case.
func caseLink(id string) string { return `href="/cases/` + id + `"` }

// rowOf is the table row of the case list that links the case, or "".
func rowOf(body, id string) string {
	for _, chunk := range strings.Split(body, "<tr")[1:] {
		if strings.Contains(chunk, caseLink(id)) {
			chunk, _, _ = strings.Cut(chunk, "</tr>")
			return chunk
		}
	}
	return ""
}

// voForm is a supported VO switch: scenario 3, Magister to itslearning.
func voForm(school, token string) url.Values {
	return url.Values{"_csrf": {token}, "school": {school}, "from_quadrant": {"1"}, "from_idp": {"Magister"},
		"to_quadrant": {"1"}, "to_idp": {"itslearning"}, "switch_on": {"2027-07-15"}, "requested_on": {"2026-11-22"}}
}

func TestWizardSteps(t *testing.T) {
	s := newPagesSite(t)
	dist := s.signIn("dist")

	// Step 1 searches the directory (thousands of schools) instead of
	// listing it.
	step1 := s.do("GET", "/cases/new", nil, dist)
	if step1.status != 200 || !strings.Contains(step1.body, `<input id="f-school" name="q" type="search"`) || strings.Contains(step1.body, "Het Lyceum") {
		t.Fatalf("step 1: %d\n%s", step1.status, step1.body)
	}
	if strings.Contains(step1.body, `name="from_quadrant"`) || strings.Contains(step1.body, `name="from_eck"`) {
		t.Error("step 1 already shows the switch")
	}
	// Part of a name: the schools that match, linked to step 2.
	found := s.do("GET", "/cases/new?q=het", nil, dist)
	for _, school := range []string{`href="/cases/new?school=school">Het Lyceum (01AB, VO)`, `href="/cases/new?school=school2">Het College (02CD, VO)`} {
		if !strings.Contains(found.body, school) {
			t.Errorf("a search for het does not offer %s", school)
		}
	}
	if strings.Contains(found.body, "ROC Midden") || strings.Contains(found.body, `name="from_quadrant"`) {
		t.Errorf("a search for het: %d\n%s", found.status, found.body)
	}
	// An ID or a BRIN, in any case: straight to step 2.
	for _, q := range []string{"02cd", "school2", " 02CD "} {
		if p := s.do("GET", "/cases/new?q="+url.QueryEscape(q), nil, dist); p.status != http.StatusSeeOther || p.header.Get("Location") != "/cases/new?school=school2" {
			t.Errorf("q=%q: %d to %s", q, p.status, p.header.Get("Location"))
		}
	}
	// Nothing found, or a search with LIKE's wildcards (taken literally).
	for _, q := range []string{"gymnasium", "%", "_"} {
		if p := s.do("GET", "/cases/new?q="+url.QueryEscape(q), nil, dist); p.status != 200 || !strings.Contains(p.body, "Geen school gevonden.") || strings.Contains(p.body, "Het Lyceum") {
			t.Errorf("q=%q: %d", q, p.status)
		}
	}

	for _, org := range []string{"school", "lika1", "kn"} {
		c := s.signIn(org)
		if p := s.do("GET", "/cases/new?q=het", nil, c); p.status != http.StatusNotFound || strings.Contains(p.body, `id="f-school"`) || strings.Contains(p.body, "Gevonden scholen") {
			t.Errorf("%s opens the wizard: %d", org, p.status)
		}
		if p := s.do("POST", "/cases", voForm("school2", s.token(c)), c); p.status != http.StatusNotFound {
			t.Errorf("%s posts a new case: %d", org, p.status)
		}
	}
	if len(s.opener.inputs) != 0 {
		t.Errorf("a non-distributor opened a case: %+v", s.opener.inputs)
	}

	vo := s.do("GET", "/cases/new?school=school", nil, dist)
	for _, want := range []string{`name="from_quadrant"`, `name="to_quadrant"`, `name="from_idp"`, `name="to_idp"`, `<input type="hidden" name="school" value="school">`,
		`Het Lyceum (01AB, VO)`, `value="lika1"`, `value="lika2"`, `<option value="Magister">`, `name="requested_on" value="2027-06-10"`,
		// Keeping the learning history (and so the list) is the default.
		`name="keep_history" value="true" checked`} {
		if !strings.Contains(vo.body, want) {
			t.Errorf("VO step 2 lacks %s", want)
		}
	}
	if vo.status != 200 || strings.Contains(vo.body, `name="from_eck"`) || strings.Contains(vo.body, `name="list_opens_on"`) {
		t.Errorf("VO step 2 shows MBO fields: %d", vo.status)
	}

	mbo := s.do("GET", "/cases/new?school=mbo", nil, dist)
	for _, want := range []string{`name="from_eck"`, `name="from_kind"`, `name="to_eck"`, `name="to_kind"`, `name="list_opens_on"`, `<option value="elo">ELO/portaal met eigen IdP</option>`} {
		if !strings.Contains(mbo.body, want) {
			t.Errorf("MBO step 2 lacks %s", want)
		}
	}
	if mbo.status != 200 || strings.Contains(mbo.body, `name="from_quadrant"`) {
		t.Errorf("MBO step 2 shows VO fields: %d", mbo.status)
	}
	// Whether a side has ECK iD is asked, not assumed.
	if !strings.Contains(mbo.body, `<select id="f-from-eck" name="from_eck">
      <option value="">kies</option>`) {
		t.Errorf("MBO step 2 assumes ECK iD:\n%s", mbo.body)
	}
	token := s.token(dist)
	noECK := url.Values{"_csrf": {token}, "school": {"mbo"}, "from_kind": {"elo"}, "to_eck": {"true"}, "to_kind": {"elo"}, "switch_on": {"2027-07-15"}}
	if p := s.do("POST", "/cases", noECK, dist); p.status != http.StatusBadRequest || !strings.Contains(p.body, "Van: ECK iD: is verplicht: ja (ECK iD) of nee (activeringscodes)") ||
		!regexp.MustCompile(`id="f-from-eck"[^>]*aria-invalid="true"`).MatchString(p.body) || len(s.opener.inputs) != 0 {
		t.Errorf("an MBO side without its ECK iD: %d %s", p.status, refusalText(p.body))
	}
	// Every field of both sides at once, and in English as the page
	// words them (not the API's values).
	nothing := url.Values{"_csrf": {token}, "school": {"mbo"}, "switch_on": {"2027-07-15"}}
	if p := s.do("POST", "/cases", nothing, dist); p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, "Van: ECK iD: is verplicht") || !strings.Contains(p.body, "Naar: ECK iD: is verplicht") ||
		!strings.Contains(p.body, "Van: soort IdP: is verplicht") || !strings.Contains(p.body, "Naar: soort IdP: is verplicht") {
		t.Errorf("an MBO form with nothing chosen: %d %s", p.status, refusalText(p.body))
	}
	if p := s.do("POST", "/cases", nothing, dist, english); !strings.Contains(p.body, "From: kind of IdP: is required: choose ELO/portal with its own IdP") ||
		!strings.Contains(p.body, "To: kind of IdP: is required: choose ELO/portal") || strings.Contains(refusalText(p.body), "distributor_portal") {
		t.Errorf("in English: %s", refusalText(p.body))
	}

	unknown := s.do("GET", "/cases/new?school=nope", nil, dist)
	if !strings.Contains(unknown.body, "Deze school is niet gevonden; zoek de school opnieuw.") || strings.Contains(unknown.body, `name="from_quadrant"`) {
		t.Errorf("an unknown school: %d", unknown.status)
	}
}

func TestScenarioCheck(t *testing.T) {
	s := newPagesSite(t)
	dist := s.signIn("dist")
	token := s.token(dist)
	htmx := map[string]string{"HX-Request": "true"}

	ok := s.send(postForm("/cases/new/check", voForm("school", token), htmx), dist)
	if ok.status != 200 || strings.Contains(ok.body, "<html") || strings.Contains(ok.body, `name="from_quadrant"`) {
		t.Fatalf("htmx check: want only the fragment: %d\n%s", ok.status, ok.body)
	}
	for _, want := range []string{`id="outcome"`, "Dit kan als zaak.", "de leveranciers", "Beschreven scenario"} {
		if !strings.Contains(ok.body, want) {
			t.Errorf("check fragment lacks %q:\n%s", want, ok.body)
		}
	}
	if strings.Contains(ok.body, "Kon niet controleren") {
		t.Error("a supported scenario is reported as a problem")
	}

	bad := voForm("school", token)
	bad.Set("from_idp", "Plaatjesboek")
	p := s.send(postForm("/cases/new/check", bad, htmx), dist)
	if p.status != 200 || strings.Contains(p.body, "<html") || !strings.Contains(p.body, "Kon niet controleren") ||
		!strings.Contains(p.body, "Van: IdP: onbekende IdP") || strings.Contains(p.body, `id="outcome"`) {
		t.Errorf("unknown IdP: %d\n%s", p.status, p.body)
	}

	// A request date after today is refused by the live check, in words
	// (the field has no max, which would stop htmx sending the check).
	later := voForm("school", token)
	later.Set("requested_on", "2027-06-11") // the site's today is 10 June 2027
	if p := s.send(postForm("/cases/new/check", later, htmx), dist); !strings.Contains(p.body, "Aanvraag gedaan op: 11-06-2027 ligt na vandaag (10-06-2027): vul de dag in waarop de school het vroeg") {
		t.Errorf("a request after today: %s", p.body)
	}

	unsupported := voForm("school", token)
	unsupported.Set("to_quadrant", "3") // ELF to ILF
	if p := s.send(postForm("/cases/new/check", unsupported, htmx), dist); !strings.Contains(p.body, "Dit kan niet als zaak.") {
		t.Errorf("ELF to ILF: %s", p.body)
	}

	en := s.send(postForm("/cases/new/check", voForm("school", token), htmx), dist, english)
	if !strings.Contains(en.body, "This can be handled as a case.") || strings.Contains(en.body, "Dit kan als zaak.") {
		t.Errorf("English check: %s", en.body)
	}

	// Without JavaScript the whole form comes back, filled in and checked.
	full := s.send(postForm("/cases/new/check", voForm("school", token), nil), dist)
	for _, want := range []string{"<html", `id="outcome"`, "Dit kan als zaak.", `name="from_quadrant"`, `value="Magister"`, `value="2027-07-15"`} {
		if full.status != 200 || !strings.Contains(full.body, want) {
			t.Errorf("check without htmx lacks %q: %d", want, full.status)
		}
	}

	if p := s.send(postForm("/cases/new/check", url.Values{"school": {"school"}}, htmx), dist); p.status != http.StatusForbidden {
		t.Errorf("check without the CSRF token: %d", p.status)
	}
	if len(s.opener.inputs) != 0 {
		t.Error("the check opened a case")
	}
}

func TestOpenCase(t *testing.T) {
	s := newPagesSite(t)
	dist := s.signIn("dist")
	token := s.token(dist)

	noToken := voForm("school2", token)
	noToken.Del("_csrf")
	noToken["likas"] = []string{"lika1"}
	if p := s.do("POST", "/cases", noToken, dist); p.status != http.StatusForbidden || len(s.opener.inputs) != 0 {
		t.Errorf("open without the CSRF token: %d, %d opened", p.status, len(s.opener.inputs))
	}

	noLiKa := voForm("school2", token)
	p := s.do("POST", "/cases", noLiKa, dist)
	if p.status != http.StatusBadRequest || len(s.opener.inputs) != 0 {
		t.Fatalf("open without a LiKa: %d, %d opened", p.status, len(s.opener.inputs))
	}
	if !strings.Contains(p.body, `id="problem"`) || !strings.Contains(p.body, "kies ten minste één LiKa") {
		t.Errorf("the problem is not shown:\n%s", p.body)
	}
	if !strings.Contains(p.body, `<fieldset class="span" aria-invalid="true" aria-describedby="problem">`) {
		t.Error("the LiKa fieldset is not marked invalid")
	}
	if strings.Contains(p.body, `id="f-from-idp" name="from_idp" list="idps" value="Magister" aria-invalid`) || !strings.Contains(p.body, `value="Magister"`) {
		t.Error("the form is not refilled, or a valid field is marked invalid")
	}

	// Fields at fault together are named together, each marked.
	several := voForm("school2", token)
	several.Del("from_quadrant")
	several.Set("to_quadrant", "x")
	several.Set("requested_on", "1-3-2027")
	p = s.do("POST", "/cases", several, dist)
	if p.status != http.StatusBadRequest || len(s.opener.inputs) != 0 ||
		!strings.Contains(p.body, "Van: kwadrant: is verplicht voor VO: 1, 2, 3 of 4; Naar: kwadrant: moet 1, 2, 3 of 4 zijn; Aanvraag gedaan op: moet een datum") ||
		!strings.Contains(p.body, "LiKa&#39;s: kies ten minste één LiKa") { // the opening's check, with the form's
		t.Errorf("several fields at fault: %d\n%s", p.status, refusalText(p.body))
	}
	for _, id := range []string{"f-from-quadrant", "f-to-quadrant", "f-requested"} {
		if !regexp.MustCompile(`id="` + id + `"[^>]*aria-invalid="true"`).MatchString(p.body) {
			t.Errorf("%s is not marked invalid", id)
		}
	}

	// The opening's own rules join them: a switch date left out, a
	// request date after today.
	rules := voForm("school2", token)
	rules.Set("to_quadrant", "x")
	rules.Set("from_idp", "")
	rules.Del("switch_on")
	rules.Set("requested_on", "2027-06-11")
	p = s.do("POST", "/cases", rules, dist)
	if p.status != http.StatusBadRequest || len(s.opener.inputs) != 0 ||
		!strings.Contains(p.body, "Naar: kwadrant: moet 1, 2, 3 of 4 zijn; Van: IdP: is verplicht bij kwadrant 1: kies uit ") || !strings.Contains(p.body, "Geplande overstapdatum: is verplicht: de geplande overstapdatum; Aanvraag gedaan op: 11-06-2027 ligt na vandaag") {
		t.Errorf("the opening's rules, together: %d\n%s", p.status, refusalText(p.body))
	}
	for _, id := range []string{"f-to-quadrant", "f-from-idp", "f-switch", "f-requested"} {
		if !regexp.MustCompile(`id="` + id + `"[^>]*aria-invalid="true"`).MatchString(p.body) {
			t.Errorf("%s is not marked invalid", id)
		}
	}

	form := voForm("school2", token)
	form["likas"] = []string{"lika1", "lika2"}
	form.Set("keep_history", "true")
	p = s.do("POST", "/cases", form, dist)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/cases/02CD-20270715" {
		t.Fatalf("open: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	if len(s.opener.inputs) != 1 {
		t.Fatalf("opener called %d times", len(s.opener.inputs))
	}
	in := s.opener.inputs[0]
	if in.Header.ID != "02CD-20270715" || in.Header.SchoolID != "school2" || in.Header.DistributorID != "dist" || in.Header.SLADays != 3 ||
		in.Header.Scenario.From.IdP != "Magister" || in.Header.Scenario.To.IdP != "itslearning" || !in.Header.Options.KeepHistory ||
		!slices.Equal(in.Parties.LiKaIDs, []string{"lika1", "lika2"}) || !slices.Equal(in.Parties.KennisnetIDs, []string{"kn"}) ||
		in.OpenedBy.OrganisationID != "dist" || in.Header.RequestedOn.Format(cmr.DateLayout) != "2026-11-22" {
		t.Errorf("case input: %+v", in)
	}

	// The school already has an open case: the form asks whether another
	// is meant, linking the open one, and opens nothing.
	again := voForm("school", token)
	again["likas"] = []string{"lika1"}
	p = s.do("POST", "/cases", again, dist)
	if p.status != http.StatusConflict || len(s.opener.inputs) != 1 ||
		!strings.Contains(p.body, "Het Lyceum heeft al een lopende zaak bij u: "+caseVO+" (overstap op 15-7-2027)") ||
		!strings.Contains(p.body, `<a href="/cases/`+caseVO+`">`+caseVO+`</a>`) || !strings.Contains(p.body, `name="another_case" value="true"`) {
		t.Fatalf("second case for the school: %d, %d opened\n%s", p.status, len(s.opener.inputs), p.body)
	}
	if strings.Contains(s.do("POST", "/cases", voForm("school2", token), dist).body, `name="another_case"`) {
		t.Error("the confirmation is offered on another refusal")
	}
	// Ticked, then refused for something else: it stays ticked.
	refusedAgain := voForm("school", token)
	refusedAgain.Set("another_case", "true")
	if p := s.do("POST", "/cases", refusedAgain, dist); p.status != http.StatusBadRequest || !strings.Contains(p.body, `name="another_case" value="true" checked`) {
		t.Errorf("the confirmation after another refusal: %d", p.status)
	}
	// Confirmed: the next one that day gets a suffix.
	again.Set("another_case", "true")
	if p := s.do("POST", "/cases", again, dist); p.status != http.StatusSeeOther || p.header.Get("Location") != "/cases/"+caseVO+"-2" {
		t.Errorf("second case on a day: %d %q", p.status, p.header.Get("Location"))
	}

	unsupported := voForm("school2", token)
	unsupported["likas"] = []string{"lika1"}
	unsupported.Set("to_quadrant", "3")
	if p := s.do("POST", "/cases", unsupported, dist); p.status != http.StatusBadRequest || !strings.Contains(p.body, "Scenario: deze overstap kan niet als zaak worden behandeld") || len(s.opener.inputs) != 2 {
		t.Errorf("unsupported scenario: %d, %d opened", p.status, len(s.opener.inputs))
	}
	if p := s.do("POST", "/cases", url.Values{"_csrf": {token}, "school": {"nope"}}, dist); p.status != http.StatusBadRequest || !strings.Contains(p.body, "Deze school is niet gevonden; zoek de school opnieuw.") {
		t.Errorf("unknown school: %d", p.status)
	}
}

// TestOpenCaseSentTwice: the wizard's form carries a key of its own, so
// the same form sent twice (a double click, a resend after a timeout)
// opens one case; a changed form is a new request.
func TestOpenCaseSentTwice(t *testing.T) {
	s := newPagesSite(t)
	dist := s.signIn("dist")
	token := s.token(dist)

	step2 := s.do("GET", "/cases/new?school=school2", nil, dist)
	m := regexp.MustCompile(`<input type="hidden" name="opening_key" value="([^"]{20,})">`).FindStringSubmatch(step2.body)
	if step2.status != 200 || m == nil {
		t.Fatalf("the wizard's form has no opening key: %d\n%s", step2.status, step2.body)
	}
	if again := s.do("GET", "/cases/new?school=school2", nil, dist); strings.Contains(again.body, m[1]) {
		t.Error("two renderings of the form share their opening key")
	}

	form := voForm("school2", token)
	form["likas"] = []string{"lika1"}
	form.Set("opening_key", m[1])
	first := s.do("POST", "/cases", form, dist)
	second := s.do("POST", "/cases", form, dist)
	if first.status != http.StatusSeeOther || second.status != http.StatusSeeOther || first.header.Get("Location") != "/cases/02CD-20270715" ||
		second.header.Get("Location") != first.header.Get("Location") {
		t.Fatalf("the same form twice: %d %q, %d %q", first.status, first.header.Get("Location"), second.status, second.header.Get("Location"))
	}
	if len(s.opener.inputs) != 2 || s.opener.inputs[1].Header.ID != s.opener.inputs[0].Header.ID {
		t.Errorf("the second send did not resume the first opening: %+v", s.opener.inputs)
	}

	form.Set("keep_history", "true")
	if p := s.do("POST", "/cases", form, dist); p.status != http.StatusSeeOther || p.header.Get("Location") != "/cases/02CD-20270715-2" {
		t.Errorf("a changed form with the old key: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
}

// distCases saves n open VO cases of dist's for school2, 02CD-2028nnnn,
// each opened and due when at(i) says; it returns their IDs.
func (s *pagesSite) distCases(n int, at func(i int) (opened, deadline time.Time)) []string {
	s.t.Helper()
	parties := cmr.Parties{SchoolID: "school2", DistributorID: "dist", LiKaIDs: []string{"lika1"}, KennisnetIDs: []string{"kn"}}
	plan := cmr.Procedure(cmr.PlanInput{Sector: cmr.SectorVO, Funding: cmr.FundingELF, Options: cmr.CaseOptions{KeepHistory: true}, WasWordt: cmr.WasWordtSuppliers})
	var ids []string
	for i := range n {
		id := fmt.Sprintf("02CD-2028%04d", i)
		ids = append(ids, id)
		opened, deadline := at(i)
		st := cmr.NewCaseState(id, cmr.SectorVO, parties, plan, cmr.Actor{UserID: "x", OrganisationID: "dist", Role: cmr.RoleDistributor}, opened)
		h := cmr.CaseHeader{ID: id, SchoolID: "school2", DistributorID: "dist", Sector: cmr.SectorVO,
			SwitchOn: time.Date(2028, 7, 1, 0, 0, 0, 0, time.UTC), Deadline: deadline, WasWordt: cmr.WasWordtSuppliers}
		if err := s.store.SaveCase(context.Background(), h, *st, 1, "", nil); err != nil {
			s.t.Fatal(err)
		}
	}
	return ids
}

// TestCaseListPages: the case list shows 100 cases a page with a link to
// the next, and searching finds a case however old it is.
func TestCaseListPages(t *testing.T) {
	s := newPagesSite(t)
	dist := s.signIn("dist")
	ids := s.distCases(120, func(int) (time.Time, time.Time) { return s.now, time.Date(2028, 8, 1, 0, 0, 0, 0, time.UTC) })
	rows := func(p page) int { return strings.Count(p.body, `<td><a href="/cases/`) }
	first := s.do("GET", "/cases", nil, dist)
	m := regexp.MustCompile(`<a href="(/cases\?[^"]*after=[^"]+)" rel="next">Volgende pagina</a>`).FindStringSubmatch(first.body)
	if first.status != 200 || rows(first) != 100 || m == nil || strings.Contains(first.body, "Eerste pagina") {
		t.Fatalf("first page: %d, %d rows, next link %v", first.status, rows(first), m)
	}
	// 120 new open cases and the two open ones from before: 22 on page 2.
	second := s.do("GET", html.UnescapeString(m[1]), nil, dist)
	if second.status != 200 || rows(second) != 22 || strings.Contains(second.body, `rel="next"`) || !strings.Contains(second.body, "Eerste pagina") {
		t.Fatalf("second page: %d, %d rows\n%s", second.status, rows(second), second.body)
	}
	for _, id := range ids {
		if strings.Contains(first.body, caseLink(id)) == strings.Contains(second.body, caseLink(id)) {
			t.Errorf("case %s on both pages or on neither", id)
		}
	}
	// The oldest case is on the last page, yet a search finds it; a search
	// with a LIKE wildcard finds nothing.
	if p := s.do("GET", "/cases?q="+ids[0], nil, dist); rows(p) != 1 || !strings.Contains(p.body, caseLink(ids[0])) {
		t.Errorf("search for %s: %d rows", ids[0], rows(p))
	}
	if p := s.do("GET", "/cases?status=&q=%25", nil, dist); rows(p) != 0 {
		t.Errorf("search for %%: %d rows", rows(p))
	}
	if p := s.do("GET", "/cases?q=het+college", nil, dist); rows(p) != 100 {
		t.Errorf("search by school name: %d rows", rows(p))
	}
	if p := s.do("GET", "/cases?after=garbage", nil, dist); p.status != 200 || rows(p) != 100 {
		t.Errorf("a broken page link: %d, %d rows", p.status, rows(p))
	}
}

func TestCaseList(t *testing.T) {
	s := newPagesSite(t)
	dist := s.signIn("dist")
	list := func(query string, c ...*http.Cookie) page {
		t.Helper()
		p := s.do("GET", "/cases"+query, nil, c...)
		if p.status != 200 {
			t.Fatalf("/cases%s: %d", query, p.status)
		}
		if strings.Contains(p.body, caseForeign) || strings.Contains(p.body, "(09ZZ)") || strings.Contains(p.body, "Verre School") {
			t.Errorf("/cases%s shows another distributor's case or school", query)
		}
		return p
	}
	shows := func(query string, want ...string) {
		t.Helper()
		p := list(query, dist)
		for _, id := range []string{caseVO, caseMBO, caseDone} {
			if got := strings.Contains(p.body, caseLink(id)); got != slices.Contains(want, id) {
				t.Errorf("/cases%s: shows %s %v, want %v", query, id, got, !got)
			}
		}
		if len(want) == 0 && !strings.Contains(p.body, "Geen zaken gevonden met deze filters.") {
			t.Errorf("/cases%s: no empty-list message", query)
		}
	}
	shows("", caseVO, caseMBO)
	shows("?status=open", caseVO, caseMBO)
	shows("?status=completed", caseDone)
	shows("?status=", caseVO, caseMBO, caseDone)
	shows("?status=bogus", caseVO, caseMBO)
	shows("?status=&sector=MBO", caseMBO)
	shows("?status=&sector=VO", caseVO, caseDone)
	shows("?status=&q=lyceum", caseVO, caseDone)
	shows("?q=roc+midden", caseMBO)
	shows("?status=&q=01ab-2026", caseDone)
	// A completed case looked up by its number with the default status:
	// found among all cases, and said so.
	shows("?status=open&q="+caseDone, caseDone)
	if p := list("?status=open&q="+caseDone, dist); !strings.Contains(p.body, "Niets gevonden met deze status") || !strings.Contains(p.body, `<option value="" selected>`) {
		t.Error("the widened search does not say so, or does not show the status it used")
	}
	shows("?status=open&q=09ZZ")
	shows("?status=&q=03EF", caseMBO)
	shows("?status=&q=09ZZ")
	shows("?status=&q=Verre")
	shows("?status=&school=school", caseVO, caseDone)
	shows("?status=&school=far")
	shows("?at_risk=true", caseVO)
	shows("?status=&at_risk=true", caseVO)

	p := list("", dist)
	if row := rowOf(p.body, caseVO); !strings.Contains(row, `class="risk"`) || !strings.Contains(row, "risico") || !strings.Contains(row, "Het Lyceum") {
		t.Errorf("the at-risk case's row: %q", row)
	}
	if row := rowOf(p.body, caseMBO); strings.Contains(row, "risk") || !strings.Contains(row, "ROC Midden") {
		t.Errorf("the MBO case's row: %q", row)
	}
	if !strings.Contains(p.body, `<a class="button" href="/cases/new">`) || !strings.Contains(p.body, `<option value="open" selected>`) {
		t.Error("the distributor's list lacks the new-case button or the default status")
	}
	filled := list("?status=completed&sector=VO&q=lyceum&at_risk=true", dist)
	for _, want := range []string{`<option value="completed" selected>`, `<option value="VO" selected>`, `name="q" value="lyceum"`, `name="at_risk" value="true" checked`} {
		if !strings.Contains(filled.body, want) {
			t.Errorf("the filter form is not refilled: lacks %s", want)
		}
	}

	// Another distributor sees only its own case; a LiKa only the cases it
	// is a party to.
	if p := s.do("GET", "/cases?status=", nil, s.signIn("dist2")); !strings.Contains(p.body, caseLink(caseForeign)) || strings.Contains(p.body, caseLink(caseVO)) {
		t.Errorf("dist2's case list:\n%s", p.body)
	}
	lika2 := list("?status=", s.signIn("lika2"))
	if !strings.Contains(lika2.body, caseLink(caseVO)) || strings.Contains(lika2.body, caseLink(caseMBO)) || strings.Contains(lika2.body, `href="/cases/new"`) {
		t.Errorf("lika2's case list:\n%s", lika2.body)
	}
}

func TestListsPage(t *testing.T) {
	s := newPagesSite(t)
	school := s.signIn("school")
	lists := "/cases/" + caseVO + "/lists"

	p := s.do("GET", lists, nil, school)
	if p.status != 200 || !strings.Contains(p.body, `action="`+lists+`" enctype="multipart/form-data"`) || !strings.Contains(p.body, `name="file"`) {
		t.Fatalf("the school's lists page has no upload form: %d\n%s", p.status, p.body)
	}
	if !strings.Contains(p.body, `href="`+lists+`/L1?type=csv"`) || !strings.Contains(p.body, "volledige lijst") || strings.Contains(p.body, "De lijst is opgeslagen.") {
		t.Error("the versions are not listed, or the page says a list was stored")
	}
	kn := s.do("GET", lists, nil, s.signIn("kn"))
	if kn.status != http.StatusForbidden || strings.Contains(kn.body, "multipart/form-data") || strings.Contains(kn.body, `name="file"`) {
		t.Errorf("Kennisnet gets an upload form, or is not told it sees no lists: %d", kn.status)
	}
	if p := s.do("GET", "/cases/"+caseDone+"/lists", nil, school); p.status != 200 || strings.Contains(p.body, "multipart/form-data") {
		t.Errorf("an upload form on a completed case: %d", p.status)
	}
	if p := s.do("GET", "/cases/"+caseForeign+"/lists", nil, school); p.status != 404 || strings.Contains(p.body, caseForeign) {
		t.Errorf("another school's lists: %d", p.status)
	}

	token := s.token(school)
	data := []byte("Was;Wordt\r\nx;y\r\n")
	refusal := &cmr.Error{Kind: cmr.KindInvalid, Field: "file", Message: "the list has problems",
		Details: map[string]any{"problems": []waswordt.Problem{{Row: 3, Column: "F", Code: "empty", NL: "Deze cel is leeg", EN: "This cell is empty"}}, "more": 0}}
	s.lists.uploadErr = refusal
	refused := s.send(upload(t, lists, map[string]string{"_csrf": token}, data), school)
	if refused.status != http.StatusUnprocessableEntity || !strings.Contains(refused.body, "<tr><td>3</td><td>F</td><td>Deze cel is leeg</td></tr>") {
		t.Fatalf("refused list: %d\n%s", refused.status, refused.body)
	}
	if !strings.Contains(refused.body, "De lijst is niet opgeslagen.") || !strings.Contains(refused.body, `aria-invalid="true" aria-describedby="upload-problems"`) ||
		strings.Contains(refused.body, "This cell is empty") || strings.Contains(refused.body, "en nog") {
		t.Errorf("refused list page:\n%s", refused.body)
	}
	if len(s.lists.uploads) != 1 || !bytes.Equal(s.lists.uploads[0].data, data) || s.lists.uploads[0].caseID != caseVO ||
		s.lists.uploads[0].me.OrganisationID != "school" || s.lists.uploads[0].several {
		t.Errorf("upload passed on: %+v", s.lists.uploads)
	}
	en := s.send(upload(t, lists, map[string]string{"_csrf": token, "several_realms": "true"}, data), school, english)
	if en.status != http.StatusUnprocessableEntity || !strings.Contains(en.body, "<td>This cell is empty</td>") || strings.Contains(en.body, "Deze cel is leeg") ||
		!strings.Contains(en.body, `<html lang="en">`) {
		t.Errorf("refused list in English: %d\n%s", en.status, en.body)
	}
	if len(s.lists.uploads) != 2 || !s.lists.uploads[1].several {
		t.Error("several_realms is not passed on")
	}
	if !strings.Contains(en.body, `name="several_realms" value="true" checked>`) || strings.Contains(refused.body, `value="true" checked>`) {
		t.Error("the refused upload's form does not keep \"several realms\" as it was sent")
	}

	// The store returns a list refused across its rows (its checks ran
	// while it was written) wrapped with what it was doing: the same table.
	s.lists.uploadErr = fmt.Errorf("save list: %w", refusal)
	if p := s.send(upload(t, lists, map[string]string{"_csrf": token}, data), school); p.status != http.StatusUnprocessableEntity ||
		!strings.Contains(p.body, "<tr><td>3</td><td>F</td><td>Deze cel is leeg</td></tr>") {
		t.Errorf("refused list, wrapped: %d\n%s", p.status, p.body)
	}

	// A refusal without a problem table shows its message at the field.
	s.lists.uploadErr = cmr.FieldErrorf("file", "is not a list")
	if p := s.send(upload(t, lists, map[string]string{"_csrf": token}, data), school); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "Bestand: is not a list") {
		t.Errorf("refusal without problems: %d", p.status)
	}

	if p := s.send(upload(t, lists, nil, data), school); p.status != http.StatusForbidden || len(s.lists.uploads) != 4 {
		t.Errorf("upload without the CSRF token: %d, %d uploads", p.status, len(s.lists.uploads))
	}
	if p := s.send(upload(t, "/cases/"+caseForeign+"/lists", map[string]string{"_csrf": token}, data), school); p.status != 404 || len(s.lists.uploads) != 4 {
		t.Errorf("upload to another school's case: %d, %d uploads", p.status, len(s.lists.uploads))
	}

	s.lists.uploadErr = nil
	ok := s.send(upload(t, lists, map[string]string{"_csrf": token}, data), school)
	if ok.status != http.StatusSeeOther || ok.header.Get("Location") != lists+"?stored=1" {
		t.Fatalf("stored list: %d %q", ok.status, ok.header.Get("Location"))
	}
	if p := s.do("GET", ok.header.Get("Location"), nil, school); p.status != 200 || !strings.Contains(p.body, "De lijst is opgeslagen.") {
		t.Errorf("after the upload: %d", p.status)
	}
}

// A return the list service refuses because the completed list leaves out
// rows of the publisher's part shows those rows, by row and column, at the
// ticket, below the refusal's sentence.
func TestReturnListRefused(t *testing.T) {
	s := newPagesSite(t)
	ticket := seedMBOTicket(t, s)
	dist := s.signIn("dist")
	token := s.token(dist)
	path := "/tickets/" + ticket + "/return"
	if p := s.do("GET", "/cases/"+caseMBO, nil, dist); !strings.Contains(p.body, `action="`+path+`"`) {
		t.Fatalf("the case page has no return form for the distributor: %d", p.status)
	}

	s.lists.returnErr = &cmr.Error{Kind: cmr.KindConflict, Field: "list",
		Message:   "the completed list leaves out or changes 2 row(s) the publisher supplied",
		MessageNL: "de aangevulde lijst mist 2 regel(s) die de uitgever aanleverde, of wijzigde ze",
		Details: map[string]any{"more": 3, "problems": []waswordt.Problem{
			{Row: 4, Code: "missing_row", NL: "Deze regel van de uitgever ontbreekt.", EN: "This row of the publisher is missing."},
			{Row: 9, Column: "Wordt", Code: "changed_row", NL: "Deze regel is gewijzigd.", EN: "This row was changed."}}}}
	p := s.do("POST", path, url.Values{"_csrf": {token}}, dist)
	report, _, _ := strings.Cut(p.body[strings.Index(p.body, `id="problems-ticket-`+ticket+`"`)+1:], "</div>")
	for _, want := range []string{"de aangevulde lijst mist 2 regel(s)", "<tr><td>4</td><td>—</td><td>Deze regel van de uitgever ontbreekt.</td></tr>",
		"<tr><td>9</td><td>Wordt</td><td>Deze regel is gewijzigd.</td></tr>", "en nog 3 punten"} {
		if p.status != http.StatusConflict || !strings.Contains(report, want) {
			t.Errorf("the refused return lacks %q: %d\n%s", want, p.status, p.body)
		}
	}
	en := s.do("POST", path, url.Values{"_csrf": {token}}, dist, english)
	if !strings.Contains(en.body, "<tr><td>9</td><td>Wordt</td><td>This row was changed.</td></tr>") || strings.Contains(en.body, "Deze regel is gewijzigd.") {
		t.Errorf("the refused return in English:\n%s", en.body)
	}

	// A refusal that names no rows is its sentence, as before.
	s.lists.returnErr = cmr.Errorf(cmr.KindConflict, "the list was already returned").NL("de lijst is al teruggegeven")
	p = s.do("POST", path, url.Values{"_csrf": {token}}, dist)
	if p.status != http.StatusConflict || !strings.Contains(p.body, `<p class="error" role="alert">de lijst is al teruggegeven</p>`) || strings.Contains(p.body, `id="problems-`) {
		t.Errorf("a refusal without rows: %d\n%s", p.status, p.body)
	}

	s.lists.returnErr = nil
	if p := s.do("POST", path, url.Values{"_csrf": {token}}, dist); p.status != http.StatusSeeOther || len(s.lists.returns) != 4 || s.lists.returns[3] != ticket {
		t.Errorf("the return: %d %v", p.status, s.lists.returns)
	}
}

func TestListDownload(t *testing.T) {
	s := newPagesSite(t)
	school := s.signIn("school")
	p := s.do("GET", "/cases/"+caseVO+"/lists/L1?type=csv", nil, school)
	if p.status != 200 || p.body != "Was;Wordt\r\na;b\r\n" {
		t.Fatalf("download: %d %q", p.status, p.body)
	}
	if got := p.header.Get("Content-Disposition"); got != `attachment; filename="wasword-`+caseVO+`-v1.csv"` {
		t.Errorf("Content-Disposition: %q", got)
	}
	if got := p.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control: %q", got)
	}
	if got := p.header.Get("Content-Type"); got != waswordt.CSV.ContentType() {
		t.Errorf("Content-Type: %q", got)
	}
	x := s.do("GET", "/cases/"+caseVO+"/lists/L1?type=xlsx", nil, school)
	if x.status != 200 || !strings.HasSuffix(x.header.Get("Content-Disposition"), `.xlsx"`) || !slices.Equal(s.lists.fileKinds, []waswordt.FileKind{waswordt.CSV, waswordt.XLSX}) {
		t.Errorf("xlsx download: %d %q %v", x.status, x.header.Get("Content-Disposition"), s.lists.fileKinds)
	}
	for _, path := range []string{"/cases/" + caseVO + "/lists/L9?type=csv", "/cases/" + caseMBO + "/lists/L1?type=csv"} {
		if p := s.do("GET", path, nil, school); p.status != http.StatusNotFound || p.header.Get("Content-Disposition") != "" {
			t.Errorf("%s: %d %q", path, p.status, p.header.Get("Content-Disposition"))
		}
	}
	if p := s.do("GET", "/cases/"+caseVO+"/lists/L1?type=csv", nil); p.status != http.StatusSeeOther || p.header.Get("Location") != "/login?return="+url.QueryEscape("/cases/"+caseVO+"/lists/L1?type=csv") {
		t.Errorf("anonymous download: %d %q", p.status, p.header.Get("Location"))
	}
}

func TestTicketPage(t *testing.T) {
	s := newPagesSite(t)
	lika := s.signIn("lika1")
	path := "/tickets/" + ticketOverdue

	p := s.do("GET", path, nil, lika)
	if p.status != 200 || !strings.Contains(p.body, `action="`+path+`/close"`) || !strings.Contains(p.body, `<textarea id="close-rows" name="unprocessed"`) ||
		!strings.Contains(p.body, `<input type="hidden" name="from" value="ticket">`) {
		t.Fatalf("the LiKa's ticket page has no close form: %d\n%s", p.status, p.body)
	}
	if !strings.Contains(p.body, "Waarom te laat?") || !strings.Contains(p.body, `href="/cases/`+caseVO+`/lists/L1?type=csv"`) {
		t.Error("the overdue ticket does not say why, or lacks its list")
	}
	if !strings.Contains(p.body, "<dt>LiKa</dt><dd>LiKa Een</dd>") {
		t.Error("the ticket page does not name its LiKa")
	}
	other := s.signIn("lika2")
	if p := s.do("GET", path, nil, other); p.status != 404 || strings.Contains(p.body, ticketOverdue) {
		t.Errorf("another LiKa's ticket: %d", p.status)
	}
	if p := s.do("GET", path, nil, s.signIn("dist")); p.status != 200 || strings.Contains(p.body, `name="unprocessed"`) {
		t.Errorf("the distributor gets the close form: %d", p.status)
	}

	token := s.token(lika)
	if p := s.do("POST", path+"/close", url.Values{"_csrf": {s.token(other)}, "from": {"ticket"}}, other); p.status != 404 || len(s.names.names) != 0 {
		t.Errorf("another LiKa closes the ticket: %d", p.status)
	}
	bad := s.do("POST", path+"/close", url.Values{"_csrf": {token}, "from": {"ticket"}, "text": {"bijna klaar"}, "unprocessed": {"14: leerling onbekend\nabc"}}, lika)
	if bad.status != http.StatusBadRequest || !strings.Contains(bad.body, `id="close-problem"`) || !strings.Contains(bad.body, "Regels die niet verwerkt konden worden: tekstregel 2 in het vak heeft niet de vorm") {
		t.Fatalf("a bad line: %d\n%s", bad.status, bad.body)
	}
	if !strings.Contains(bad.body, ">bijna klaar</textarea>") || !strings.Contains(bad.body, ">14: leerling onbekend\nabc</textarea>") {
		t.Errorf("the close form is not refilled:\n%s", bad.body)
	}
	if len(s.names.names) != 0 || len(s.subs.subs) != 0 {
		t.Error("a refused close reached the engine")
	}
	// Every line at fault at once, and the rows the list refuses beside
	// them.
	all := s.do("POST", path+"/close", url.Values{"_csrf": {token}, "from": {"ticket"}, "unprocessed": {"abc\n999: onbekend\n14: x\nxyz"}}, lika)
	if all.status != http.StatusBadRequest || !strings.Contains(all.body, "Regels die niet verwerkt konden worden: tekstregels 1 en 4 in het vak hebben niet de vorm &#34;regelnummer in de lijst: reden&#34;; regel 999 is geen regel van uw lijst") {
		t.Errorf("every line at fault: %d\n%s", all.status, all.body)
	}
	// A list that could not be read does not hide the lines at fault.
	if p := s.do("POST", path+"/close", url.Values{"_csrf": {token}, "from": {"ticket"}, "unprocessed": {"abc\n998: onbekend"}}, lika); p.status != http.StatusBadRequest || !strings.Contains(p.body, "tekstregel 1 in het vak") {
		t.Errorf("a bad line beside a list not read: %d %s", p.status, refusalText(p.body))
	}
	if len(s.names.names) != 0 || len(s.subs.subs) != 0 {
		t.Error("a refused close reached the engine")
	}
	s.lists.unprocessed = nil

	ok := s.do("POST", path+"/close", url.Values{"_csrf": {token}, "from": {"ticket"}, "text": {"klaar"}, "unprocessed": {"\n14: leerling onbekend\n"}}, lika)
	if ok.status != http.StatusSeeOther || ok.header.Get("Location") != path {
		t.Fatalf("close: %d %q\n%s", ok.status, ok.header.Get("Location"), ok.body)
	}
	if len(s.lists.unprocessed) != 1 {
		t.Fatalf("UnprocessedData called %d times", len(s.lists.unprocessed))
	}
	u := s.lists.unprocessed[0]
	if !slices.Equal(u.rows, []cmr.UnprocessedRow{{Row: 14, Reason: "leerling onbekend"}}) || u.ticket.ID != ticketOverdue || u.me.OrganisationID != "lika1" {
		t.Errorf("unprocessed rows passed on: %+v", u)
	}
	if !slices.Equal(s.names.names, []string{workflows.UpdateResolveTicket}) {
		t.Fatalf("engine updates: %v", s.names.names)
	}
	if r, _ := s.engine.calls[0].(workflows.TicketRequest); r.TicketID != ticketOverdue || r.To != cmr.TicketClosed || r.SubmissionID == "" || r.Actor.OrganisationID != "lika1" {
		t.Errorf("ticket update: %+v", s.engine.calls[0])
	}
	if len(s.subs.subs) != 1 || s.subs.subs[0].Kind != "ticket:close" || s.subs.subs[0].Data["note"] != "klaar" || s.subs.subs[0].Data["unprocessed"] == nil {
		t.Errorf("submission: %+v", s.subs.subs)
	}

	// From the case page (no from=ticket) a refusal shows on the case.
	if p := s.do("POST", path+"/close", url.Values{"_csrf": {token}, "unprocessed": {"abc"}, "text": {"bijna <klaar>"}}, lika); p.status != http.StatusBadRequest || !strings.Contains(p.body, "Logboek") || !strings.Contains(p.body, "regel 1") ||
		!strings.Contains(p.body, `name="text" maxlength="2000" value="bijna &lt;klaar&gt;"`) {
		t.Errorf("bad line from the case page (the note kept): %d\n%s", p.status, p.body)
	}
	// The refusal speaks the page's language: English after the switch.
	if p := s.send(postForm(path+"/close", url.Values{"_csrf": {token}, "from": {"ticket"}, "unprocessed": {"abc"}}, nil), lika, english); !strings.Contains(p.body, "Rows that could not be processed: line 1 of the box") || strings.Contains(p.body, "heeft niet de vorm") {
		t.Errorf("bad line in English: %d\n%s", p.status, p.body)
	}
}

func TestLanguageSwitch(t *testing.T) {
	s := newPagesSite(t)
	p := s.do("GET", "/lang?to=en&back=/cases", nil)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/cases" {
		t.Errorf("switch: %d %q", p.status, p.header.Get("Location"))
	}
	var lang *http.Cookie
	for _, c := range p.cookie {
		if c.Name == "cmr-lang" {
			lang = c
		}
	}
	if lang == nil || lang.Value != "en" || lang.Path != "/" || !lang.Secure || !lang.HttpOnly || lang.MaxAge <= 0 {
		t.Fatalf("language cookie: %+v", lang)
	}
	for _, back := range []string{"//evil.example", "https://evil.example/", "/\\evil.example", "evil", ""} {
		if p := s.do("GET", "/lang?to=en&back="+url.QueryEscape(back), nil); p.status != http.StatusSeeOther || p.header.Get("Location") != "/" {
			t.Errorf("back=%q redirects to %q", back, p.header.Get("Location"))
		}
	}
	if p := s.do("GET", "/lang?to=fr&back=/", nil); len(p.cookie) != 1 || p.cookie[0].Value != "nl" {
		t.Errorf("an unknown language: %+v", p.cookie)
	}

	dist := s.signIn("dist")
	home := s.do("GET", "/", nil, dist, lang)
	if home.status != 200 || !strings.Contains(home.body, `<html lang="en">`) || !strings.Contains(home.body, "<h1>My work</h1>") ||
		strings.Contains(home.body, "Mijn werk") || !strings.Contains(home.body, `hreflang="nl"`) {
		t.Errorf("English home page:\n%s", home.body)
	}
	nl := s.do("GET", "/", nil, dist)
	if !strings.Contains(nl.body, `<html lang="nl">`) || !strings.Contains(nl.body, "<h1>Mijn werk</h1>") {
		t.Error("the Dutch home page is not Dutch")
	}

	// The switch on a page comes back to that page, query and all.
	cases := s.do("GET", "/cases?status=completed&sector=VO", nil, dist)
	m := regexp.MustCompile(`<a href="(/lang\?to=en[^"]*)"`).FindStringSubmatch(cases.body)
	if m == nil {
		t.Fatal("no switch to English on the case list")
	}
	back := s.do("GET", html.UnescapeString(m[1]), nil)
	if back.header.Get("Location") != "/cases?status=completed&sector=VO" {
		t.Errorf("switching on the case list goes back to %q", back.header.Get("Location"))
	}
}

// TestLanguageSwitchTabRedirect guards an open redirect: browsers drop
// tabs and newlines from a URL, so "/\t/evil.example" would be followed
// as "//evil.example".
func TestLanguageSwitchTabRedirect(t *testing.T) {
	s := newPagesSite(t)
	for _, back := range []string{"/\t/evil.example", "/\n/evil.example", "/\r/evil.example"} {
		p := s.do("GET", "/lang?to=en&back="+url.QueryEscape(back), nil)
		if loc := p.header.Get("Location"); loc != "/" {
			t.Errorf("back=%q redirects to %q, want /", back, loc)
		}
	}
}

// TestEveryTextHasEnglish reads the Dutch texts of the templates and the
// code and reports every one without an entry in englishTexts.
func TestEveryTextHasEnglish(t *testing.T) {
	fset := token.NewFileSet()
	parse := func(name string) *ast.File {
		t.Helper()
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	literal := func(e ast.Expr) (string, bool) {
		var parts []string
		var walk func(e ast.Expr) bool
		walk = func(e ast.Expr) bool {
			switch e := e.(type) {
			case *ast.BasicLit:
				if e.Kind != token.STRING {
					return false
				}
				s, err := strconv.Unquote(e.Value)
				parts = append(parts, s)
				return err == nil
			case *ast.BinaryExpr:
				return e.Op == token.ADD && walk(e.X) && walk(e.Y)
			case *ast.ParenExpr:
				return walk(e.X)
			}
			return false
		}
		ok := walk(e)
		return strings.Join(parts, ""), ok
	}
	// mapValues collects the string values of the map literals under n.
	mapValues := func(n ast.Node, into map[string]string, where string) int {
		count := 0
		ast.Inspect(n, func(n ast.Node) bool {
			cl, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			if mt, ok := cl.Type.(*ast.MapType); !ok || !isIdent(mt.Value, "string") {
				return true
			}
			for _, el := range cl.Elts {
				if kv, ok := el.(*ast.KeyValueExpr); ok {
					if s, ok := literal(kv.Value); ok && s != "" {
						into[s] = where
						count++
					}
				}
			}
			return true
		})
		return count
	}

	texts := map[string]string{} // Dutch text → where it was found

	// {{t "..."}} and (t "...") in the templates.
	tmplText := regexp.MustCompile(`\{\{-?\s*t\s+("(?:[^"\\]|\\.)*")\s*-?\}\}|\(t\s+("(?:[^"\\]|\\.)*")\)`)
	tmpls, err := filepath.Glob(filepath.Join("templates", "*.html"))
	if err != nil || len(tmpls) == 0 {
		t.Fatalf("no templates: %v", err)
	}
	for _, name := range tmpls {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range tmplText.FindAllStringSubmatch(string(b), -1) {
			q := m[1] + m[2]
			s, err := strconv.Unquote(q)
			if err != nil {
				t.Errorf("%s: %s: %v", name, q, err)
				continue
			}
			texts[s] = name
		}
	}

	// s.tr(c, "...") and translate(lang, "...") in the code.
	goFiles, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]*ast.File{}
	for _, name := range goFiles {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f := parse(name)
		files[name] = f
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 2 {
				return true
			}
			isTr := false
			switch fn := call.Fun.(type) {
			case *ast.SelectorExpr:
				isTr = fn.Sel.Name == "tr"
			case *ast.Ident:
				isTr = fn.Name == "translate"
			}
			if !isTr {
				return true
			}
			if s, ok := literal(call.Args[1]); ok {
				texts[s] = fset.Position(call.Pos()).String()
			}
			return true
		})
	}

	// The Dutch maps the template funcs translate, and the wizard's choices.
	webGo, casesGo := files["web.go"], files["cases.go"]
	if webGo == nil || casesGo == nil {
		t.Fatal("web.go or cases.go not found")
	}
	funcs := map[string]int{"outcome": 0, "waswordt": 0, "listkind": 0, "status": 0, "ticketstate": 0, "state": 0}
	ast.Inspect(webGo, func(n ast.Node) bool {
		kv, ok := n.(*ast.KeyValueExpr)
		if !ok {
			return true
		}
		if name, ok := literal(kv.Key); ok {
			if _, want := funcs[name]; want {
				funcs[name] += mapValues(kv.Value, texts, "web.go func "+name)
			}
		}
		return true
	})
	wizard := map[string]int{"Quadrants": 0, "Kinds": 0}
	ast.Inspect(casesGo, func(n ast.Node) bool {
		kv, ok := n.(*ast.KeyValueExpr)
		if !ok {
			return true
		}
		if id, ok := kv.Key.(*ast.Ident); ok {
			if _, want := wizard[id.Name]; want {
				wizard[id.Name] += mapValues(kv.Value, texts, "cases.go "+id.Name)
			}
		}
		return true
	})
	for name, n := range funcs {
		if n == 0 {
			t.Errorf("no Dutch texts found for the template func %q in web.go: the test no longer reads them", name)
		}
	}
	for name, n := range wizard {
		if n == 0 {
			t.Errorf("no Dutch texts found for the wizard's %s in cases.go", name)
		}
	}

	// The English: keys of englishTexts; labels of fieldLabels and englishLabels.
	haveEnglish := mapKeys(t, files, "englishTexts")
	if len(haveEnglish) < 50 {
		t.Fatalf("englishTexts not read from i18n.go (%d entries)", len(haveEnglish))
	}
	if len(texts) < 100 {
		t.Fatalf("only %d Dutch texts found: the patterns no longer match", len(texts))
	}
	var missing []string
	for nl, where := range texts {
		if !haveEnglish[nl] {
			missing = append(missing, strconv.Quote(nl)+"  ("+where+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%d of %d Dutch texts have no English in englishTexts (web/i18n.go):\n\t%s", len(missing), len(texts), strings.Join(missing, "\n\t"))
	}
	labels, enLabels := mapKeys(t, files, "fieldLabels"), mapKeys(t, files, "englishLabels")
	for field := range labels {
		if _, ok := enLabels[field]; !ok {
			t.Errorf("the field label of %q has no English in englishLabels", field)
		}
	}
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// mapKeys returns the string keys of the package-level map literal var.
func mapKeys(t *testing.T, files map[string]*ast.File, name string) map[string]bool {
	t.Helper()
	keys := map[string]bool{}
	found := false
	for _, f := range files {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if id.Name != name || i >= len(vs.Values) {
						continue
					}
					cl, ok := vs.Values[i].(*ast.CompositeLit)
					if !ok {
						continue
					}
					found = true
					for _, el := range cl.Elts {
						kv, ok := el.(*ast.KeyValueExpr)
						if !ok {
							continue
						}
						if lit, ok := kv.Key.(*ast.BasicLit); ok && lit.Kind == token.STRING {
							if s, err := strconv.Unquote(lit.Value); err == nil {
								keys[s] = true
							}
						}
					}
				}
			}
		}
	}
	if !found {
		t.Fatalf("no map literal %s in package web", name)
	}
	return keys
}

// TestWordtRowsPage: the school fills in its MBO list a page of rows at a
// time; only the rows it changed are sent, a refusal shows the page again
// with what was typed and the problems by row, and the pages split the
// list (or its open rows) in fifties.
func TestWordtRowsPage(t *testing.T) {
	s := newPagesSite(t)
	f, _ := waswordt.Lookup(waswordt.FormatMBONonECK)
	var l waswordt.List
	for i := range 120 {
		wordt := ""
		if i%2 == 1 {
			wordt = fmt.Sprintf("s%d@roc.nl", i)
		}
		l.Rows = append(l.Rows, waswordt.Row{Line: i + 2, Cells: []string{"S.", fmt.Sprintf("Student%d", i), "Achter", "Zwolle", wordt, ""}})
	}
	w := waswordt.NewWorking(f, l)
	w.Missing = []string{"lika-b"}
	s.lists.working = &w
	school := s.signIn("mbo")
	token := s.token(school)
	path := "/cases/" + caseMBO + "/lists/rows"

	p := s.do("GET", path, nil, school)
	for _, want := range []string{"<strong>60</strong> van <strong>120</strong> regels ingevuld", "Pagina 1 van 3", `name="cell.2.profile_new" value=""`,
		`name="cell.3.profile_new" value="s1@roc.nl"`, `name="key.2" value="` + w.Keys[0] + `"`, "Student49", "lika-b"} {
		if p.status != 200 || !strings.Contains(p.body, want) {
			t.Errorf("the first page lacks %q: %d", want, p.status)
		}
	}
	if strings.Contains(p.body, "Student50") {
		t.Error("the first page shows row 52")
	}
	if p := s.do("GET", path+"?open=1&page=2", nil, school); !strings.Contains(p.body, "Student100") || strings.Contains(p.body, "Student101") || !strings.Contains(p.body, "Pagina 2 van 2") {
		t.Errorf("the open rows' second page: %d", p.status)
	}
	if p := s.do("GET", path+"?page=99", nil, school); !strings.Contains(p.body, "Pagina 3 van 3") || !strings.Contains(p.body, "Student119") {
		t.Errorf("a page past the end shows the last: %d", p.status)
	}

	form := url.Values{"_csrf": {token}, "row": {"2", "3"},
		"key.2": {w.Keys[0]}, "orig.2.profile_new": {""}, "cell.2.profile_new": {" s0@roc.nl "}, "orig.2.real_new": {""}, "cell.2.real_new": {""},
		"key.3": {w.Keys[1]}, "orig.3.profile_new": {"s1@roc.nl"}, "cell.3.profile_new": {"s1@roc.nl"}, "orig.3.real_new": {""}, "cell.3.real_new": {""}}
	p = s.do("POST", path+"?open=1", form, school)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != path+"?open=1&saved=1" {
		t.Fatalf("save: %d %q", p.status, p.header.Get("Location"))
	}
	if len(s.lists.saves) != 1 || len(s.lists.saves[0]) != 1 {
		t.Fatalf("saves: %+v", s.lists.saves)
	}
	if e := s.lists.saves[0][0]; e.Row != 2 || e.Key != w.Keys[0] || len(e.Cells) != 1 || e.Cells["profile_new"] != " s0@roc.nl " {
		t.Errorf("the edit sent: %+v", e)
	}
	if p := s.do("GET", path+"?open=1&saved=1", nil, school); !strings.Contains(p.body, "Opgeslagen als nieuwe versie") {
		t.Errorf("after the save: %d", p.status)
	}
	// Nothing changed: nothing is sent.
	unchanged := url.Values{"_csrf": {token}, "row": {"3"}, "key.3": {w.Keys[1]}, "orig.3.profile_new": {"s1@roc.nl"}, "cell.3.profile_new": {"s1@roc.nl"}}
	if p := s.do("POST", path, unchanged, school); p.status != 200 || !strings.Contains(p.body, "Er was niets gewijzigd") || len(s.lists.saves) != 1 {
		t.Errorf("an unchanged page: %d, %d saves", p.status, len(s.lists.saves))
	}

	// A refusal: the page again, with what was typed and the rows marked.
	s.lists.saveErr = &cmr.Error{Kind: cmr.KindInvalid, Field: "file", Message: "the list was not stored", MessageNL: "de lijst is niet opgeslagen",
		Details: map[string]any{"problems": []waswordt.Problem{{Row: 2, Column: "nlEduPersonProfileId nieuw", Code: "identity", NL: "Geen geldige identiteit.", EN: "Not a valid identity."}}}}
	form.Set("cell.2.profile_new", "geen-identiteit")
	p = s.do("POST", path, form, school)
	for _, want := range []string{`value="geen-identiteit" aria-label="nlEduPersonProfileId nieuw" autocomplete="off" spellcheck="false" aria-invalid="true"`,
		"<tr><td>2</td><td>nlEduPersonProfileId nieuw</td><td>Geen geldige identiteit.</td></tr>", "Niet opgeslagen."} {
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, want) {
			t.Errorf("the refused save lacks %q: %d\n%s", want, p.status, p.body)
		}
	}
	if !strings.Contains(p.body, `name="several_realms" value="true">`) {
		t.Error("the several-realms box is ticked though the save did not have it")
	}
	form.Set("several_realms", "true")
	if p := s.do("POST", path, form, school); !strings.Contains(p.body, `name="several_realms" value="true" checked>`) {
		t.Error("the several-realms box is no longer ticked after a refused save that had it")
	}
	// A row that moved meanwhile (a part arrived before it): the service's
	// sentence, and what was typed is not put in the row that took its
	// place.
	moved := waswordt.NewWorking(f, waswordt.List{Rows: append([]waswordt.Row{{Line: 2, Cells: []string{"N.", "Nieuw", "Achter", "Zwolle", "", ""}}}, renumber(l.Rows, 3)...)})
	s.lists.working = &moved
	s.lists.saveErr = cmr.Errorf(cmr.KindConflict, "row 2 is no longer the row you filled in").NL("regel 2 is niet meer de regel die u invulde")
	if p := s.do("POST", path, form, school); p.status != http.StatusBadRequest || !strings.Contains(p.body, "regel 2 is niet meer de regel die u invulde") || strings.Contains(p.body, `value="geen-identiteit"`) {
		t.Errorf("a stale row: %d\n%s", p.status, p.body)
	}
	s.lists.working = &w
	if p := s.do("POST", path, form, school); !strings.Contains(p.body, `value="geen-identiteit"`) {
		t.Errorf("a refused row that did not move loses what was typed: %d", p.status)
	}
	// The form goes back to its own page and filter.
	if p := s.do("GET", path+"?open=1&page=2", nil, school); !strings.Contains(p.body, `<form method="post" action="`+path+`?open=1&amp;page=2">`) {
		t.Errorf("the form's action lacks the page and filter:\n%s", p.body)
	}
	saves := len(s.lists.saves)
	if p := s.do("POST", path, url.Values{"_csrf": {token}, "row": {"2"}, "cell.2.profile_new": {"x@roc.nl"}}, school); p.status != http.StatusBadRequest || len(s.lists.saves) != saves {
		t.Errorf("a row without its key: %d", p.status)
	}
	many := url.Values{"_csrf": {token}}
	for i := range rowsShownMax + 1 {
		many.Add("row", fmt.Sprint(i+2))
		many.Set(fmt.Sprintf("key.%d", i+2), w.Keys[i])
	}
	if p := s.do("POST", path, many, school); p.status != http.StatusBadRequest || len(s.lists.saves) != saves {
		t.Errorf("a save of more rows than a page holds: %d", p.status)
	}
	if p := s.do("POST", path, url.Values{"row": {"2"}}, school); p.status != http.StatusForbidden {
		t.Errorf("a save without the CSRF token: %d", p.status)
	}
}

// rowsShownMax is the rows of one page of the school's list.
const rowsShownMax = 50

// renumber numbers rows from line on.
func renumber(rows []waswordt.Row, line int) []waswordt.Row {
	out := make([]waswordt.Row, len(rows))
	for i, r := range rows {
		out[i] = waswordt.Row{Line: line + i, Cells: append([]string(nil), r.Cells...)}
	}
	return out
}

// TestStepRefusedForRows: a step the list precheck refuses for rows (MBO
// 8b with rows left open) shows the rows as a table under the sentence.
func TestStepRefusedForRows(t *testing.T) {
	s := newPagesSite(t)
	for _, who := range []string{"mbo", "dist"} {
		user := s.signIn(who)
		page := s.do("GET", "/cases/"+caseMBO, nil, user)
		m := regexp.MustCompile(`action="(/cases/` + caseMBO + `/steps/([^"]+))"`).FindStringSubmatch(page.body)
		if m == nil {
			continue
		}
		s.guardErr = &cmr.Error{Kind: cmr.KindConflict, Message: "the completed list leaves open 1 row(s)", MessageNL: "de aangevulde lijst laat 1 regel(s) open",
			Details: map[string]any{"problems": []waswordt.Problem{{Row: 3, Code: "supplied_row_open", NL: "Regel 3 is nog niet ingevuld.", EN: "Row 3 is not filled in yet."}}}}
		p := s.do("POST", m[1], url.Values{"_csrf": {s.token(user)}}, user)
		report, _, _ := strings.Cut(p.body[max(strings.Index(p.body, `id="problems-`+m[2]+`"`), 0):], "</div>")
		if p.status != http.StatusConflict || !strings.Contains(report, "de aangevulde lijst laat 1 regel(s) open") || !strings.Contains(report, "<tr><td>3</td><td>—</td><td>Regel 3 is nog niet ingevuld.</td></tr>") {
			t.Errorf("the refused step %s: %d\n%s", m[2], p.status, p.body)
		}
		s.guardErr = cmr.Errorf(cmr.KindConflict, "step needs the list").NL("de stap heeft de lijst nodig")
		if p := s.do("POST", m[1], url.Values{"_csrf": {s.token(user)}}, user); !strings.Contains(p.body, `<p class="error" role="alert" id="problem-`+m[2]+`">de stap heeft de lijst nodig</p>`) {
			t.Errorf("a refusal without rows: %d\n%s", p.status, p.body)
		}
		// Accepted: the version the precheck checked goes with the step
		// to the workflow (MBO 8c binds its returns to it).
		s.guardErr, s.guardChecked = nil, casework.Checked{ListID: "L-checked"}
		calls := len(s.engine.calls)
		s.do("POST", m[1], url.Values{"_csrf": {s.token(user)}}, user)
		if len(s.engine.calls) != calls+1 {
			t.Fatalf("the accepted step sent %d updates", len(s.engine.calls)-calls)
		}
		if r, ok := s.engine.calls[calls].(workflows.StepRequest); !ok || r.ListID != "L-checked" || r.Step != m[2] {
			t.Errorf("the step sent without the version its precheck checked: %+v", s.engine.calls[calls])
		}
		return
	}
	t.Fatal("no open step on the MBO case for the school or the distributor")
}

// TestHomeWithManyCases: "Mijn werk" of a distributor in the summer shows
// the steps with the nearest deadlines over all its open cases, however
// many, says that there are more, and lists only the newest cases.
func TestHomeWithManyCases(t *testing.T) {
	s := newPagesSite(t)
	dist := s.signIn("dist")
	// The oldest case has the nearest deadline: a list of the newest cases
	// would leave it out.
	s.distCases(130, func(i int) (time.Time, time.Time) {
		return s.now.Add(time.Duration(i) * time.Second), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i)
	})
	p := s.do("GET", "/", nil, dist)
	work := regexp.MustCompile(`<td><a href="/cases/([^"#]+)#stap-`).FindAllStringSubmatch(p.body, -1)
	if p.status != 200 || len(work) != 100 || work[0][1] != "02CD-20280000" || work[1][1] != "02CD-20280001" {
		t.Fatalf("home: %d, %d steps, first %v", p.status, len(work), work[:min(2, len(work))])
	}
	if !strings.Contains(p.body, "Er wachten meer stappen op u dan hier staan") || !strings.Contains(p.body, `<a href="/cases?status=open">Alle lopende zaken</a>`) {
		t.Error("the home page does not say there is more")
	}
	if n := strings.Count(p.body, `<li><a href="/cases/`); n != 20 {
		t.Errorf("open cases listed: %d, want the newest 20", n)
	}
}

// TestOptionsInWords: a step's choices read as words in the form, in
// Dutch and English; the form sends the values the API takes.
func TestOptionsInWords(t *testing.T) {
	s := newPagesSite(t)
	dist := s.signIn("dist")
	p := s.do("GET", "/cases/"+caseMBO, nil, dist)
	if p.status != 200 || !strings.Contains(p.body, `<option value="realm_only">alleen de realm</option>`) || !strings.Contains(p.body, `<option value="identity">de hele identiteit</option>`) {
		t.Fatalf("MBO step 6's choices: %d\n%s", p.status, p.body)
	}
	if en := s.send(httptest.NewRequest("GET", "/cases/"+caseMBO, nil), dist, english); !strings.Contains(en.body, `<option value="realm_only">only the realm</option>`) {
		t.Error("the choices in English")
	}
}

// TestHomeSaysADeadlinePassed: Mijn werk tags a step of a case whose
// deadline passed as such, as the reports do, not as "near".
func TestHomeSaysADeadlinePassed(t *testing.T) {
	s := newPagesSite(t)
	s.now = time.Date(2027, 8, 5, 12, 0, 0, 0, time.UTC) // caseVO's deadline was 1 August; caseMBO's is 1 October
	p := s.do("GET", "/", nil, s.signIn("dist"))
	vo, mbo := workRow(p.body, caseVO), workRow(p.body, caseMBO)
	if !strings.Contains(vo, "uiterste datum verstreken") || strings.Contains(vo, "deadline nabij") || strings.Contains(mbo, "verstreken") {
		t.Errorf("a passed deadline on Mijn werk:\n%s\n%s", vo, mbo)
	}
	s.now = time.Date(2027, 9, 25, 12, 0, 0, 0, time.UTC)
	if mbo := workRow(s.do("GET", "/", nil, s.signIn("dist")).body, caseMBO); !strings.Contains(mbo, "deadline nabij") {
		t.Errorf("a near deadline on Mijn werk:\n%s", mbo)
	}
}

// workRow is the first row of Mijn werk's steps that links case id.
func workRow(body, id string) string {
	i := strings.Index(body, `<a href="/cases/`+id+`#stap-`)
	if i < 0 {
		return ""
	}
	return body[i:min(len(body), i+200)]
}
