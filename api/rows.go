package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"

	"github.com/labstack/echo/v4"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/waswordt"
)

// This file is the MBO school's list completed row by row: instead of
// downloading the merged list, filling it in a spreadsheet and uploading
// it, the school fills the "wordt" columns of some rows and saves; each
// save is checked and stored as a version of its completed list, like an
// upload, and rows it has not filled yet stay open.

// working puts the school's list together: the merged rows in merged
// order, each as the school's current completed list has it (matched by
// the publisher's key), then the rows of that list no publisher supplied
// (the school's own), so that nothing it uploaded is lost.
func (s *Server) working(ctx context.Context, v gormdb.Viewer, cs cmr.Case) (waswordt.Working, error) {
	f := waswordt.ForCase(cs.Scenario)
	merged, missing, err := s.merged(ctx, v, cs)
	if err != nil {
		return waswordt.Working{}, err
	}
	list := merged
	var version *cmr.ListVersion
	lv, found, err := s.current(ctx, v, cs.ID, "", cmr.ListReturned)
	if err != nil {
		return waswordt.Working{}, err
	}
	if found {
		version = &lv
		_, school, err := s.loadList(ctx, v, cs.ID, lv.ID)
		if err != nil {
			return waswordt.Working{}, err
		}
		byKey := map[string][]int{}
		for i, r := range school.Rows {
			k := supplierKey(f, r.Cells)
			byKey[k] = append(byKey[k], i)
		}
		used := make([]bool, len(school.Rows))
		for n := range list.Rows {
			k := supplierKey(f, list.Rows[n].Cells)
			if rows := byKey[k]; len(rows) > 0 {
				// The school's row as it stored it, publisher columns too
				// (a name it corrected, a letter's case): a save must not
				// change what it did not touch.
				i := rows[0]
				byKey[k] = rows[1:]
				used[i] = true
				list.Rows[n].Cells = school.Rows[i].Cells
			}
		}
		for i, r := range school.Rows {
			if !used[i] {
				list.Rows = append(list.Rows, waswordt.Row{Line: len(list.Rows) + 2, Cells: r.Cells})
			}
		}
	}
	w := waswordt.NewWorking(f, list)
	w.Version, w.Missing = version, missing
	return w, nil
}

// schoolRows checks that me is the school of an open MBO case with list
// storage, and returns the case.
func (s *Server) schoolRows(ctx context.Context, me cmr.Actor, caseID string) (cmr.Case, error) {
	cs, err := s.Store.Case(ctx, asViewer(me), caseID)
	if err != nil {
		return cs, err
	}
	if me.Role != cmr.RoleSchool {
		return cs, cmr.Errorf(cmr.KindForbidden, "the school fills in the new identities").
			NL("de school vult de nieuwe identiteiten in")
	}
	if cs.Sector != cmr.SectorMBO {
		return cs, cmr.Errorf(cmr.KindConflict, "only an MBO list is filled in row by row; a VO school uploads its complete list").
			NL("alleen een MBO-lijst wordt per regel ingevuld; een VO-school uploadt haar volledige lijst")
	}
	if err := s.needsList(cs); err != nil {
		return cs, err
	}
	if s.Lists == nil {
		return cs, errNoListStorage()
	}
	return cs, nil
}

// WordtRows is the school's MBO list as it stands, to fill in row by row.
func (s *Server) WordtRows(ctx context.Context, me cmr.Actor, caseID string) (waswordt.Working, error) {
	cs, err := s.schoolRows(ctx, me, caseID)
	if err != nil {
		return waswordt.Working{}, err
	}
	return s.working(ctx, asViewer(me), cs)
}

// SaveWordtRows fills in the rows edits name and stores the result as the
// next version of the school's completed list: checked as an upload is
// (every problem by row and column, nothing stored when there is one);
// rows left open stay open.
func (s *Server) SaveWordtRows(ctx context.Context, me cmr.Actor, caseID string, edits []waswordt.RowEdit, severalRealms bool) (cmr.ListVersion, error) {
	cs, err := s.schoolRows(ctx, me, caseID)
	if err != nil {
		return cmr.ListVersion{}, err
	}
	w, err := s.working(ctx, asViewer(me), cs)
	if err != nil {
		return cmr.ListVersion{}, err
	}
	if err := w.Apply(edits); err != nil {
		return cmr.ListVersion{}, err
	}
	t := w.Table()
	// The next version of the one the edits were made on: a save that
	// came in between is refused (409), not overwritten.
	next := 1
	if w.Version != nil {
		next = w.Version.Version + 1
	}
	v, err := s.storeCaseList(ctx, me, caseID, func() (waswordt.Table, error) { return t, nil }, severalRealms, next)
	// The problems are the rows', not a file's.
	var e *cmr.Error
	if errors.As(err, &e) && e.Field == "file" {
		probs, _ := e.Details["problems"].([]waswordt.Problem)
		more, _ := e.Details["more"].(int)
		e.Field = "rows"
		e.Message = fmt.Sprintf("the rows were not saved: %d problem(s) to fix, listed by row and column in details.problems", len(probs)+more)
		e.MessageNL = fmt.Sprintf("de regels zijn niet opgeslagen: verbeter de %d punt(en) hieronder, per regel en kolom, en sla opnieuw op", len(probs)+more)
	}
	return v, err
}

// workingJSON is the school's list in the API: the rows as arrays of cells
// in the headings' order, with the key a save names.
func workingJSON(w waswordt.Working) map[string]any {
	rows := make([]map[string]any, len(w.List.Rows))
	for i, r := range w.List.Rows {
		rows[i] = map[string]any{"row": r.Line, "key": w.Keys[i], "cells": r.Cells, "open": w.Format.IsOpen(r)}
	}
	var cols []map[string]any
	for _, c := range w.Format.Columns {
		cols = append(cols, map[string]any{"key": c.Key, "heading": c.Heading, "school": c.Party == waswordt.BySchool})
	}
	m := map[string]any{"format": w.Format.ID, "columns": cols, "rows": rows, "open": w.Open, "missing_parts": w.Missing}
	if w.Version != nil {
		m["version"] = listJSON(*w.Version)
	}
	if w.Missing == nil {
		m["missing_parts"] = []string{}
	}
	return m
}

// wordtRows handles GET /api/v1/cases/:id/lists/rows (see WordtRows).
func (s *Server) wordtRows(c echo.Context) error {
	w, err := s.WordtRows(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, workingJSON(w))
}

// saveWordtRows handles POST /api/v1/cases/:id/lists/rows (see SaveWordtRows).
func (s *Server) saveWordtRows(c echo.Context) error {
	var body struct {
		Rows          []waswordt.RowEdit `json:"rows"`
		SeveralRealms bool               `json:"several_realms"`
	}
	if err := bind(c, &body); err != nil {
		return err
	}
	v, err := s.SaveWordtRows(c.Request().Context(), actor(c), c.Param("id"), body.Rows, body.SeveralRealms)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, listJSON(v))
}

// keepReturned reports every row of a new version of the school's MBO
// list that changes or leaves out a row already returned to a publisher
// (nil for none): the publisher works from it and its clock runs. Open
// rows and the rows of publishers still waiting may change.
func (s *Server) keepReturned(ctx context.Context, v gormdb.Viewer, cs cmr.Case, l waswordt.List) (*waswordt.Report, error) {
	var returned []cmr.Ticket
	for _, t := range cs.Tickets {
		if t.ClockStartedAt != nil {
			returned = append(returned, t)
		}
	}
	if len(returned) == 0 {
		return nil, nil
	}
	vs, err := s.Lists.Lists(ctx, v, cs.ID)
	if err != nil {
		return nil, err
	}
	got, err := s.returnedVersions(ctx, v, cs.ID, vs, returned)
	if err != nil {
		return nil, err
	}
	type version struct {
		meta cmr.ListVersion
		list waswordt.List
	}
	loaded := map[string]version{}
	gotOf := func(t cmr.Ticket) (version, bool, error) {
		lv, ok := got[t.ID]
		if !ok {
			return version{}, false, nil
		}
		if have, ok := loaded[lv.ID]; ok {
			return have, true, nil
		}
		_, l, err := s.loadList(ctx, v, cs.ID, lv.ID)
		loaded[lv.ID] = version{lv, l}
		return loaded[lv.ID], true, err
	}
	// What each returned publisher gets of the new list (ownRows, as its
	// download does) must be what it got of the one before, row for row.
	f := waswordt.ForCase(cs.Scenario)
	rep := &waswordt.Report{}
	// A row returned to two publishers is named once.
	type rowProblem struct {
		code string
		line int
	}
	named := map[rowProblem]bool{}
	for _, t := range returned {
		before, ok, err := gotOf(t)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		prev := before.meta
		was, err := s.ownRows(ctx, v, cs.ID, t, before.list)
		if err != nil {
			return nil, err
		}
		now, err := s.ownRows(ctx, v, cs.ID, t, l)
		if err != nil {
			return nil, err
		}
		byKey := map[string][]waswordt.Row{}
		for _, r := range now.Rows {
			k := supplierKey(f, r.Cells)
			byKey[k] = append(byKey[k], r)
		}
		for _, r := range was.Rows {
			k := supplierKey(f, r.Cells)
			rows := byKey[k]
			if len(rows) == 0 {
				if id := (rowProblem{"missing", r.Line}); !named[id] {
					named[id] = true
					rep.Problems = append(rep.Problems, waswordt.Problem{Row: 0, Code: "returned_row_missing",
						NL: fmt.Sprintf("Regel %d van versie %d is al teruggegeven aan de uitgever (ticket %s) en ontbreekt nu; neem hem weer op.", r.Line, prev.Version, t.ID),
						EN: fmt.Sprintf("Row %d of version %d was already returned to the publisher (ticket %s) and is now missing; put it back.", r.Line, prev.Version, t.ID)})
				}
				continue
			}
			n := rows[0]
			byKey[k] = rows[1:]
			if id := (rowProblem{"changed", n.Line}); !slices.Equal(n.Cells, r.Cells) && !named[id] {
				named[id] = true
				rep.Problems = append(rep.Problems, waswordt.Problem{Row: n.Line, Code: "returned_row_changed",
					NL: fmt.Sprintf("Deze regel is al teruggegeven aan de uitgever (ticket %s) en kan niet meer veranderen; zet hem terug zoals in versie %d (regel %d).", t.ID, prev.Version, r.Line),
					EN: fmt.Sprintf("This row was already returned to the publisher (ticket %s) and can no longer change; put it back as in version %d (row %d).", t.ID, prev.Version, r.Line)})
			}
		}
	}
	sort.SliceStable(rep.Problems, func(i, j int) bool { return rep.Problems[i].Row < rep.Problems[j].Row })
	if len(rep.Problems) == 0 {
		return nil, nil
	}
	return rep, nil
}

// returnedVersions names, for each of tickets whose publisher got the
// school's MBO list back, the version it got: the one its return was
// checked against, as the workflow recorded it with the return (its
// list.returned event, or the step.completed event of the step 8c that
// returned it). A return from before these named it, or one whose event
// is not written yet, got the version current now: the school's
// versions since were held to its rows. vs are the case's list versions.
func (s *Server) returnedVersions(ctx context.Context, v gormdb.Viewer, caseID string, vs []cmr.ListVersion, tickets []cmr.Ticket) (map[string]cmr.ListVersion, error) {
	var current *cmr.ListVersion
	byID := map[string]cmr.ListVersion{}
	for i, lv := range vs {
		if lv.Kind != cmr.ListReturned {
			continue
		}
		byID[lv.ID] = lv
		if lv.Current {
			current = &vs[i]
		}
	}
	if current == nil {
		return nil, nil
	}
	events, err := s.Store.Events(ctx, v, caseID)
	if err != nil {
		return nil, err
	}
	named := map[string]string{}
	var byStep string // 8c's, for the tickets it returned
	for _, e := range events {
		id, _ := e.Details["list_id"].(string)
		switch {
		case e.Type == cmr.EventListReturned && e.TicketID != "":
			named[e.TicketID] = id
		case e.Type == cmr.EventStepCompleted && e.Step == "8c" && id != "":
			byStep = id
		}
	}
	out := map[string]cmr.ListVersion{}
	for _, t := range tickets {
		if t.ClockStartedAt == nil {
			continue
		}
		id, ok := named[t.ID]
		if !ok {
			id = byStep
		}
		if lv, ok := byID[id]; ok {
			out[t.ID] = lv
		} else {
			out[t.ID] = *current
		}
	}
	return out, nil
}
