package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/casework"
	"github.com/cmr-idp/cmr/gormdb"
)

// caseRow is a case in the case list, with what the list shows of it.
type caseRow struct {
	Case   cmr.Case
	School cmr.Organisation
	AtRisk bool
}

type casesPage struct {
	page
	Rows    []caseRow
	Schools []cmr.Organisation
	// The filters as given, to fill the form again.
	Status, School, Sector, Query string
	AtRisk                        bool
	CanOpen                       bool
	// Next is the link to the next page, First to the first; Paged says
	// this is not the first page.
	Next, First string
	Paged       bool
	// Widened: the search found nothing with the status chosen, and shows
	// what it found among all cases (a completed case looked up by its
	// number).
	Widened bool
}

// casesPerPage is how many cases a page of the case list shows.
const casesPerPage = 100

// casesList handles GET /cases: the cases the caller's organisation is a
// party to, filtered by status, school, sector and risk, and searched by
// case ID, school name or BRIN.
func (s *Server) casesList(c echo.Context) error {
	ctx := c.Request().Context()
	ss := current(c)
	p := casesPage{page: s.base(c, ss, s.tr(c, "Zaken")), Status: c.QueryParam("status"), School: c.QueryParam("school"),
		Sector: c.QueryParam("sector"), Query: strings.TrimSpace(c.QueryParam("q")), AtRisk: c.QueryParam("at_risk") == "true",
		CanOpen: ss.User.Role == cmr.RoleDistributor && s.Opener != nil}
	if p.Status == "" && !c.QueryParams().Has("status") {
		p.Status = string(cmr.CaseOpen)
	}
	f := gormdb.CaseFilter{Status: p.Status, SchoolID: p.School, Now: s.Now(), Limit: casesPerPage, Query: p.Query, After: c.QueryParam("after"), Summary: true}
	switch p.Status {
	case "", string(cmr.CaseOpen), string(cmr.CaseCompleted), string(cmr.CaseCancelled):
	default:
		f.Status = string(cmr.CaseOpen)
	}
	if p.Sector == string(cmr.SectorVO) || p.Sector == string(cmr.SectorMBO) {
		f.Sector = p.Sector
	}
	if p.AtRisk {
		f.AtRisk = &p.AtRisk
	}
	cases, next, err := s.Store.CasePage(ctx, viewer(ss), f)
	if cmr.KindOf(err) == cmr.KindInvalid {
		// A page link from before (a cursor changed by hand): start over.
		f.After = ""
		cases, next, err = s.Store.CasePage(ctx, viewer(ss), f)
	}
	if err == nil && len(cases) == 0 && f.Query != "" && f.Status == string(cmr.CaseOpen) && f.After == "" {
		all := f
		all.Status = ""
		if cases, next, err = s.Store.CasePage(ctx, viewer(ss), all); err == nil && len(cases) > 0 {
			p.Widened, p.Status = true, ""
		}
	}
	if err != nil {
		return s.fail(c, ss, err)
	}
	// The schools the caller has cases with: they name the rows and are
	// offered as a filter.
	schools, err := s.Store.CaseSchools(ctx, viewer(ss))
	if err != nil {
		return s.fail(c, ss, err)
	}
	byID := map[string]cmr.Organisation{}
	for _, o := range schools {
		byID[o.ID] = o
	}
	// With the at-risk filter every row is at risk already.
	var risky map[string]bool
	if !p.AtRisk {
		ids := make([]string, len(cases))
		for i, cs := range cases {
			ids[i] = cs.ID
		}
		if risky, err = s.Store.CasesAtRisk(ctx, viewer(ss), ids, s.Now()); err != nil {
			return s.fail(c, ss, err)
		}
	}
	for _, cs := range cases {
		school := byID[cs.Parties.SchoolID]
		if school.ID == "" {
			school = byID[cs.SchoolID]
		}
		// As the at-risk filter (gormdb.CaseFilter.AtRisk) decides it: a
		// listed case has no tickets, so risky says whether one is at risk.
		atRisk := cmr.AssessCase(cs, s.Now(), gormdb.AtRiskWindow).DeadlineNear || (cs.Status == cmr.CaseOpen && risky[cs.ID])
		p.Rows = append(p.Rows, caseRow{Case: cs, School: school, AtRisk: p.AtRisk || atRisk})
	}
	if next != "" {
		q := c.QueryParams()
		q.Set("after", next)
		if p.Widened {
			q.Set("status", "")
		}
		p.Next = "/cases?" + q.Encode()
	}
	p.Paged = f.After != ""
	p.Schools = schools
	if p.Paged {
		q := c.QueryParams()
		q.Del("after")
		p.First = "/cases?" + q.Encode()
	}
	return s.render(c, http.StatusOK, "cases", p)
}

// wizard is the new-case form: first the school, then the switch.
type wizard struct {
	page
	// Query is the first step's search for a school, Found what it found
	// (at most schoolResults; More when there are more).
	Query string
	Found []cmr.Organisation
	More  bool
	LiKas []cmr.Organisation
	IdPs  []string
	// Quadrants and Kinds name the choices (Dutch, translated in the page).
	Quadrants, Kinds map[string]string
	School           *cmr.Organisation
	Form             url.Values
	Check            checkView
	// Problem is a refusal of the whole form; Field names its input, and
	// Also the others at fault when several are.
	Problem, Field string
	Also           []string
	// Others are the school's open cases, when the refusal asks whether
	// another is meant.
	Others []string
}

// checkView is the live scenario check shown beside the form.
type checkView struct {
	Ready   bool
	Problem string
	Result  cmr.ScenarioCheck
	Sector  cmr.Sector
}

func (w wizard) Value(name string) string { return w.Form.Get(name) }

// Invalid reports whether the refusal is about the input named field.
func (w wizard) Invalid(field string) bool {
	for _, f := range append([]string{w.Field}, w.Also...) {
		if f == field || strings.HasPrefix(f, field+"[") {
			return true
		}
	}
	return false
}

// Has reports whether a checkbox or multi-select holds value.
func (w wizard) Has(name, value string) bool { return slices.Contains(w.Form[name], value) }

// newCase handles GET /cases/new[?q=search|?school=ID]: step 1 finds the
// school (an ID or BRIN goes straight on, part of a name lists those that
// match), step 2 the switch, with the scenario check as the distributor
// types.
func (s *Server) newCase(c echo.Context) error {
	ss := current(c)
	form := c.QueryParams()
	if !form.Has("requested_on") {
		// Today as the opening checks it (a request date after it is
		// refused by the live check, in words: no max, which would stop
		// htmx sending the check without a word).
		form.Set("requested_on", s.Calendar.Today(s.Now()).Format(cmr.DateLayout))
	}
	if !form.Has("school") {
		form.Set("keep_history", "true")
	}
	q := strings.TrimSpace(form.Get("q"))
	if len(q) > gormdb.MaxSchoolQuery {
		q = strings.ToValidUTF8(q[:gormdb.MaxSchoolQuery], "")
	}
	if q != "" && form.Get("school") == "" {
		// A school's ID or BRIN goes straight to the next step.
		switch school, err := s.Store.School(c.Request().Context(), q); {
		case err == nil:
			return c.Redirect(http.StatusSeeOther, "/cases/new?school="+url.QueryEscape(school.ID))
		case !errors.Is(err, cmr.ErrNotFound):
			return s.fail(c, ss, err)
		}
	}
	w, err := s.wizard(c, ss, form)
	if err != nil {
		return s.fail(c, ss, err)
	}
	if w.School != nil {
		// w.Form is the wizard's own copy (with its opening key).
		w.Form.Set("keep_history", "true")
	} else if q != "" {
		w.Query = q
		found, err := s.Store.SearchSchools(c.Request().Context(), q, schoolResults+1)
		if err != nil {
			return s.fail(c, ss, err)
		}
		w.Found, w.More = found[:min(len(found), schoolResults)], len(found) > schoolResults
		if len(found) == 0 {
			w.Problem, w.Field = s.tr(c, "Geen school gevonden. Zoek op een deel van de naam of op het BRIN-nummer."), "q"
		}
	}
	return s.render(c, http.StatusOK, "new", w)
}

// schoolResults is how many schools the wizard's search shows: enough to
// pick from, a hint to search more precisely beyond.
const schoolResults = 20

func (s *Server) wizard(c echo.Context, ss *session, form url.Values) (wizard, error) {
	ctx := c.Request().Context()
	w := wizard{page: s.base(c, ss, s.tr(c, "Nieuwe zaak")), Form: form, IdPs: cmr.KnownVOIdPs(),
		Quadrants: map[string]string{"1": "1: ELF met portaal", "2": "2: ELF distributeursportaal", "3": "3: ILF met portaal", "4": "4: ILF activeringscodes"},
		Kinds:     map[string]string{string(cmr.KindELO): "ELO/portaal met eigen IdP", string(cmr.KindDistributorPortal): "Portaal van de distributeur", string(cmr.KindNonPortal): "Geen portaal (ADFS, Azure AD)"}}
	// The form carries a key of its own, so a form sent twice (a double
	// click, a resend after a timeout) opens one case, not two.
	if w.Form.Get("opening_key") == "" {
		w.Form = cloneValues(form)
		w.Form.Set("opening_key", randomToken())
	}
	// The school is looked up by its ID, on every step and on every
	// check of the form (POST /cases/new/check): the directory holds
	// thousands, which are never read whole (the first step searches).
	id := form.Get("school")
	if id == "" {
		return w, nil
	}
	switch org, err := s.Store.Organisation(ctx, id); {
	case err == nil && org.Role == cmr.RoleSchool:
		w.School = &org
		// The LiKas to choose from, on the steps after the first.
		if w.LiKas, err = s.Store.Organisations(ctx, cmr.RolePublisher); err != nil {
			return w, err
		}
	case err == nil || errors.Is(err, cmr.ErrNotFound):
		w.Problem, w.Field = s.tr(c, "Deze school is niet gevonden; zoek de school opnieuw."), "q"
	default:
		return w, err
	}
	return w, nil
}

// request turns the wizard's form into an opening request, checked as far
// as the form goes: the sides, the dates (the opening's rules too), and
// for an opening (not the live check while the form is being filled in)
// that a switch date is given. The LiKas are checked by the opening.
// The request is as the form gave it (the opening hashes it, for a form
// sent again); checked is it as checked: the scenario normalised, the
// dates with what the opening assumes.
func (s *Server) request(form url.Values, school cmr.Organisation, opening bool) (req casework.OpenRequest, checked casework.OpenRequest, err error) {
	req = casework.OpenRequest{School: school.ID, LiKas: form["likas"], IdempotencyKey: form.Get("opening_key"),
		Options: cmr.CaseOptions{Calamity: form.Get("calamity") == "true", KeepHistory: form.Get("keep_history") == "true"}}
	sc := cmr.Scenario{Sector: school.Sector}
	// Every field at fault is named at once (cmr.Together).
	var problems []error
	unread := map[string]bool{} // VO sides whose quadrant could not be read
	for _, side := range []struct {
		name string
		e    *cmr.Endpoint
	}{{"from", &sc.From}, {"to", &sc.To}} {
		if sc.Sector == cmr.SectorMBO {
			// Asked, not assumed: ECK iD or not decides the list's format.
			switch form.Get(side.name + "_eck") {
			case "true", "false":
				side.e.ECK = form.Get(side.name+"_eck") == "true"
			default:
				problems = append(problems, cmr.FieldErrorf(side.name+".eck", "is required: yes (ECK iD) or no (activation codes)").
					NL("is verplicht: ja (ECK iD) of nee (activeringscodes)"))
			}
			side.e.Kind = cmr.IdPKind(form.Get(side.name + "_kind"))
			continue
		}
		q := form.Get(side.name + "_quadrant")
		if q == "" {
			problems = append(problems, cmr.FieldErrorf(side.name+".quadrant", "is required for VO: 1, 2, 3 or 4").NL("is verplicht voor VO: 1, 2, 3 of 4"))
			unread[side.name] = true
			continue
		}
		n, err := strconv.Atoi(q)
		if err != nil {
			problems = append(problems, cmr.FieldErrorf(side.name+".quadrant", "must be 1, 2, 3 or 4").NL("moet 1, 2, 3 of 4 zijn"))
			unread[side.name] = true
			continue
		}
		side.e.Quadrant, side.e.IdP = n, strings.TrimSpace(form.Get(side.name+"_idp"))
	}
	// The scenario's own rules, for each side the form could be read for
	// (on a copy: req stays as the form gave it).
	normal := sc
	for _, e := range cmr.Problems(normal.Validate()) {
		if side, _, _ := strings.Cut(e.Field, "."); !unread[side] {
			problems = append(problems, e)
		}
	}
	req.Scenario = sc
	datesRead := true
	for _, d := range []struct {
		name string
		t    *time.Time
	}{{"requested_on", &req.Timing.RequestedOn}, {"switch_on", &req.Timing.SwitchOn}, {"list_opens_on", &req.Timing.ListOpensOn}} {
		if v := strings.TrimSpace(form.Get(d.name)); v != "" {
			t, err := cmr.ParseDate(d.name, v)
			problems = append(problems, err)
			datesRead = datesRead && err == nil
			*d.t = t
		}
	}
	if opening && strings.TrimSpace(form.Get("switch_on")) == "" {
		problems = append(problems, cmr.FieldErrorf("switch_on", "is required: the planned switch date").NL("is verplicht: de geplande overstapdatum"))
	}
	checked = req
	checked.Scenario = normal
	if datesRead { // a date not read would be checked as not given
		var err error
		checked.Timing, err = casework.CheckTiming(req.Timing, school.Sector, s.Calendar.Today(s.Now()))
		problems = append(problems, err)
	}
	return req, checked, cmr.Together(problems...)
}

// check runs the scenario check on what the form holds so far.
func (s *Server) check(c echo.Context, form url.Values, school *cmr.Organisation) checkView {
	if school == nil {
		return checkView{}
	}
	v := checkView{Sector: school.Sector}
	_, checked, err := s.request(form, *school, false)
	if err == nil {
		v.Result, err = cmr.CheckScenario(checked.Scenario, checked.Timing)
	}
	if err != nil {
		v.Problem = s.refusal(c, err)
		return v
	}
	v.Ready = true
	return v
}

// checkCase handles POST /cases/new/check: the live scenario check. htmx
// asks for the fragment; without JavaScript the whole form comes back with
// the check filled in.
func (s *Server) checkCase(c echo.Context) error {
	ss := current(c)
	form, err := c.FormParams()
	if err != nil {
		return s.fail(c, ss, cmr.Errorf(cmr.KindInvalid, "the form could not be read").NL("het formulier kon niet worden gelezen"))
	}
	w, err := s.wizard(c, ss, form)
	if err != nil {
		return s.fail(c, ss, err)
	}
	w.Check = s.check(c, form, w.School)
	if c.Request().Header.Get("HX-Request") == "true" {
		return s.renderPart(c, http.StatusOK, "new", "check", w)
	}
	return s.render(c, http.StatusOK, "new", w)
}

// openCase handles POST /cases: the wizard's last step. A refusal brings
// the filled-in form back with the problem at its field.
func (s *Server) openCase(c echo.Context) error {
	ctx := c.Request().Context()
	ss := current(c)
	form, err := c.FormParams()
	if err != nil {
		return s.fail(c, ss, cmr.Errorf(cmr.KindInvalid, "the form could not be read").NL("het formulier kon niet worden gelezen"))
	}
	w, err := s.wizard(c, ss, form)
	if err != nil {
		return s.fail(c, ss, err)
	}
	w.Check = s.check(c, form, w.School)
	if w.School == nil {
		w.Problem, w.Field = s.tr(c, "Deze school is niet gevonden; zoek de school opnieuw."), "q"
		return s.render(c, http.StatusBadRequest, "new", w)
	}
	me := actorOf(ss)
	req, _, err := s.request(form, *w.School, true)
	if cmr.KindOf(err) == cmr.KindInvalid {
		// The LiKas are the opening's to check (OpenCase): named here
		// too, with the form's other faults, so that one answer has all.
		_, lerr := casework.CheckLiKas(ctx, s.Store, req.LiKas)
		err = cmr.Beside(err, lerr)
	}
	var id string
	if err == nil {
		// A form sent again after Back, or a colleague's case not yet
		// seen, would make the school a second case: asked first.
		req.OnlyCase = form.Get(casework.AnotherCaseField) != "true"
		set := casework.Settings{Calendar: s.Calendar, SLADays: s.SLADays, Today: s.Now()}
		id, err = casework.OpenCase(ctx, s.Store, s.Opener, me, req, set)
		if casework.KeyReused(err) {
			// The person changed the form after an attempt that had
			// reserved its case: this is a new request.
			req.IdempotencyKey = randomToken()
			w.Form.Set("opening_key", req.IdempotencyKey)
			id, err = casework.OpenCase(ctx, s.Store, s.Opener, me, req, set)
		}
	}
	if err != nil {
		if kind := cmr.KindOf(err); kind == "" || kind == cmr.KindUnavailable {
			return s.fail(c, ss, err)
		}
		w.Problem = s.refusal(c, err)
		if e, ok := err.(*cmr.Error); ok {
			w.Field = e.Field
			problems, _ := e.Details["problems"].([]map[string]string)
			for _, p := range problems {
				w.Also = append(w.Also, p["field"])
			}
			if e.Field == casework.AnotherCaseField {
				w.Others, _ = e.Details["cases"].([]string)
			}
		}
		return s.render(c, statusOf(err), "new", w)
	}
	return c.Redirect(http.StatusSeeOther, "/cases/"+id)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
