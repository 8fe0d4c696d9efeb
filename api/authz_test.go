package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
	"github.com/cmr-idp/cmr/internal/authzmatrix"
)

// The authorization matrix: every route of the API router × every kind of
// caller × objects of cases the caller is and is not party to.
//
// Every route under /api/v1 needs an entry in azPolicies; a route without
// one fails the test, so that no route is added without deciding who may
// call it. Whatever the table says, two rules hold for every route:
//
//   - without a valid token the answer is 401 (but for the routes marked
//     public: the API's own documentation, which a partner reads before it
//     has a token);
//   - a caller that is not party to the object (a case it is not on, a
//     ticket of another LiKa, a list its LiKa may not see, an ID that does
//     not exist) gets 404, never 403 or 2xx, whatever the body or the query
//     says, and that 404 reads exactly like the one for an ID that does not
//     exist at all.
//
// The table gives, per route, the statuses a party may get by its role
// ("owner" is a party whose role owns the step in the path; "missing" an ID
// that does not exist inside a case the caller is on). Write requests that
// could succeed are sent only with a body that cannot (variant.safe); the
// few writes that succeed are made deliberately, after the matrix, and the
// outsiders' matrix runs again on the changed cases. Snapshots of every
// case (steps, tickets, lists, audit trail) prove that the refused
// requests changed nothing.

// Classes of callers besides the party roles: anon and nonparty are the
// same for every route (401, 404); owner and missing are explained above.
const (
	azAnon     = "anon"
	azNonParty = "nonparty"
	azOwner    = "owner"
	azMissing  = "missing"
)

type azVariant struct {
	name  string
	query string
	body  string
	ctype string
	// safe: the request cannot succeed whoever sends it (the body fails
	// before anything is stored), so it may go to callers that are allowed
	// to write.
	safe bool
}

type azPolicy struct {
	// public: the route needs no token; want then gives anon's statuses
	// too.
	public bool
	// mutating: a 2xx answer changes the case; such requests go to callers
	// allowed to write only with safe variants.
	mutating bool
	// want is the set of statuses per class: a party's role (school,
	// distributor, publisher, kennisnet), owner, missing, or
	// <role>-missing. anon (401) and nonparty (404) are the same for all
	// routes and not listed, but anon's statuses are for a public route.
	want     map[string][]int
	variants []azVariant
}

func azSet(codes ...int) []int { return codes }

// azRoles gives the same statuses to every party role.
func azRoles(codes ...int) map[string][]int {
	return map[string][]int{"school": codes, "distributor": codes, "publisher": codes, "kennisnet": codes}
}

const (
	azJunk      = `{"bogus":true}`
	azMultipart = "--azb\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--azb--\r\n"
)

var (
	vJunk      = azVariant{name: "junk", body: azJunk, ctype: "application/json", safe: true}
	vEmpty     = azVariant{name: "{}", body: `{}`, ctype: "application/json"}
	vMultipart = azVariant{name: "multipart without file", body: azMultipart, ctype: "multipart/form-data; boundary=azb", safe: true}
	vNone      = azVariant{name: "-"}
)

func azQueries(qs ...string) []azVariant {
	out := make([]azVariant, len(qs))
	for i, q := range qs {
		name := q
		if name == "" {
			name = "-"
		}
		out[i] = azVariant{name: name, query: q}
	}
	return out
}

func azJSON(name, body string) azVariant {
	return azVariant{name: name, body: body, ctype: "application/json"}
}

// azWordtBody is a valid request to the wordt builder (nothing is stored).
var azWordtBody = fmt.Sprintf(`{"old":{"file":%q,"identity":"Login"},"new":{"file":%q,"identity":"UPN"},"old_key":"Stamnr","new_key":"employeeNumber"}`,
	base64.StdEncoding.EncodeToString([]byte("Stamnr;Voornaam;Achternaam;Login\n1;Jan;Berg;jberg@magis\n")),
	base64.StdEncoding.EncodeToString([]byte("employeeNumber,UPN\n1,jan.berg@lyceum.nl\n")))

// azPublic is the API's documentation: everyone gets it, with a token,
// with a forged one or without.
var azPublic = azPolicy{public: true, want: map[string][]int{azAnon: azSet(200), "school": azSet(200), "distributor": azSet(200),
	"publisher": azSet(200), "kennisnet": azSet(200)}, variants: []azVariant{vNone}}

// azPolicies is the policy table, keyed by "METHOD path" as Echo lists
// the routes.
var azPolicies = map[string]azPolicy{
	"GET /api/v1/openapi.yaml":  azPublic,
	"GET /api/v1/openapi.json":  azPublic,
	"GET /api/v1/me":            {want: azRoles(200), variants: []azVariant{vNone}},
	"GET /api/v1/organisations": {want: azRoles(200, 400), variants: azQueries("", "?role=publisher", "?role=bogus", "?q=01AB", "?q=school", "?q=%25", "?q=x&role=publisher", "?limit=1", "?limit=0")},
	"GET /api/v1/lists/templates/:format": {want: azRoles(200, 400),
		variants: azQueries("", "?type=xlsx", "?part=supplier")},
	"POST /api/v1/scenarios/check": {want: azRoles(200, 400),
		variants: []azVariant{vJunk, azJSON("valid", `{"sector":"VO","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"}}`)}},
	"POST /api/v1/cases": {mutating: true,
		want: map[string][]int{"distributor": azSet(201, 400), "school": azSet(403), "publisher": azSet(403), "kennisnet": azSet(403)},
		variants: []azVariant{vJunk, {name: "{}", body: `{}`, ctype: "application/json", safe: true},
			azJSON("valid", `{"school":"01AB","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"likas":["lika-a"],"switch_on":"2027-07-29"}`)}},
	"GET /api/v1/cases": {want: azRoles(200, 400),
		variants: azQueries("", "?status=open", "?status=completed", "?status=cancelled", "?at_risk=false", "?school=01AB", "?school=02CD", "?status=bogus")},
	"GET /api/v1/tickets": {want: azRoles(200, 400),
		variants: azQueries("", "?state=open", "?state=awaiting_list", "?state=closed", "?overdue=false", "?state=bogus")},
	"GET /api/v1/cases/:id":        {want: azRoles(200), variants: []azVariant{vNone}},
	"GET /api/v1/cases/:id/events": {want: azRoles(200), variants: []azVariant{vNone}},
	"GET /api/v1/cases/:id/lists": {
		want:     map[string][]int{"school": azSet(200), "distributor": azSet(200), "publisher": azSet(200), "kennisnet": azSet(403)},
		variants: []azVariant{vNone}},
	"GET /api/v1/cases/:id/lists/merged": {
		want:     map[string][]int{"school": azSet(200, 400, 409), "distributor": azSet(200, 400, 409), "publisher": azSet(400, 403), "kennisnet": azSet(400, 403)},
		variants: azQueries("", "?type=xlsx", "?type=pdf")},
	// The school's MBO list row by row: a VO case (or none) answers 409; an
	// edit with a key no row has is refused (409) before anything is
	// stored.
	"GET /api/v1/cases/:id/lists/rows": {
		want:     map[string][]int{"school": azSet(200, 409), "distributor": azSet(403), "publisher": azSet(403), "kennisnet": azSet(403)},
		variants: []azVariant{vNone}},
	"POST /api/v1/cases/:id/lists/rows": {mutating: true,
		want:     map[string][]int{"school": azSet(400, 409), "distributor": azSet(400, 403), "publisher": azSet(400, 403), "kennisnet": azSet(400, 403)},
		variants: []azVariant{vJunk, vEmpty, {name: "edit with a stale key", body: `{"rows":[{"row":2,"key":"0000","cells":{"profile_new":"a@roc.nl"}}]}`, ctype: "application/json", safe: true}}},
	"GET /api/v1/cases/:id/lists/:list": {
		want: map[string][]int{"school": azSet(200, 400), "distributor": azSet(200, 400), "publisher": azSet(200, 400), "kennisnet": azSet(400, 403),
			azMissing: azSet(404), "kennisnet-" + azMissing: azSet(403)},
		variants: azQueries("", "?type=xlsx", "?type=pdf")},
	"POST /api/v1/cases/:id/lists": {mutating: true,
		want:     map[string][]int{"school": azSet(201, 400, 409), "distributor": azSet(400, 403), "publisher": azSet(400, 403), "kennisnet": azSet(400, 403)},
		variants: []azVariant{vJunk, vMultipart, {name: "valid VO list", body: voList(3), ctype: "text/csv"}}},
	"POST /api/v1/cases/:id/wordt": {
		want:     map[string][]int{"school": azSet(200, 400), "distributor": azSet(403), "publisher": azSet(403), "kennisnet": azSet(403)},
		variants: []azVariant{vJunk, vEmpty, azJSON("valid", azWordtBody)}},
	"POST /api/v1/cases/:id/steps/:step": {mutating: true,
		want: map[string][]int{azOwner: azSet(200, 400, 409), "school": azSet(400, 403, 409), "distributor": azSet(400, 403, 409),
			"publisher": azSet(400, 403, 409), "kennisnet": azSet(400, 403, 409), azMissing: azSet(404)},
		variants: []azVariant{vJunk, vEmpty, azJSON("passed", `{"passed":true}`), azJSON("data", `{"data":{"change":"realm"}}`)}},
	"POST /api/v1/cases/:id/cancel": {mutating: true,
		want:     map[string][]int{"distributor": azSet(200, 400, 409), "school": azSet(403), "publisher": azSet(403), "kennisnet": azSet(403)},
		variants: []azVariant{vJunk, vEmpty, azJSON("reason", `{"reason":"x"}`)}},
	"GET /api/v1/tickets/:id": {want: azRoles(200), variants: []azVariant{vNone}},
	"POST /api/v1/tickets/:id/close": {mutating: true,
		want: map[string][]int{"publisher": azSet(200, 400, 409), "school": azSet(400, 403), "distributor": azSet(400, 403), "kennisnet": azSet(400, 403)},
		variants: []azVariant{vJunk, vEmpty, azJSON("note", `{"note":"x"}`), azJSON("reason", `{"reason":"x"}`),
			azJSON("unprocessed", `{"unprocessed":[{"row":99999,"reason":"x"}]}`)}},
	"POST /api/v1/tickets/:id/waive": {mutating: true,
		want:     map[string][]int{"distributor": azSet(200, 400, 409), "school": azSet(400, 403), "publisher": azSet(400, 403), "kennisnet": azSet(400, 403)},
		variants: []azVariant{vJunk, vEmpty, azJSON("reason", `{"reason":"x"}`)}},
	"POST /api/v1/tickets/:id/return": {mutating: true,
		want:     map[string][]int{"distributor": azSet(200, 409), "school": azSet(403), "publisher": azSet(403), "kennisnet": azSet(403)},
		variants: []azVariant{vEmpty}},
	"POST /api/v1/tickets/:id/list": {mutating: true,
		want:     map[string][]int{"publisher": azSet(201, 400, 409), "school": azSet(400, 403), "distributor": azSet(400, 403), "kennisnet": azSet(400, 403)},
		variants: []azVariant{vJunk, vMultipart, {name: "valid MBO part", body: mboPart("lika-x", 2, false), ctype: "text/csv"}}},
}

// azKnown are tolerated deviations from "a non-party gets 404 whatever
// the body says", each with its reason; counted unless -authz.strict is
// given, and an entry that no longer occurs fails the test. There are
// none: the API looks the case or ticket up before it reads anything of
// the request (partyToCase, partyToTicket).
var azKnown = map[string]string{}

var azStrict = flag.Bool("authz.strict", false, "count the known deviations of TestAuthzMatrix (azKnown) as mismatches")

type azCaller struct {
	name  string
	org   string // "" for the anonymous and the forged-token callers
	role  cmr.Role
	token string
}

// azObject fills a route's path parameters.
type azObject struct {
	label  string
	params map[string]string
	// caseID is the case the object belongs to; "" for routes without an
	// object. An ID no case has makes everyone a non-party.
	caseID string
	// likas, when not nil, are the only LiKas of the case that may see the
	// object (a ticket's LiKa; who may see a list version).
	likas map[string]bool
	// owner is the role that owns the step in the path.
	owner cmr.Role
	// missing: the object does not exist inside a case that does.
	missing bool
	// ref: the unknown ID whose 404 every non-party answer must match.
	ref bool
}

type azCase struct {
	id, sector string
	parties    map[string]bool
	steps      []map[string]any
	tickets    []map[string]any
	lists      []map[string]any
}

type azMismatch struct {
	phase, route, caller, object, variant, class, got, want, body string
}

type azFixture struct {
	t          *testing.T
	en         *env
	callers    []azCaller
	cases      []*azCase
	routes     []string // "METHOD path"
	requests   int
	skipped    int
	mismatches []azMismatch
	known      map[string]int // azKnown key → requests
	statuses   map[int]int
	refs       map[string]string // route|caller|variant → status and body for an unknown ID
}

const (
	azUnknownCase   = "ZZ99-20991231"
	azUnknownTicket = "ZZ99-20991231-T1"
)

func TestAuthzMatrix(t *testing.T) {
	start := time.Now()
	en := newEnv(t, gormdbtest.SQLite(t))
	fx := azBuild(t, en)
	fx.checkRoutes()
	if t.Failed() {
		t.FailNow()
	}

	outsiders := func(class string) bool { return class == azAnon || class == azNonParty }
	parties := func(class string) bool { return !outsiders(class) }

	// 1. Outsiders on every route: nothing may change, not even the audit
	// trail.
	before := fx.snapshot(false)
	fx.run("outsiders", outsiders)
	fx.sameSnapshot("outsiders", before, fx.snapshot(false))
	fx.leaks("leaks")

	// 2. Parties: reads, and writes that are refused (wrong role, wrong
	// state, invalid body). Downloads are recorded, nothing else changes.
	before = fx.snapshot(true)
	fx.run("parties", parties)
	fx.sameSnapshot("parties", before, fx.snapshot(true))

	// 3. The few writes that succeed, on purpose.
	fx.deliberateWrites()

	// 4. Outsiders again, on cases with closed and waived tickets, new list
	// versions and cancelled cases.
	fx.load()
	before = fx.snapshot(false)
	fx.run("outsiders after writes", outsiders)
	fx.sameSnapshot("outsiders after writes", before, fx.snapshot(false))
	fx.leaks("leaks after writes")

	elapsed := time.Since(start).Round(time.Millisecond)
	knownTotal := authzmatrix.Known(t, azKnown, fx.known, *azStrict, "azKnown")
	t.Logf("authz matrix: %d routes, %d callers, %d cases; %d requests (%d skipped as they could succeed; answers %s), %d mismatches, %d known deviations, %s",
		len(fx.routes), len(fx.callers), len(fx.cases), fx.requests, fx.skipped, authzmatrix.Answers(fx.statuses), len(fx.mismatches), knownTotal, elapsed)
	if fx.requests < 2000 {
		t.Errorf("only %d requests; the matrix should send at least 2,000", fx.requests)
	}
	if len(fx.mismatches) > 0 {
		t.Errorf("%d authorization mismatches:\n%s", len(fx.mismatches), fx.table())
	}
}

// azBuild opens three cases by two distributors for different schools and
// LiKas, so that for every role there is a party and a non-party:
//
//	A  VO,  dist,       school-vo,  lika-a + lika-b: driven to its tickets (list uploaded)
//	B  MBO, dist-other, school-mbo, lika-b + lika-c: tickets awaiting the list, both
//	   parts and the school's returned list uploaded
//	C  VO,  dist,       school-vo,  lika-c: just opened
//
// Organisations added afterwards are on no case: a second VO school, a
// fourth LiKa and a second Kennisnet.
func azBuild(t *testing.T, en *env) *azFixture {
	fx := &azFixture{t: t, en: en, refs: map[string]string{}, known: map[string]int{}, statuses: map[int]int{}}
	a := en.want(en.do("dist", "POST", "/api/v1/cases", `{"school":"01AB","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"likas":["lika-a","lika-b"],"switch_on":"2027-07-15"}`), 201, "open A").Body["id"].(string)
	azDrive(en, a, map[string]string{"school": "school-vo", "distributor": "dist", "kennisnet": "kn"})
	b := en.want(en.do("dist-other", "POST", "/api/v1/cases", `{"school":"02CD","from":{"eck":true,"kind":"elo"},"to":{"eck":true,"kind":"distributor_portal"},"likas":["lika-b","lika-c"],"switch_on":"2027-07-10"}`), 201, "open B").Body["id"].(string)
	r := azDrive(en, b, map[string]string{"school": "school-mbo", "distributor": "dist-other", "kennisnet": "kn"})
	en.provideList(r, "8a", "school-mbo") // each LiKa's part
	en.provideList(r, "8b", "school-mbo") // the school's returned list
	c := en.want(en.do("dist", "POST", "/api/v1/cases", `{"school":"school-vo","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"likas":["lika-c"],"switch_on":"2027-07-22"}`), 201, "open C").Body["id"].(string)

	ctx := context.Background()
	for _, o := range []cmr.Organisation{
		{ID: "school-vo2", Name: "Second VO school", Role: cmr.RoleSchool, BRIN: "03EF", Sector: cmr.SectorVO},
		{ID: "lika-d", Name: "LiKa D", Role: cmr.RolePublisher},
		{ID: "kn-late", Name: "Second Kennisnet", Role: cmr.RoleKennisnet},
	} {
		if err := en.store.UpsertOrganisation(ctx, o); err != nil {
			t.Fatal(err)
		}
		u, err := en.store.UpsertUser(ctx, cmr.User{OrganisationID: o.ID, Email: o.ID + "@example.org", Name: o.Name})
		if err != nil {
			t.Fatal(err)
		}
		if en.tokens[o.ID], err = en.store.CreateToken(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	fx.callers = []azCaller{{name: "anonymous"}, {name: "forged token", token: "cmr_forged"}}
	for _, id := range []string{"school-vo", "school-mbo", "school-vo2", "dist", "dist-other", "lika-a", "lika-b", "lika-c", "lika-d", "kn", "kn-late"} {
		me := en.want(en.do(id, "GET", "/api/v1/me", nil), 200, "me "+id)
		fx.callers = append(fx.callers, azCaller{name: id, org: id, role: cmr.Role(me.Body["role"].(string)), token: en.tokens[id]})
	}
	for _, id := range []string{a, b, c} {
		fx.cases = append(fx.cases, &azCase{id: id})
	}
	fx.load()
	return fx
}

// azDrive completes the open human steps of a case by their owners until
// its tickets exist.
func azDrive(en *env, id string, owners map[string]string) response {
	en.t.Helper()
	for i := 0; i < 40; i++ {
		r := en.want(en.do(owners["distributor"], "GET", "/api/v1/cases/"+id, nil), 200, "get "+id)
		if len(r.Body["tickets"].([]any)) > 0 {
			return r
		}
		moved := false
		for _, s := range r.Body["steps"].([]any) {
			st := s.(map[string]any)
			if st["state"] != "open" || st["kind"] != "human" {
				continue
			}
			en.provideList(r, st["key"].(string), owners["school"])
			en.want(en.do(owners[st["owner"].(string)], "POST", fmt.Sprintf("/api/v1/cases/%s/steps/%s", id, st["key"]), map[string]any{"data": sample(st["records"].([]any))}), 200, "step "+st["key"].(string))
			moved = true
			break
		}
		if !moved {
			en.t.Fatalf("case %s stuck before its tickets", id)
		}
	}
	en.t.Fatalf("case %s has no tickets after 40 steps", id)
	return response{}
}

// load reads the cases' parties, steps, tickets and lists as their
// distributors see them.
func (fx *azFixture) load() {
	for _, c := range fx.cases {
		dist := fx.distOf(c)
		r := fx.en.want(fx.en.do(dist, "GET", "/api/v1/cases/"+c.id, nil), 200, "load "+c.id)
		c.sector = r.Body["sector"].(string)
		c.parties = map[string]bool{r.Body["school_id"].(string): true, r.Body["distributor_id"].(string): true, "kn": true}
		for _, l := range r.Body["lika_ids"].([]any) {
			c.parties[l.(string)] = true
		}
		c.steps, c.tickets, c.lists = nil, nil, nil
		for _, s := range r.Body["steps"].([]any) {
			c.steps = append(c.steps, s.(map[string]any))
		}
		for _, x := range r.Body["tickets"].([]any) {
			c.tickets = append(c.tickets, x.(map[string]any))
		}
		l := fx.en.want(fx.en.do(dist, "GET", "/api/v1/cases/"+c.id+"/lists", nil), 200, "lists "+c.id)
		for _, x := range l.Body["lists"].([]any) {
			c.lists = append(c.lists, x.(map[string]any))
		}
	}
	if len(fx.cases[0].tickets) != 2 || len(fx.cases[1].tickets) != 2 || len(fx.cases[0].lists) == 0 || len(fx.cases[1].lists) < 3 {
		fx.t.Fatalf("fixture: A has %d tickets and %d lists, B %d tickets and %d lists", len(fx.cases[0].tickets), len(fx.cases[0].lists), len(fx.cases[1].tickets), len(fx.cases[1].lists))
	}
}

func (fx *azFixture) caseByID(id string) *azCase {
	for _, c := range fx.cases {
		if c.id == id {
			return c
		}
	}
	return nil
}

// checkRoutes lists the router's routes under /api/v1 and matches them
// with the policy table, both ways.
func (fx *azFixture) checkRoutes() {
	fx.routes = authzmatrix.Routes(fx.t, fx.en.e, func(path string) bool { return strings.HasPrefix(path, "/api/v1/") }, azPolicies, "azPolicies")
	if len(fx.routes) < 20 {
		fx.t.Errorf("only %d routes: %v", len(fx.routes), fx.routes)
	}
}

// objects returns what fills a route's path parameters: an unknown ID
// first, then the objects of every case, also mixed across cases.
func (fx *azFixture) objects(path string) []azObject {
	switch {
	case strings.Contains(path, "/:list"):
		out := []azObject{{label: "unknown case/list", params: map[string]string{"id": azUnknownCase, "list": "list_nope"}, caseID: azUnknownCase, ref: true}}
		for _, c := range fx.cases {
			for _, l := range c.lists {
				out = append(out, azObject{label: fmt.Sprintf("%s/%s v%v", c.id, l["kind"], l["version"]), params: map[string]string{"id": c.id, "list": l["id"].(string)},
					caseID: c.id, likas: fx.listLiKas(c, l)})
			}
			out = append(out, azObject{label: c.id + "/unknown list", params: map[string]string{"id": c.id, "list": "list_nope"}, caseID: c.id, missing: true})
			for _, o := range fx.cases {
				if o != c && len(o.lists) > 0 {
					out = append(out, azObject{label: c.id + "/list of " + o.id, params: map[string]string{"id": c.id, "list": o.lists[0]["id"].(string)}, caseID: c.id, missing: true})
				}
			}
		}
		return out
	case strings.Contains(path, "/:step"):
		out := []azObject{{label: "unknown case/plan.identity", params: map[string]string{"id": azUnknownCase, "step": "plan.identity"}, caseID: azUnknownCase, ref: true}}
		for _, c := range fx.cases {
			for _, s := range c.steps {
				out = append(out, azObject{label: fmt.Sprintf("%s step %s (%s, %s)", c.id, s["key"], s["owner"], s["state"]),
					params: map[string]string{"id": c.id, "step": s["key"].(string)}, caseID: c.id, owner: cmr.Role(s["owner"].(string))})
			}
			out = append(out, azObject{label: c.id + " step 99", params: map[string]string{"id": c.id, "step": "99"}, caseID: c.id, missing: true})
		}
		return out
	case strings.HasPrefix(path, "/api/v1/cases/:id"):
		out := []azObject{{label: "unknown case", params: map[string]string{"id": azUnknownCase}, caseID: azUnknownCase, ref: true}}
		for _, c := range fx.cases {
			out = append(out, azObject{label: c.id, params: map[string]string{"id": c.id}, caseID: c.id})
		}
		return out
	case strings.HasPrefix(path, "/api/v1/tickets/:id"):
		out := []azObject{{label: "unknown ticket", params: map[string]string{"id": azUnknownTicket}, caseID: azUnknownCase, ref: true}}
		for _, c := range fx.cases {
			for _, tk := range c.tickets {
				out = append(out, azObject{label: fmt.Sprintf("%s (%s, %s)", tk["id"], tk["lika_id"], tk["state"]), params: map[string]string{"id": tk["id"].(string)},
					caseID: c.id, likas: map[string]bool{tk["lika_id"].(string): true}})
			}
		}
		return out
	case strings.Contains(path, "/:format"):
		var out []azObject
		for _, f := range []string{"vo", "mbo-eck", "mbo-non-eck", "hbo"} {
			out = append(out, azObject{label: f, params: map[string]string{"format": f}})
		}
		return out
	case !strings.Contains(path, ":"):
		return []azObject{{label: "-"}}
	}
	fx.t.Fatalf("route %s has path parameters the matrix cannot fill: add objects for them", path)
	return nil
}

// listLiKas says which LiKas may see a list version: the VO list every
// LiKa with a ticket, a part its own LiKa, the school's returned MBO list
// the LiKas it was returned to (nil: every LiKa of the case), as
// visibleLists in lists.go documents it.
func (fx *azFixture) listLiKas(c *azCase, l map[string]any) map[string]bool {
	out := map[string]bool{}
	switch l["kind"] {
	case cmr.ListComplete:
		if len(c.tickets) > 0 {
			return nil
		}
	case cmr.ListSupplier:
		for _, tk := range c.tickets {
			if tk["id"] == l["ticket_id"] {
				out[tk["lika_id"].(string)] = true
			}
		}
	case cmr.ListReturned:
		// Returned to a LiKa (8c) is what starts its ticket's clock; a
		// ticket waived or cancelled while it waited never got the list.
		for _, tk := range c.tickets {
			if tk["clock_started_at"] != nil && l["current"] == true {
				out[tk["lika_id"].(string)] = true
			}
		}
	}
	return out
}

func (fx *azFixture) class(c azCaller, o azObject) string {
	switch {
	case c.org == "":
		return azAnon
	case o.caseID == "":
		return string(c.role)
	}
	cs := fx.caseByID(o.caseID)
	switch {
	case cs == nil || !cs.parties[c.org]:
		return azNonParty
	case c.role == cmr.RolePublisher && o.likas != nil && !o.likas[c.org]:
		return azNonParty
	case o.missing:
		return azMissing
	case o.owner != "" && o.owner == c.role:
		return azOwner
	}
	return string(c.role)
}

func (fx *azFixture) wantFor(p azPolicy, class string, c azCaller) ([]int, bool) {
	switch class {
	case azAnon:
		if p.public {
			w, ok := p.want[azAnon]
			return w, ok
		}
		return []int{401}, true
	case azNonParty:
		return []int{404}, true
	case azMissing:
		if w, ok := p.want[string(c.role)+"-"+azMissing]; ok {
			return w, true
		}
	}
	w, ok := p.want[class]
	return w, ok
}

func (fx *azFixture) send(c azCaller, method, target string, v azVariant) (int, string) {
	req := httptest.NewRequest(method, target, strings.NewReader(v.body))
	if v.ctype != "" {
		req.Header.Set("Content-Type", v.ctype)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	rec := httptest.NewRecorder()
	fx.en.e.ServeHTTP(rec, req)
	fx.requests++
	fx.statuses[rec.Code]++
	return rec.Code, rec.Body.String()
}

// run sends the matrix for the classes keep selects.
func (fx *azFixture) run(phase string, keep func(class string) bool) {
	for _, route := range fx.routes {
		p := azPolicies[route]
		method, path, _ := strings.Cut(route, " ")
		for _, o := range fx.objects(path) {
			target := authzmatrix.Fill(path, o.params)
			for _, c := range fx.callers {
				class := fx.class(c, o)
				if !keep(class) {
					continue
				}
				want, ok := fx.wantFor(p, class, c)
				if !ok {
					fx.t.Fatalf("%s: no policy for class %q", route, class)
				}
				allowed := slices.ContainsFunc(want, func(s int) bool { return s < 300 })
				for _, v := range p.variants {
					if p.mutating && allowed && !v.safe {
						fx.skipped++
						continue
					}
					got, body := fx.send(c, method, target+v.query, v)
					mm := azMismatch{phase: phase, route: route, caller: c.name, object: o.label, variant: v.name, class: class, got: fmt.Sprint(got), body: body}
					known := route + "|" + v.name
					if _, ok := azKnown[known]; ok && class == azNonParty && got == 400 && !*azStrict {
						fx.known[known]++
					} else if !slices.Contains(want, got) {
						mm.want = fmt.Sprint(want)
						fx.mismatches = append(fx.mismatches, mm)
						continue
					}
					// A non-party's 404 must read like the one for an ID
					// that does not exist.
					if class == azNonParty || o.ref {
						norm := fmt.Sprintf("%d %s", got, azNormalize(body, o.params))
						key := route + "|" + c.name + "|" + v.name
						if o.ref {
							fx.refs[key] = norm
						} else if ref, ok := fx.refs[key]; ok && ref != norm {
							mm.want = "as unknown ID: " + ref
							fx.mismatches = append(fx.mismatches, mm)
						}
					}
				}
			}
		}
	}
}

func azNormalize(body string, params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	// Longest values first: a ticket ID contains its case's ID.
	sort.Slice(keys, func(i, j int) bool { return len(params[keys[i]]) > len(params[keys[j]]) })
	for _, k := range keys {
		body = strings.ReplaceAll(body, params[k], ":"+k)
	}
	return body
}

// leaks reads every list and search route as every caller and looks for
// the IDs of cases, tickets and list versions it may not see.
func (fx *azFixture) leaks(phase string) {
	for _, c := range fx.callers {
		if c.org == "" {
			continue
		}
		var foreign []string // quoted IDs
		var party []*azCase
		for _, cs := range fx.cases {
			if !cs.parties[c.org] {
				foreign = append(foreign, cs.id)
				for _, tk := range cs.tickets {
					foreign = append(foreign, tk["id"].(string))
				}
				for _, l := range cs.lists {
					foreign = append(foreign, l["id"].(string))
				}
				continue
			}
			party = append(party, cs)
			for _, tk := range cs.tickets {
				if c.role == cmr.RolePublisher && tk["lika_id"] != c.org {
					foreign = append(foreign, tk["id"].(string))
				}
			}
		}
		var own, ownTickets []string
		for _, cs := range party {
			own = append(own, cs.id)
			for _, tk := range cs.tickets {
				if c.role != cmr.RolePublisher || tk["lika_id"] == c.org {
					ownTickets = append(ownTickets, tk["id"].(string))
				}
			}
		}
		// The caller's own cases and tickets are listed: the search for
		// foreign IDs reads real lists.
		for target, ids := range map[string][]string{"/api/v1/cases": own, "/api/v1/tickets": ownTickets} {
			_, body := fx.send(c, "GET", target, vNone)
			for _, id := range ids {
				if !strings.Contains(body, `"`+id+`"`) {
					fx.mismatches = append(fx.mismatches, azMismatch{phase: phase, route: "GET " + target, caller: c.name, object: "-", variant: "-", class: "list", got: "without " + id, want: "with " + id, body: body})
				}
			}
		}
		check := func(target string, extra []string) {
			got, body := fx.send(c, "GET", target, vNone)
			route, _, _ := strings.Cut(target, "?")
			for _, cs := range fx.cases {
				route = strings.Replace(route, "/"+cs.id, "/:id", 1)
			}
			mm := azMismatch{phase: phase, route: "GET " + route, caller: c.name, object: "-", variant: target, class: "list", got: fmt.Sprint(got), body: body}
			if got != 200 {
				mm.want = "200"
				fx.mismatches = append(fx.mismatches, mm)
				return
			}
			for _, id := range append(slices.Clone(foreign), extra...) {
				if strings.Contains(body, `"`+id+`"`) {
					mm.want = "no " + id
					fx.mismatches = append(fx.mismatches, mm)
				}
			}
		}
		for _, v := range azPolicies["GET /api/v1/cases"].variants {
			if !strings.Contains(v.query, "bogus") {
				check("/api/v1/cases"+v.query, nil)
			}
		}
		for _, v := range azPolicies["GET /api/v1/tickets"].variants {
			if !strings.Contains(v.query, "bogus") {
				check("/api/v1/tickets"+v.query, nil)
			}
		}
		for _, cs := range fx.cases {
			check("/api/v1/tickets?case="+cs.id, nil)
		}
		for _, cs := range party {
			check("/api/v1/cases/"+cs.id, nil)
			check("/api/v1/cases/"+cs.id+"/events", nil)
			if c.role == cmr.RoleKennisnet {
				continue // Kennisnet sees no lists (403, in the matrix)
			}
			var hidden []string
			for _, l := range cs.lists {
				if ok := fx.listLiKas(cs, l); c.role == cmr.RolePublisher && ok != nil && !ok[c.org] {
					hidden = append(hidden, l["id"].(string))
				}
			}
			check("/api/v1/cases/"+cs.id+"/lists", hidden)
		}
	}
}

// snapshot is every case as its distributor sees it: the case with its
// steps and tickets, its list versions and its audit trail (without
// downloads when downloads are allowed).
func (fx *azFixture) snapshot(ignoreDownloads bool) map[string]string {
	out := map[string]string{}
	for _, c := range fx.cases {
		dist := fx.distOf(c)
		out[c.id+" case"] = fx.en.want(fx.en.do(dist, "GET", "/api/v1/cases/"+c.id, nil), 200, "snapshot").Raw
		out[c.id+" lists"] = fx.en.want(fx.en.do(dist, "GET", "/api/v1/cases/"+c.id+"/lists", nil), 200, "snapshot").Raw
		ev := fx.en.want(fx.en.do(dist, "GET", "/api/v1/cases/"+c.id+"/events", nil), 200, "snapshot")
		var kept []any
		for _, e := range ev.Body["events"].([]any) {
			if ignoreDownloads && e.(map[string]any)["type"] == cmr.EventListDownloaded {
				continue
			}
			kept = append(kept, e)
		}
		b, _ := json.Marshal(kept)
		out[c.id+" events"] = string(b)
	}
	for _, d := range []string{"dist", "dist-other"} {
		out[d+" tickets"] = fx.en.want(fx.en.do(d, "GET", "/api/v1/tickets", nil), 200, "snapshot").Raw
	}
	return out
}

func (fx *azFixture) sameSnapshot(phase string, before, after map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(before)) {
		b, a := before[k], after[k]
		if a == b {
			continue
		}
		i := 0
		for i < len(a) && i < len(b) && a[i] == b[i] {
			i++
		}
		from := max(0, i-80)
		fx.t.Errorf("%s: the requests changed %s; from byte %d:\nbefore …%s\nafter  …%s", phase, k, i, authzmatrix.Cut(b[from:], 400), authzmatrix.Cut(a[from:], 400))
	}
}

// azBody shortens a response body for the mismatch table.
func azBody(body string) string {
	body = strings.TrimSpace(body)
	switch {
	case strings.HasPrefix(body, "{"):
		return authzmatrix.Cut(body, 120)
	case !utf8.ValidString(body) || strings.ContainsRune(body, 0):
		return fmt.Sprintf("<%d bytes of a file>", len(body))
	}
	lines := strings.Split(body, "\n")
	return fmt.Sprintf("<file: %d lines> %s", len(lines), authzmatrix.Cut(strings.TrimPrefix(lines[0], "\ufeff"), 80))
}

// deliberateWrites makes the writes that succeed, by the parties whose
// job they are.
func (fx *azFixture) deliberateWrites() {
	en := fx.en
	a, b, c := fx.cases[0], fx.cases[1], fx.cases[2]
	ticket := func(cs *azCase, lika string) string {
		for _, tk := range cs.tickets {
			if tk["lika_id"] == lika {
				return tk["id"].(string)
			}
		}
		fx.t.Fatalf("no ticket of %s on %s", lika, cs.id)
		return ""
	}
	en.want(en.do("lika-a", "POST", "/api/v1/tickets/"+ticket(a, "lika-a")+"/close", `{"note":"verwerkt"}`), 200, "LiKa closes its ticket")
	en.want(en.do("dist", "POST", "/api/v1/tickets/"+ticket(a, "lika-b")+"/waive", `{"reason":"LiKa B levert niet meer"}`), 200, "distributor waives")
	en.want(en.do("dist", "POST", "/api/v1/cases/"+c.id+"/steps/plan.identity", `{"data":{"change":"realm"}}`), 200, "distributor completes a step")
	en.want(en.upload("school-vo", "/api/v1/cases/"+c.id+"/lists", voList(3)), 201, "school uploads a list")
	en.want(en.upload("lika-b", "/api/v1/tickets/"+ticket(b, "lika-b")+"/list", mboPart("lika-b", 3, false)), 201, "LiKa uploads a new part")
	en.want(en.do("dist-other", "POST", "/api/v1/tickets/"+ticket(b, "lika-c")+"/waive", `{"reason":"LiKa C doet niet mee"}`), 200, "distributor waives a ticket awaiting the list")
	en.want(en.do("dist-other", "POST", "/api/v1/cases/"+b.id+"/cancel", `{"reason":"school stelt uit"}`), 200, "distributor cancels B")
	en.want(en.do("dist", "POST", "/api/v1/cases/"+c.id+"/cancel", `{"reason":"dubbel"}`), 200, "distributor cancels C")
	// A cancelled case cancels its tickets in the background: wait until
	// the cases stop changing.
	deadline := time.Now().Add(15 * time.Second)
	for prev := ""; ; time.Sleep(50 * time.Millisecond) {
		snap, _ := json.Marshal(fx.snapshot(false))
		if string(snap) == prev && fx.settled() {
			break
		}
		if time.Now().After(deadline) {
			fx.t.Fatalf("the cases did not settle after the writes")
		}
		prev = string(snap)
	}
	if r := en.want(en.do("dist", "GET", "/api/v1/cases?status=cancelled", nil), 200, "cancelled"); !strings.Contains(r.Raw, `"`+c.id+`"`) || strings.Contains(r.Raw, `"`+b.id+`"`) {
		fx.t.Errorf("dist's cancelled cases: %s", r.Raw)
	}
}

// settled: no ticket of a cancelled case is still open or waiting.
func (fx *azFixture) settled() bool {
	for _, c := range fx.cases {
		r := fx.en.want(fx.en.do(fx.distOf(c), "GET", "/api/v1/cases/"+c.id, nil), 200, "settle")
		if r.Body["status"] != string(cmr.CaseCancelled) {
			continue
		}
		for _, x := range r.Body["tickets"].([]any) {
			if st := x.(map[string]any)["state"]; st == string(cmr.TicketOpen) || st == string(cmr.TicketAwaitingList) {
				return false
			}
		}
	}
	return true
}

func (fx *azFixture) distOf(c *azCase) string {
	if strings.HasPrefix(c.id, "02CD") {
		return "dist-other"
	}
	return "dist"
}

// table renders the mismatches: a count per route, class and answer, then
// the rows (at most 200).
func (fx *azFixture) table() string {
	ms := make([]authzmatrix.Mismatch, len(fx.mismatches))
	for i, m := range fx.mismatches {
		ms[i] = authzmatrix.Mismatch{Phase: m.phase, Route: m.route, Caller: m.caller, Object: m.object, Variant: m.variant, Class: m.class, Got: m.got, Want: m.want, Body: m.body}
	}
	return authzmatrix.Table(ms, azBody)
}
