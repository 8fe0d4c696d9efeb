package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
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
	// SeveralRealms keeps the box ticked after a save that had it.
	SeveralRealms bool
	// Action is where the form goes: this page, its page number and filter.
	Action template.URL
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
	return s.showRows(c, http.StatusOK, rowsState{saved: c.QueryParam("saved") == "1"})
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
	typed := typedRows{}
	seen := map[int]bool{}
	for _, v := range form["row"] {
		line, err := strconv.Atoi(v)
		if err != nil || seen[line] {
			continue
		}
		seen[line] = true
		if len(seen) > rowsPerPage {
			return s.fail(c, ss, cmr.Errorf(cmr.KindInvalid, "a save holds at most %d rows", rowsPerPage).NL("een keer opslaan bevat ten hoogste %d regels", rowsPerPage))
		}
		key := form.Get(fmt.Sprintf("key.%d", line))
		if key == "" {
			return s.fail(c, ss, cmr.Errorf(cmr.KindInvalid, "the form is incomplete (row %d has no key); reload the page", line).
				NL("het formulier is onvolledig (regel %d mist zijn sleutel); laad de pagina opnieuw", line))
		}
		e := waswordt.RowEdit{Row: line, Key: key, Cells: map[string]string{}}
		for _, col := range schoolColumns() {
			name := fmt.Sprintf("cell.%d.%s", line, col)
			vals, ok := form[name]
			if !ok || len(vals) == 0 {
				continue
			}
			typed[name] = typedCell{key: key, value: vals[0]}
			if strings.TrimSpace(vals[0]) != form.Get(fmt.Sprintf("orig.%d.%s", line, col)) {
				e.Cells[col] = vals[0]
			}
		}
		if len(e.Cells) > 0 {
			edits = append(edits, e)
		}
	}
	several := form.Get("several_realms") == "true"
	if len(edits) == 0 {
		return s.showRows(c, http.StatusOK, rowsState{nothing: true, several: several})
	}
	_, err = s.Lists.SaveWordtRows(c.Request().Context(), actorOf(ss), c.Param("id"), edits, several)
	if err != nil {
		lp := problemsOf(err)
		if lp == nil {
			if cmr.KindOf(err) != cmr.KindInvalid && cmr.KindOf(err) != cmr.KindConflict {
				return s.fail(c, ss, err)
			}
			lp = &listProblems{Message: s.refusal(c, err)}
		}
		return s.showRows(c, http.StatusBadRequest, rowsState{refused: lp, typed: typed, several: several})
	}
	q := rowsQuery(c)
	q.Set("saved", "1")
	return c.Redirect(http.StatusSeeOther, "/cases/"+url.PathEscape(c.Param("id"))+"/lists/rows?"+q.Encode())
}

// typedRows is what a refused save had typed, by field name, with the key
// of the row it was typed in.
type typedRows map[string]typedCell

type typedCell struct{ key, value string }

// schoolColumns are the keys of the columns a school fills in, in any
// format.
func schoolColumns() []string {
	var out []string
	for _, f := range waswordt.Formats() {
		for _, c := range f.Columns {
			if c.Party == waswordt.BySchool && !slices.Contains(out, c.Key) {
				out = append(out, c.Key)
			}
		}
	}
	return out
}

// rowsState is what the page shows beside the rows: a save's outcome.
type rowsState struct {
	saved, nothing, several bool
	refused                 *listProblems
	typed                   typedRows
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

func (s *Server) showRows(c echo.Context, status int, st rowsState) error {
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
		Missing: w.Missing, Saved: st.saved, Nothing: st.nothing, Refused: st.refused, SeveralRealms: st.several,
		Action: template.URL("/cases/" + url.PathEscape(cs.ID) + "/lists/rows?" + rowsQuery(c).Encode())}
	bad := map[int]map[string]bool{}
	if st.refused != nil {
		for _, pr := range st.refused.Problems {
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
			// What was typed, not lost to a refusal: in the row it was
			// typed in, not in another that took its place meanwhile.
			if t, ok := st.typed[name]; ok && t.key == w.Keys[i] {
				cv.Value = t.value
			}
			v.School = append(v.School, cv)
		}
		p.Rows = append(p.Rows, v)
	}
	return s.render(c, status, "rows", p)
}
