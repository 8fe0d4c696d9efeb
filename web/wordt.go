package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/waswordt"
)

// wordtPage is the "wordt" builder: the school pairs the identities of
// its old IdP's export with those of its new one, by a shared key or a
// naming pattern, and sees what matched before it fills its list.
type wordtPage struct {
	page
	Case    cmr.Case
	Form    map[string]string
	Problem string
	Result  *waswordt.BuildResult
	// Shown is the first rows of the result; the page says how many more.
	Shown []waswordt.BuildRow
	More  int
}

const wordtRowsShown = 500

var wordtFields = []string{"old_identity", "new_identity", "old_key", "new_key", "pattern", "first_name", "infix", "last_name", "infix_mode"}

// wordt handles GET and POST /cases/:id/wordt (the school). Nothing is
// stored: the exports are read in memory and the result is only shown.
func (s *Server) wordt(c echo.Context) error {
	ctx := c.Request().Context()
	ss := current(c)
	cs, err := s.Store.Case(ctx, viewer(ss), c.Param("id"))
	if err != nil {
		return s.fail(c, ss, err)
	}
	if ss.User.Role != cmr.RoleSchool {
		return s.fail(c, ss, cmr.ErrNotFound)
	}
	p := wordtPage{page: s.base(c, ss, s.tr(c, "Wordt-kolom maken")+" "+cs.ID), Case: cs, Form: map[string]string{}}
	if c.Request().Method == http.MethodGet {
		p.Form["infix_mode"] = "join"
		return s.render(c, http.StatusOK, "wordt", p)
	}
	for _, f := range wordtFields {
		p.Form[f] = strings.TrimSpace(c.FormValue(f))
	}
	res, err := s.buildWordt(c, p.Form)
	if err != nil {
		p.Problem = s.refusal(c, err)
		return s.render(c, http.StatusBadRequest, "wordt", p)
	}
	p.Result, p.Shown = &res, res.Rows
	if len(p.Shown) > wordtRowsShown {
		p.Shown, p.More = p.Shown[:wordtRowsShown], len(p.Shown)-wordtRowsShown
	}
	return s.render(c, http.StatusOK, "wordt", p)
}

func (s *Server) buildWordt(c echo.Context, form map[string]string) (waswordt.BuildResult, error) {
	tables := map[string]waswordt.Table{}
	for _, side := range []string{"old", "new"} {
		data, err := readFile(c, side+"_file", "choose the "+side+" IdP's export (CSV or XLSX)", "kies de export van de "+map[string]string{"old": "oude", "new": "nieuwe"}[side]+" IdP (CSV of XLSX)")
		if err != nil {
			return waswordt.BuildResult{}, err
		}
		t, err := waswordt.Read(data)
		if err != nil {
			if rep, ok := err.(*waswordt.Report); ok && len(rep.Problems) > 0 {
				return waswordt.BuildResult{}, cmr.FieldErrorf(side+"_file", "%s", rep.Problems[0].EN).NL("%s", rep.Problems[0].NL)
			}
			return waswordt.BuildResult{}, err
		}
		if form[side+"_identity"] == "" {
			return waswordt.BuildResult{}, cmr.FieldErrorf(side+"_identity", "is required: the heading of the column with the identity").
				NL("is verplicht: de kop van de kolom met de identiteit")
		}
		tables[side] = t
	}
	res, err := waswordt.Build(waswordt.BuildRequest{
		Old: waswordt.Export{Table: tables["old"], Identity: form["old_identity"]}, New: waswordt.Export{Table: tables["new"], Identity: form["new_identity"]},
		OldKey: form["old_key"], NewKey: form["new_key"], Pattern: form["pattern"],
		FirstName: form["first_name"], Infix: form["infix"], LastName: form["last_name"], InfixMode: form["infix_mode"],
	})
	if err != nil {
		return res, err // the builder's refusals are the domain's, in both languages
	}
	return res, nil
}
