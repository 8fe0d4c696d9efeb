package web

import (
	"cmp"
	"context"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/waswordt"
)

// The reports: the SLA per LiKa over a period, the distributors' cases by
// status and at risk, and a case's audit trail as CSV. Pages are rendered
// on the server, the chart is SVG drawn by the template (no JavaScript);
// the CSV downloads are written by waswordt.Write like the list downloads:
// UTF-8 with a BOM, ';' between cells, every cell formula-neutralised.
//
// Who sees what (the store enforces it again, gormdb/reports.go):
//
//	/reports/sla[.csv]     a LiKa its own row; a distributor the LiKas'
//	                       rows over the tickets of its own cases; Kennisnet
//	                       all; a school 404
//	/reports/cases[.csv]   a distributor its own cases; Kennisnet all, per
//	                       distributor; others 404
//	/cases/:id/events.csv  every party to the case, as on the case page (a
//	                       LiKa without other LiKas' ticket events); others 404
//
// The texts of these pages carry their English beside the Dutch
// ({{tx "nl" "en"}} in the templates, nlen in the code).

// ReportStore is what the reports read.
type ReportStore interface {
	SLATickets(ctx context.Context, v gormdb.Viewer, start, end time.Time) ([]cmr.Ticket, error)
	ReportCases(ctx context.Context, v gormdb.Viewer) ([]cmr.Case, error)
}

var _ ReportStore = (*gormdb.Store)(nil)

var (
	slaRoles   = []cmr.Role{cmr.RolePublisher, cmr.RoleDistributor, cmr.RoleKennisnet}
	casesRoles = []cmr.Role{cmr.RoleDistributor, cmr.RoleKennisnet}
)

// registerReports mounts the audit-trail download and, with a
// ReportStore, the reports; their page is parsed here, beside the others.
func (s *Server) registerReports(g *echo.Group) error {
	g.GET("/cases/:id/events.csv", s.eventsCSV, s.signedIn)
	if s.Reports == nil {
		return nil
	}
	for _, lang := range []string{"nl", "en"} {
		t, err := s.pages[lang]["error"].Clone()
		if err != nil {
			return err
		}
		if _, err := t.Funcs(reportFuncs(lang)).ParseFS(templateFS, "templates/reports.html", "templates/reportparts.html"); err != nil {
			return err
		}
		s.pages[lang]["reports"] = t
	}
	g.GET("/reports/sla", s.slaReport, s.signedIn, s.onlyRoles(slaRoles...))
	g.GET("/reports/sla.csv", s.slaReport, s.signedIn, s.onlyRoles(slaRoles...))
	g.GET("/reports/cases", s.casesReport, s.signedIn, s.onlyRoles(casesRoles...))
	g.GET("/reports/cases.csv", s.casesReport, s.signedIn, s.onlyRoles(casesRoles...))
	return nil
}

func reportFuncs(lang string) template.FuncMap {
	return template.FuncMap{
		"tx":  func(nl, en string) string { return nlenLang(lang, nl, en) },
		"num": func(f float64) string { return decimal(lang, f) },
	}
}

func nlenLang(lang, nl, en string) string {
	if lang == "en" {
		return en
	}
	return nl
}

// nlen is the text in the request's language.
func nlen(c echo.Context, nl, en string) string { return nlenLang(language(c), nl, en) }

// decimal writes f with at most one decimal, a comma in Dutch.
func decimal(lang string, f float64) string {
	s := strconv.FormatFloat(f, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	if lang == "nl" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// onlyRoles keeps a route to the given roles; to the others it does not
// exist.
func (s *Server) onlyRoles(roles ...cmr.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if ss := current(c); !slices.Contains(roles, ss.User.Role) {
				return s.fail(c, ss, cmr.ErrNotFound)
			}
			return next(c)
		}
	}
}

type reportsPage struct {
	page
	// Kind is the report shown: "sla" or "cases".
	Kind string
	// CanCases: the caller has the distributors' report too.
	CanCases bool
	Role     cmr.Role

	// The SLA report: the period's inputs as given (or the defaults), a
	// refusal of them, the rows and the chart.
	From, To       string
	Problem, Field string
	Period         cmr.ReportPeriod
	Rows           []slaRow
	Total          slaRow
	Chart          *slaChart
	CSV            string
	SLADays        int

	// The distributors' report.
	Groups   []distributorGroup
	Grouped  bool
	AtRisk   int
	RiskRule string
}

type slaRow struct {
	cmr.SLAStats
	Name string
}

type distributorGroup struct {
	cmr.DistributorCases
	Name   string
	AtRisk []riskyRow
}

type riskyRow struct {
	Case    cmr.Case
	School  cmr.Organisation
	Reason  string
	Overdue bool
}

// orgsByID maps the organisations of a role to their names.
func (s *Server) orgsByID(ctx context.Context, role cmr.Role) (map[string]cmr.Organisation, error) {
	orgs, err := s.Store.Organisations(ctx, role)
	if err != nil {
		return nil, err
	}
	out := map[string]cmr.Organisation{}
	for _, o := range orgs {
		out[o.ID] = o
	}
	return out, nil
}

// reportToday is the civil date of now in the calendar's zone.
func (s *Server) reportToday() time.Time {
	n := s.Now().In(s.loc)
	return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC)
}

// slaReport handles GET /reports/sla and /reports/sla.csv?from=&to=: the
// tickets whose SLA clock started in the period (default the last 90
// days), per LiKa.
func (s *Server) slaReport(c echo.Context) error {
	ctx := c.Request().Context()
	ss := current(c)
	p := reportsPage{page: s.base(c, ss, nlen(c, "Rapportage SLA per LiKa", "Report: SLA per LiKa")), Kind: "sla", Role: ss.User.Role,
		CanCases: slices.Contains(casesRoles, ss.User.Role), From: strings.TrimSpace(c.QueryParam("from")), To: strings.TrimSpace(c.QueryParam("to")),
		SLADays: s.SLADays}
	if p.SLADays == 0 {
		p.SLADays = 3
	}
	period, err := cmr.ParseReportPeriod(p.From, p.To, s.reportToday())
	if err != nil {
		if cmr.KindOf(err) != cmr.KindInvalid {
			return s.fail(c, ss, err)
		}
		p.Problem = s.periodRefusal(c, err)
		if e, ok := err.(*cmr.Error); ok {
			p.Field = e.Field
		}
		return s.render(c, http.StatusBadRequest, "reports", p)
	}
	p.Period, p.From, p.To = period, period.From.Format(cmr.DateLayout), period.To.Format(cmr.DateLayout)
	start, end := period.Bounds(s.loc)
	tickets, err := s.Reports.SLATickets(ctx, viewer(ss), start, end)
	if err != nil {
		return s.fail(c, ss, err)
	}
	likas, err := s.orgsByID(ctx, cmr.RolePublisher)
	if err != nil {
		return s.fail(c, ss, err)
	}
	report := cmr.BuildSLAReport(tickets, s.cal, period, s.Now())
	for _, r := range report.Rows {
		name := likas[r.LiKaID].Name
		if name == "" {
			name = r.LiKaID
		}
		p.Rows = append(p.Rows, slaRow{SLAStats: r, Name: name})
	}
	p.Total = slaRow{SLAStats: report.Total, Name: nlen(c, "Totaal", "Total")}
	if strings.HasSuffix(c.Path(), ".csv") {
		return s.slaCSV(c, p)
	}
	p.Chart = newSLAChart(p.Rows)
	p.CSV = "/reports/sla.csv?from=" + p.From + "&to=" + p.To
	return s.render(c, http.StatusOK, "reports", p)
}

// periodRefusal names the input a refused period is about.
func (s *Server) periodRefusal(c echo.Context, err error) string {
	msg := s.refusal(c, err)
	if e, ok := err.(*cmr.Error); ok {
		switch e.Field {
		case "from":
			return nlen(c, "Van", "From") + ": " + msg
		case "to":
			return nlen(c, "Tot en met", "Up to and including") + ": " + msg
		}
	}
	return msg
}

func (s *Server) slaCSV(c echo.Context, p reportsPage) error {
	lang := language(c)
	header := []string{"LiKa", nlen(c, "Naam", "Name"), "Tickets", nlen(c, "Op tijd afgemeld", "Closed on time"), nlen(c, "Te laat afgemeld", "Closed late"),
		nlen(c, "Nu over de termijn", "Overdue now"), nlen(c, "Lopend binnen de termijn", "Open within the term"), nlen(c, "Vervallen", "Waived"),
		nlen(c, "Geannuleerd", "Cancelled"), nlen(c, "Mediaan werkdagen tot afmelden", "Median working days to close"),
		nlen(c, "P90 werkdagen tot afmelden", "P90 working days to close")}
	var rows [][]string
	for _, r := range append(slices.Clone(p.Rows), p.Total) {
		median, p90 := "", ""
		if r.HasClosed {
			median, p90 = decimal(lang, r.Median), strconv.Itoa(r.P90)
		}
		rows = append(rows, []string{r.LiKaID, r.Name, strconv.Itoa(r.Tickets), strconv.Itoa(r.OnTime), strconv.Itoa(r.Late), strconv.Itoa(r.Overdue),
			strconv.Itoa(r.Running), strconv.Itoa(r.Waived), strconv.Itoa(r.Cancelled), median, p90})
	}
	return s.sendCSV(c, "sla-"+p.From+"-"+p.To, header, rows)
}

// sendCSV sends a download the way the list downloads do (waswordt.Write:
// UTF-8 with BOM, ';', every cell neutralised), never cached.
func (s *Server) sendCSV(c echo.Context, name string, header []string, rows [][]string) error {
	data, err := waswordt.Write(waswordt.CSV, header, rows)
	if err != nil {
		return s.fail(c, current(c), err)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return sendFile(c, waswordt.CSV, name, data)
}

// slaChart is the bar chart of the SLA report: per LiKa one bar of its
// tickets closed on time, closed late and overdue now, in SVG units.
type slaChart struct {
	Width, Height int
	Bars          []slaBar
	Legend        []chartSeg
}

type slaBar struct {
	Label        string
	Y, TextY     int
	Segs         []chartSeg
	Total, TotX  int
	OnTime, Late int
	Overdue      int
}

type chartSeg struct {
	X, Y, W, H int
	// TX, TY place a legend entry's text.
	TX, TY int
	Fill   string
	// What is Dutch, WhatEN English; N the count.
	What, WhatEN string
	N            int
}

const (
	chartLabelW = 190
	chartBarW   = 440
	chartRowH   = 30
	chartBarH   = 18
	chartTop    = 34
	// chartTotalW is the room after the longest bar for its counts
	// ("120 / 30 / 12").
	chartTotalW = 130
)

var chartKinds = []struct{ fill, nl, en string }{
	{"#1a7f37", "op tijd afgemeld", "closed on time"},
	{"#bc4c00", "te laat afgemeld", "closed late"},
	{"#b3261e", "nu over de termijn", "overdue now"},
}

func newSLAChart(rows []slaRow) *slaChart {
	most := 0
	for _, r := range rows {
		most = max(most, r.OnTime+r.Late+r.Overdue)
	}
	if most == 0 {
		return nil
	}
	ch := &slaChart{Width: chartLabelW + chartBarW + chartTotalW, Height: chartTop + len(rows)*chartRowH + 6}
	x := 0
	for _, k := range chartKinds {
		ch.Legend = append(ch.Legend, chartSeg{X: x, Y: 6, W: 14, H: 14, TX: x + 20, TY: 18, Fill: k.fill, What: k.nl, WhatEN: k.en})
		x += 190
	}
	for i, r := range rows {
		label := r.Name
		if rs := []rune(label); len(rs) > 26 {
			label = string(rs[:25]) + "…"
		}
		y := chartTop + i*chartRowH
		b := slaBar{Label: label, Y: y, TextY: y + chartBarH - 4, Total: r.OnTime + r.Late + r.Overdue, OnTime: r.OnTime, Late: r.Late, Overdue: r.Overdue}
		x := chartLabelW
		for j, n := range []int{r.OnTime, r.Late, r.Overdue} {
			if n == 0 {
				continue
			}
			w := max(n*chartBarW/most, 2)
			b.Segs = append(b.Segs, chartSeg{X: x, Y: y, W: w, H: chartBarH, Fill: chartKinds[j].fill, What: chartKinds[j].nl, WhatEN: chartKinds[j].en, N: n})
			x += w
		}
		b.TotX = x + 6
		ch.Bars = append(ch.Bars, b)
	}
	return ch
}

// casesReport handles GET /reports/cases and /reports/cases.csv: a
// distributor's cases by status and those at risk; for Kennisnet every
// distributor's.
func (s *Server) casesReport(c echo.Context) error {
	ctx := c.Request().Context()
	ss := current(c)
	cases, err := s.Reports.ReportCases(ctx, viewer(ss))
	if err != nil {
		return s.fail(c, ss, err)
	}
	dists, err := s.orgsByID(ctx, cmr.RoleDistributor)
	if err != nil {
		return s.fail(c, ss, err)
	}
	// The schools of these cases, not every school in the directory.
	schoolIDs := make([]string, len(cases))
	for i, cs := range cases {
		schoolIDs[i] = cs.SchoolID
	}
	schools, err := s.Store.OrganisationsByID(ctx, schoolIDs)
	if err != nil {
		return s.fail(c, ss, err)
	}
	now := s.Now()
	p := reportsPage{page: s.base(c, ss, nlen(c, "Rapportage zaken per distributeur", "Report: cases per distributor")), Kind: "cases", Role: ss.User.Role,
		CanCases: true, Grouped: ss.User.Role == cmr.RoleKennisnet}
	days := int(gormdb.AtRiskWindow.Hours() / 24)
	p.RiskRule = nlen(c, fmt.Sprintf("Een lopende zaak heeft risico als de uiterste datum (VO: vóór 1 augustus; MBO: de dag waarop de leermiddelenlijst opengaat) verstreken is of binnen %d dagen ligt, of als een ticket hoogstens één werkdag over heeft of over de termijn is.", days),
		fmt.Sprintf("An open case is at risk when its deadline (VO: before 1 August; MBO: the day the learning-materials list opens) has passed or lies within %d days, or when a ticket has at most one working day left or is overdue.", days))
	for _, d := range cmr.CasesPerDistributor(cases, now, gormdb.AtRiskWindow) {
		g := distributorGroup{DistributorCases: d, Name: dists[d.DistributorID].Name}
		if g.Name == "" {
			g.Name = d.DistributorID
		}
		for _, r := range d.AtRisk {
			g.AtRisk = append(g.AtRisk, riskyRow{Case: r.Case, School: schools[r.Case.SchoolID], Reason: riskReason(language(c), r.Risk), Overdue: r.Risk.TicketsOverdue > 0 || r.Risk.DeadlinePassed})
		}
		p.AtRisk += len(g.AtRisk)
		p.Groups = append(p.Groups, g)
	}
	if strings.HasSuffix(c.Path(), ".csv") {
		return s.casesCSV(c, p, cases, schools, now)
	}
	return s.render(c, http.StatusOK, "reports", p)
}

// riskReason says why a case is at risk.
func riskReason(lang string, r cmr.CaseRisk) string {
	var parts []string
	switch {
	case r.DeadlinePassed:
		parts = append(parts, nlenLang(lang, "uiterste datum verstreken", "deadline passed"))
	case r.DeadlineNear:
		parts = append(parts, nlenLang(lang, fmt.Sprintf("uiterste datum binnen %d dagen", int(gormdb.AtRiskWindow.Hours()/24)),
			fmt.Sprintf("deadline within %d days", int(gormdb.AtRiskWindow.Hours()/24))))
	}
	if n := r.TicketsAtRisk - r.TicketsOverdue; n > 0 {
		parts = append(parts, nlenLang(lang, fmt.Sprintf("%d ticket(s) met hoogstens één werkdag over", n), fmt.Sprintf("%d ticket(s) with at most one working day left", n)))
	}
	if r.TicketsOverdue > 0 {
		parts = append(parts, nlenLang(lang, fmt.Sprintf("%d ticket(s) over de termijn", r.TicketsOverdue), fmt.Sprintf("%d ticket(s) overdue", r.TicketsOverdue)))
	}
	return strings.Join(parts, "; ")
}

func (s *Server) casesCSV(c echo.Context, p reportsPage, cases []cmr.Case, schools map[string]cmr.Organisation, now time.Time) error {
	lang := language(c)
	names := map[string]string{}
	for _, g := range p.Groups {
		names[g.DistributorID] = g.Name
	}
	header := []string{nlen(c, "Distributeur", "Distributor"), nlen(c, "Naam distributeur", "Distributor name"), nlen(c, "Zaak", "Case"),
		"School", "BRIN", "Sector", "Status", nlen(c, "Overstap", "Switch"), nlen(c, "Klaar vóór", "Done before"), nlen(c, "Risico", "At risk"),
		nlen(c, "Reden", "Reason")}
	status := map[cmr.CaseStatus]string{cmr.CaseOpen: nlenLang(lang, "lopend", "open"), cmr.CaseCompleted: nlenLang(lang, "afgerond", "completed"),
		cmr.CaseCancelled: nlenLang(lang, "geannuleerd", "cancelled")}
	sorted := slices.Clone(cases)
	slices.SortStableFunc(sorted, func(a, b cmr.Case) int {
		return strings.Compare(a.DistributorID+"\x00"+a.ID, b.DistributorID+"\x00"+b.ID)
	})
	var rows [][]string
	for _, cs := range sorted {
		r := cmr.AssessCase(cs, now, gormdb.AtRiskWindow)
		risk := nlenLang(lang, "nee", "no")
		if r.AtRisk() {
			risk = nlenLang(lang, "ja", "yes")
		}
		school := schools[cs.SchoolID]
		rows = append(rows, []string{cs.DistributorID, names[cs.DistributorID], cs.ID, school.Name, school.BRIN, string(cs.Sector), status[cs.Status],
			reportDate(cs.SwitchOn), reportDate(cs.Deadline), risk, riskReason(lang, r)})
	}
	name := nlen(c, "zaken-", "cases-") + s.reportToday().Format(cmr.DateLayout)
	return s.sendCSV(c, name, header, rows)
}

// csvStep names an event's step for people, as the trail on the case page
// does: its number (11, 8a), or for a step without one its title.
func csvStep(cs cmr.Case, key, lang string) string {
	if key == "" {
		return ""
	}
	if n := cmr.StepNumber(key); n != "" {
		return n
	}
	st, _ := cs.Step(key)
	return cmp.Or(st.TitleIn(lang), key)
}

func reportDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(cmr.DateLayout)
}

// eventDetails are the keys of an event's details the audit CSV carries:
// IDs, kinds and counts. Anything else (reasons, problems found in a list)
// stays out, so that no text people wrote or a list held leaves this way.
var eventDetails = []string{"outcome", "list_id", "kind", "version", "rows", "type", "due_at", "list_versions_deleted", "closed_before",
	"reopened", "late", "working_days_left", "escalated_to"}

// eventsCSV handles GET /cases/:id/events.csv: the case's audit trail for
// a party to it, with the same check and the same events as the case
// page; 404 for anyone else. What happened in words and at which step
// (for people opening it in a spreadsheet), when, who acted, and the codes
// and IDs behind them (for systems matching it); no notes.
func (s *Server) eventsCSV(c echo.Context) error {
	ctx := c.Request().Context()
	ss := current(c)
	cs, err := s.Store.Case(ctx, viewer(ss), c.Param("id"))
	if err != nil {
		return s.fail(c, ss, err)
	}
	events, err := s.Store.Events(ctx, viewer(ss), cs.ID)
	if err != nil {
		return s.fail(c, ss, err)
	}
	own := map[string]bool{}
	for _, t := range cs.Tickets {
		if ss.User.Role != cmr.RolePublisher || t.LiKaID == ss.User.OrganisationID {
			own[t.ID] = true
		}
	}
	// The parties by name, as on the case page; their IDs in a column of
	// their own, for whoever matches the trail against another system.
	names, err := s.Store.OrganisationsByID(ctx, cs.Parties.IDs())
	if err != nil {
		return s.fail(c, ss, err)
	}
	lang := language(c)
	header := []string{nlen(c, "Tijdstip", "Time"), nlen(c, "Gebeurtenis", "Event"), nlen(c, "Stap", "Step"), "Ticket",
		nlen(c, "Organisatie", "Organisation"), nlen(c, "Rol", "Role"), nlen(c, "Gebruiker", "User"), nlen(c, "Inzending", "Submission"), "Details",
		nlen(c, "Code gebeurtenis", "Event code"), nlen(c, "Code stap", "Step code"), nlen(c, "Organisatie-ID", "Organisation ID")}
	var rows [][]string
	for _, e := range events {
		if !e.VisibleTo(actorOf(ss), own) {
			continue // another LiKa's ticket or doing, as on the case page
		}
		org, orgID, role, user := "", "", nlenLang(lang, "systeem", "system"), ""
		if e.Actor != nil {
			org, orgID, role, user = orgNames(names).Name(e.Actor.OrganisationID), e.Actor.OrganisationID, roleName(lang, e.Actor.Role), e.Actor.UserID
		}
		var details []string
		for _, k := range eventDetails {
			switch v := e.Details[k].(type) {
			case string:
				if t, err := time.Parse(time.RFC3339, v); err == nil {
					v = t.In(s.loc).Format(time.RFC3339) // as the time column: local
				}
				details = append(details, k+"="+v)
			case bool, float64, int:
				details = append(details, fmt.Sprintf("%s=%v", k, v))
			case []any: // step keys (reopened)
				var keys []string
				for _, x := range v {
					keys = append(keys, fmt.Sprint(x))
				}
				details = append(details, k+"="+strings.Join(keys, "+"))
			}
		}
		rows = append(rows, []string{e.At.In(s.loc).Format(time.RFC3339), cmr.EventTitle(e.Type, lang), csvStep(cs, e.Step, lang), e.TicketID, org, role, user, e.SubmissionID,
			strings.Join(details, ", "), e.Type, e.Step, orgID})
	}
	return s.sendCSV(c, nlen(c, "logboek-", "audit-trail-")+cs.ID, header, rows)
}
