package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/waswordt"
)

// AdminStore is what an organisation's admin manages: its people and how
// they sign in, and its API tokens.
type AdminStore interface {
	People(ctx context.Context, orgID string) ([]cmr.Person, error)
	SetPerson(ctx context.Context, p cmr.Person) error
	EmailPatterns(ctx context.Context, orgID string) ([]string, error)
	SetEmailPatterns(ctx context.Context, orgID string, patterns []string) error
	ImportStaff(ctx context.Context, orgID string, list cmr.StaffImport) (added, updated int, err error)
	DisableUser(ctx context.Context, orgID, userID string) error
	DisabledUsers(ctx context.Context, orgID string) ([]cmr.User, error)
	EnableUser(ctx context.Context, orgID, userID string) error
	Tokens(ctx context.Context, orgID string) ([]gormdb.TokenInfo, error)
	CreateNamedToken(ctx context.Context, userID, label string) (string, error)
	RevokeToken(ctx context.Context, orgID, tokenID string) error
}

// adminPage is the organisation admin's page.
type adminPage struct {
	page
	Organisation string
	People       []adminPerson
	// Disabled are the people its admin may enable again.
	Disabled []cmr.User
	Patterns string
	Tokens   []gormdb.TokenInfo
	// NewToken is a token just created: shown this once, never again.
	NewToken string
	Done     string
	Problem  string
	Field    string
	Staff    []cmr.StaffProblem
	English  bool
	// Notices: the webhook section and the delivery log are shown.
	Notices    bool
	Webhook    webhookView
	Deliveries []deliveryView
	// NewSecret is a webhook secret just made: shown this once.
	NewSecret string
}

type adminPerson struct {
	cmr.Person
	Name, Email string
	Admin, Self bool
}

// adminOnly lets an organisation's admins through; to anyone else the
// admin pages do not exist.
func (s *Server) adminOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if ss := current(c); !ss.User.Admin {
			return s.fail(c, ss, cmr.ErrNotFound)
		}
		return next(c)
	}
}

func (s *Server) registerAdmin(g *echo.Group) {
	g.GET("/admin", s.adminHome, s.signedIn, s.adminOnly)
	g.POST("/admin/patterns", s.savePatterns, s.signedIn, s.adminOnly)
	g.POST("/admin/people/import", s.importStaff, uploadLimit, s.signedIn, s.adminOnly)
	g.POST("/admin/people/:id", s.savePerson, s.signedIn, s.adminOnly)
	g.POST("/admin/people/:id/disable", s.disablePerson, s.signedIn, s.adminOnly)
	g.POST("/admin/people/:id/enable", s.enablePerson, s.signedIn, s.adminOnly)
	g.POST("/admin/tokens", s.createToken, s.signedIn, s.adminOnly)
	g.POST("/admin/tokens/:id/revoke", s.revokeToken, s.signedIn, s.adminOnly)
}

// adminView fills the page for the signed-in admin's organisation.
func (s *Server) adminView(c echo.Context) (adminPage, error) {
	ctx := c.Request().Context()
	ss := current(c)
	org := ss.User.OrganisationID
	p := adminPage{page: s.base(c, ss, s.tr(c, "Beheer")), English: language(c) == "en"}
	o, err := s.Store.Organisation(ctx, org)
	if err != nil {
		return p, err
	}
	p.Organisation = o.Name
	people, err := s.Admin.People(ctx, org)
	if err != nil {
		return p, err
	}
	users, err := s.Store.Users(ctx, org)
	if err != nil {
		return p, err
	}
	byID := map[string]cmr.User{}
	names := map[string]string{}
	for _, u := range users {
		byID[u.ID] = u
		if u.OrganisationID == org {
			names[u.ID] = u.Name
		}
	}
	for _, person := range people {
		u := byID[person.UserID]
		p.People = append(p.People, adminPerson{Person: person, Name: u.Name, Email: u.Email, Admin: u.Admin, Self: u.ID == ss.User.ID})
	}
	if p.Disabled, err = s.Admin.DisabledUsers(ctx, org); err != nil {
		return p, err
	}
	patterns, err := s.Admin.EmailPatterns(ctx, org)
	if err != nil {
		return p, err
	}
	p.Patterns = strings.Join(patterns, "\n")
	if p.Tokens, err = s.Admin.Tokens(ctx, org); err != nil {
		return p, err
	}
	if err := s.noticesView(c, &p, names); err != nil {
		return p, err
	}
	return p, nil
}

func (s *Server) adminHome(c echo.Context) error {
	p, err := s.adminView(c)
	if err != nil {
		return s.fail(c, current(c), err)
	}
	s.takeFlash(c, &p)
	return s.render(c, http.StatusOK, "admin", p)
}

// adminAnswer shows the admin page again after a form: with done said,
// or with the refusal at its form.
func (s *Server) adminAnswer(c echo.Context, done string, refused error, edit func(*adminPage)) error {
	p, err := s.adminView(c)
	if err != nil {
		return s.fail(c, current(c), err)
	}
	status := http.StatusOK
	if refused != nil {
		var e *cmr.Error
		if !errors.As(refused, &e) || e.Kind == cmr.KindUnavailable {
			return s.fail(c, current(c), refused)
		}
		status, p.Problem, p.Field = statusOf(refused), s.refusal(c, refused), e.Field
	} else {
		p.Done = done
	}
	if edit != nil {
		edit(&p)
	}
	return s.render(c, status, "admin", p)
}

func (s *Server) savePatterns(c echo.Context) error {
	org := current(c).User.OrganisationID
	err := s.Admin.SetEmailPatterns(c.Request().Context(), org, strings.Split(c.FormValue("patterns"), "\n"))
	return s.adminAnswer(c, s.tr(c, "De e-mailpatronen zijn opgeslagen."), err, func(p *adminPage) {
		if err != nil {
			p.Patterns = c.FormValue("patterns")
		}
	})
}

// importStaff reads a staff list (CSV or XLSX): every problem is shown by
// row and column, and nothing is stored unless there are none.
func (s *Server) importStaff(c echo.Context) error {
	data, err := readFile(c, "file", "choose the staff list (CSV or XLSX)", "kies de personeelslijst (CSV of XLSX)")
	if err != nil {
		return s.adminAnswer(c, "", err, nil)
	}
	t, err := waswordt.Read(data)
	if err != nil {
		var rep *waswordt.Report
		if errors.As(err, &rep) && len(rep.Problems) > 0 {
			return s.adminAnswer(c, "", cmr.FieldErrorf("file", "%s", rep.Problems[0].EN).NL("%s", rep.Problems[0].NL), nil)
		}
		return s.fail(c, current(c), err)
	}
	list, probs := cmr.ParseStaff(t.Header, t.Rows)
	if len(probs) > 0 {
		return s.adminAnswer(c, "", cmr.FieldErrorf("file", "the staff list was not imported: correct these points and import again").
			NL("de personeelslijst is niet ingelezen: verbeter deze punten en lees hem opnieuw in"), func(p *adminPage) { p.Staff = probs })
	}
	added, updated, err := s.Admin.ImportStaff(c.Request().Context(), current(c).User.OrganisationID, list)
	var done string
	if language(c) == "en" {
		done = plural(added, "person added", "people added") + ", " + plural(updated, "person updated", "people updated") + "."
	} else {
		done = plural(added, "persoon toegevoegd", "personen toegevoegd") + ", " + plural(updated, "persoon bijgewerkt", "personen bijgewerkt") + "."
	}
	return s.adminAnswer(c, done, err, nil)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// ownPerson finds a person of the admin's own organisation: others are
// not found.
func (s *Server) ownPerson(c echo.Context) (cmr.Person, error) {
	people, err := s.Admin.People(c.Request().Context(), current(c).User.OrganisationID)
	if err != nil {
		return cmr.Person{}, err
	}
	for _, p := range people {
		if p.UserID == c.Param("id") {
			return p, nil
		}
	}
	return cmr.Person{}, cmr.ErrNotFound
}

func (s *Server) savePerson(c echo.Context) error {
	person, err := s.ownPerson(c)
	if err != nil {
		return s.fail(c, current(c), err)
	}
	person.OIDCUsername = strings.TrimSpace(c.FormValue("oidc_username"))
	person.ShortCode = strings.TrimSpace(c.FormValue("short_code"))
	if len(person.OIDCUsername) > 200 {
		return s.adminAnswer(c, "", cmr.FieldErrorf("oidc_username", "is too long (at most 200 characters)").NL("is te lang (hoogstens 200 tekens)"), nil)
	}
	if len(person.ShortCode) > 20 {
		return s.adminAnswer(c, "", cmr.FieldErrorf("short_code", "is too long (at most 20 characters)").NL("is te lang (hoogstens 20 tekens)"), nil)
	}
	err = s.Admin.SetPerson(c.Request().Context(), person)
	return s.adminAnswer(c, s.tr(c, "De persoon is opgeslagen."), err, nil)
}

// enablePerson lets a disabled person in again (a staff list that names
// them only updates them).
func (s *Server) enablePerson(c echo.Context) error {
	ss := current(c)
	err := s.Admin.EnableUser(c.Request().Context(), ss.User.OrganisationID, c.Param("id"))
	return s.adminDone(c, err, s.tr(c, "De persoon is weer ingeschakeld. API-tokens van voor het uitschakelen blijven ingetrokken."))
}

// adminDone answers an action on one of the organisation's people or
// tokens: one not found (another organisation's) does not exist for the
// admin; otherwise the page with done, or with the refusal.
func (s *Server) adminDone(c echo.Context, err error, done string) error {
	if errors.Is(err, cmr.ErrNotFound) {
		return s.fail(c, current(c), err)
	}
	return s.adminAnswer(c, done, err, nil)
}

func (s *Server) disablePerson(c echo.Context) error {
	ss := current(c)
	if c.Param("id") == ss.User.ID {
		return s.adminAnswer(c, "", cmr.Errorf(cmr.KindConflict, "you cannot disable yourself; another admin of your organisation can").
			NL("u kunt uzelf niet uitschakelen; een andere beheerder van uw organisatie kan dat"), nil)
	}
	err := s.Admin.DisableUser(c.Request().Context(), ss.User.OrganisationID, c.Param("id"))
	return s.adminDone(c, err, s.tr(c, "De persoon is uitgeschakeld: sessies en API-tokens werken niet meer."))
}

// createToken makes an API token for a system of the organisation: it
// acts as the chosen person of the organisation and is shown once.
func (s *Server) createToken(c echo.Context) error {
	ss := current(c)
	userID := c.FormValue("user")
	if userID == "" {
		userID = ss.User.ID
	}
	c.SetParamNames("id")
	c.SetParamValues(userID)
	if _, err := s.ownPerson(c); err != nil {
		return s.fail(c, ss, err)
	}
	label := strings.TrimSpace(c.FormValue("label"))
	if label == "" || len(label) > 100 {
		return s.adminAnswer(c, "", cmr.FieldErrorf("label", "is required: say which system uses the token (at most 100 characters)").
			NL("is verplicht: zeg welk systeem het token gebruikt (hoogstens 100 tekens)"), nil)
	}
	token, err := s.Admin.CreateNamedToken(c.Request().Context(), userID, label)
	return s.adminAnswer(c, s.tr(c, "Het token is gemaakt. Kopieer het nu: het wordt niet nog eens getoond."), err, func(p *adminPage) { p.NewToken = token })
}

func (s *Server) revokeToken(c echo.Context) error {
	ss := current(c)
	err := s.Admin.RevokeToken(c.Request().Context(), ss.User.OrganisationID, c.Param("id"))
	return s.adminDone(c, err, s.tr(c, "Het token is ingetrokken."))
}
