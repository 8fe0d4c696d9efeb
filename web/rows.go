package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/waswordt"
)

// The MBO school fills in the "wordt" columns here, a page of rows at a
// time, instead of (or beside) uploading the completed file: each save
// is checked and stored as a version of its completed list, as an upload
// is, and rows it has not filled yet stay open.

// rowsPerPage keeps a page (and its form) short enough to work through.
const rowsPerPage = 50

type rowsPage struct {
	page
	Case cmr.Case
	// Supplier and School are the headings of the publishers' and the
	// school's columns.
	Supplier []string
	School   []string
	Rows     []rowView
	Total    int
	Filled   int
	OnlyOpen bool
	Page     int
	Pages    int
	// Prev and Next are the neighbouring pages, 0 where there is none.
	Prev, Next int
	Missing    []string
	Saved      bool
	Nothing    bool
	Refused    *listProblems
	// Query is the page's own query (page and filter), for links and the
	// form's way back.
	Query string
}

type rowView struct {
	Line     int
	Key      string
	Supplier []string
	School   []cellView
	Invalid  bool
}

type cellView struct {
	Name, OrigName, Orig, Value, Heading string
	Invalid                              bool
}

// rowsShown is the page's slice of the list: every row, or the open ones.
func rowsShown(w waswordt.Working, onlyOpen bool, pageNo int) (rows []int, pages int) {
	var all []int
	for i, r := range w.List.Rows {
		if !onlyOpen || w.Format.IsOpen(r) {
			all = append(all, i)
		}
	}
	pages = max(1, (len(all)+rowsPerPage-1)/rowsPerPage)
	pageNo = min(max(pageNo, 1), pages)
	from := (pageNo - 1) * rowsPerPage
	return all[from:min(from+rowsPerPage, len(all))], pages
}

// wordtRows handles GET /cases/:id/lists/rows?page=N&open=1 (the school).
func (s *Server) wordtRows(c echo.Context) error {
	return s.showRows(c, http.StatusOK, c.QueryParam("saved") == "1", false, nil, nil)
}

// saveWordtRows handles POST /cases/:id/lists/rows: the rows of the page
// whose values changed become one save. A refusal shows the page again
// with what was typed, and the problems by row and column.
func (s *Server) saveWordtRows(c echo.Context) error {
	ss := current(c)
	form, err := c.FormParams()
	if err != nil {
		return s.fail(c, ss, cmr.Errorf(cmr.KindInvalid, "the form could not be read").NL("het formulier kon niet worden gelezen"))
	}
	var edits []waswordt.RowEdit
	typed := map[string]string{}
	for _, v := range form["row"] {
		line, err := strconv.Atoi(v)
		if err != nil {
			continue
		}
		e := waswordt.RowEdit{Row: line, Key: form.Get(fmt.Sprintf("key.%d", line)), Cells: map[string]string{}}
		for name, vals := range form {
			prefix := fmt.Sprintf("cell.%d.", line)
			if !strings.HasPrefix(name, prefix) || len(vals) == 0 {
				continue
			}
			col := strings.TrimPrefix(name, prefix)
			typed[name] = vals[0]
			if strings.TrimSpace(vals[0]) != form.Get(fmt.Sprintf("orig.%d.%s", line, col)) {
				e.Cells[col] = vals[0]
			}
		}
		if len(e.Cells) > 0 {
			edits = append(edits, e)
		}
	}
	if len(edits) == 0 {
		return s.showRows(c, http.StatusOK, false, true, nil, nil)
	}
	_, err = s.Lists.SaveWordtRows(c.Request().Context(), actorOf(ss), c.Param("id"), edits, form.Get("several_realms") == "true")
	if err != nil {
		lp := problemsOf(err)
		if lp == nil {
			if cmr.KindOf(err) != cmr.KindInvalid && cmr.KindOf(err) != cmr.KindConflict {
				return s.fail(c, ss, err)
			}
			lp = &listProblems{Message: s.refusal(c, err)}
		}
		return s.showRows(c, http.StatusBadRequest, false, false, lp, typed)
	}
	q := rowsQuery(c)
	q.Set("saved", "1")
	return c.Redirect(http.StatusSeeOther, "/cases/"+url.PathEscape(c.Param("id"))+"/lists/rows?"+q.Encode())
}

// rowsQuery is the page and filter the request names.
func rowsQuery(c echo.Context) url.Values {
	q := url.Values{}
	if p := c.QueryParam("page"); p != "" {
		q.Set("page", p)
	}
	if c.QueryParam("open") == "1" {
		q.Set("open", "1")
	}
	return q
}

func (s *Server) showRows(c echo.Context, status int, saved, nothing bool, refused *listProblems, typed map[string]string) error {
	ss := current(c)
	w, err := s.Lists.WordtRows(c.Request().Context(), actorOf(ss), c.Param("id"))
	if err != nil {
		return s.fail(c, ss, err)
	}
	cs, err := s.Store.Case(c.Request().Context(), viewer(ss), c.Param("id"))
	if err != nil {
		return s.fail(c, ss, err)
	}
	pageNo, _ := strconv.Atoi(c.QueryParam("page"))
	p := rowsPage{page: s.base(c, ss, s.tr(c, "Nieuwe identiteiten invullen")+" "+cs.ID), Case: cs,
		Total: len(w.List.Rows), Filled: len(w.List.Rows) - w.Open, OnlyOpen: c.QueryParam("open") == "1",
		Missing: w.Missing, Saved: saved, Nothing: nothing, Refused: refused, Query: rowsQuery(c).Encode()}
	bad := map[int]map[string]bool{}
	if refused != nil {
		for _, pr := range refused.Problems {
			if bad[pr.Row] == nil {
				bad[pr.Row] = map[string]bool{}
			}
			bad[pr.Row][pr.Column] = true
		}
	}
	var schoolCols []int
	for i, col := range w.Format.Columns {
		if col.Party == waswordt.BySchool {
			p.School = append(p.School, col.Heading)
			schoolCols = append(schoolCols, i)
		} else {
			p.Supplier = append(p.Supplier, col.Heading)
		}
	}
	shown, pages := rowsShown(w, p.OnlyOpen, pageNo)
	p.Pages, p.Page = pages, min(max(pageNo, 1), pages)
	if p.Page > 1 {
		p.Prev = p.Page - 1
	}
	if p.Page < p.Pages {
		p.Next = p.Page + 1
	}
	for _, i := range shown {
		r := w.List.Rows[i]
		v := rowView{Line: r.Line, Key: w.Keys[i], Invalid: bad[r.Line] != nil}
		for ci, col := range w.Format.Columns {
			if col.Party != waswordt.BySchool {
				v.Supplier = append(v.Supplier, r.Cells[ci])
			}
		}
		for _, ci := range schoolCols {
			col := w.Format.Columns[ci]
			name := fmt.Sprintf("cell.%d.%s", r.Line, col.Key)
			cv := cellView{Name: name, OrigName: fmt.Sprintf("orig.%d.%s", r.Line, col.Key), Orig: r.Cells[ci], Value: r.Cells[ci], Heading: col.Heading, Invalid: bad[r.Line][col.Heading]}
			if t, ok := typed[name]; ok {
				cv.Value = t // what was typed, not lost to a refusal
			}
			v.School = append(v.School, cv)
		}
		p.Rows = append(p.Rows, v)
	}
	return s.render(c, status, "rows", p)
}
