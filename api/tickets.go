package api

import (
	"context"
	"maps"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/casework"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/workflows"
)

// DefaultTicketPage is how many tickets a page of the ticket list holds
// unless the caller asks for another number (limit).
const DefaultTicketPage = 100

// listTickets handles GET /api/v1/tickets?overdue=&state=&case=&limit=&after=:
// a page of a LiKa's queue (its own tickets), or of the tickets of the
// caller's cases; most urgent first, with the cursor of the next page.
func (s *Server) listTickets(c echo.Context) error {
	f := gormdb.TicketFilter{State: c.QueryParam("state"), CaseID: c.QueryParam("case"), Now: s.Now()}
	switch cmr.TicketState(f.State) {
	case "", cmr.TicketAwaitingList, cmr.TicketOpen, cmr.TicketClosed, cmr.TicketWaived, cmr.TicketCancelled:
	default:
		return cmr.FieldErrorf("state", "must be awaiting_list, open, closed, waived or cancelled").
			NL("moet een van deze zijn: wacht op lijst, open, afgemeld, vervallen of geannuleerd")
	}
	if v := c.QueryParam("overdue"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return cmr.FieldErrorf("overdue", "must be true or false").NL("moet true of false zijn")
		}
		f.Overdue = b
	}
	limit, err := pageLimit(c, DefaultTicketPage, gormdb.MaxTicketPage)
	if err != nil {
		return err
	}
	f.Limit, f.After = limit, c.QueryParam("after")
	tickets, next, err := s.Store.TicketPage(c.Request().Context(), viewer(c), f)
	if err != nil {
		return err
	}
	out := make([]ticketOut, len(tickets))
	for i, t := range tickets {
		out[i] = s.ticketJSON(t)
	}
	page := map[string]any{"tickets": out}
	if next != "" {
		page["next"] = next
	}
	return c.JSON(http.StatusOK, page)
}

// getTicket handles GET /api/v1/tickets/:id.
func (s *Server) getTicket(c echo.Context) error {
	t := checkedTicket(c)
	return c.JSON(http.StatusOK, s.ticketJSON(t))
}

// closeTicket handles POST /api/v1/tickets/:id/close: the LiKa reports
// that it re-keyed its profiles, with an optional note.
//
// "unprocessed" lists the rows of the list the LiKa could not process:
// [{"row": 12, "reason": "…"}], rows as in the downloaded file.
func (s *Server) closeTicket(c echo.Context) error {
	var req struct {
		Note        string               `json:"note"`
		Reason      string               `json:"reason"`
		Unprocessed []cmr.UnprocessedRow `json:"unprocessed"`
	}
	// The ticket's state and party first, as the pages do: a closed
	// ticket says so, not what is wrong with its rows.
	if err := casework.CheckResolve(checkedTicket(c), cmr.TicketClosed, actor(c)); err != nil {
		return err
	}
	if err := bind(c, &req); err != nil {
		return err
	}
	if req.Reason != "" {
		return cmr.FieldErrorf("reason", "a LiKa closes a ticket with a \"note\"; a reason is for waiving").
			NL("een LiKa meldt een ticket af met een toelichting; een reden hoort bij het laten vervallen van een ticket")
	}
	if len(req.Note) > 2000 {
		return cmr.FieldErrorf("note", "is longer than 2000 characters").NL("is langer dan 2000 tekens")
	}
	data := map[string]any{"note": strings.TrimSpace(req.Note)}
	if len(req.Unprocessed) > 0 {
		t := checkedTicket(c)
		// The rows refer to the list version the ticket works from.
		extra, err := s.UnprocessedData(c.Request().Context(), actor(c), t, req.Unprocessed)
		if err != nil {
			return err
		}
		maps.Copy(data, extra)
	}
	return s.resolveTicket(c, cmr.TicketClosed, data)
}

// waiveTicket handles POST /api/v1/tickets/:id/waive: the distributor
// waives a ticket, with a reason.
func (s *Server) waiveTicket(c echo.Context) error {
	var req reasonRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	if err := requireText("reason", req.Reason, "why the ticket is waived", "waarom het ticket vervalt"); err != nil {
		return err
	}
	return s.resolveTicket(c, cmr.TicketWaived, map[string]any{"reason": strings.TrimSpace(req.Reason)})
}

func (s *Server) resolveTicket(c echo.Context, to cmr.TicketState, data map[string]any) error {
	ctx := c.Request().Context()
	me := actor(c)
	t := checkedTicket(c)
	if _, err := casework.ResolveTicket(ctx, s.Store, s.Engine, me, t, to, data); err != nil {
		return err
	}
	caseID := t.CaseID
	t, err := s.Store.Ticket(ctx, viewer(c), t.ID)
	if err != nil {
		return cmr.Recorded(caseID, err)
	}
	return c.JSON(http.StatusOK, s.ticketJSON(t))
}

// returnList handles POST /api/v1/tickets/:id/return (see ReturnList).
func (s *Server) returnList(c echo.Context) error {
	caseID, err := s.returnCompletedList(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	t, err := s.Store.Ticket(c.Request().Context(), viewer(c), c.Param("id"))
	if err != nil {
		return cmr.Recorded(caseID, err)
	}
	return c.JSON(http.StatusOK, s.ticketJSON(t))
}

// ReturnList returns the completed was-wordt list to a ticket's publisher
// (MBO 8c), which starts the ticket's SLA clock. Once every publisher has
// it, step 8c is done. The web pages call it too.
func (s *Server) ReturnList(ctx context.Context, me cmr.Actor, ticketID string) error {
	_, err := s.returnCompletedList(ctx, me, ticketID)
	return err
}

// returnCompletedList is ReturnList that also tells the ticket's case,
// for an answer that says the return is recorded (cmr.Recorded).
func (s *Server) returnCompletedList(ctx context.Context, me cmr.Actor, ticketID string) (string, error) {
	t, err := s.Store.Ticket(ctx, asViewer(me), ticketID)
	if err != nil {
		return "", err
	}
	if me.Role != cmr.RoleDistributor {
		return "", cmr.Errorf(cmr.KindForbidden, "the distributor returns the completed list to each publisher").
			NL("de distributeur geeft de aangevulde lijst terug aan elke uitgever")
	}
	cs, err := s.Store.Case(ctx, asViewer(me), t.CaseID)
	if err != nil {
		return "", err
	}
	if t.State != cmr.TicketAwaitingList {
		return "", cmr.Errorf(cmr.KindConflict, "the list was already returned to the LiKa of ticket %s", t.ID).
			NL("de lijst is al teruggegeven aan de LiKa van ticket %s", t.ID)
	}
	var listID string
	if s.Lists != nil && cs.WasWordt != cmr.WasWordtNone {
		lv, found, err := s.current(ctx, asViewer(me), cs.ID, "", cmr.ListReturned)
		if err != nil {
			return "", err
		}
		if !found {
			return "", cmr.Errorf(cmr.KindConflict, "the school has not uploaded the completed list yet (POST /cases/%s/lists)", cs.ID).
				NL("de school heeft de aangevulde lijst nog niet geüpload")
		}
		// Only this publisher's rows: another's changed part waits for
		// its own return.
		if err := s.checkReturn(ctx, asViewer(me), cs, lv, t.ID); err != nil {
			return "", err
		}
		// The version checked is the one returned: a version the school
		// stores meanwhile was checked against a case where this ticket
		// still waited, and may change its rows.
		listID = lv.ID
	}
	_, err = s.Engine.Update(ctx, t.CaseID, workflows.UpdateReturnList, workflows.ReturnRequest{Actor: me, TicketID: t.ID, ListID: listID})
	return t.CaseID, err
}

// UnprocessedData checks the rows a LiKa reports it could not process
// and returns what closing the ticket records of them: the rows and the
// list version they refer to.
func (s *Server) UnprocessedData(ctx context.Context, me cmr.Actor, t cmr.Ticket, rows []cmr.UnprocessedRow) (map[string]any, error) {
	if len(rows) == 0 {
		return map[string]any{}, nil
	}
	if s.Lists == nil {
		return nil, cmr.FieldErrorf("unprocessed", "this case has no list to refer to").NL("deze zaak heeft geen lijst om naar te verwijzen")
	}
	lv, err := s.checkUnprocessed(ctx, asViewer(me), t, rows)
	if err != nil {
		return nil, err
	}
	return map[string]any{"unprocessed": rows, "list_id": lv.ID, "list_version": lv.Version}, nil
}
