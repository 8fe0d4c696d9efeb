// Package web serves the CMR's pages for people: sign-in, "my work" per
// role and the case page, server-rendered with html/template (templates
// and stylesheet embedded in the binary), in Dutch. It calls the same
// store and domain code as the API, never the API over HTTP.
package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/casework"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/waswordt"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Store is what the pages read.
type Store interface {
	Users(ctx context.Context, orgIDs ...string) ([]cmr.User, error)
	User(ctx context.Context, id string) (cmr.User, error)
	Organisation(ctx context.Context, id string) (cmr.Organisation, error)
	School(ctx context.Context, key string) (cmr.Organisation, error)
	SearchSchools(ctx context.Context, query string, limit int) ([]cmr.Organisation, error)
	Organisations(ctx context.Context, roles ...cmr.Role) ([]cmr.Organisation, error)
	OrganisationsByID(ctx context.Context, ids []string) (map[string]cmr.Organisation, error)
	Cases(ctx context.Context, v gormdb.Viewer, f gormdb.CaseFilter) ([]cmr.Case, error)
	CasePage(ctx context.Context, v gormdb.Viewer, f gormdb.CaseFilter) ([]cmr.Case, string, error)
	CasesAtRisk(ctx context.Context, v gormdb.Viewer, caseIDs []string, now time.Time) (map[string]bool, error)
	CaseSchools(ctx context.Context, v gormdb.Viewer) ([]cmr.Organisation, error)
	WaitingSteps(ctx context.Context, v gormdb.Viewer, limit int) ([]gormdb.WaitingStep, bool, error)
	TicketPage(ctx context.Context, v gormdb.Viewer, f gormdb.TicketFilter) ([]cmr.Ticket, string, error)
	Case(ctx context.Context, v gormdb.Viewer, id string) (cmr.Case, error)
	Tickets(ctx context.Context, v gormdb.Viewer, f gormdb.TicketFilter) ([]cmr.Ticket, error)
	Ticket(ctx context.Context, v gormdb.Viewer, id string) (cmr.Ticket, error)
	Events(ctx context.Context, v gormdb.Viewer, caseID string) ([]cmr.Event, error)
	CaseIDsWithPrefix(ctx context.Context, prefix string) ([]string, error)
	ReserveOpening(ctx context.Context, o cmr.Opening) error
	OpeningByKey(ctx context.Context, organisationID, key string) (cmr.Opening, error)
	OpenCasesOf(ctx context.Context, distributorID, schoolID string) ([]cmr.Case, error)
}

// Server holds the pages' dependencies.
type Server struct {
	Store Store
	// Sessions keeps who is signed in; in memory when nil (tests).
	Sessions SessionStore
	Calendar cmr.CalendarConfig
	// DevSignIn lists the users to pick from at /login: `cmr dev` only.
	DevSignIn bool
	// Providers are the OpenID Connect identity providers people sign in
	// with; SignIn keeps what that needs, and PublicURL is this site's
	// address as browsers reach it (the providers send people back there).
	Providers  []Provider
	SignIn     SignInStore
	PublicURL  string
	HTTPClient *http.Client // for talking to providers; http.DefaultClient when nil
	// Engine, Submissions and Guard make the action forms work; without
	// an Engine the pages are read-only.
	Engine      Engine
	Submissions Submissions
	Guard       StepGuard
	// Opener starts case workflows: the new-case wizard needs it.
	Opener  casework.Opener
	SLADays int
	// Admin serves an organisation admin's page (people, sign-in, API
	// tokens); without it the page is absent.
	Admin AdminStore
	// Lists serves the was-wordt list pages; without it they are absent.
	Lists Lists
	Now   func() time.Time
	// Logger receives the security events (sign-in, sign-out, refusals);
	// discarded when nil.
	Logger *slog.Logger

	// Reports serves the reports (reports.go); without it they are absent
	// (a case's audit trail as CSV is always there).
	Reports ReportStore

	// Notices serves /settings (a person's notification preferences) and,
	// with Admin, the webhook and delivery log on the admin page; without
	// it they are absent.
	Notices NoticeStore
	// AllowHTTPWebhooks lets admins set http://localhost and
	// http://127.0.0.1 webhooks (cmr dev); otherwise only https://.
	AllowHTTPWebhooks bool
	// RequestTimeout bounds a page request (default DefaultRequestTimeout)
	// and UploadTimeout one that carries a file (DefaultUploadTimeout), as
	// the API bounds its own: a page still waiting for the workflow engine
	// or the database by then says so (503) instead of hanging until the
	// browser gives up, and its work is cancelled.
	RequestTimeout, UploadTimeout time.Duration
	// Redeliver sends a webhook delivery again; nil: no redelivery.
	Redeliver func(ctx context.Context, d cmr.Delivery) error

	// pages holds the parsed templates per language and page.
	pages    map[string]map[string]*template.Template
	sessions *sessions
	oidc     oidcClients
	// byAddress and byAccount limit sign-in attempts.
	byAddress, byAccount *limiter
	cal                  *cmr.Calendar
	loc                  *time.Location
}

// Register mounts the pages on e.
func (s *Server) Register(e *echo.Echo) error {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Sessions == nil {
		s.Sessions = newMemorySessions()
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	s.sessions = &sessions{store: s.Sessions, users: s.Store, now: s.Now}
	s.oidc.providers = map[string]*oidc.Provider{}
	s.byAddress = newLimiter(signInPerAddress, signInRefill)
	s.byAccount = newLimiter(signInPerAccount, accountRefill)
	cal, err := cmr.NewCalendar(s.Calendar)
	if err != nil {
		cal = cmr.MustCalendar(cmr.DefaultCalendarConfig())
	}
	s.cal, s.loc = cal, cal.Location()
	if err := s.parse(); err != nil {
		return err
	}
	static, _ := fs.Sub(staticFS, "static")
	// Forms take at most 1 MB; the upload routes have their own limits.
	if s.RequestTimeout <= 0 {
		s.RequestTimeout = DefaultRequestTimeout
	}
	if s.UploadTimeout <= 0 {
		s.UploadTimeout = DefaultUploadTimeout
	}
	g := e.Group("", s.headers, s.deadline, middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: "1M",
		Skipper: func(c echo.Context) bool { return uploadRoutes[c.Path()] }}))
	g.GET("/static/*", echo.WrapHandler(http.StripPrefix("/static/", http.FileServer(http.FS(static)))))
	g.GET("/login", s.loginPage, s.limitSignIn)
	g.POST("/login", s.login, s.limitSignIn)
	g.GET("/login/callback", s.callback, s.limitSignIn)
	if s.Admin != nil {
		s.registerAdmin(g)
	}
	if s.Notices != nil {
		s.registerNotices(g)
	}
	g.POST("/logout", s.logout, s.signedIn)
	g.GET("/", s.home, s.signedIn)
	g.GET("/lang", s.switchLanguage)
	g.GET("/cases", s.casesList, s.signedIn)
	if s.Opener != nil {
		g.GET("/cases/new", s.newCase, s.signedIn, s.distributorOnly)
		g.POST("/cases/new/check", s.checkCase, s.signedIn, s.distributorOnly)
		g.POST("/cases", s.openCase, s.signedIn, s.distributorOnly)
	}
	g.GET("/cases/:id", s.casePage, s.signedIn)
	g.GET("/tickets/:id", s.ticketPage, s.signedIn)
	if s.Lists != nil {
		g.GET("/lists/templates/:format", s.listTemplate, s.signedIn)
		g.GET("/cases/:id/lists", s.listsPage, s.signedIn)
		g.GET("/cases/:id/lists/merged", s.mergedDownload, s.signedIn)
		g.GET("/cases/:id/lists/:list", s.listDownload, s.signedIn)
		g.POST("/cases/:id/lists", s.uploadCaseList, uploadLimit, s.signedIn)
		g.POST("/tickets/:id/list", s.uploadTicketList, uploadLimit, s.signedIn)
		g.GET("/cases/:id/lists/rows", s.wordtRows, s.signedIn)
		g.POST("/cases/:id/lists/rows", s.saveWordtRows, s.signedIn)
		g.GET("/cases/:id/wordt", s.wordt, s.signedIn)
		g.POST("/cases/:id/wordt", s.wordt, wordtLimit, s.signedIn)
	}
	if err := s.registerReports(g); err != nil {
		return err
	}
	if s.Engine != nil && s.Submissions != nil {
		g.POST("/cases/:id/steps/:step", s.completeStep, s.signedIn)
		g.POST("/tickets/:id/close", s.closeTicket, s.signedIn)
		g.POST("/tickets/:id/waive", s.waiveTicket, s.signedIn)
		g.POST("/cases/:id/cancel", s.cancelCase, s.signedIn)
		if s.Lists != nil {
			g.POST("/tickets/:id/return", s.returnList, s.signedIn)
		}
	}
	return nil
}

// recordedValue is a value a step recorded, as a page shows it.
type recordedValue struct{ Label, Value string }

// recorded is what a step recorded, in the order of its fields, each
// named by its label and written as a person reads it: yes or no, a list
// as one line, a date as 15-7-2027, a moment in Dutch time. Values the
// step's fields do not name (a list version) follow under their key.
func (s *Server) recorded(lang string, st cmr.Step) []recordedValue {
	var out []recordedValue
	seen := map[string]bool{}
	show := func(label string, f cmr.Field, v any) {
		out = append(out, recordedValue{Label: label, Value: s.recordedText(lang, f, v)})
	}
	for _, f := range st.Records {
		if v, ok := st.Data[f.Name]; ok {
			seen[f.Name] = true
			label := f.Label
			if lang == "en" {
				label = f.English()
			}
			show(label, f, v)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(st.Data)) {
		if !seen[k] {
			show(k, cmr.Field{}, st.Data[k])
		}
	}
	return out
}

func (s *Server) recordedText(lang string, f cmr.Field, v any) string {
	switch v := v.(type) {
	case bool:
		if v {
			return nlenLang(lang, "ja", "yes")
		}
		return nlenLang(lang, "nee", "no")
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = fmt.Sprint(x)
		}
		return strings.Join(parts, ", ")
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case string:
		if slices.Contains(f.Options, v) {
			return cmr.OptionTitle(v, lang)
		}
		switch f.Type {
		case cmr.FieldDate:
			if t, err := time.Parse(cmr.DateLayout, v); err == nil {
				return t.Format("2-1-2006")
			}
		case cmr.FieldDateTime:
			if t, err := time.Parse(time.RFC3339, v); err == nil {
				return t.In(s.loc).Format("2-1-2006 15:04")
			}
		}
		return v
	}
	return fmt.Sprint(v)
}

func (s *Server) parse() error {
	s.pages = map[string]map[string]*template.Template{}
	for _, lang := range []string{"nl", "en"} {
		funcs := template.FuncMap{
			"t": func(nl string) string { return translate(lang, nl) },
			"date": func(t time.Time) string {
				if t.IsZero() {
					return "—"
				}
				return t.Format("2-1-2006")
			},
			"moment": func(t *time.Time) string {
				if t == nil || t.IsZero() {
					return "—"
				}
				return t.In(s.loc).Format("2-1-2006 15:04")
			},
			"role": func(r cmr.Role) string { return roleName(lang, r) },
			"is":   func(a any, b string) bool { return fmt.Sprint(a) == b },
			"state": func(st cmr.StepState) string {
				return translate(lang, map[cmr.StepState]string{cmr.StepDone: "gedaan", cmr.StepOpen: "open", cmr.StepPending: "wacht"}[st])
			},
			"stepNo": cmr.StepNumber,
			"title":  func(st cmr.Step) string { return st.TitleIn(lang) },
			"label": func(f cmr.Field) string {
				if lang == "en" {
					return f.English()
				}
				return f.Label
			},
			"recorded": func(st cmr.Step) []recordedValue { return s.recorded(lang, st) },
			"lang":     func() string { return lang },
			"event":    func(typ string) string { return cmr.EventTitle(typ, lang) },
			"option":   func(v string) string { return cmr.OptionTitle(v, lang) },
			"list":     func(xs ...string) []string { return xs },
			"ptr":      func(t time.Time) *time.Time { return &t },
			"status": func(st cmr.CaseStatus) string {
				return translate(lang, map[cmr.CaseStatus]string{cmr.CaseOpen: "lopend", cmr.CaseCompleted: "afgerond", cmr.CaseCancelled: "geannuleerd"}[st])
			},
			"ticketstate": func(st cmr.TicketState) string {
				return translate(lang, map[cmr.TicketState]string{cmr.TicketAwaitingList: "wacht op lijst", cmr.TicketOpen: "open",
					cmr.TicketClosed: "afgemeld", cmr.TicketWaived: "vervallen", cmr.TicketCancelled: "geannuleerd"}[st])
			},
			"outcome": func(o cmr.Outcome) string {
				return map[cmr.Outcome]string{cmr.OutcomeSupported: "Dit kan als zaak.", cmr.OutcomeUnsupported: "Dit kan niet als zaak.",
					cmr.OutcomeNoCaseNeeded: "Hiervoor is geen zaak nodig: de school stapt zelf over.",
					cmr.OutcomeNoProcedure:  "Hiervoor is geen procedure afgesproken.", cmr.OutcomeNotApplicable: "Niet van toepassing."}[o]
			},
			"waswordt": func(w cmr.WasWordt) string {
				return map[cmr.WasWordt]string{cmr.WasWordtSuppliers: "de leveranciers", cmr.WasWordtSuppliersAndSchool: "leveranciers en school", cmr.WasWordtNone: "geen lijst"}[w]
			},
			"listkind": func(k string) string {
				return map[string]string{cmr.ListComplete: "volledige lijst", cmr.ListSupplier: "deel uitgever", cmr.ListReturned: "aangevulde lijst"}[k]
			},
			"reasons": func(c cmr.ScenarioCheck) []string {
				if lang == "nl" && len(c.ReasonsNL) == len(c.Reasons) {
					return c.ReasonsNL
				}
				return c.Reasons
			},
			"warning": func(w cmr.Warning) string {
				if lang == "nl" && w.NL != "" {
					return w.NL
				}
				return w.Message
			},
			"versions": func(vs []cmr.ListVersion) any { return struct{ Lists []cmr.ListVersion }{vs} },
		}
		s.pages[lang] = map[string]*template.Template{}
		for _, page := range []string{"login", "home", "case", "error", "cases", "new", "ticket", "lists", "rows", "wordt", "admin", "settings"} {
			t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html", "templates/"+page+".html")
			if err != nil {
				return err
			}
			s.pages[lang][page] = t
		}
	}
	return nil
}

// headers sets the security headers of every page.
func (s *Server) headers(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		return next(c)
	}
}

const sessionKey = "web-session"

// signedIn loads the session, sends strangers to /login, checks the CSRF
// token of every form (a multipart one read into memory by readForm, never
// to disk) and keeps authenticated pages out of caches.
func (s *Server) signedIn(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ck, err := c.Cookie(cookieName)
		var ss *session
		if err == nil {
			if ss, err = s.sessions.get(c.Request().Context(), ck.Value); err != nil {
				return s.fail(c, nil, err)
			}
		}
		if ss == nil {
			return c.Redirect(http.StatusSeeOther, loginURL(c))
		}
		c.Response().Header().Set("Cache-Control", "no-store")
		if c.Request().Method == http.MethodPost {
			token, err := formToken(c)
			if err != nil {
				return err
			}
			if !sameToken(token, ss.CSRF) {
				return s.render(c, http.StatusForbidden, "error", errorPage{page: s.base(c, ss, s.tr(c, "Niet toegestaan")), Message: s.tr(c, "Het formulier is verlopen of niet van deze site. Laad de pagina opnieuw en probeer het nog eens.")})
			}
		}
		c.Set(sessionKey, ss)
		return next(c)
	}
}

func current(c echo.Context) *session { return c.Get(sessionKey).(*session) }

func viewer(ss *session) gormdb.Viewer {
	return gormdb.Viewer{OrganisationID: ss.User.OrganisationID, Role: ss.User.Role}
}

// page is what every page's template gets.
type page struct {
	Title string
	User  *cmr.User
	CSRF  string
	// Path is the current page, to come back to after a language switch.
	Path string
}

func (s *Server) base(c echo.Context, ss *session, title string) page {
	p := page{Title: title, Path: "/"}
	if c.Request().Method == http.MethodGet {
		p.Path = c.Request().URL.RequestURI()
	} else if ref, err := url.Parse(c.Request().Referer()); err == nil && ref.Host == c.Request().Host && localPath(ref.RequestURI()) {
		// A refused form's answer: back to the page the form was on.
		p.Path = ref.RequestURI()
	}
	if ss != nil {
		u := ss.User
		p.User, p.CSRF = &u, ss.CSRF
	}
	return p
}

type errorPage struct {
	page
	Message string
	// CaseID links to the case an action was recorded for, though its
	// answer could not be shown (cmr.Recorded).
	CaseID string
}

func (s *Server) render(c echo.Context, status int, name string, data any) error {
	return s.renderPart(c, status, name, "layout.html", data)
}

// renderPart renders one template of a page: the whole page, or a part of
// it that htmx swaps in.
func (s *Server) renderPart(c echo.Context, status int, name, part string, data any) error {
	var b strings.Builder
	if err := s.pages[language(c)][name].ExecuteTemplate(&b, part, data); err != nil {
		return err
	}
	return c.HTML(status, b.String())
}

// distributorOnly keeps the wizard to distributors.
func (s *Server) distributorOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if current(c).User.Role != cmr.RoleDistributor {
			return s.fail(c, current(c), cmr.ErrNotFound)
		}
		return next(c)
	}
}

// fail renders a domain error as a page: not found stays not found.
func (s *Server) fail(c echo.Context, ss *session, err error) error {
	status, msg := http.StatusInternalServerError, s.tr(c, "Er ging iets mis aan onze kant. Probeer het opnieuw.")
	switch cmr.KindOf(err) {
	case cmr.KindNotFound:
		status, msg = http.StatusNotFound, s.tr(c, "Deze pagina bestaat niet, of u heeft er geen toegang toe.")
	case cmr.KindForbidden:
		status, msg = http.StatusForbidden, s.refusal(c, err)
	case cmr.KindConflict, cmr.KindInvalid:
		status, msg = statusOf(err), s.refusal(c, err)
	case cmr.KindUnavailable:
		status, msg = http.StatusServiceUnavailable, s.refusal(c, err)
	case "":
		if errors.Is(c.Request().Context().Err(), context.DeadlineExceeded) {
			status, msg = http.StatusServiceUnavailable, s.refusal(c, errTooSlow())
		}
	}
	if errors.Is(err, cmr.ErrNotFound) {
		status = http.StatusNotFound
	}
	if status == http.StatusServiceUnavailable && !cmr.IsRecorded(err) {
		c.Response().Header().Set("Retry-After", "5")
	}
	if ss != nil && (status == http.StatusNotFound || status == http.StatusForbidden) {
		s.securityEvent(c, slog.LevelWarn, "access_denied", "status", status)
	}
	if status == http.StatusInternalServerError {
		s.logFailure(c, err)
		if rid := c.Response().Header().Get(echo.HeaderXRequestID); rid != "" {
			msg += " " + nlen(c, "Noem bij een melding het verzoeknummer "+rid+".", "If it keeps happening, quote request ID "+rid+".")
		}
	}
	pg := s.base(c, ss, s.tr(c, "Melding"))
	pg.Path = "/" // a refused address is not repeated on the page
	ep := errorPage{page: pg, Message: msg}
	var de *cmr.Error
	if cmr.IsRecorded(err) && errors.As(err, &de) {
		ep.CaseID, _ = de.Details["case_id"].(string)
	}
	return s.render(c, status, "error", ep)
}

// ErrorPage renders an error the router or a middleware raised on a page
// route (no such page, a form or file over its size limit) as a page, not
// as the API's JSON; the API's error handler hands such errors here.
func (s *Server) ErrorPage(err error, c echo.Context) {
	ss, _ := c.Get(sessionKey).(*session)
	var he *echo.HTTPError
	if !errors.As(err, &he) {
		_ = s.headers(func(c echo.Context) error { return s.fail(c, ss, err) })(c)
		return
	}
	status, msg := he.Code, nlen(c, "Er ging iets mis aan onze kant. Probeer het opnieuw.", "Something went wrong on our side. Please try again.")
	switch he.Code {
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		status, msg = http.StatusNotFound, s.tr(c, "Deze pagina bestaat niet, of u heeft er geen toegang toe.")
	case http.StatusRequestEntityTooLarge:
		switch {
		case c.Path() == "/cases/:id/wordt":
			msg = nlen(c, fmt.Sprintf("De exports zijn samen groter dan %d MB: elk mag hoogstens %d MB zijn. Ga terug en kies kleinere bestanden.", 2*(waswordt.MaxUploadBytes>>20), waswordt.MaxUploadBytes>>20),
				fmt.Sprintf("The exports are larger than %d MB together: each may be at most %d MB. Go back and choose smaller files.", 2*(waswordt.MaxUploadBytes>>20), waswordt.MaxUploadBytes>>20))
		case uploadRoutes[c.Path()]:
			msg = nlen(c, fmt.Sprintf("Het bestand is groter dan %d MB. Ga terug en kies een kleiner bestand (bijvoorbeeld CSV in plaats van Excel).", waswordt.MaxUploadBytes>>20),
				fmt.Sprintf("The file is larger than %d MB. Go back and choose a smaller file (CSV rather than Excel, for example).", waswordt.MaxUploadBytes>>20))
		default:
			msg = nlen(c, "Het formulier is groter dan 1 MB; maak de tekst korter.", "The form is larger than 1 MB; shorten the text.")
		}
	}
	if status >= 500 {
		s.logFailure(c, err)
	}
	pg := s.base(c, ss, s.tr(c, "Melding"))
	pg.Path = "/"
	_ = s.headers(func(c echo.Context) error { return s.render(c, status, "error", errorPage{page: pg, Message: msg}) })(c)
}

// logFailure logs a page that failed on our side, with the request's ID,
// which the page shows: the API logs its failures the same way.
func (s *Server) logFailure(c echo.Context, err error) {
	s.Logger.Error("page failed", "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "method", c.Request().Method, "route", c.Path(), "error", err)
}

type loginPage struct {
	page
	// SignInOrgs are the organisations whose people sign in at their own
	// identity provider; Return is where to go after.
	SignInOrgs []cmr.Organisation
	Return     string
	Token      string
	Groups     []userGroup
	Dev        bool
}

type userGroup struct {
	Organisation cmr.Organisation
	Users        []cmr.User
}

// loginPage handles GET /login: in `cmr dev` the demo users to pick from.
func (s *Server) loginPage(c echo.Context) error {
	if org := c.QueryParam("org"); org != "" && s.SignIn != nil {
		// Only a registered organisation with a sign-in of its own is a
		// valid deep link. Anyone may send one without signing in: the
		// configuration is asked first, then the database for that one
		// organisation.
		if _, ok := s.providerFor(org); !ok {
			return s.fail(c, nil, cmr.ErrNotFound)
		}
		if _, err := s.Store.Organisation(c.Request().Context(), org); err != nil {
			return s.fail(c, nil, err)
		}
		return s.startSignIn(c, org)
	}
	p := loginPage{page: page{Title: s.tr(c, "Inloggen")}, Dev: s.DevSignIn, Return: c.QueryParam("return")}
	if !localPath(p.Return) {
		p.Return = ""
	}
	if s.SignIn != nil && len(s.Providers) > 0 {
		// The organisations the providers name, not the whole directory:
		// this page is for anyone, signed in or not.
		var ids []string
		for _, pr := range s.Providers {
			ids = append(ids, pr.Organisations...)
		}
		orgs, err := s.Store.OrganisationsByID(c.Request().Context(), ids)
		if err != nil {
			return s.fail(c, nil, err)
		}
		for _, id := range slices.Sorted(maps.Keys(orgs)) {
			p.SignInOrgs = append(p.SignInOrgs, orgs[id])
		}
	}
	if s.DevSignIn {
		users, err := s.Store.Users(c.Request().Context())
		if err != nil {
			return s.fail(c, nil, err)
		}
		orgs, err := s.Store.Organisations(c.Request().Context())
		if err != nil {
			return s.fail(c, nil, err)
		}
		for _, o := range orgs {
			g := userGroup{Organisation: o}
			for _, u := range users {
				if u.OrganisationID == o.ID {
					g.Users = append(g.Users, u)
				}
			}
			if len(g.Users) > 0 {
				p.Groups = append(p.Groups, g)
			}
		}
		// Before there is a session, the login form is protected by a
		// double-submit token.
		p.Token = randomToken()
		c.SetCookie(&http.Cookie{Name: "__Host-cmr-login", Value: p.Token, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: 600})
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.render(c, http.StatusOK, "login", p)
}

// login handles POST /login (dev sign-in): a fresh session for the user.
func (s *Server) login(c echo.Context) error {
	if !s.DevSignIn {
		return s.fail(c, nil, cmr.ErrNotFound)
	}
	ck, err := c.Cookie("__Host-cmr-login")
	if err != nil || !sameToken(c.FormValue("_csrf"), ck.Value) {
		return s.render(c, http.StatusForbidden, "error", errorPage{page: page{Title: s.tr(c, "Niet toegestaan")}, Message: s.tr(c, "Het inlogformulier is verlopen. Laad de pagina opnieuw.")})
	}
	if !s.byAccount.allow("dev\x00"+c.FormValue("user"), s.Now()) {
		return s.tooManySignIns(c)
	}
	u, err := s.Store.User(c.Request().Context(), c.FormValue("user"))
	if err != nil {
		return s.fail(c, nil, err)
	}
	id, err := s.sessions.start(c.Request().Context(), u)
	if err != nil {
		return s.fail(c, nil, err)
	}
	s.securityEvent(c, slog.LevelInfo, "sign_in", "via", "dev", "user_id", u.ID, "organisation_id", u.OrganisationID)
	c.SetCookie(sessionCookie(id, int(AbsoluteTimeout.Seconds())))
	c.SetCookie(&http.Cookie{Name: "__Host-cmr-login", Value: "", Path: "/", Secure: true, HttpOnly: true, MaxAge: -1})
	if back := c.FormValue("return"); localPath(back) {
		return c.Redirect(http.StatusSeeOther, back)
	}
	return c.Redirect(http.StatusSeeOther, "/")
}

// logout handles POST /logout: the session ends on the server.
func (s *Server) logout(c echo.Context) error {
	if ck, err := c.Cookie(cookieName); err == nil {
		if err := s.sessions.end(c.Request().Context(), ck.Value); err != nil {
			return s.fail(c, nil, err)
		}
		s.securityEvent(c, slog.LevelInfo, "sign_out")
	}
	c.SetCookie(sessionCookie("", -1))
	return c.Redirect(http.StatusSeeOther, "/login")
}

// workItem is an open step that waits for the signed-in party.
type workItem struct {
	Case cmr.Case
	Step cmr.Step
	// Urgent: the case's deadline is near (within the at-risk window) or
	// Passed.
	Urgent, Passed bool
}

type ticketItem struct {
	Ticket   cmr.Ticket
	DaysLeft int
	Overdue  bool
	AtRisk   bool
}

type homePage struct {
	page
	Organisation string
	Work         []workItem
	Tickets      []ticketItem
	Cases        []cmr.Case
	// MoreWork, MoreTickets and MoreCases: the page shows the most urgent
	// (the newest cases) and links to the lists for the rest.
	MoreWork, MoreTickets, MoreCases bool
	// LiKa: the tickets are a LiKa's own (no LiKa column).
	LiKa bool
	// PartsDue: a LiKa's tickets that wait for its part of an MBO list.
	PartsDue []cmr.Ticket
	orgNames
}

// orgNames are the organisations a page names, by ID.
type orgNames map[string]cmr.Organisation

// Name is the name of an organisation the page shows, its ID when unknown.
func (n orgNames) Name(orgID string) string {
	if o, ok := n[orgID]; ok && o.Name != "" {
		return o.Name
	}
	return orgID
}

// What the home page shows at most of each; the summer has distributors
// and LiKas with hundreds of cases.
const (
	homeWork    = 100
	homeTickets = 100
	homeCases   = 20
)

// home handles GET /: what waits for me now, most urgent first.
func (s *Server) home(c echo.Context) error {
	ctx := c.Request().Context()
	ss := current(c)
	v := viewer(ss)
	cases, err := s.Store.Cases(ctx, v, gormdb.CaseFilter{Status: string(cmr.CaseOpen), Now: s.Now(), Limit: homeCases + 1, Summary: true})
	if err != nil {
		return s.fail(c, ss, err)
	}
	p := homePage{page: s.base(c, ss, s.tr(c, "Mijn werk")), Cases: cases[:min(len(cases), homeCases)], MoreCases: len(cases) > homeCases}
	// The steps waiting, nearest deadline first, over all the open cases:
	// not only over the cases listed.
	waiting, more, err := s.Store.WaitingSteps(ctx, v, homeWork)
	if err != nil {
		return s.fail(c, ss, err)
	}
	p.MoreWork = more
	for _, w := range waiting {
		var cs cmr.Case
		cs.ID, cs.Deadline = w.CaseID, w.Deadline
		cs.Status = cmr.CaseOpen                                 // waiting steps are of open cases
		risk := cmr.AssessCase(cs, s.Now(), gormdb.AtRiskWindow) // the reports' rule
		p.Work = append(p.Work, workItem{Case: cs, Step: w.Step, Urgent: risk.DeadlineNear, Passed: risk.DeadlinePassed})
	}
	// Most urgent first: the distributor's at-risk and overdue tickets are
	// the first of them.
	tickets, next, err := s.Store.TicketPage(ctx, v, gormdb.TicketFilter{State: string(cmr.TicketOpen), Limit: homeTickets})
	if err != nil {
		return s.fail(c, ss, err)
	}
	p.MoreTickets = next != ""
	now := s.Now()
	for _, t := range tickets {
		if ss.User.Role == cmr.RoleDistributor && !t.AtRisk(now) {
			// The distributor's home shows tickets at risk or overdue:
			// the rest of the page, and of the list, is not.
			p.MoreTickets = false
			continue
		}
		item := ticketItem{Ticket: t, Overdue: t.Overdue(now), AtRisk: t.AtRisk(now)}
		if t.DueAt != nil {
			item.DaysLeft = s.cal.WorkingDaysLeft(now, *t.DueAt)
		}
		p.Tickets = append(p.Tickets, item)
	}
	// A LiKa's parts of MBO lists still to upload: no step of the
	// procedure says so (the distributor's 8a waits for them).
	if ss.User.Role == cmr.RolePublisher {
		if p.PartsDue, _, err = s.Store.TicketPage(ctx, v, gormdb.TicketFilter{PartDue: true, Limit: homeTickets}); err != nil {
			return s.fail(c, ss, err)
		}
	}
	// The schools and LiKas by name, in one read.
	p.LiKa = ss.User.Role == cmr.RolePublisher
	var ids []string
	for _, cs := range p.Cases {
		ids = append(ids, cs.SchoolID)
	}
	for _, t := range p.Tickets {
		ids = append(ids, t.Ticket.LiKaID)
	}
	if p.orgNames, err = s.Store.OrganisationsByID(ctx, ids); err != nil {
		return s.fail(c, ss, err)
	}
	return s.render(c, http.StatusOK, "home", p)
}

type casePage struct {
	page
	Case    cmr.Case
	Tickets []ticketItem
	Events  []cmr.Event
	// Mine are the open steps the signed-in party can complete here.
	Mine map[string]bool
	// Redo lists the steps a failed test may send the case back to.
	Redo []cmr.Step
	// Problem is a refusal to show, at the form it is about (Where);
	// Report, when not nil, the rows it names.
	Problem, Where string
	Report         *listProblems
	// Typed is what was typed in a refused step's form, by "<step>/<field>",
	// so that the form comes back as it was sent.
	Typed  map[string]string
	CanAct bool
	// Warnings are the case's (caseWarnings).
	Warnings []cmr.Warning
	// Today (YYYY-MM-DD, the case's calendar) is the latest day a step's
	// form takes for a day something was done.
	Today string
	// CanReturn: the distributor can hand the completed list back (MBO).
	CanReturn bool
	ShowLists bool
	Role      cmr.Role
	OrgID     string
	// The case's parties by name.
	orgNames
}

// StepOf is the case's step key (the trail names a step without a
// number by its title).
func (p casePage) StepOf(key string) cmr.Step {
	st, _ := p.Case.Step(key)
	return st
}

// Reopened is the steps a failed final test e sent back, for the trail.
func (p casePage) Reopened(e cmr.Event) []cmr.Step {
	var out []cmr.Step
	for _, key := range e.Reopened() {
		st, _ := p.Case.Step(key)
		st.Key = key
		out = append(out, st)
	}
	return out
}

// FailNote is why a failed final test failed, as the school wrote it; ""
// for any other event.
func (p casePage) FailNote(e cmr.Event) string {
	if e.Type != cmr.EventTestFailed {
		return ""
	}
	note, _ := e.Details["note"].(string)
	return note
}

// TicketLiKa names the LiKa of one of the tickets shown, "" for another.
func (p casePage) TicketLiKa(ticketID string) string {
	for _, t := range p.Tickets {
		if t.Ticket.ID == ticketID {
			return p.Name(t.Ticket.LiKaID)
		}
	}
	return ""
}

// casePage handles GET /cases/:id: the procedure as a checklist, the
// tickets with their SLA and the audit trail, with a form for every open
// step the caller owns. A case the caller's organisation is not a party to
// does not exist for it.
func (s *Server) casePage(c echo.Context) error {
	ss := current(c)
	cs, err := s.Store.Case(c.Request().Context(), viewer(ss), c.Param("id"))
	if err != nil {
		return s.fail(c, ss, err)
	}
	return s.showCase(c, ss, cs, http.StatusOK, "", "")
}

func (s *Server) showCase(c echo.Context, ss *session, cs cmr.Case, status int, where, problem string) error {
	return s.showCaseReport(c, ss, cs, status, where, problem, nil)
}

// showCaseReport is showCase with the table of the rows a refusal names
// (report) below its sentence.
func (s *Server) showCaseReport(c echo.Context, ss *session, cs cmr.Case, status int, where, problem string, report *listProblems) error {
	events, err := s.Store.Events(c.Request().Context(), viewer(ss), cs.ID)
	if err != nil {
		return s.fail(c, ss, err)
	}
	// The parties by name: the page shows organisations, not their IDs.
	names, err := s.Store.OrganisationsByID(c.Request().Context(), cs.Parties.IDs())
	if err != nil {
		return s.fail(c, ss, err)
	}
	typed, _ := c.Get(typedKey).(map[string]string)
	p := casePage{page: s.base(c, ss, s.tr(c, "Zaak")+" "+cs.ID), Case: cs, Mine: map[string]bool{}, Problem: problem, Where: where, Report: report, Typed: typed,
		CanAct: s.Engine != nil && cs.Status == cmr.CaseOpen, Today: cs.Calendar.Today(s.Now()).Format(cmr.DateLayout), Role: ss.User.Role, OrgID: ss.User.OrganisationID,
		CanReturn: s.Lists != nil && cs.Sector == cmr.SectorMBO, orgNames: names,
		ShowLists: s.Lists != nil && cs.WasWordt != cmr.WasWordtNone && ss.User.Role != cmr.RoleKennisnet}
	for _, st := range cs.Steps {
		if st.State == cmr.StepOpen && st.Owner == ss.User.Role && (st.Kind == cmr.StepHuman || st.Kind == cmr.StepTest) {
			p.Mine[st.Key] = true
		}
		if st.Kind == cmr.StepHuman && !st.CreatesTickets && !st.StartsClocks && !st.DoneAtOpen {
			p.Redo = append(p.Redo, st)
		}
	}
	now := s.Now()
	for _, t := range cs.Tickets {
		if ss.User.Role == cmr.RolePublisher && t.LiKaID != ss.User.OrganisationID {
			continue
		}
		item := ticketItem{Ticket: t, Overdue: t.Overdue(now), AtRisk: t.AtRisk(now)}
		if t.DueAt != nil {
			item.DaysLeft = s.cal.WorkingDaysLeft(now, *t.DueAt)
		}
		p.Tickets = append(p.Tickets, item)
	}
	own := map[string]bool{}
	for _, t := range p.Tickets {
		own[t.Ticket.ID] = true
	}
	for _, e := range events {
		if !e.VisibleTo(actorOf(ss), own) {
			continue
		}
		p.Events = append(p.Events, e)
	}
	if p.Warnings, err = s.caseWarnings(c.Request().Context(), ss, cs); err != nil {
		return s.fail(c, ss, err)
	}
	return s.render(c, status, "case", p)
}

// caseWarnings are what the case page warns of: the case's own, and, for
// the school and the distributor, a list replaced after step 11
// (cmr.Case.ListReplaced), as the API gives them.
func (s *Server) caseWarnings(ctx context.Context, ss *session, cs cmr.Case) ([]cmr.Warning, error) {
	ws := cs.CurrentWarnings()
	if s.Lists == nil || !cs.TellsOfReplacedList(ss.User.Role) {
		return ws, nil
	}
	vs, err := s.Lists.CaseLists(ctx, actorOf(ss), cs.ID)
	if err != nil {
		return nil, err
	}
	for _, lv := range vs {
		if w, ok := cs.ListReplaced(lv); ok && lv.Current {
			ws = append(ws, w)
		}
	}
	return ws, nil
}
