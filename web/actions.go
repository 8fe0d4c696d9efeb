package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/casework"
	"github.com/cmr-idp/cmr/gormdb"
)

// Engine and Submissions are what the actions need (see casework).
type (
	Engine      = casework.Engine
	Submissions = casework.Submissions
)

// StepGuard applies the rules that live outside the workflow (a list that
// must be uploaded first, say) and says what it checked the step against;
// the API provides it.
type StepGuard func(ctx context.Context, v gormdb.Viewer, cs cmr.Case, step string, data map[string]any) (casework.Checked, error)

// formData turns a step's form into the data the step records; the domain
// validates it (ValidateData) like an API call.
func (s *Server) formData(c echo.Context, def cmr.StepDef) map[string]any {
	data := map[string]any{}
	for _, f := range def.Records {
		v := strings.TrimSpace(c.FormValue(f.Name))
		switch f.Type {
		case cmr.FieldConfirm:
			if v != "" {
				data[f.Name] = v == "true"
			}
		case cmr.FieldBool:
			if v == "true" || v == "false" {
				data[f.Name] = v == "true"
			}
		case cmr.FieldNumber:
			if n, err := strconv.ParseFloat(v, 64); err == nil {
				data[f.Name] = n
			} else if v != "" {
				data[f.Name] = v // reported as not a number
			}
		case cmr.FieldList:
			var items []any
			for _, line := range strings.Split(v, "\n") {
				if line = strings.TrimSpace(line); line != "" {
					items = append(items, line)
				}
			}
			if len(items) > 0 {
				data[f.Name] = items
			}
		case cmr.FieldDateTime:
			if v != "" {
				// datetime-local has no zone: it is Dutch time.
				if t, err := time.ParseInLocation("2006-01-02T15:04", v, s.loc); err == nil {
					data[f.Name] = t.Format(time.RFC3339)
				} else {
					data[f.Name] = v
				}
			}
		default:
			if v != "" {
				data[f.Name] = v
			}
		}
	}
	return data
}

// typedKey is where completeStep leaves what was typed in the step's form
// for the page that shows its refusal (casePage.Typed).
const typedKey = "web-step-typed"

// keepTicketText leaves what was typed in ticket t's close or waive form
// on the case page for the page that shows its refusal.
func keepTicketText(c echo.Context, t cmr.Ticket) {
	c.Set(typedKey, map[string]string{"ticket-" + t.ID + "/text": c.FormValue("text")})
}

// completeStep handles POST /cases/:id/steps/:step from the case page.
// Refusals are shown on the page, above the form.
func (s *Server) completeStep(c echo.Context) error {
	ctx := c.Request().Context()
	ss := current(c)
	me := actorOf(ss)
	cs, err := s.Store.Case(ctx, viewer(ss), c.Param("id"))
	if err != nil {
		return s.fail(c, ss, err)
	}
	key := c.Param("step")
	var def *cmr.Step
	for i := range cs.Steps {
		if cs.Steps[i].Key == key {
			def = &cs.Steps[i]
		}
	}
	if def == nil {
		return s.fail(c, ss, cmr.ErrNotFound)
	}
	data := s.formData(c, def.StepDef)
	// A refused form comes back with what was typed in it.
	typed := map[string]string{}
	for _, f := range append(def.Records, cmr.Field{Name: "note"}) {
		if v := c.FormValue(f.Name); v != "" {
			typed[key+"/"+f.Name] = v
		}
	}
	c.Set(typedKey, typed)
	if err := casework.CheckStep(cs, *def, me, data); err != nil {
		return s.showCase(c, ss, cs, statusOf(err), key, s.refusal(c, err))
	}
	var checked casework.Checked
	if s.Guard != nil {
		// A list step refused for rows (MBO 8b, 8c) shows them as a table.
		var err error
		if checked, err = s.Guard(ctx, viewer(ss), cs, key, data); err != nil {
			if kind := cmr.KindOf(err); kind == "" || kind == cmr.KindUnavailable {
				return s.fail(c, ss, err)
			}
			return s.showCaseReport(c, ss, cs, http.StatusConflict, key, s.refusal(c, err), problemsOf(err))
		}
	}
	if _, err := casework.CompleteStep(ctx, s.Submissions, s.Engine, me, cs, *def, data, checked, s.Now()); err != nil {
		if kind := cmr.KindOf(err); kind == "" || kind == cmr.KindUnavailable {
			return s.fail(c, ss, err)
		}
		return s.showCase(c, ss, cs, statusOf(err), key, s.refusal(c, err))
	}
	return c.Redirect(http.StatusSeeOther, "/cases/"+cs.ID+"#stap-"+key)
}

// waiveTicket handles POST /tickets/:id/waive: the distributor waives a
// ticket, with a reason. (The LiKa's close is closeTicket, in lists.go.)
func (s *Server) waiveTicket(c echo.Context) error {
	ctx := c.Request().Context()
	ss := current(c)
	t, err := s.Store.Ticket(ctx, viewer(ss), c.Param("id"))
	if err != nil {
		return s.fail(c, ss, err)
	}
	cs, err := s.Store.Case(ctx, viewer(ss), t.CaseID)
	if err != nil {
		return s.fail(c, ss, err)
	}
	reason := strings.TrimSpace(c.FormValue("text"))
	keepTicketText(c, t)
	if err := casework.CheckResolve(t, cmr.TicketWaived, actorOf(ss)); err != nil {
		return s.showCase(c, ss, cs, statusOf(err), "ticket-"+t.ID, s.refusal(c, err))
	}
	switch {
	case reason == "":
		return s.showCase(c, ss, cs, http.StatusBadRequest, "ticket-"+t.ID, s.tr(c, "Geef een reden op waarom dit ticket vervalt."))
	case len(reason) > 2000:
		return s.showCase(c, ss, cs, http.StatusBadRequest, "ticket-"+t.ID, s.tr(c, "De tekst is langer dan 2000 tekens."))
	}
	if _, err := casework.ResolveTicket(ctx, s.Submissions, s.Engine, actorOf(ss), t, cmr.TicketWaived, map[string]any{"reason": reason}); err != nil {
		if kind := cmr.KindOf(err); kind == "" || kind == cmr.KindUnavailable {
			return s.fail(c, ss, err)
		}
		return s.showCase(c, ss, cs, statusOf(err), "ticket-"+t.ID, s.refusal(c, err))
	}
	return c.Redirect(http.StatusSeeOther, "/cases/"+cs.ID+"#tickets")
}

// cancelCase handles POST /cases/:id/cancel: the distributor cancels the
// case, with a reason (a case opened twice, a switch called off).
func (s *Server) cancelCase(c echo.Context) error {
	ctx := c.Request().Context()
	ss := current(c)
	cs, err := s.Store.Case(ctx, viewer(ss), c.Param("id"))
	if err != nil {
		return s.fail(c, ss, err)
	}
	if _, err := casework.CancelCase(ctx, s.Submissions, s.Engine, actorOf(ss), cs, c.FormValue("reason")); err != nil {
		if kind := cmr.KindOf(err); kind == "" || kind == cmr.KindUnavailable {
			return s.fail(c, ss, err)
		}
		c.Set(typedKey, map[string]string{"cancel/reason": c.FormValue("reason")})
		where := "cancel"
		if cs.Status != cmr.CaseOpen || ss.User.Role != cmr.RoleDistributor {
			where = "page" // the page shows no cancel form: the refusal goes on top
		}
		return s.showCase(c, ss, cs, statusOf(err), where, s.refusal(c, err))
	}
	return c.Redirect(http.StatusSeeOther, "/cases/"+cs.ID)
}

// statusOf is the page status for a refusal shown at its form.
func statusOf(err error) int {
	switch cmr.KindOf(err) {
	case cmr.KindInvalid:
		return http.StatusBadRequest
	case cmr.KindForbidden:
		return http.StatusForbidden
	case cmr.KindNotFound:
		return http.StatusNotFound
	}
	return http.StatusConflict
}
