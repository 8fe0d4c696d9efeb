package api_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"
	"go.yaml.in/yaml/v3"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/aesgcm"
	"github.com/cmr-idp/cmr/api"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
)

// docsRouter is the API's router over nothing: enough to list its routes
// and to serve the documentation, which needs no store.
func docsRouter() *echo.Echo {
	return api.NewRouter(&api.Server{Logger: slog.New(slog.DiscardHandler)})
}

func docsGet(e *echo.Echo, path string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

// loadOpenAPI loads and validates the document the router serves.
func loadOpenAPI(t *testing.T, e *echo.Echo) *openapi3.T {
	t.Helper()
	rec := docsGet(e, "/api/v1/openapi.yaml")
	if rec.Code != 200 {
		t.Fatalf("GET /api/v1/openapi.yaml: %d %s", rec.Code, rec.Body)
	}
	doc, err := openapi3.NewLoader().LoadFromData(rec.Body.Bytes())
	if err != nil {
		t.Fatalf("api/openapi.yaml does not load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("api/openapi.yaml is not valid OpenAPI: %v", err)
	}
	return doc
}

// docsBase is where the document's paths are (its server URL).
const docsBase = "/api/v1"

// templateOf turns an Echo route path into the document's path template:
// /api/v1/cases/:id → /cases/{id}.
func templateOf(echoPath string) string {
	parts := strings.Split(strings.TrimPrefix(echoPath, docsBase), "/")
	for i, p := range parts {
		if name, ok := strings.CutPrefix(p, ":"); ok {
			parts[i] = "{" + name + "}"
		}
	}
	return strings.Join(parts, "/")
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc := loadOpenAPI(t, docsRouter())
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi: %s, want 3.0.3", doc.OpenAPI)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != docsBase {
		t.Errorf("servers: want one, %s", docsBase)
	}
	tags := map[string]bool{}
	for _, tg := range doc.Tags {
		tags[tg.Name] = true
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			at := method + " " + path
			if op.Summary == "" || op.OperationID == "" || len(op.Tags) != 1 || !tags[op.Tags[0]] {
				t.Errorf("%s: every operation has a summary, an operationId and one of the document's tags", at)
			}
			public := op.Security != nil && len(*op.Security) == 0
			if !public && op.Responses.Status(401) == nil {
				t.Errorf("%s needs a token but documents no 401", at)
			}
			if public && !strings.HasPrefix(path, "/openapi.") {
				t.Errorf("%s is documented as needing no token: only the document itself is public", at)
			}
			for code := range op.Responses.Map() {
				if r := op.Responses.Value(code).Value; code >= "400" && r.Content.Get("application/json") == nil {
					t.Errorf("%s: %s has no JSON error body", at, code)
				}
			}
		}
	}
}

// TestOpenAPIMatchesRoutes holds the document to the router both ways:
// every route under /api/v1 is documented with its method, and every
// documented operation is a route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := docsRouter()
	doc := loadOpenAPI(t, e)
	routes := map[string]string{} // "METHOD /template" → Echo's path
	for _, r := range e.Routes() {
		if r.Method == echo.RouteNotFound || !strings.HasPrefix(r.Path, docsBase+"/") {
			continue
		}
		routes[r.Method+" "+templateOf(r.Path)] = r.Path
	}
	if len(routes) < 22 {
		t.Fatalf("only %d routes under %s: %v", len(routes), docsBase, routes)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			key := method + " " + path
			documented[key] = true
			if _, ok := routes[key]; !ok {
				t.Errorf("api/openapi.yaml documents %s %s%s, which api.NewRouter does not register: remove it from paths, or fix its method or path", method, docsBase, path)
			}
		}
	}
	for _, key := range slices.Sorted(maps.Keys(routes)) {
		if !documented[key] {
			method, tpl, _ := strings.Cut(key, " ")
			t.Errorf("route %s %s (api.NewRouter) is missing from api/openapi.yaml: document it under paths: %q: %s:", method, routes[key], tpl, strings.ToLower(method))
		}
	}
}

func TestOpenAPIServedWithoutToken(t *testing.T) {
	e := docsRouter()
	doc := loadOpenAPI(t, e)

	y := docsGet(e, "/api/v1/openapi.yaml")
	if ct := y.Header().Get("Content-Type"); ct != "application/yaml" {
		t.Errorf("openapi.yaml: Content-Type %q", ct)
	}
	j := docsGet(e, "/api/v1/openapi.json")
	if j.Code != 200 || !strings.HasPrefix(j.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("openapi.json: %d %q", j.Code, j.Header().Get("Content-Type"))
	}
	var fromJSON any
	if err := json.Unmarshal(j.Body.Bytes(), &fromJSON); err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	// The JSON says what the YAML says.
	var fromYAML any
	if err := yaml.Unmarshal(y.Body.Bytes(), &fromYAML); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(fromYAML)
	if err != nil {
		t.Fatal(err)
	}
	var want any
	_ = json.Unmarshal(b, &want)
	if !reflect.DeepEqual(fromJSON, want) {
		t.Errorf("openapi.json differs from openapi.yaml")
	}
	if _, err := openapi3.NewLoader().LoadFromData(j.Body.Bytes()); err != nil {
		t.Errorf("openapi.json does not load: %v", err)
	}
	// A forged token changes nothing: the routes do not look at it.
	for _, path := range []string{"/api/v1/openapi.yaml", "/api/v1/openapi.json", "/api/docs"} {
		rec := docsGet(e, path, "Authorization", "Bearer cmr_forged")
		if rec.Code != 200 {
			t.Errorf("%s with a forged token: %d", path, rec.Code)
		}
		etag := rec.Header().Get("ETag")
		if etag == "" || !strings.Contains(rec.Header().Get("Cache-Control"), "max-age") {
			t.Errorf("%s: ETag %q, Cache-Control %q", path, etag, rec.Header().Get("Cache-Control"))
		}
		if again := docsGet(e, path, "If-None-Match", etag); again.Code != http.StatusNotModified {
			t.Errorf("%s with If-None-Match: %d, want 304", path, again.Code)
		}
	}

	page := docsGet(e, "/api/docs")
	html := page.Body.String()
	if page.Code != 200 || page.Header().Get("Content-Type") != "text/html; charset=UTF-8" {
		t.Fatalf("/api/docs: %d %q", page.Code, page.Header().Get("Content-Type"))
	}
	if strings.Contains(html, "<script") || strings.Contains(html, "http://") || strings.Contains(html, "https://") {
		t.Errorf("/api/docs loads something: it must work without JavaScript and without the internet")
	}
	for path, item := range doc.Paths.Map() {
		if !strings.Contains(html, docsBase+path+"<") {
			t.Errorf("/api/docs does not show %s%s", docsBase, path)
		}
		for method, op := range item.Operations() {
			if !strings.Contains(html, `id="`+op.OperationID+`"`) || !strings.Contains(html, htmlText(op.Summary)) {
				t.Errorf("/api/docs does not show %s %s (%s)", method, path, op.Summary)
			}
		}
	}
	for name := range doc.Components.Schemas {
		if !strings.Contains(html, `id="schema-`+name+`"`) {
			t.Errorf("/api/docs does not show schema %s", name)
		}
	}
	// The inline stylesheet is the one the CSP allows.
	_, css, _ := strings.Cut(html, "<style>")
	css, _, _ = strings.Cut(css, "</style>")
	sum := sha256.Sum256([]byte(css))
	if csp := page.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("/api/docs: CSP %q does not allow its stylesheet", csp)
	}
}

// htmlText escapes s as html/template writes text.
func htmlText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

// docsEnv is an API over a store with one open VO case, written straight
// into the store: enough for reads and refusals, without a workflow
// engine (and without one of the Temporal namespaces the other tests
// share).
type docsEnv struct {
	e      *echo.Echo
	store  *gormdb.Store
	tokens map[string]string
	caseID string
}

func newDocsEnv(t *testing.T) *docsEnv {
	ctx := context.Background()
	store := gormdbtest.SQLite(t)
	de := &docsEnv{store: store, tokens: map[string]string{}, caseID: "01AB-20270715"}
	for _, o := range parties {
		if err := store.UpsertOrganisation(ctx, o); err != nil {
			t.Fatal(err)
		}
		u, err := store.UpsertUser(ctx, cmr.User{OrganisationID: o.ID, Email: o.ID + "@example.org", Name: o.Name})
		if err != nil {
			t.Fatal(err)
		}
		if de.tokens[o.ID], err = store.CreateToken(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC()
	ps := cmr.Parties{SchoolID: "school-vo", DistributorID: "dist", LiKaIDs: []string{"lika-a", "lika-b"}, KennisnetIDs: []string{"kn"}}
	opts := cmr.CaseOptions{KeepHistory: true}
	plan := cmr.Procedure(cmr.PlanInput{Sector: cmr.SectorVO, Funding: cmr.FundingELF, Options: opts, WasWordt: cmr.WasWordtSuppliers})
	st := cmr.NewCaseState(de.caseID, cmr.SectorVO, ps, plan, cmr.Actor{UserID: "x", OrganisationID: "dist", Role: cmr.RoleDistributor}, now)
	h := cmr.CaseHeader{ID: de.caseID, SchoolID: "school-vo", DistributorID: "dist", Sector: cmr.SectorVO, Funding: cmr.FundingELF, WasWordt: cmr.WasWordtSuppliers, Options: opts,
		Scenario: cmr.Scenario{Sector: cmr.SectorVO, From: cmr.Endpoint{Quadrant: 1, IdP: "Magister"}, To: cmr.Endpoint{Quadrant: 1, IdP: "SOM"}},
		SwitchOn: time.Date(2027, 7, 15, 0, 0, 0, 0, time.UTC), Deadline: time.Date(2027, 8, 1, 0, 0, 0, 0, time.UTC),
		Warnings: []cmr.Warning{{Code: cmr.WarnShortNotice, Message: "short notice", NL: "kort dag"}}}
	if err := store.SaveCase(ctx, h, *st, 1, "", []cmr.Event{{Key: "e1", CaseID: de.caseID, Type: cmr.EventCaseOpened, At: now}}); err != nil {
		t.Fatal(err)
	}
	master := make([]byte, aesgcm.KeySize)
	rand.Read(master)
	keys, err := aesgcm.NewKeyring(master)
	if err != nil {
		t.Fatal(err)
	}
	de.e = api.NewRouter(&api.Server{Store: store, Calendar: cmr.DefaultCalendarConfig(), Lists: store, Keyring: keys, Logger: slog.New(slog.DiscardHandler)})
	return de
}

// docsCall is one request whose answer is checked against the document.
type docsCall struct {
	org, method, path, ctype, body string
	status                         int
	// invalid: the request itself breaks the document (it is sent to get
	// a refusal), so only the answer is checked.
	invalid bool
}

// check sends c and validates the request (unless c.invalid) and the
// answer against the operation the router's route is documented as.
func (de *docsEnv) check(t *testing.T, doc *openapi3.T, c docsCall) *httptest.ResponseRecorder {
	t.Helper()
	ctx := context.Background()
	newReq := func() *http.Request {
		req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
		if c.ctype != "" {
			req.Header.Set("Content-Type", c.ctype)
		}
		if c.org != "" {
			req.Header.Set("Authorization", "Bearer "+de.tokens[c.org])
		}
		return req
	}
	req := newReq()
	// Echo's own routing finds the route; the document must have it.
	ec := de.e.NewContext(req, nil)
	de.e.Router().Find(req.Method, req.URL.Path, ec)
	tpl := templateOf(ec.Path())
	item := doc.Paths.Value(tpl)
	if item == nil || item.GetOperation(c.method) == nil {
		t.Fatalf("%s %s: route %s %s is not documented", c.method, c.path, c.method, ec.Path())
	}
	params := map[string]string{}
	for i, n := range ec.ParamNames() {
		params[n] = ec.ParamValues()[i]
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params,
		Route:   &routers.Route{Spec: doc, Path: tpl, PathItem: item, Method: c.method, Operation: item.GetOperation(c.method)},
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if !c.invalid {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			t.Errorf("%s %s: the request does not match api/openapi.yaml: %v", c.method, c.path, err)
		}
	}
	rec := httptest.NewRecorder()
	de.e.ServeHTTP(rec, newReq())
	if rec.Code != c.status {
		t.Fatalf("%s %s as %q: got %d %s, want %d", c.method, c.path, c.org, rec.Code, rec.Body, c.status)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	out.SetBodyBytes(rec.Body.Bytes())
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		t.Errorf("%s %s as %q: the %d answer does not match api/openapi.yaml: %v\n%s", c.method, c.path, c.org, rec.Code, err, cut(rec.Body.String(), 600))
	}
	return rec
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// TestOpenAPIDescribesAnswers sends real requests, valid ones and
// refusals, and validates them and their answers against the document.
func TestOpenAPIDescribesAnswers(t *testing.T) {
	// kin-openapi decodes no spreadsheet; the body is a file like any
	// other.
	openapi3filter.RegisterBodyDecoder("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", openapi3filter.FileBodyDecoder)
	de := newDocsEnv(t)
	doc := loadOpenAPI(t, de.e)
	id := "/api/v1/cases/" + de.caseID
	jsonCT := "application/json"
	for _, c := range []docsCall{
		{org: "dist", method: "GET", path: "/api/v1/me", status: 200},
		{org: "school-vo", method: "GET", path: "/api/v1/me", status: 200},
		{method: "GET", path: "/api/v1/me", status: 401},
		{org: "dist", method: "GET", path: "/api/v1/organisations", status: 200},
		{org: "dist", method: "GET", path: "/api/v1/organisations?role=school", status: 200},
		{org: "dist", method: "GET", path: "/api/v1/organisations?role=bogus", status: 400, invalid: true},
		{org: "dist", method: "GET", path: "/api/v1/organisations?q=vo", status: 200},
		{org: "dist", method: "GET", path: "/api/v1/organisations?limit=1", status: 200},
		{org: "dist", method: "GET", path: "/api/v1/organisations?limit=1001", status: 400, invalid: true},
		{org: "dist", method: "GET", path: "/api/v1/organisations?q=&role=school", status: 400, invalid: true},
		{org: "dist", method: "POST", path: "/api/v1/scenarios/check", ctype: jsonCT, status: 200,
			body: `{"sector":"VO","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":2,"idp":"Distributeursportaal"},"requested_on":"2026-12-01","switch_on":"2027-01-15"}`},
		{org: "dist", method: "POST", path: "/api/v1/scenarios/check", ctype: jsonCT, status: 200,
			body: `{"sector":"MBO","from":{"eck":true,"kind":"elo"},"to":{"eck":false,"kind":"non_portal"}}`},
		{org: "dist", method: "POST", path: "/api/v1/scenarios/check", ctype: jsonCT, body: `{"sector":"HBO"}`, status: 400, invalid: true},
		{org: "school-vo", method: "POST", path: "/api/v1/cases", ctype: jsonCT, status: 403,
			body: `{"school":"01AB","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"likas":["lika-a"],"switch_on":"2027-07-15"}`},
		{org: "dist", method: "GET", path: "/api/v1/cases", status: 200},
		{org: "dist", method: "GET", path: "/api/v1/cases?status=open&at_risk=false&school=01AB", status: 200},
		{org: "dist", method: "GET", path: "/api/v1/cases?status=bogus", status: 400, invalid: true},
		{org: "dist", method: "GET", path: id, status: 200},
		{org: "dist", method: "GET", path: "/api/v1/cases/ZZ99-20991231", status: 404},
		{org: "dist-other", method: "GET", path: id, status: 404},
		{org: "school-vo", method: "GET", path: id + "/events", status: 200},
		{org: "school-vo", method: "POST", path: id + "/steps/plan.identity", ctype: jsonCT, body: `{"data":{"change":"realm"}}`, status: 403},
		{org: "dist", method: "POST", path: id + "/steps/99", ctype: jsonCT, body: `{}`, status: 404},
		{org: "school-vo", method: "POST", path: id + "/cancel", ctype: jsonCT, body: `{"reason":"dubbel"}`, status: 403},
		{org: "dist", method: "POST", path: id + "/cancel", ctype: jsonCT, body: `{}`, status: 400, invalid: true},
		{org: "school-vo", method: "GET", path: "/api/v1/lists/templates/vo", status: 200},
		{org: "school-vo", method: "GET", path: "/api/v1/lists/templates/mbo-eck?part=supplier&type=xlsx", status: 200},
		{org: "school-vo", method: "GET", path: "/api/v1/lists/templates/hbo", status: 400, invalid: true},
		{org: "school-vo", method: "POST", path: id + "/lists", ctype: "text/csv", body: "Voornaam;Achternaam\nJan;Berg\n", status: 400},
		{org: "school-vo", method: "POST", path: id + "/lists", ctype: "text/csv", body: voList(3), status: 201},
		{org: "school-vo", method: "POST", path: id + "/wordt", ctype: jsonCT, body: azWordtBody, status: 200},
		{org: "dist", method: "POST", path: id + "/wordt", ctype: jsonCT, body: azWordtBody, status: 403},
		{org: "kn", method: "GET", path: id + "/lists", status: 403},
		{org: "school-vo", method: "GET", path: id + "/lists/merged", status: 409},
	} {
		de.check(t, doc, c)
	}

	lists := de.check(t, doc, docsCall{org: "dist", method: "GET", path: id + "/lists", status: 200})
	var lv struct{ Lists []struct{ ID string } }
	if err := json.Unmarshal(lists.Body.Bytes(), &lv); err != nil || len(lv.Lists) != 1 {
		t.Fatalf("lists: %s", lists.Body)
	}
	list := id + "/lists/" + lv.Lists[0].ID
	de.check(t, doc, docsCall{org: "dist", method: "GET", path: list, status: 200})
	de.check(t, doc, docsCall{org: "school-vo", method: "GET", path: list + "?type=xlsx", status: 200})
	de.check(t, doc, docsCall{org: "school-vo", method: "GET", path: list + "?type=pdf", status: 400, invalid: true})
	de.check(t, doc, docsCall{org: "school-vo", method: "GET", path: id + "/lists/list_nope", status: 404})

	// The case with its tickets, read and refused.
	cases := de.check(t, doc, docsCall{org: "dist", method: "GET", path: "/api/v1/tickets", status: 200})
	if !strings.Contains(cases.Body.String(), `"tickets":[]`) {
		t.Fatalf("tickets before there are any: %s", cases.Body)
	}
	de.addTickets(t)
	de.check(t, doc, docsCall{org: "dist", method: "GET", path: id, status: 200})
	de.check(t, doc, docsCall{org: "lika-a", method: "GET", path: id, status: 200})
	de.check(t, doc, docsCall{org: "lika-a", method: "GET", path: "/api/v1/tickets", status: 200})
	de.check(t, doc, docsCall{org: "dist", method: "GET", path: "/api/v1/tickets?state=open&overdue=false&case=" + de.caseID, status: 200})
	de.check(t, doc, docsCall{org: "dist", method: "GET", path: "/api/v1/tickets?state=bogus", status: 400, invalid: true})
	tk := "/api/v1/tickets/" + de.caseID + "-T1"
	de.check(t, doc, docsCall{org: "lika-a", method: "GET", path: tk, status: 200})
	de.check(t, doc, docsCall{org: "lika-b", method: "GET", path: tk, status: 404})
	de.check(t, doc, docsCall{org: "dist", method: "POST", path: tk + "/close", ctype: jsonCT, body: `{"note":"verwerkt"}`, status: 403})
	de.check(t, doc, docsCall{org: "dist", method: "POST", path: tk + "/waive", ctype: jsonCT, body: `{}`, status: 400, invalid: true})
	de.check(t, doc, docsCall{org: "school-vo", method: "POST", path: tk + "/waive", ctype: jsonCT, body: `{"reason":"x"}`, status: 403})
	de.check(t, doc, docsCall{org: "school-vo", method: "POST", path: tk + "/return", status: 403})
	de.check(t, doc, docsCall{org: "dist", method: "POST", path: tk + "/return", status: 409})
	de.check(t, doc, docsCall{org: "school-vo", method: "POST", path: tk + "/list", ctype: "text/csv", body: mboPart("lika-a", 2, false), status: 403})
	de.check(t, doc, docsCall{org: "school-vo", method: "POST", path: id + "/lists", ctype: "text/csv", body: voList(3), status: 409})
	de.check(t, doc, docsCall{org: "lika-a", method: "GET", path: list, status: 200})
}

// addTickets gives the case its two LiKa tickets as step 14 would: the
// first open with its clock running, the second closed with a note.
func (de *docsEnv) addTickets(t *testing.T) {
	t.Helper()
	now := time.Now().UTC()
	warn, due := now.Add(48*time.Hour), now.Add(72*time.Hour)
	by := cmr.Actor{UserID: "u", OrganisationID: "lika-b", Role: cmr.RolePublisher}
	for _, tk := range []cmr.Ticket{
		{ID: de.caseID + "-T1", CaseID: de.caseID, LiKaID: "lika-a", State: cmr.TicketOpen, ClockStartedAt: &now, WarnAt: &warn, DueAt: &due, Version: 1},
		{ID: de.caseID + "-T2", CaseID: de.caseID, LiKaID: "lika-b", State: cmr.TicketClosed, ClockStartedAt: &now, WarnAt: &warn, DueAt: &due, ResolvedAt: &now, ResolvedBy: &by,
			Note: "verwerkt", Unprocessed: []cmr.UnprocessedRow{{Row: 2, Reason: "onbekend"}}, Version: 2},
	} {
		if err := de.store.SaveTicket(context.Background(), tk, []cmr.Event{{Key: tk.ID, CaseID: tk.CaseID, TicketID: tk.ID, Type: cmr.EventTicketCreated, At: now}}); err != nil {
			t.Fatal(err)
		}
	}
}
