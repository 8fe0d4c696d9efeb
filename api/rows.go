package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"

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
// order, each with the school's columns as its current completed list has
// them, then the rows of that list no publisher supplied (the school's
// own), so that nothing it uploaded is lost.
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
		for _, r := range list.Rows {
			k := supplierKey(f, r.Cells)
			if rows := byKey[k]; len(rows) > 0 {
				i := rows[0]
				byKey[k] = rows[1:]
				used[i] = true
				for ci, c := range f.Columns {
					if c.Party == waswordt.BySchool {
						r.Cells[ci] = school.Rows[i].Cells[ci]
					}
				}
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
		return cs, cmr.Errorf(cmr.KindUnavailable, "list storage is not configured (set CMR_MASTER_KEY)").
			NL("het opslaan van lijsten is nog niet ingericht; neem contact op met de beheerder")
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
	return s.storeCaseList(ctx, me, caseID, func() (waswordt.Table, error) { return t, nil }, severalRealms)
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

// keepReturned refuses a new version of the school's MBO list that
// changes or leaves out a row already returned to a publisher: the
// publisher works from it and its clock runs. Open rows and the rows of
// publishers still waiting may change.
func (s *Server) keepReturned(ctx context.Context, v gormdb.Viewer, cs cmr.Case, l waswordt.List) error {
	var returned []cmr.Ticket
	for _, t := range cs.Tickets {
		if t.ClockStartedAt != nil {
			returned = append(returned, t)
		}
	}
	if len(returned) == 0 {
		return nil
	}
	prev, found, err := s.current(ctx, v, cs.ID, "", cmr.ListReturned)
	if err != nil || !found {
		return err
	}
	_, before, err := s.loadList(ctx, v, cs.ID, prev.ID)
	if err != nil {
		return err
	}
	f := waswordt.ForCase(cs.Scenario)
	same := map[string]int{}    // the new list's rows, by all their cells
	lines := map[string][]int{} // and their row numbers, by publisher key
	for _, r := range l.Rows {
		same[strings.Join(r.Cells, "\x00")]++
		k := supplierKey(f, r.Cells)
		lines[k] = append(lines[k], r.Line)
	}
	rep := &waswordt.Report{}
	for _, t := range returned {
		own, err := s.ownRows(ctx, v, cs.ID, t, before)
		if err != nil {
			return err
		}
		for _, r := range own.Rows {
			if k := strings.Join(r.Cells, "\x00"); same[k] > 0 {
				same[k]--
				continue
			}
			if at := lines[supplierKey(f, r.Cells)]; len(at) > 0 {
				rep.Problems = append(rep.Problems, waswordt.Problem{Row: at[0], Code: "returned_row_changed",
					NL: fmt.Sprintf("Deze regel is al teruggegeven aan de uitgever (ticket %s) en kan niet meer veranderen; zet hem terug zoals in versie %d.", t.ID, prev.Version),
					EN: fmt.Sprintf("This row was already returned to the publisher (ticket %s) and can no longer change; put it back as in version %d.", t.ID, prev.Version)})
				continue
			}
			rep.Problems = append(rep.Problems, waswordt.Problem{Row: 0, Code: "returned_row_missing",
				NL: fmt.Sprintf("Regel %d van versie %d is al teruggegeven aan de uitgever (ticket %s) en ontbreekt nu; neem hem weer op.", r.Line, prev.Version, t.ID),
				EN: fmt.Sprintf("Row %d of version %d was already returned to the publisher (ticket %s) and is now missing; put it back.", r.Line, prev.Version, t.ID)})
		}
	}
	if len(rep.Problems) == 0 {
		return nil
	}
	return listReport(rep)
}
