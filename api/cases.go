package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/casework"
	"github.com/cmr-idp/cmr/gormdb"
)

type caseOptionsJSON struct {
	Calamity    *bool `json:"calamity"`
	KeepHistory *bool `json:"keep_history"`
}

type openCaseRequest struct {
	School      string           `json:"school"` // organisation ID or BRIN
	Sector      string           `json:"sector"`
	From        *endpointJSON    `json:"from"`
	To          *endpointJSON    `json:"to"`
	LiKas       []string         `json:"likas"`
	SwitchOn    string           `json:"switch_on"`
	ListOpensOn string           `json:"list_opens_on"`
	RequestedOn string           `json:"requested_on"`
	Options     *caseOptionsJSON `json:"options"`
	Calamity    *bool            `json:"calamity"`
	KeepHistory *bool            `json:"keep_history"`
}

func (r openCaseRequest) options() cmr.CaseOptions {
	o := cmr.CaseOptions{KeepHistory: true}
	for _, src := range []*caseOptionsJSON{r.Options, {Calamity: r.Calamity, KeepHistory: r.KeepHistory}} {
		if src == nil {
			continue
		}
		if src.Calamity != nil {
			o.Calamity = *src.Calamity
		}
		if src.KeepHistory != nil {
			o.KeepHistory = *src.KeepHistory
		}
	}
	return o
}

// openCase handles POST /api/v1/cases: a distributor opens a case for a
// school (see casework.OpenCase). With an Idempotency-Key header the
// request may be sent again after a lost answer: it answers with the case
// the first attempt opened.
func (s *Server) openCase(c echo.Context) error {
	ctx := c.Request().Context()
	me := actor(c)
	if me.Role != cmr.RoleDistributor {
		return cmr.Errorf(cmr.KindForbidden, "only a distributor opens cases; you act in the %s role", me.Role.English()).
			NL("alleen een distributeur opent zaken; u bent aangemeld als %s", me.Role.Dutch())
	}
	var req openCaseRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	// The school, the scenario, the dates and the LiKas are checked apart,
	// and every one at fault refused at once (cmr.Together); what depends
	// on them all (is the switch supported, in time) is checked after.
	var errSchool, errScenario, errSwitch error
	if req.Sector == "" {
		var school cmr.Organisation
		school, errSchool = casework.FindSchool(ctx, s.Store, req.School)
		req.Sector = string(school.Sector)
	}
	var sc cmr.Scenario
	if errSchool == nil {
		sc, errScenario = parseScenario(req.Sector, req.From, req.To)
	} else {
		// Without the school's sector the sides cannot be read, but a
		// side left out is wrong in any sector.
		var missing [2]error
		for i, e := range []*endpointJSON{req.From, req.To} {
			if e == nil {
				_, missing[i] = e.domain("", [2]string{"from", "to"}[i])
			}
		}
		errScenario = cmr.Together(missing[:]...)
	}
	if req.SwitchOn == "" {
		errSwitch = cmr.FieldErrorf("switch_on", "is required: the planned switch date as YYYY-MM-DD").NL("is verplicht: vul de geplande overstapdatum in")
	}
	timing, errTiming := parseTiming(req.RequestedOn, req.SwitchOn, req.ListOpensOn)
	if errTiming == nil { // the opening's rules for the dates (a request not after today)
		_, errTiming = casework.CheckTiming(timing, cmr.Sector(req.Sector), s.Calendar.Today(s.Now()))
	}
	_, errLiKas := casework.CheckLiKas(ctx, s.Store, req.LiKas)
	if err := cmr.Together(errSchool, errScenario, errSwitch, errTiming, errLiKas); err != nil {
		return err
	}
	id, err := casework.OpenCase(ctx, s.Store, s.Engine, me,
		casework.OpenRequest{School: req.School, Scenario: sc, Timing: timing, LiKas: req.LiKas, Options: req.options(),
			IdempotencyKey: c.Request().Header.Get("Idempotency-Key")},
		casework.Settings{Calendar: s.Calendar, SLADays: s.SLADays, Today: s.Now()})
	if err != nil {
		return err
	}
	return s.respondCase(c, http.StatusCreated, id)
}

// DefaultCasePage is how many cases a page of the case list holds unless
// the caller asks for another number (limit, at most gormdb.MaxCasePage).
const DefaultCasePage = 50

// pageLimit is a list's limit query parameter: def when absent, at most
// max.
func pageLimit(c echo.Context, def, max int) (int, error) {
	v := c.QueryParam("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, cmr.FieldErrorf("limit", "must be a number from 1 to %d", max).NL("moet een getal van 1 tot en met %d zijn", max)
	}
	return n, nil
}

// listCases handles GET /api/v1/cases?status=&school=&at_risk=&limit=&after=:
// a page of the caller's cases, newest first, with the cursor of the next.
func (s *Server) listCases(c echo.Context) error {
	limit, err := pageLimit(c, DefaultCasePage, gormdb.MaxCasePage)
	if err != nil {
		return err
	}
	f := gormdb.CaseFilter{Status: c.QueryParam("status"), Now: s.Now(), Limit: limit, After: c.QueryParam("after"), Summary: true}
	switch f.Status {
	case "", string(cmr.CaseOpen), string(cmr.CaseCompleted), string(cmr.CaseCancelled):
	default:
		return cmr.FieldErrorf("status", "must be open, completed or cancelled").NL("moet open (lopend), completed (afgerond) of cancelled (geannuleerd) zijn")
	}
	if school := c.QueryParam("school"); school != "" {
		o, err := casework.FindSchool(c.Request().Context(), s.Store, school)
		if err != nil {
			return err
		}
		f.SchoolID = o.ID
	}
	if v := c.QueryParam("at_risk"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return cmr.FieldErrorf("at_risk", "must be true or false").NL("moet true of false zijn")
		}
		f.AtRisk = &b
	}
	cases, next, err := s.Store.CasePage(c.Request().Context(), viewer(c), f)
	if err != nil {
		return err
	}
	ids := make([]string, len(cases))
	for i, cs := range cases {
		ids[i] = cs.ID
	}
	risky, err := s.Store.CasesAtRisk(c.Request().Context(), viewer(c), ids, s.Now())
	if err != nil {
		return err
	}
	out := make([]caseSummaryOut, len(cases))
	for i, cs := range cases {
		out[i] = s.caseSummary(cs, risky[cs.ID])
	}
	page := map[string]any{"cases": out}
	if next != "" {
		page["next"] = next
	}
	return c.JSON(http.StatusOK, page)
}

// getCase handles GET /api/v1/cases/:id.
func (s *Server) getCase(c echo.Context) error {
	cs := checkedCase(c)
	extra, err := s.listWarnings(c, cs)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.caseJSON(ownTickets(c, cs), extra...))
}

func (s *Server) respondCase(c echo.Context, status int, id string) error {
	cs, err := s.Store.Case(c.Request().Context(), viewer(c), id)
	if err != nil {
		// Every caller has had its action accepted by the case workflow.
		return cmr.Recorded(id, err)
	}
	extra, err := s.listWarnings(c, cs)
	if err != nil {
		return cmr.Recorded(id, err)
	}
	return c.JSON(status, s.caseJSON(ownTickets(c, cs), extra...))
}

// listWarnings are the warnings of a case that come from its lists: for
// the school and the distributor, a VO list replaced after step 11
// (cmr.Case.ListReplaced).
func (s *Server) listWarnings(c echo.Context, cs cmr.Case) ([]cmr.Warning, error) {
	me := actor(c)
	if s.Lists == nil || !cs.TellsOfReplacedList(me.Role) {
		return nil, nil
	}
	lv, found, err := s.current(c.Request().Context(), viewer(c), cs.ID, "", cmr.ListComplete)
	if err != nil {
		return nil, err
	}
	if w, ok := cs.ListReplaced(lv); found && ok {
		return []cmr.Warning{w}, nil
	}
	return nil, nil
}

// ownTickets leaves a LiKa only its own ticket: the others are other
// publishers' business.
func ownTickets(c echo.Context, cs cmr.Case) cmr.Case {
	if me := actor(c); me.Role == cmr.RolePublisher {
		var mine []cmr.Ticket
		for _, t := range cs.Tickets {
			if t.LiKaID == me.OrganisationID {
				mine = append(mine, t)
			}
		}
		cs.Tickets = mine
		// Nor which other publishers the school deals with.
		cs.Parties.LiKaIDs = []string{me.OrganisationID}
	}
	return cs
}

type stepRequest struct {
	Data     map[string]any `json:"data"`
	Passed   *bool          `json:"passed"`
	RedoStep string         `json:"redo_step"`
	Note     string         `json:"note"`
}

// completeStep handles POST /api/v1/cases/:id/steps/:step: the step's
// owner completes it with the data it records. For the final test, send
// "passed" (and "redo_step" when it failed).
func (s *Server) completeStep(c echo.Context) error {
	ctx := c.Request().Context()
	me := actor(c)
	cs := checkedCase(c)
	key := c.Param("step")
	var step *cmr.Step
	for i := range cs.Steps {
		if cs.Steps[i].Key == key {
			step = &cs.Steps[i]
		}
	}
	if step == nil {
		var keys []string
		for _, st := range cs.Steps {
			keys = append(keys, st.Key)
		}
		return &cmr.Error{Kind: cmr.KindNotFound,
			Message:   fmt.Sprintf("case %s has no step %q; its steps are %s", cs.ID, key, strings.Join(keys, ", ")),
			MessageNL: fmt.Sprintf("zaak %s heeft geen stap %q; de stappen zijn %s", cs.ID, key, strings.Join(keys, ", "))}
	}
	var req stepRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	if req.Data == nil {
		req.Data = map[string]any{}
	}
	// The final test may be reported with top-level fields; "data" wins.
	setDefault := func(k string, v any) {
		if _, set := req.Data[k]; !set {
			req.Data[k] = v
		}
	}
	switch {
	case step.Kind == cmr.StepTest:
		if req.Passed != nil {
			setDefault("passed", *req.Passed)
		}
		if req.RedoStep != "" {
			setDefault("redo_step", req.RedoStep)
		}
	case req.Passed != nil || req.RedoStep != "":
		return cmr.FieldErrorf("passed", "only the final test step records a test outcome").
			NL("alleen bij de laatste stap, de test, legt u een testuitslag vast")
	}
	if req.Note != "" {
		setDefault("note", req.Note)
	}
	// Quick refusals from the projection, so that nothing is stored for a
	// request the workflow would refuse anyway; the workflow's validator
	// decides.
	if err := casework.CheckStep(cs, *step, me, req.Data); err != nil {
		return err
	}
	var checked casework.Checked
	if s.Lists != nil {
		var err error
		if checked, err = s.listPrecheck(ctx, viewer(c), cs, key, req.Data); err != nil {
			return err
		}
	}
	if _, err := casework.CompleteStep(ctx, s.Store, s.Engine, me, cs, *step, req.Data, checked, s.Now()); err != nil {
		return err
	}
	return s.respondCase(c, http.StatusOK, cs.ID)
}

type reasonRequest struct {
	Reason string `json:"reason"`
	Note   string `json:"note"`
}

// cancelCase handles POST /api/v1/cases/:id/cancel (distributor, with a reason).
func (s *Server) cancelCase(c echo.Context) error {
	ctx := c.Request().Context()
	me := actor(c)
	cs := checkedCase(c)
	if me.Role != cmr.RoleDistributor {
		// Before the body is read: the role decides, whatever was sent.
		return cmr.Errorf(cmr.KindForbidden, "only the case's distributor can cancel it").NL("alleen de distributeur van de zaak kan de zaak annuleren")
	}
	var req reasonRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	if _, err := casework.CancelCase(ctx, s.Store, s.Engine, me, cs, req.Reason); err != nil {
		return err
	}
	return s.respondCase(c, http.StatusOK, cs.ID)
}

// requireText refuses an empty or overlong text; what says what the text
// is for, in English and in Dutch (whatNL follows "geef aan").
func requireText(field, v, what, whatNL string) error {
	v = strings.TrimSpace(v)
	if v == "" {
		return cmr.FieldErrorf(field, "is required: %s", what).NL("is verplicht: geef aan %s", whatNL)
	}
	if utf8.RuneCountInString(v) > 2000 {
		return cmr.FieldErrorf(field, "is longer than 2000 characters").NL("is langer dan 2000 tekens")
	}
	return nil
}

// listEvents handles GET /api/v1/cases/:id/events: the audit trail. A LiKa
// sees the events of its own ticket, not of other publishers' tickets.
func (s *Server) listEvents(c echo.Context) error {
	ctx := c.Request().Context()
	events, err := s.Store.Events(ctx, viewer(c), c.Param("id"))
	if err != nil {
		return err
	}
	var own map[string]bool
	if me := actor(c); me.Role == cmr.RolePublisher {
		tickets, err := s.Store.Tickets(ctx, viewer(c), gormdb.TicketFilter{CaseID: c.Param("id")})
		if err != nil {
			return err
		}
		own = map[string]bool{}
		for _, t := range tickets {
			own[t.ID] = true
		}
	}
	out := make([]map[string]any, 0, len(events))
	for _, e := range events {
		if !e.VisibleTo(actor(c), own) {
			continue
		}
		m := map[string]any{"type": e.Type, "at": e.At.Format(time.RFC3339)}
		if e.Step != "" {
			m["step"] = e.Step
		}
		if e.TicketID != "" {
			m["ticket_id"] = e.TicketID
		}
		if e.SubmissionID != "" {
			m["submission_id"] = e.SubmissionID
		}
		if e.Actor != nil {
			m["actor"] = e.Actor
		} else {
			m["actor"] = map[string]any{"role": "system"}
		}
		if len(e.Details) > 0 {
			m["details"] = e.Details
		}
		out = append(out, m)
	}
	return c.JSON(http.StatusOK, map[string]any{"events": out})
}
