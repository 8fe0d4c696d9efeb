// Package api serves the CMR's JSON API under /api/v1 with Echo: scenario
// checks, cases and their steps, tickets and the audit trail. Every request
// carries a bearer token; every case-bound read and write first checks that
// the caller's organisation is a party to the case, and answers 404 when
// it is not.
package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/aesgcm"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/waswordt"
	"github.com/cmr-idp/cmr/workflows"
)

// Store is what the API reads and writes directly.
type Store interface {
	Authenticate(ctx context.Context, token string) (cmr.User, error)
	Organisation(ctx context.Context, id string) (cmr.Organisation, error)
	School(ctx context.Context, key string) (cmr.Organisation, error)
	SearchSchools(ctx context.Context, query string, limit int) ([]cmr.Organisation, error)
	Organisations(ctx context.Context, roles ...cmr.Role) ([]cmr.Organisation, error)
	OrganisationPage(ctx context.Context, roles []cmr.Role, after string, limit int) ([]cmr.Organisation, string, error)
	CreateSubmission(ctx context.Context, sub cmr.Submission) (string, error)
	CaseIDsWithPrefix(ctx context.Context, prefix string) ([]string, error)
	ReserveOpening(ctx context.Context, o cmr.Opening) error
	OpeningByKey(ctx context.Context, organisationID, key string) (cmr.Opening, error)
	OpenCasesOf(ctx context.Context, distributorID, schoolID string) ([]cmr.Case, error)
	CasePage(ctx context.Context, v gormdb.Viewer, f gormdb.CaseFilter) ([]cmr.Case, string, error)
	CasesAtRisk(ctx context.Context, v gormdb.Viewer, caseIDs []string, now time.Time) (map[string]bool, error)
	Case(ctx context.Context, v gormdb.Viewer, id string) (cmr.Case, error)
	CaseParty(ctx context.Context, v gormdb.Viewer, caseID string) error
	Tickets(ctx context.Context, v gormdb.Viewer, f gormdb.TicketFilter) ([]cmr.Ticket, error)
	TicketPage(ctx context.Context, v gormdb.Viewer, f gormdb.TicketFilter) ([]cmr.Ticket, string, error)
	Ticket(ctx context.Context, v gormdb.Viewer, id string) (cmr.Ticket, error)
	Events(ctx context.Context, v gormdb.Viewer, caseID string) ([]cmr.Event, error)
}

// Engine drives the case workflows.
type Engine interface {
	OpenCase(ctx context.Context, in workflows.CaseInput) (workflows.UpdateResult, error)
	OpenOrAwaitCase(ctx context.Context, in workflows.CaseInput) (workflows.UpdateResult, error)
	Update(ctx context.Context, caseID, name string, arg any) (workflows.UpdateResult, error)
}

// Server holds the API's dependencies.
type Server struct {
	// Pages, when set, renders the router's errors (no such route, a body
	// over its limit) on routes outside the API as pages: the web's
	// ErrorPage. Without it they are JSON, like the API's.
	Pages func(err error, c echo.Context)

	Store    Store
	Engine   Engine
	Calendar cmr.CalendarConfig
	SLADays  int
	Now      func() time.Time
	Logger   *slog.Logger
	// Lists and Keyring store was-wordt lists encrypted; without them the
	// list routes answer 503.
	Lists   ListStore
	Keyring *aesgcm.Keyring
	// MaxInFlight caps the requests served at once, web pages included
	// (default DefaultMaxInFlight; negative: no cap). One that finds
	// every slot taken for QueueWait (default DefaultQueueWait) is
	// answered 503 with Retry-After. Health checks and metrics are never
	// capped. Set them before NewRouter.
	MaxInFlight int
	// MaxTransitions caps, within MaxInFlight, the requests that ask the
	// workflow engine for a transition (default DefaultMaxTransitions), and
	// MaxOpenings, within those,
	// the case openings (default DefaultMaxOpenings); negative: no cap of
	// its own.
	MaxTransitions int
	MaxOpenings    int
	QueueWait      time.Duration
	// RequestTimeout bounds an API request (default
	// DefaultRequestTimeout; list uploads UploadTimeout, default
	// DefaultUploadTimeout): one still waiting for Temporal or the
	// database then ends with 503 instead of hanging.
	RequestTimeout time.Duration
	UploadTimeout  time.Duration

	builtCalendar sync.Once
	cal           *cmr.Calendar
	encoder       waswordt.Encoder // of uploaded lists
	checker       waswordt.Checker // of uploaded lists
}

// Register mounts the API on e under /api/v1 and installs the error
// handler that maps every error to JSON.
func (s *Server) Register(e *echo.Echo) {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.SLADays == 0 {
		s.SLADays = 3
	}
	s.overloadDefaults()
	if s.Lists != nil {
		s.checker.OneCore = s.Lists.OverNetwork() && runtime.GOMAXPROCS(0) <= 2
	}
	e.HTTPErrorHandler = s.handleError
	// Uploads have their own limits, of size and time; everything else
	// takes at most 1 MB.
	up := e.Group("/api/v1", deadline(s.UploadTimeout), middleware.BodyLimit(fmt.Sprintf("%dM", (waswordt.MaxUploadBytes>>20)*2)), s.authenticate)
	up.POST("/cases/:id/lists", s.uploadCaseList, s.partyOnly)
	up.POST("/tickets/:id/list", s.uploadTicketList, s.partyToTicket)
	up.POST("/cases/:id/wordt", s.buildWordt, s.partyToCase)
	g := e.Group("/api/v1", deadline(s.RequestTimeout), middleware.BodyLimit("1M"), s.authenticate)
	g.GET("/lists/templates/:format", s.template)
	g.GET("/cases/:id/lists", s.listVersions, s.partyToCase)
	g.GET("/cases/:id/lists/merged", s.mergedList, s.partyToCase)
	g.GET("/cases/:id/lists/rows", s.wordtRows, s.partyToCase)
	g.POST("/cases/:id/lists/rows", s.saveWordtRows, s.partyToCase)
	g.GET("/cases/:id/lists/:list", s.downloadList, s.partyToCase)
	g.POST("/scenarios/check", s.checkScenario)
	g.POST("/cases", s.openCase)
	g.GET("/cases", s.listCases)
	g.GET("/cases/:id", s.getCase, s.partyToCase)
	g.POST("/cases/:id/steps/:step", s.completeStep, s.partyToCase)
	g.POST("/cases/:id/cancel", s.cancelCase, s.partyToCase)
	g.GET("/cases/:id/events", s.listEvents, s.partyToCase)
	g.GET("/tickets", s.listTickets)
	g.GET("/tickets/:id", s.getTicket, s.partyToTicket)
	g.POST("/tickets/:id/close", s.closeTicket, s.partyToTicket)
	g.POST("/tickets/:id/waive", s.waiveTicket, s.partyToTicket)
	g.POST("/tickets/:id/return", s.returnList, s.partyToTicket)
	g.GET("/organisations", s.listOrganisations)
	g.GET("/me", s.me)
}

// partyToCase answers 404 to a caller whose organisation is not a party to
// the case in the path, before anything of the request is read: what a
// non-party sends can never change the answer. The handlers check again
// (roles, states, which lists a LiKa may see).
func (s *Server) partyToCase(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		cs, err := s.Store.Case(c.Request().Context(), viewer(c), c.Param("id"))
		if err != nil {
			return err
		}
		c.Set(string(caseKey), cs)
		return next(c)
	}
}

// partyOnly is partyToCase without reading the case, for a list upload:
// the upload reads the case itself once its file has arrived, which may
// be much later, and a case read before would be read twice.
func (s *Server) partyOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := s.Store.CaseParty(c.Request().Context(), viewer(c), c.Param("id")); err != nil {
			return err
		}
		return next(c)
	}
}

// partyToTicket is partyToCase for a ticket: a LiKa sees only its own.
func (s *Server) partyToTicket(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		t, err := s.Store.Ticket(c.Request().Context(), viewer(c), c.Param("id"))
		if err != nil {
			return err
		}
		c.Set(string(ticketKey), t)
		return next(c)
	}
}

// NewRouter returns an Echo instance with the API and the usual middleware,
// including the cap on requests in flight, which also covers the routes
// added to the instance later (web pages; not health checks or metrics).
func NewRouter(s *Server) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// The client's address is the connection's, not a header anyone can
	// send; `cmr serve` trusts forwarding headers from its configured
	// proxies only (CMR_TRUSTED_PROXIES).
	e.IPExtractor = echo.ExtractIPDirect()
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	s.overloadDefaults()
	e.Use(middleware.RequestID(), s.accessLog, middleware.Recover(), middleware.Secure(), limitInFlight(limits{all: s.MaxInFlight, transitions: s.MaxTransitions, openings: s.MaxOpenings, wait: s.QueueWait}))
	s.Register(e)
	registerDocs(e)
	return e
}

type ctxKey string

const (
	userKey ctxKey = "user"
	// caseKey and ticketKey hold what partyToCase and partyToTicket read,
	// so that the handler after them does not read it a second time.
	caseKey   ctxKey = "case"
	ticketKey ctxKey = "ticket"
)

// checkedCase is the case partyToCase found the caller a party to, as it
// was when the request began.
func checkedCase(c echo.Context) cmr.Case { return c.Get(string(caseKey)).(cmr.Case) }

// checkedTicket is the ticket partyToTicket found the caller may see.
func checkedTicket(c echo.Context) cmr.Ticket { return c.Get(string(ticketKey)).(cmr.Ticket) }

// authenticate resolves the bearer token to a user.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get(echo.HeaderAuthorization)
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || token == "" {
			return &cmr.Error{Kind: cmr.KindUnauthorized, Message: "send an API token as \"Authorization: Bearer <token>\"; create one with `cmr token create --user EMAIL`",
				MessageNL: "u bent niet aangemeld; meld u eerst aan"}
		}
		u, err := s.Store.Authenticate(c.Request().Context(), strings.TrimSpace(token))
		if err != nil {
			if cmr.KindOf(err) == cmr.KindUnauthorized {
				s.securityEvent(c, slog.LevelWarn, eventTokenRefused)
			}
			return err
		}
		c.Set(string(userKey), u)
		s.securityEvent(c, slog.LevelInfo, eventTokenUsed)
		return next(c)
	}
}

func user(c echo.Context) cmr.User { return c.Get(string(userKey)).(cmr.User) }

func actor(c echo.Context) cmr.Actor {
	u := user(c)
	return cmr.Actor{UserID: u.ID, OrganisationID: u.OrganisationID, Role: u.Role}
}

func viewer(c echo.Context) gormdb.Viewer {
	u := user(c)
	return gormdb.Viewer{OrganisationID: u.OrganisationID, Role: u.Role}
}

// errorBody is every error's JSON shape.
type errorBody struct {
	Error string `json:"error"`
	// ErrorNL says the same in Dutch, for a party's system that shows the
	// refusal to its own Dutch-speaking users.
	ErrorNL   string         `json:"error_nl,omitempty"`
	Field     string         `json:"field,omitempty"`
	Details   map[string]any `json:"details,omitempty"`
	RequestID string         `json:"request_id,omitempty"`
}

var statusOf = map[cmr.ErrorKind]int{
	cmr.KindInvalid:      http.StatusBadRequest,
	cmr.KindUnauthorized: http.StatusUnauthorized,
	cmr.KindForbidden:    http.StatusForbidden,
	cmr.KindNotFound:     http.StatusNotFound,
	cmr.KindConflict:     http.StatusConflict,
	cmr.KindUnavailable:  http.StatusServiceUnavailable,
}

// handleError is the one place where errors become HTTP responses. Domain
// errors keep their message; anything else is logged with the request ID
// and answered with a plain sentence.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	rid := c.Response().Header().Get(echo.HeaderXRequestID)
	status, body := http.StatusInternalServerError, errorBody{Error: "something went wrong on our side; try again, and quote the request ID if it keeps happening", RequestID: rid}
	var de *cmr.Error
	var he *echo.HTTPError
	switch {
	case errors.As(err, &de):
		status = statusOf[de.Kind]
		if status == 0 {
			status = http.StatusInternalServerError
		}
		body = errorBody{Error: de.Error(), Field: de.Field, Details: de.Details}
		if de.MessageNL != "" {
			body.ErrorNL = de.MessageNL
			if de.Field != "" {
				body.ErrorNL = de.Field + ": " + de.MessageNL
			}
		}
		// Retry-After invites a resend; an action already recorded must
		// not be sent again.
		if de.Kind == cmr.KindUnavailable && !cmr.IsRecorded(err) {
			c.Response().Header().Set("Retry-After", "5")
		}
	case errors.As(err, &he):
		if s.Pages != nil && !apiPath(c.Request().URL.Path) {
			s.Pages(err, c)
			return
		}
		status = he.Code
		body = errorBody{Error: http.StatusText(he.Code)}
		switch he.Code {
		case http.StatusNotFound:
			body.Error, body.ErrorNL = "no such route: see /api/v1 in the README", "deze route bestaat niet: zie /api/v1 in de README"
		case http.StatusMethodNotAllowed:
			body.Error, body.ErrorNL = "this route does not accept "+c.Request().Method, "deze route accepteert geen "+c.Request().Method
		case http.StatusRequestEntityTooLarge:
			body.Error, body.ErrorNL = tooLarge(c.Path())
		}
	}
	if status == http.StatusForbidden || (status == http.StatusNotFound && c.Path() != "" && de != nil) {
		if _, signedIn := c.Get(string(userKey)).(cmr.User); signedIn {
			s.securityEvent(c, slog.LevelWarn, eventAccessDenied, "status", status)
		}
	}
	if status >= 500 {
		if status == http.StatusServiceUnavailable || errors.Is(err, context.Canceled) {
			// Busy, a dependency briefly down, or a client that gave up:
			// a burst of these must not flood the log at error level.
			s.Logger.Warn("request not served", "request_id", rid, "method", c.Request().Method, "route", c.Path(), "status", status, "error", err)
		} else {
			s.Logger.Error("request failed", "request_id", rid, "method", c.Request().Method, "route", c.Path(), "error", err)
		}
		body.RequestID = rid
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, body)
}

// apiPath says whether a path is the API's or an operator's (health,
// metrics), whose errors are JSON; the rest are the pages'.
func apiPath(p string) bool {
	return strings.HasPrefix(p, "/api/") || p == "/metrics" || strings.HasPrefix(p, "/healthz") || strings.HasPrefix(p, "/readyz")
}

// tooLarge says, in English and Dutch, how large a request to route may
// be: a list upload one file of waswordt.MaxUploadBytes (the body may
// carry a form around it), the "wordt" builder two exports, the rest 1 MB.
func tooLarge(route string) (en, nl string) {
	mb := waswordt.MaxUploadBytes >> 20
	switch route {
	case "/api/v1/cases/:id/lists", "/api/v1/tickets/:id/list":
		return fmt.Sprintf("the file is larger than %d MB", mb), fmt.Sprintf("het bestand is groter dan %d MB", mb)
	case "/api/v1/cases/:id/wordt":
		return fmt.Sprintf("the request is larger than %d MB: two exports of at most %d MB each", 2*mb, mb),
			fmt.Sprintf("het verzoek is groter dan %d MB: twee exports van elk hoogstens %d MB", 2*mb, mb)
	}
	return "the request body is larger than 1 MB", "het verzoek is groter dan 1 MB"
}

// bind decodes a JSON body strictly: unknown fields and wrong types are
// refused with the field named. The Content-Type is not checked: the API
// authenticates with bearer tokens only, so a cross-site form post cannot
// act, and `curl -d` users are spared a confusing refusal.
func bind(c echo.Context, v any) error {
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te) && strings.HasPrefix(te.Value, "number "):
			// A fraction, or a number too large, where a whole number belongs.
			n := strings.TrimPrefix(te.Value, "number ")
			return cmr.FieldErrorf(te.Field, "must be a whole number within range, not %s", n).
				NL("moet een geheel getal binnen het bereik zijn, niet %s", n)
		case errors.As(err, &te):
			return cmr.FieldErrorf(te.Field, "must be %s, not a JSON %s", jsonKind(te.Type.Kind()), te.Value).
				NL("moet %s zijn, niet %s", jsonKindNL(te.Type.Kind()), jsonValueNL(te.Value))
		case errors.As(err, &se):
			return cmr.Errorf(cmr.KindInvalid, "the body is not valid JSON (at byte %d)", se.Offset).
				NL("het verzoek is geen geldige JSON (fout bij byte %d)", se.Offset)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return cmr.FieldErrorf(f, "is not a field of this request").NL("is geen veld van dit verzoek")
		case err.Error() == "EOF":
			return cmr.Errorf(cmr.KindInvalid, "the body is empty: send a JSON object").NL("het verzoek is leeg: stuur een JSON-object")
		case strings.Contains(err.Error(), "too large"):
			en, nl := tooLarge(c.Path())
			return cmr.Errorf(cmr.KindInvalid, "%s", en).NL("%s", nl)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return cmr.Errorf(cmr.KindInvalid, "the body ends before its JSON is complete: check the closing brackets and quotes").
				NL("het verzoek houdt op voordat de JSON compleet is: controleer de sluitende haakjes en aanhalingstekens")
		case errors.As(err, new(base64.CorruptInputError)):
			return cmr.Errorf(cmr.KindInvalid, "a file is not valid base64: send the file's bytes base64-encoded, as a JSON string").
				NL("een bestand is geen geldige base64: stuur de bytes van het bestand base64-gecodeerd, als JSON-tekst")
		}
		// Not Go's own words: they would reach the user, untranslated.
		return cmr.Errorf(cmr.KindInvalid, "the body could not be read as JSON: check it with a JSON validator").
			NL("het verzoek kon niet als JSON worden gelezen: controleer het met een JSON-validator")
	}
	if dec.More() {
		return cmr.Errorf(cmr.KindInvalid, "the body holds more than one JSON value: send one object").
			NL("het verzoek bevat meer dan één JSON-waarde: stuur één object")
	}
	return nil
}

func (s *Server) me(c echo.Context) error {
	u := user(c)
	org, err := s.Store.Organisation(c.Request().Context(), u.OrganisationID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"user_id": u.ID, "name": u.Name, "role": u.Role, "organisation": orgJSON(org)})
}

func orgJSON(o cmr.Organisation) map[string]any {
	m := map[string]any{"id": o.ID, "name": o.Name, "role": o.Role}
	if o.BRIN != "" {
		m["brin"], m["sector"] = o.BRIN, o.Sector
	}
	return m
}

// listOrganisations handles GET /api/v1/organisations: the directory a
// distributor needs to open a case (schools, LiKas), a page at a time by
// ID (?limit=&after=, the answer's next), optionally ?role=; or ?q= to
// search the schools (thousands) by name, ID or BRIN.
func (s *Server) listOrganisations(c echo.Context) error {
	var roles []cmr.Role
	r := c.QueryParam("role")
	if r != "" {
		if !cmr.Role(r).Valid() {
			return cmr.FieldErrorf("role", "must be school, distributor, publisher or kennisnet").
				NL("moet school, distributeur, uitgever of Kennisnet zijn")
		}
		roles = append(roles, cmr.Role(r))
	}
	var orgs []cmr.Organisation
	var next string
	var err error
	if q := strings.TrimSpace(c.QueryParam("q")); c.QueryParams().Has("q") {
		switch {
		case r != "" && r != string(cmr.RoleSchool):
			return cmr.FieldErrorf("q", "searches the schools; leave out role, or send role=school").
				NL("zoekt scholen; laat role weg of stuur role=school")
		case q == "" || len(q) > gormdb.MaxSchoolQuery:
			return cmr.FieldErrorf("q", "must be part of a school's name, its ID or its BRIN, 1 to %d characters", gormdb.MaxSchoolQuery).
				NL("moet een deel van de naam van een school zijn, of haar nummer of BRIN, 1 tot %d tekens", gormdb.MaxSchoolQuery)
		}
		for _, p := range []string{"limit", "after"} {
			if c.QueryParams().Has(p) {
				return cmr.FieldErrorf(p, "a search answers with the first %d schools by name, in one page: leave out %s, or make the search narrower", schoolResults, p).
					NL("een zoekopdracht geeft de eerste %d scholen op naam, op één pagina: laat %s weg of zoek gerichter", schoolResults, p)
			}
		}
		orgs, err = s.Store.SearchSchools(c.Request().Context(), q, schoolResults)
	} else {
		limit, lerr := pageLimit(c, DefaultOrganisationPage, gormdb.MaxOrganisationPage)
		if lerr != nil {
			return lerr
		}
		orgs, next, err = s.Store.OrganisationPage(c.Request().Context(), roles, c.QueryParam("after"), limit)
	}
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(orgs))
	for i, o := range orgs {
		out[i] = orgJSON(o)
	}
	page := map[string]any{"organisations": out}
	if next != "" {
		page["next"] = next
	}
	return c.JSON(http.StatusOK, page)
}

// schoolResults is how many schools a search answers with (by name).
const schoolResults = 50

// DefaultOrganisationPage is how many organisations a page of the
// directory holds unless the caller asks for another number (limit, at
// most gormdb.MaxOrganisationPage): every distributor, LiKa and Kennisnet
// office in one page, the schools (thousands) in several.
const DefaultOrganisationPage = 500

func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64, reflect.Float32, reflect.Uint, reflect.Uint64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	}
	return "an object"
}

// jsonValueNL names in Dutch the kind of JSON value sent ("number",
// "string", … as encoding/json reports it).
func jsonValueNL(v string) string {
	switch v {
	case "number":
		return "een getal"
	case "string":
		return "een tekst"
	case "bool":
		return "true of false"
	case "array":
		return "een lijst"
	case "object":
		return "een object"
	}
	return v
}

// jsonKindNL is jsonKind in Dutch.
func jsonKindNL(k reflect.Kind) string {
	switch k {
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64, reflect.Float32, reflect.Uint, reflect.Uint64:
		return "een getal"
	case reflect.String:
		return "een tekst"
	case reflect.Bool:
		return "true of false"
	case reflect.Slice, reflect.Array:
		return "een lijst"
	}
	return "een object"
}
