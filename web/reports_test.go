package web_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/web"
)

// Tests of the reports through the real router over a real store: the SLA
// report per LiKa (numbers, working days, visibility, the chart, input
// refusals), the distributors' cases report, and the audit trail as CSV.

const (
	rpCase1 = "01AB-20270601" // dist: lika1 on time (Fri→Mon), lika2 on time (2 working days), lika3 running
	rpCase2 = "02CD-20270601" // dist2: lika1 overdue, lika2 waived; deadline within 14 days
	rpCase3 = "01AB-20270602" // dist: lika1 closed late
	rpCase4 = "01AB-20270603" // dist, completed: lika1 on time; and one before the period
	rpCase5 = "01AB-20270604" // dist, cancelled
	rpEvil  = `=HYPERLINK("http://evil.example","x")`
)

// newReportSite is newSite (now: Thursday 10 June 2027, 14:00 in
// Amsterdam) with the reports on and more cases, tickets and events.
func newReportSite(t *testing.T) *site {
	t.Helper()
	s := newSite(t, true)
	ctx := context.Background()
	cal := cmr.MustCalendar(cmr.DefaultCalendarConfig())
	for _, o := range []cmr.Organisation{
		{ID: "school2", Name: "Het College", Role: cmr.RoleSchool, BRIN: "02CD", Sector: cmr.SectorVO},
		{ID: "lika3", Name: rpEvil, Role: cmr.RolePublisher},
	} {
		if err := s.store.UpsertOrganisation(ctx, o); err != nil {
			t.Fatal(err)
		}
		u, err := s.store.UpsertUser(ctx, cmr.User{OrganisationID: o.ID, Email: o.ID + "@example.org", Name: "Mens van " + o.ID})
		if err != nil {
			t.Fatal(err)
		}
		s.users[o.ID] = u
	}
	ams := cal.Location()
	at := func(v string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", v, ams)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	ptr := func(tm time.Time) *time.Time { u := tm.UTC(); return &u }
	day := func(v string) time.Time { d, _ := time.Parse(cmr.DateLayout, v); return d }
	dist := cmr.Actor{UserID: s.users["dist"].ID, OrganisationID: "dist", Role: cmr.RoleDistributor}
	plan := cmr.Procedure(cmr.PlanInput{Sector: cmr.SectorVO, Funding: cmr.FundingELF, Options: cmr.CaseOptions{KeepHistory: true}, WasWordt: cmr.WasWordtSuppliers})
	for _, c := range []struct {
		id, school, dist string
		status           cmr.CaseStatus
		deadline         string
		likas            []string
		events           []cmr.Event
	}{
		{rpCase1, "school", "dist", cmr.CaseOpen, "2027-08-01", []string{"lika1", "lika2", "lika3"}, []cmr.Event{
			{Key: "r1-open", Type: cmr.EventCaseOpened, Actor: &dist, At: at("2027-05-20 09:00")},
			{Key: "r1-step", Type: cmr.EventStepCompleted, Step: rpEvil, Actor: &dist, At: at("2027-05-21 09:00"), SubmissionID: "sub_step"},
			{Key: "r1-dl", Type: cmr.EventListDownloaded, Actor: &dist, At: at("2027-05-22 09:00"),
				Details: map[string]any{"list_id": "list_9", "kind": "complete", "version": 2, "reason": "Jan de Vries wilde het", "due_at": "2027-05-25T15:00:00Z"}},
		}},
		{rpCase2, "school2", "dist2", cmr.CaseOpen, "2027-06-20", []string{"lika1", "lika2"}, nil},
		{rpCase3, "school", "dist", cmr.CaseOpen, "2027-08-01", []string{"lika1"}, []cmr.Event{
			{Key: "r3-test", Type: cmr.EventTestFailed, Step: "17", Actor: &dist, At: at("2027-06-10 09:00"), Details: map[string]any{"reopened": []string{"12", "13"}}},
		}},
		{rpCase4, "school", "dist", cmr.CaseCompleted, "2027-08-01", []string{"lika1"}, nil},
		{rpCase5, "school", "dist", cmr.CaseCancelled, "2027-08-01", []string{"lika1"}, nil},
	} {
		parties := cmr.Parties{SchoolID: c.school, DistributorID: c.dist, LiKaIDs: c.likas, KennisnetIDs: []string{"kn"}}
		st := cmr.NewCaseState(c.id, cmr.SectorVO, parties, plan, cmr.Actor{UserID: "x", OrganisationID: c.dist, Role: cmr.RoleDistributor}, s.now)
		st.Status = c.status
		h := cmr.CaseHeader{ID: c.id, SchoolID: c.school, DistributorID: c.dist, Sector: cmr.SectorVO, SwitchOn: day(c.deadline).AddDate(0, 0, -20), Deadline: day(c.deadline)}
		for i := range c.events {
			c.events[i].CaseID = c.id
		}
		if err := s.store.SaveCase(ctx, h, *st, 1, "", c.events); err != nil {
			t.Fatal(err)
		}
	}
	ticket := func(caseID string, n int, lika string, state cmr.TicketState, start, resolved string) cmr.Ticket {
		st := at(start)
		tk := cmr.Ticket{ID: cmr.TicketIDFor(caseID, n), CaseID: caseID, LiKaID: lika, State: state, ClockStartedAt: ptr(st),
			DueAt: ptr(cal.Due(st, 3)), WarnAt: ptr(cal.Due(st, 2)), Version: 1}
		if resolved != "" {
			tk.ResolvedAt = ptr(at(resolved))
		}
		return tk
	}
	lika1 := cmr.Actor{UserID: s.users["lika1"].ID, OrganisationID: "lika1", Role: cmr.RolePublisher}
	lika2 := cmr.Actor{UserID: s.users["lika2"].ID, OrganisationID: "lika2", Role: cmr.RolePublisher}
	for _, x := range []struct {
		t     cmr.Ticket
		event cmr.Event
	}{
		// Friday 4 June → Monday 7 June: 1 working day (3 calendar days), due Wednesday 9 June 17:00.
		{ticket(rpCase1, 1, "lika1", cmr.TicketClosed, "2027-06-04 10:00", "2027-06-07 09:00"),
			cmr.Event{Type: cmr.EventTicketClosed, Actor: &lika1, At: at("2027-06-07 09:00"), SubmissionID: "sub_close1", Details: map[string]any{"late": true}}},
		// Friday 28 May → Tuesday 1 June: 2 working days.
		{ticket(rpCase1, 2, "lika2", cmr.TicketClosed, "2027-05-28 10:00", "2027-06-01 10:00"),
			cmr.Event{Type: cmr.EventTicketClosed, Actor: &lika2, At: at("2027-06-01 10:00")}},
		// Monday 7 June, due Thursday 10 June 17:00: running now, past its warning.
		{ticket(rpCase1, 3, "lika3", cmr.TicketOpen, "2027-06-07 10:00", ""),
			cmr.Event{Type: cmr.EventTicketSLAWarning, At: at("2027-06-09 17:00")}},
		// Friday 4 June, due Wednesday 9 June 17:00: overdue now.
		{ticket(rpCase2, 1, "lika1", cmr.TicketOpen, "2027-06-04 11:00", ""), cmr.Event{Type: cmr.EventTicketOverdue, At: at("2027-06-09 17:00")}},
		{ticket(rpCase2, 2, "lika2", cmr.TicketWaived, "2027-06-04 11:00", "2027-06-05 10:00"), cmr.Event{Type: cmr.EventTicketWaived, At: at("2027-06-05 10:00")}},
		// Monday 31 May, due Thursday 3 June 17:00, closed Friday 4 June: late, 4 working days.
		{ticket(rpCase3, 1, "lika1", cmr.TicketClosed, "2027-05-31 10:00", "2027-06-04 09:00"), cmr.Event{Type: cmr.EventTicketClosed, At: at("2027-06-04 09:00")}},
		// Tuesday 1 June → Wednesday 2 June: 1 working day.
		{ticket(rpCase4, 1, "lika1", cmr.TicketClosed, "2027-06-01 10:00", "2027-06-02 16:00"), cmr.Event{Type: cmr.EventTicketClosed, At: at("2027-06-02 16:00")}},
		// Before the period (30 April): not counted.
		{ticket(rpCase5, 1, "lika1", cmr.TicketClosed, "2027-04-30 10:00", "2027-05-03 10:00"), cmr.Event{Type: cmr.EventTicketClosed, At: at("2027-05-03 10:00")}},
	} {
		x.event.Key, x.event.CaseID, x.event.TicketID = x.t.ID+"-"+x.event.Type, x.t.CaseID, x.t.ID
		if err := s.store.SaveTicket(ctx, x.t, []cmr.Event{x.event}); err != nil {
			t.Fatal(err)
		}
	}
	s.e = s.restartWith(func(srv *web.Server) { srv.Reports = s.store; srv.SLADays = 3 })
	return s
}

// rpCSV checks a CSV download's headers and reads its cells.
func rpCSV(t *testing.T, p page, filename string) [][]string {
	t.Helper()
	if p.status != http.StatusOK {
		t.Fatalf("CSV %s: %d\n%s", filename, p.status, p.body)
	}
	for h, want := range map[string]string{
		"Content-Type":        "text/csv; charset=utf-8",
		"Content-Disposition": `attachment; filename="` + filename + `"`,
		"Cache-Control":       "no-store",
	} {
		if got := p.header.Get(h); got != want {
			t.Errorf("%s: %s %q, want %q", filename, h, got, want)
		}
	}
	if !strings.HasPrefix(p.body, "\ufeff") {
		t.Errorf("%s: no BOM (the list downloads have one)", filename)
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(p.body, "\ufeff")))
	r.Comma = ';'
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", filename, err)
	}
	return recs
}

// rpRow is the record whose column col holds v.
func rpRow(recs [][]string, col int, v string) []string {
	for _, r := range recs {
		if len(r) > col && r[col] == v {
			return r
		}
	}
	return nil
}

func TestSLAReport(t *testing.T) {
	s := newReportSite(t)
	const q = "?from=2027-05-01&to=2027-06-10"
	// LiKa, name, tickets, on time, late, overdue, running, waived, cancelled, median, p90.
	type row = []string
	for _, tt := range []struct {
		org  string
		rows map[string]row
	}{
		// A LiKa: its own row only, over every distributor's cases.
		{"lika1", map[string]row{"lika1": {"lika1", "LiKa Een", "4", "2", "1", "1", "0", "0", "0", "1", "4"}}},
		// A distributor: the LiKas over its own cases only.
		{"dist", map[string]row{
			"lika1": {"lika1", "LiKa Een", "3", "2", "1", "0", "0", "0", "0", "1", "4"},
			"lika2": {"lika2", "LiKa Twee", "1", "1", "0", "0", "0", "0", "0", "2", "2"},
			"lika3": {"lika3", "'" + rpEvil, "1", "0", "0", "0", "1", "0", "0", "", ""},
			"":      {"", "Totaal", "5", "3", "1", "0", "1", "0", "0", "1,5", "4"},
		}},
		{"dist2", map[string]row{
			"lika1": {"lika1", "LiKa Een", "1", "0", "0", "1", "0", "0", "0", "", ""},
			"lika2": {"lika2", "LiKa Twee", "1", "0", "0", "0", "0", "1", "0", "", ""},
		}},
		// Kennisnet: everything; the median of [1 1 2 4] is 1,5.
		{"kn", map[string]row{
			"lika1": {"lika1", "LiKa Een", "4", "2", "1", "1", "0", "0", "0", "1", "4"},
			"lika2": {"lika2", "LiKa Twee", "2", "1", "0", "0", "0", "1", "0", "2", "2"},
			"lika3": {"lika3", "'" + rpEvil, "1", "0", "0", "0", "1", "0", "0", "", ""},
			"":      {"", "Totaal", "7", "3", "1", "1", "1", "1", "0", "1,5", "4"},
		}},
	} {
		t.Run(tt.org, func(t *testing.T) {
			cookie := s.signIn(tt.org)
			recs := rpCSV(t, s.do("GET", "/reports/sla.csv"+q, nil, cookie), "sla-2027-05-01-2027-06-10.csv")
			if len(recs) == 0 || recs[0][0] != "LiKa" || recs[0][9] != "Mediaan werkdagen tot afmelden" {
				t.Fatalf("header: %v", recs)
			}
			for lika, want := range tt.rows {
				if got := rpRow(recs[1:], 0, lika); !slices.Equal(got, want) {
					t.Errorf("row %q: %q, want %q", lika, got, want)
				}
			}
			// Only the rows the caller may see (and the total).
			for _, r := range recs[1:] {
				if _, ok := tt.rows[r[0]]; !ok && r[0] != "" {
					t.Errorf("%s sees the row of %s: %q", tt.org, r[0], r)
				}
			}
			page := s.do("GET", "/reports/sla"+q, nil, cookie)
			if page.status != 200 {
				t.Fatalf("page: %d", page.status)
			}
			for lika, name := range map[string]string{"lika1": "LiKa Een", "lika2": "LiKa Twee", "lika3": "HYPERLINK"} {
				if _, ok := tt.rows[lika]; ok != strings.Contains(page.body, name) {
					t.Errorf("%s: the page shows %s: %v, want %v", tt.org, name, !ok, ok)
				}
			}
			if !strings.Contains(page.body, `href="/reports/sla.csv?from=2027-05-01&amp;to=2027-06-10"`) {
				t.Error("no CSV link for the period")
			}
		})
	}

	dist := s.signIn("dist")
	p := s.do("GET", "/reports/sla"+q, nil, dist)
	// The chart: SVG from the server, one bar per LiKa, no script.
	for _, want := range []string{`<svg role="img"`, `<title>2 op tijd afgemeld</title>`, `<title>1 te laat afgemeld</title>`, "LiKa Een", "2 / 1 / 0",
		`=HYPERLINK(&#34;http://evil.example&#34;,&#34;x&#34;)`, `<td>1,5</td>`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the SLA page lacks %s", want)
		}
	}
	if n := strings.Count(p.body, "<script"); n != 2 {
		t.Errorf("%d script elements; only the layout's (htmx, refusal.js) are allowed", n)
	}
	if p := s.do("GET", "/reports/sla"+q, nil, s.signIn("kn"), english); !strings.Contains(p.body, "<td>1.5</td>") || !strings.Contains(p.body, "Closed on time") {
		t.Errorf("Kennisnet's page in English: no median 1.5:\n%s", p.body)
	}
	if p := s.do("GET", "/reports/sla"+q, nil, s.signIn("kn")); !strings.Contains(p.body, "<td>1,5</td>") {
		t.Error("Kennisnet's page in Dutch: no median 1,5")
	}

	// The default period: the 90 days up to and including today.
	if p := s.do("GET", "/reports/sla", nil, dist); p.status != 200 || !strings.Contains(p.body, "13-3-2027 – 10-6-2027 (90 dagen)") || !strings.Contains(p.body, `value="2027-03-13"`) {
		t.Errorf("default period: %d", p.status)
	}

	// Refused input, in Dutch and English, on the page and the download.
	for _, tt := range []struct {
		query, nl, en, field string
	}{
		{"?from=2027-06-11&to=2027-06-10", "Van: 11-6-2027 ligt na de einddatum 10-6-2027", "From: 2027-06-11 lies after the end date 2027-06-10", "from"},
		{"?from=10-06-2027", "Van: moet een datum als JJJJ-MM-DD zijn", "From: must be a date as YYYY-MM-DD", "from"},
		{"?to=2027-02-30", "Tot en met: moet een datum als JJJJ-MM-DD zijn", "Up to and including: must be a date as YYYY-MM-DD", "to"},
		{"?from=2001-01-01&to=2027-06-10", "een rapportage beslaat hoogstens 1098 dagen", "a report covers at most 1098 days", "from"},
	} {
		for _, path := range []string{"/reports/sla", "/reports/sla.csv"} {
			nl := s.do("GET", path+tt.query, nil, dist)
			if nl.status != http.StatusBadRequest || !strings.Contains(nl.body, tt.nl) || !strings.Contains(nl.body, `id="r-`+tt.field+`" name="`+tt.field+`"`) {
				t.Errorf("%s%s: %d, want 400 with %q", path, tt.query, nl.status, tt.nl)
			}
			if !strings.Contains(nl.body, `aria-invalid="true"`) || nl.header.Get("Content-Disposition") != "" {
				t.Errorf("%s%s: the field is not marked, or a file was sent", path, tt.query)
			}
			if en := s.do("GET", path+tt.query, nil, dist, english); en.status != http.StatusBadRequest || !strings.Contains(en.body, tt.en) {
				t.Errorf("%s%s in English: %d, want %q", path, tt.query, en.status, tt.en)
			}
		}
	}

	// A school has no reports; a LiKa no distributors' report.
	school := s.signIn("school")
	for _, path := range []string{"/reports/sla", "/reports/sla.csv", "/reports/cases", "/reports/cases.csv", "/reports/sla" + q} {
		if p := s.do("GET", path, nil, school); p.status != http.StatusNotFound || strings.Contains(p.body, "LiKa Een") {
			t.Errorf("school %s: %d, want 404", path, p.status)
		}
	}
	for _, path := range []string{"/reports/cases", "/reports/cases.csv"} {
		if p := s.do("GET", path, nil, s.signIn("lika1")); p.status != http.StatusNotFound {
			t.Errorf("LiKa %s: %d, want 404", path, p.status)
		}
	}
	if p := s.do("GET", "/reports/sla", nil); p.status != http.StatusSeeOther || p.header.Get("Location") != "/login?return=%2Freports%2Fsla" {
		t.Errorf("anonymous: %d %s", p.status, p.header.Get("Location"))
	}

	// The menu offers the reports to the roles that have them.
	for org, want := range map[string]bool{"school": false, "dist": true, "lika1": true, "kn": true} {
		if home := s.do("GET", "/", nil, s.signIn(org)); strings.Contains(home.body, `<a href="/reports/sla">Rapportages</a>`) != want {
			t.Errorf("%s: the menu's Rapportages link: %v, want %v", org, !want, want)
		}
	}
}

func TestCasesReport(t *testing.T) {
	s := newReportSite(t)
	dist := s.signIn("dist")
	p := s.do("GET", "/reports/cases", nil, dist)
	if p.status != 200 {
		t.Fatalf("%d", p.status)
	}
	// dist: open 01AB-20270715 (an overdue ticket), rpCase1 (a ticket with
	// one working day left), rpCase3; rpCase4 completed; rpCase5 cancelled.
	counts := `<th scope="row">Distri</th>
    <td>3</td>
    <td>1</td>
    <td>1</td>
    <td>5</td>
    <td>2</td>`
	if !strings.Contains(p.body, counts) {
		t.Errorf("dist's counts: want open 3, completed 1, cancelled 1, total 5, at risk 2:\n%s", p.body)
	}
	for _, want := range []string{`href="/cases/01AB-20270715"`, `href="/cases/` + rpCase1 + `"`, "1 ticket(s) over de termijn", "1 ticket(s) met hoogstens één werkdag over",
		`href="/cases/` + rpCase1 + `/events.csv"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("dist's report lacks %s", want)
		}
	}
	for _, not := range []string{rpCase2, "Het College", "Andere distri", `href="/cases/` + rpCase3 + `"`} {
		if strings.Contains(p.body, not) {
			t.Errorf("dist's report shows %s", not)
		}
	}
	recs := rpCSV(t, s.do("GET", "/reports/cases.csv", nil, dist), "zaken-2027-06-10.csv")
	if len(recs) != 6 {
		t.Fatalf("dist's CSV: %d records, want a header and 5 cases: %q", len(recs), recs)
	}
	if got, want := rpRow(recs, 2, rpCase1), []string{"dist", "Distri", rpCase1, "Het Lyceum", "01AB", "VO", "lopend", "2027-07-12", "2027-08-01", "ja", "1 ticket(s) met hoogstens één werkdag over"}; !slices.Equal(got, want) {
		t.Errorf("rpCase1: %q, want %q", got, want)
	}
	if got := rpRow(recs, 2, rpCase4); got == nil || got[6] != "afgerond" || got[9] != "nee" {
		t.Errorf("rpCase4: %q", got)
	}
	if rpRow(recs, 2, rpCase2) != nil {
		t.Error("dist's CSV holds dist2's case")
	}

	// Kennisnet: every distributor, grouped.
	kn := s.do("GET", "/reports/cases", nil, s.signIn("kn"))
	for _, want := range []string{"Distri: zaken met risico", "Andere distri: zaken met risico", rpCase2, "uiterste datum binnen 14 dagen", "Het College"} {
		if !strings.Contains(kn.body, want) {
			t.Errorf("Kennisnet's report lacks %s", want)
		}
	}
	en := s.do("GET", "/reports/cases", nil, s.signIn("kn"), english)
	if !strings.Contains(en.body, "deadline within 14 days") || !strings.Contains(en.body, "Cases per distributor") {
		t.Error("Kennisnet's report in English")
	}
	if recs := rpCSV(t, s.do("GET", "/reports/cases.csv", nil, s.signIn("kn")), "zaken-2027-06-10.csv"); len(recs) != 7 || rpRow(recs, 2, rpCase2)[9] != "ja" {
		t.Errorf("Kennisnet's CSV: %q", recs)
	}
	rpCSV(t, s.do("GET", "/reports/cases.csv", nil, s.signIn("kn"), english), "cases-2027-06-10.csv") // named in English
}

func TestEventsCSV(t *testing.T) {
	s := newReportSite(t)
	path := "/cases/" + rpCase1 + "/events.csv"
	file := "logboek-" + rpCase1 + ".csv"
	types := func(recs [][]string) []string {
		var out []string
		for _, r := range recs[1:] {
			out = append(out, r[9]+" "+r[3])
		}
		return out
	}
	dist := rpCSV(t, s.do("GET", path, nil, s.signIn("dist")), file)
	if got := strings.Join(dist[0], "|"); got != "Tijdstip|Gebeurtenis|Stap|Ticket|Organisatie|Rol|Gebruiker|Inzending|Details|Code gebeurtenis|Code stap|Organisatie-ID" {
		t.Errorf("header: %s", got)
	}
	if got := types(dist); len(got) != 6 || got[0] != "case.opened " || got[3] != "ticket.closed "+rpCase1+"-T2" || got[4] != "ticket.closed "+rpCase1+"-T1" || got[5] != "ticket.sla_warning "+rpCase1+"-T3" {
		t.Errorf("dist's trail: %q", got)
	}
	step := rpRow(dist, 9, "step.completed")
	if step == nil || step[1] != "Stap afgerond" || step[2] != "'"+rpEvil || step[10] != "'"+rpEvil || step[0] != "2027-05-21T09:00:00+02:00" ||
		step[4] != "Distri" || step[11] != "dist" || step[5] != "distributeur" || step[6] != s.users["dist"].ID || step[7] != "sub_step" {
		t.Errorf("step event: %q (the step must come out neutralised)", step)
	}
	if dl := rpRow(dist, 9, "list.downloaded"); dl == nil || dl[8] != "list_id=list_9, kind=complete, version=2, due_at=2027-05-25T17:00:00+02:00" {
		t.Errorf("download event: %q", dl)
	}
	if closed := rpRow(dist, 3, rpCase1+"-T1"); closed == nil || closed[8] != "late=true" {
		t.Errorf("a late close: %q", closed)
	}
	if failed := rpRow(rpCSV(t, s.do("GET", "/cases/"+rpCase3+"/events.csv", nil, s.signIn("dist")), "logboek-"+rpCase3+".csv"), 9, "test.failed"); failed == nil || failed[8] != "reopened=12+13" || failed[2] != "17" || failed[1] != "Eindtest mislukt" {
		t.Errorf("a failed test: %q", failed)
	}
	if warn := rpRow(dist, 9, "ticket.sla_warning"); warn == nil || warn[1] != "Nog één werkdag (SLA)" || warn[4] != "" || warn[11] != "" || warn[5] != "systeem" {
		t.Errorf("a timer's event: %q", warn)
	}
	if strings.Contains(strings.Join(slices.Concat(dist...), " "), "Jan de Vries") {
		t.Error("free text from an event's details in the audit CSV")
	}

	// Every party; a LiKa without the other LiKas' tickets, as on the case page.
	for org, tickets := range map[string][]string{"school": {"T2", "T1", "T3"}, "kn": {"T2", "T1", "T3"}, "lika1": {"T1"}, "lika2": {"T2"}, "lika3": {"T3"}} {
		recs := rpCSV(t, s.do("GET", path, nil, s.signIn(org)), file)
		var seen []string
		for _, r := range recs[1:] {
			if r[3] != "" {
				seen = append(seen, strings.TrimPrefix(r[3], rpCase1+"-"))
			}
		}
		if !slices.Equal(seen, tickets) || rpRow(recs, 9, "case.opened") == nil {
			t.Errorf("%s sees the events of tickets %v, want %v", org, seen, tickets)
		}
	}
	en := rpCSV(t, s.do("GET", path, nil, s.signIn("lika1"), english), "audit-trail-"+rpCase1+".csv")
	if en[0][0] != "Time" || rpRow(en, 9, "ticket.closed")[5] != "publisher/LiKa" || rpRow(en, 9, "ticket.closed")[1] != "Ticket closed" {
		t.Errorf("English: %q", en)
	}

	// Not a party, or no such case: 404, the same page.
	dist2 := s.signIn("dist2")
	ref := s.do("GET", "/cases/ZZ99-20991231/events.csv", nil, dist2)
	foreign := s.do("GET", path, nil, dist2)
	if foreign.status != http.StatusNotFound || ref.status != http.StatusNotFound || foreign.header.Get("Content-Disposition") != "" ||
		strings.ReplaceAll(foreign.body, rpCase1, "ID") != strings.ReplaceAll(ref.body, "ZZ99-20991231", "ID") {
		t.Errorf("a foreign case's audit CSV: %d (unknown: %d), or the two pages differ", foreign.status, ref.status)
	}
	if p := s.do("GET", "/cases/"+rpCase2+"/events.csv", nil, s.signIn("lika3")); p.status != http.StatusNotFound {
		t.Errorf("a LiKa that is no party: %d", p.status)
	}
	if p := s.do("GET", path, nil); p.status != http.StatusSeeOther {
		t.Errorf("anonymous: %d", p.status)
	}
}

// TestCancelledCaseWaitsForNobody: the steps a cancelled case never got to
// read "not done", not "open" or "waiting".
func TestCancelledCaseWaitsForNobody(t *testing.T) {
	s := newReportSite(t)
	p := s.do("GET", "/cases/"+rpCase5, nil, s.signIn("dist"))
	if p.status != 200 || !strings.Contains(p.body, `<span class="badge">niet gedaan</span>`) ||
		strings.Contains(p.body, `<span class="badge">open</span>`) || strings.Contains(p.body, `<span class="badge">wacht</span>`) {
		t.Errorf("a cancelled case's steps: %d\n%s", p.status, p.body)
	}
	if !strings.Contains(p.body, `<span class="badge">gedaan</span>`) {
		t.Error("the steps done before the cancel are not shown done")
	}
}
