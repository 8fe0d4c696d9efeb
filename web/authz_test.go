package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/aesgcm"
	"github.com/cmr-idp/cmr/api"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/internal/authzmatrix"
	"github.com/cmr-idp/cmr/web"
)

// The authorization matrix of the pages, like the API's (api/authz_test.go):
// every route web.Server registers × every kind of caller × objects of
// cases the caller is and is not party to, and people and API tokens of
// the caller's own and of other organisations.
//
// Every route needs an entry in wzPolicies; a route without one fails the
// test, and so does an entry for a route the server does not have.
// Whatever the table says, these rules hold for every route that needs a
// session:
//
//   - without a session a GET is sent to /login?return=<the page> (303),
//     a POST to /login (303) or refused (403);
//   - a POST without the session's CSRF token, or with another session's,
//     is refused (403) and changes nothing;
//   - a caller that is not party to the object (a case it is not on, a
//     ticket of another LiKa, a list its LiKa may not see, an ID that does
//     not exist) gets 404 whatever the form or the query says, and that
//     page reads exactly like the one for an ID that does not exist;
//   - /admin is an organisation admin's: everyone else gets 404, and an
//     admin gets 404 for a person or token of another organisation.
//
// The table gives, per route, the statuses a party may get by its role
// ("owner" is the party whose role owns the open step in the path,
// "missing" an ID that does not exist inside a case the caller is on, and
// on /admin "own" and "self" the admin's own organisation and account).
// Forms that could succeed are sent only to callers that may not act
// (variant.safe); a few writes succeed deliberately at the end. Snapshots
// of the store (cases, tickets, lists, audit trails, people, e-mail
// patterns, API tokens) prove that the refused requests changed nothing,
// and every request is checked not to have reached the engine, the opener
// or the submissions store unless it was meant to.
//
// The server has every feature on (Lists, Opener, Engine, Guard, Admin,
// SignIn, dev sign-in), with the real list service of the API as Lists,
// as `cmr serve` wires it: the list downloads leave the party check to it.

const (
	wzAnon     = "anon"
	wzNonParty = "nonparty"
	wzOwner    = "owner"
	wzMissing  = "missing"
	wzNonAdmin = "nonadmin"
	wzForeign  = "foreign"
	wzOwn      = "own"
	wzSelf     = "self"
)

// caseOther is dist2's second case, with its own school, LiKa and
// Kennisnet, so that every role has parties and non-parties.
const caseOther = "02CD-20270801"

type wzVariant struct {
	name  string
	query string
	// form is the POST body (the CSRF token is added by the phase);
	// "{user:NAME}" stands for the ID of a fixture user.
	form url.Values
	// files, when not nil, makes the body multipart: field → content.
	files  map[string]string
	header map[string]string
	// safe: the request cannot succeed whoever sends it, so it may go to
	// callers that are allowed to act.
	safe bool
}

type wzPolicy struct {
	// public: no session needed; the anonymous get want[anon].
	public bool
	// admin: an organisation admin's route; 404 for everyone else.
	admin bool
	// mutating: a success changes something; such requests go to callers
	// allowed to act only with safe variants.
	mutating bool
	want     map[string][]int
	variants []wzVariant
}

func wzSet(codes ...int) []int { return codes }

func wzRoles(codes ...int) map[string][]int {
	return map[string][]int{"school": codes, "distributor": codes, "publisher": codes, "kennisnet": codes}
}

func wzAll(codes ...int) map[string][]int {
	m := wzRoles(codes...)
	m[wzAnon] = codes
	return m
}

// wzOnly gives role its statuses and 404 to the other roles.
func wzOnly(role string, codes ...int) map[string][]int {
	m := wzRoles(404)
	m[role] = codes
	return m
}

func wzQueries(qs ...string) []wzVariant {
	out := make([]wzVariant, len(qs))
	for i, q := range qs {
		name := q
		if name == "" {
			name = "-"
		}
		out[i] = wzVariant{name: name, query: q}
	}
	return out
}

// wzPost is a form of key, value pairs.
func wzPost(name string, safe bool, kv ...string) wzVariant {
	form := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		form.Add(kv[i], kv[i+1])
	}
	return wzVariant{name: name, form: form, safe: safe}
}

// wzFile is a multipart form with files (field, content pairs).
func wzFile(name string, safe bool, files ...string) wzVariant {
	v := wzVariant{name: name, form: url.Values{}, files: map[string]string{}, safe: safe}
	for i := 0; i+1 < len(files); i += 2 {
		v.files[files[i]] = files[i+1]
	}
	return v
}

func (v wzVariant) with(kv ...string) wzVariant {
	v.form = maps.Clone(v.form)
	for i := 0; i+1 < len(kv); i += 2 {
		v.form.Add(kv[i], kv[i+1])
	}
	return v
}

const wzVOHead = "Voornaam;Tussenvoegsel;Achternaam;Postcode;Huisnummer;Oude identiteit (was);Nieuwe identiteit (wordt)"

func wzVOList(n int) string {
	var b strings.Builder
	b.WriteString(wzVOHead + "\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "Leerling%d;;Achternaam%d;1234 AB;%d;l%d@magis.02CD;l%d@college.nl\n", i, i, i+1, i, i)
	}
	return b.String()
}

const (
	wzJunkFile = "dit;is;geen\nlijst\n"
	wzMBOPart  = "Voorletters;Voornaam;Achternaam;School locatie;nlEduPersonProfileId oud;nlEduPersonRealId oud\nS.;Sam;Achter;Zwolle;s1@roc.adfs.nl;s1@roc.real\n"
)

var (
	wzNone     = []wzVariant{{name: "-"}}
	wzLong     = strings.Repeat("x", 2001)
	wzJunkForm = wzPost("junk", true, "bogus", "1", "case", caseOther, "id", caseVO, "ticket", ticketOverdue, "user", "{user:dist}")
	// wzOpenForm would open a case for Het College.
	wzOpenForm = wzPost("valid case", false, "school", "school2", "from_quadrant", "1", "from_idp", "Magister", "to_quadrant", "1", "to_idp", "itslearning",
		"switch_on", "2027-07-15", "requested_on", "2026-11-22", "likas", "lika1")
	wzWordtValid = wzFile("valid exports", false, "old_file", "Leerlingnummer;Account\n1001;jan@oud.nl\n", "new_file", "Stamnr;Login\n1001;jan@nieuw.nl\n").
			with("old_identity", "Account", "new_identity", "Login", "old_key", "Leerlingnummer", "new_key", "Stamnr")
)

var (
	wzReportSLA     = map[string][]int{"school": wzSet(404), "distributor": wzSet(200, 400), "publisher": wzSet(200, 400), "kennisnet": wzSet(200, 400)}
	wzReportCases   = map[string][]int{"school": wzSet(404), "publisher": wzSet(404), "distributor": wzSet(200), "kennisnet": wzSet(200)}
	wzReportPeriods = wzQueries("", "?from=2027-01-01&to=2027-06-10", "?from=2027-06-11&to=2027-06-10", "?from=bogus", "?to=2027-02-30", "?from=1999-01-01")
)

// wzPolicies is the policy table, keyed by "METHOD path" as Echo lists
// the routes.
var wzPolicies = map[string]wzPolicy{
	// Signing in and out.
	"GET /login": {public: true, want: wzAll(200, 404),
		variants: wzQueries("", "?return=/cases", "?return=//evil.example/", "?org=school", "?org=nope")},
	"POST /login": {public: true, want: wzAll(403),
		variants: []wzVariant{wzPost("empty", true), wzPost("a user without the form's token", true, "user", "{user:school}", "return", "/admin")}},
	"GET /login/callback": {public: true, want: wzAll(403),
		variants: wzQueries("", "?state=forged", "?state=forged&code=x", "?state=forged&error=access_denied")},
	"POST /logout": {mutating: true, want: wzRoles(303), variants: []wzVariant{wzPost("-", false)}},
	"GET /lang": {public: true, want: wzAll(303),
		variants: wzQueries("?to=en", "?to=nl&back=/cases", "?back=//evil.example/", "?back=/%09/evil.example", "?back=https://evil.example/")},

	// Lists of work and cases.
	"GET /": {want: wzRoles(200), variants: wzNone},
	"GET /cases": {want: wzRoles(200),
		variants: wzQueries("", "?status=", "?status=open", "?status=completed", "?status=cancelled", "?status=bogus", "?at_risk=true",
			"?sector=MBO", "?school=far", "?school=school2", "?q=09ZZ", "?q=Verre", "?q=02CD", "?q=College", "?q=01AB-2026")},

	// The new-case wizard: distributors only.
	"GET /cases/new": {want: wzOnly("distributor", 200, 303),
		variants: wzQueries("", "?school=school", "?school=far", "?school=nope", "?q=het", "?q=02CD", "?q=Verre", "?q=%25")},
	"POST /cases/new/check": {want: wzOnly("distributor", 200),
		variants: []wzVariant{wzPost("empty", true), wzOpenForm, {name: "htmx", form: wzOpenForm.form, header: map[string]string{"HX-Request": "true"}}}},
	"POST /cases": {mutating: true, want: wzOnly("distributor", 303, 400),
		variants: []wzVariant{wzPost("empty", true), wzPost("unknown school", true, "school", "nope"), wzOpenForm}},

	// A case and its tickets.
	"GET /cases/:id":   {want: wzRoles(200), variants: wzQueries("", "?tab=events")},
	"GET /tickets/:id": {want: wzRoles(200), variants: wzNone},
	"POST /cases/:id/steps/:step": {mutating: true,
		// Another role's step: 403 as in the API (casework.CheckStep); a
		// step the procedure does itself, or on a closed case: 409.
		want: map[string][]int{wzOwner: wzSet(303, 400, 409), "school": wzSet(403, 409), "distributor": wzSet(403, 409), "publisher": wzSet(403, 409), "kennisnet": wzSet(403, 409),
			wzMissing: wzSet(404)},
		variants: []wzVariant{wzPost("empty", true), wzJunkForm,
			wzPost("filled", false, "change", "realm", "passed", "true", "confirmed", "true", "count", "3", "note", "klaar", "date", "2027-07-01")}},
	"POST /tickets/:id/close": {mutating: true,
		want: map[string][]int{"publisher": wzSet(303, 400, 409), "school": wzSet(403), "distributor": wzSet(403), "kennisnet": wzSet(403)},
		variants: []wzVariant{wzPost("long note", true, "text", wzLong), wzPost("bad rows", true, "text", "x", "unprocessed", "geen regel"),
			wzPost("note", false, "text", "verwerkt", "from", "ticket")}},
	"POST /tickets/:id/waive": {mutating: true,
		want:     map[string][]int{"distributor": wzSet(303, 400, 409), "school": wzSet(403), "publisher": wzSet(403), "kennisnet": wzSet(403)},
		variants: []wzVariant{wzPost("empty", true), wzPost("long reason", true, "text", wzLong), wzPost("reason", false, "text", "doet niet mee")}},
	"POST /cases/:id/cancel": {mutating: true,
		want:     map[string][]int{"distributor": wzSet(303, 400, 409), "school": wzSet(403), "publisher": wzSet(403), "kennisnet": wzSet(403)},
		variants: []wzVariant{wzPost("empty", true), wzPost("long reason", true, "reason", wzLong), wzPost("reason", false, "reason", "dubbel")}},
	// No ticket waits for a returned list that exists, so the return is
	// refused (409) even for the distributor: safe.
	"POST /tickets/:id/return": {mutating: true,
		want:     map[string][]int{"distributor": wzSet(303, 409), "school": wzSet(403), "publisher": wzSet(403), "kennisnet": wzSet(403)},
		variants: []wzVariant{wzPost("-", true), wzJunkForm}},

	// Was-wordt lists.
	"GET /lists/templates/:format": {want: map[string][]int{"school": wzSet(200), "distributor": wzSet(200), "publisher": wzSet(200), "kennisnet": wzSet(200), wzMissing: wzSet(404)},
		variants: wzQueries("", "?type=xlsx", "?part=supplier")},
	"GET /cases/:id/lists": {want: map[string][]int{"school": wzSet(200), "distributor": wzSet(200), "publisher": wzSet(200), "kennisnet": wzSet(403)},
		variants: wzQueries("", "?stored=1")},
	"GET /cases/:id/lists/merged": {
		want:     map[string][]int{"school": wzSet(200, 409), "distributor": wzSet(200, 409), "publisher": wzSet(403), "kennisnet": wzSet(403)},
		variants: wzQueries("", "?type=xlsx")},
	"GET /cases/:id/lists/:list": {
		want: map[string][]int{"school": wzSet(200), "distributor": wzSet(200), "publisher": wzSet(200), "kennisnet": wzSet(403),
			wzMissing: wzSet(404), "kennisnet-" + wzMissing: wzSet(403)},
		variants: wzQueries("", "?type=xlsx", "?type=pdf")},
	"POST /cases/:id/lists": {mutating: true,
		want:     map[string][]int{"school": wzSet(303, 409, 422), "distributor": wzSet(403, 422), "publisher": wzSet(403, 422), "kennisnet": wzSet(403, 422)},
		variants: []wzVariant{wzFile("no file", true), wzFile("junk file", true, "file", wzJunkFile), wzFile("valid VO list", false, "file", wzVOList(2))}},
	"POST /tickets/:id/list": {mutating: true,
		want:     map[string][]int{"publisher": wzSet(303, 409, 422), "school": wzSet(403, 422), "distributor": wzSet(403, 422), "kennisnet": wzSet(403, 422)},
		variants: []wzVariant{wzFile("no file", true), wzFile("junk file", true, "file", wzJunkFile), wzFile("MBO part", false, "file", wzMBOPart)}},
	// The school's MBO list row by row (rows.go): a VO case answers 409;
	// an empty save changes nothing (200), an edit with a key no row has
	// is refused (400) before anything is stored.
	"GET /cases/:id/lists/rows": {
		want:     map[string][]int{"school": wzSet(200, 409), "distributor": wzSet(403), "publisher": wzSet(403), "kennisnet": wzSet(403)},
		variants: wzQueries("", "?open=1", "?page=9"),
	},
	"POST /cases/:id/lists/rows": {mutating: true,
		want: map[string][]int{"school": wzSet(200, 400, 409), "distributor": wzSet(403), "publisher": wzSet(403), "kennisnet": wzSet(403)},
		variants: []wzVariant{wzPost("empty", true), wzJunkForm,
			wzPost("stale key", true, "row", "2", "key.2", "0000", "orig.2.profile_new", "", "cell.2.profile_new", "a@roc.nl")}},
	"GET /cases/:id/wordt": {want: wzOnly("school", 200), variants: wzNone},
	"POST /cases/:id/wordt": {want: wzOnly("school", 200, 400),
		variants: []wzVariant{wzFile("no files", true), wzJunkForm, wzWordtValid}},

	// Reports (reports.go): the SLA per LiKa for LiKas, distributors and
	// Kennisnet; the distributors' cases for distributors and Kennisnet; a
	// case's audit trail as CSV for every party. Refused periods are 400.
	"GET /reports/sla":          {want: wzReportSLA, variants: wzReportPeriods},
	"GET /reports/sla.csv":      {want: wzReportSLA, variants: wzReportPeriods},
	"GET /reports/cases":        {want: wzReportCases, variants: wzQueries("", "?from=bogus")},
	"GET /reports/cases.csv":    {want: wzReportCases, variants: wzQueries("", "?from=bogus")},
	"GET /cases/:id/events.csv": {want: wzRoles(200), variants: wzQueries("", "?type=xlsx")},

	// An organisation admin's page.
	"GET /admin": {admin: true, want: map[string][]int{wzOwn: wzSet(200)}, variants: wzNone},
	"POST /admin/patterns": {admin: true, mutating: true, want: map[string][]int{wzOwn: wzSet(200, 400)},
		variants: []wzVariant{wzPost("unknown placeholder", true, "patterns", "[voornaam]@lyceum.nl"), wzPost("patterns", false, "patterns", "[firstname]@lyceum.nl")}},
	"POST /admin/people/import": {admin: true, mutating: true, want: map[string][]int{wzOwn: wzSet(200, 400)},
		variants: []wzVariant{wzFile("no file", true), wzFile("staff list with mistakes", true, "file", "Voornaam;Achternaam;E-mail\n;Jansen;jan@\n"),
			wzFile("staff list", false, "file", "Voornaam;Achternaam;E-mail\nMax;Mustermann;max@lyceum.nl\n")}},
	"POST /admin/people/:id": {admin: true, mutating: true, want: map[string][]int{wzOwn: wzSet(200, 400)},
		variants: []wzVariant{wzPost("too long", true, "oidc_username", strings.Repeat("x", 201)), wzPost("person", false, "oidc_username", "iemand@lyceum.nl", "short_code", "IEM")}},
	"POST /admin/people/:id/disable": {admin: true, mutating: true, want: map[string][]int{wzOwn: wzSet(200), wzSelf: wzSet(409)}, variants: []wzVariant{wzPost("-", false)}},
	// Only a disabled person is enabled; an enabled one is not found.
	"POST /admin/people/:id/enable": {admin: true, mutating: true, want: map[string][]int{wzOwn: wzSet(200, 404), wzSelf: wzSet(404)}, variants: []wzVariant{wzPost("-", false)}},
	// The person is the form's "user": another organisation's is not
	// found, whatever the label.
	"POST /admin/tokens": {admin: true, mutating: true, want: map[string][]int{wzOwn: wzSet(200, 400), wzForeign: wzSet(404)},
		variants: []wzVariant{wzPost("no label", true), wzPost("long label", true, "label", strings.Repeat("x", 101)), wzPost("label", false, "label", "Roosterpakket")}},
	"POST /admin/tokens/:id/revoke": {admin: true, mutating: true, want: map[string][]int{wzOwn: wzSet(200)}, variants: []wzVariant{wzPost("-", false)}},

	// Notification preferences (notices.go): every signed-in person's
	// own; an unknown kind or language is refused (400).
	"GET /settings": {want: wzRoles(200), variants: wzNone},
	"POST /settings": {mutating: true, want: wzRoles(200, 400),
		variants: []wzVariant{wzPost("empty", true), wzPost("unknown kind", true, "language", "nl", "email", "true", "kind", "case_opened", "kind", "bogus"),
			wzPost("unknown language", true, "language", "de", "kind", "case_opened"), wzJunkForm,
			wzPost("preferences", false, "language", "en", "email", "true", "kind", "case_opened")}},
	// The organisation's webhook: its admins'. The server does not allow
	// http:// webhooks here.
	"POST /admin/webhook": {admin: true, mutating: true, want: map[string][]int{wzOwn: wzSet(200, 400)},
		variants: []wzVariant{wzPost("no address", true), wzPost("http", true, "url", "http://localhost:8080/hook"), wzPost("garbage", true, "url", "javascript:alert(1)"),
			wzPost("private address", true, "url", "https://10.0.0.1/hook"), wzPost("address", false, "url", "https://hooks.example.org/cmr")}},
	"POST /admin/webhook/secret": {admin: true, mutating: true, want: map[string][]int{wzOwn: wzSet(200, 409)}, variants: []wzVariant{wzPost("-", false)}},
	"POST /admin/webhook/delete": {admin: true, mutating: true, want: map[string][]int{wzOwn: wzSet(200)}, variants: []wzVariant{wzPost("-", false)}},
	// :id is a delivery of the admin's own organisation (another's is not
	// found); an e-mail delivery is not redelivered here (409).
	"POST /admin/deliveries/:id/redeliver": {admin: true, mutating: true, want: map[string][]int{wzOwn: wzSet(303, 409)}, variants: []wzVariant{wzPost("-", false)}},
}

// wzKnown are tolerated deviations, each with its reason: counted unless
// -authz.strict is given; an entry that no longer occurs fails the test.
// Keyed "route|variant"; they apply to parties only.
var wzKnown = map[string]string{}

var wzStrict = flag.Bool("authz.strict", false, "count the known deviations of TestAuthzMatrixPages (wzKnown) as mismatches")

type wzCaller struct {
	name, org string
	role      cmr.Role
	admin     bool
	userID    string
	cookie    *http.Cookie
	csrf      string
}

// wzObject fills a route's path parameters (and, for POST /admin/tokens,
// the form's person).
type wzObject struct {
	label  string
	params map[string]string
	form   url.Values
	// caseID is the case the object belongs to; "" for routes without a
	// case. An ID no case has makes everyone a non-party.
	caseID string
	// likas, when not nil, are the only LiKas of the case that may see
	// the object (a ticket's LiKa; the LiKas a list version is for).
	likas map[string]bool
	// owner and open: the step in the path, and whether it is open.
	owner cmr.Role
	open  bool
	// unsafe: the owner could complete the step with any form (it records
	// nothing required), so no form goes to the owner.
	unsafe bool
	// missing: the object does not exist inside a case (or a route) the
	// caller may see.
	missing bool
	// ref: the unknown ID whose 404 every non-party answer must match.
	ref bool
	// org and user: the organisation and person of an /admin object; ""
	// for an admin route without one (the admin's own organisation).
	org, user string
}

type wzCase struct {
	id      string
	c       cmr.Case
	parties map[string]bool
	lists   []cmr.ListVersion
}

type wzMismatch struct {
	phase, route, caller, object, variant, class, got, want, body string
}

type wzFixture struct {
	t          *testing.T
	s          *pagesSite
	callers    []wzCaller
	cases      []*wzCase
	orgs       []cmr.Organisation
	tokens     map[string]string // API token ID → the name of the user it acts as
	repl       *strings.Replacer
	routes     []string
	requests   int
	skipped    int
	addr       int
	mismatches []wzMismatch
	known      map[string]int
	statuses   map[int]int
	refs       map[string]string
	// deliveries are the seeded notification deliveries; redelivered the
	// IDs the server's Redeliver was called with.
	deliveries  []cmr.Delivery
	redelivered []string
}

func TestAuthzMatrixPages(t *testing.T) {
	start := time.Now()
	fx := wzBuild(t)
	fx.checkRoutes()
	if t.Failed() {
		t.FailNow()
	}
	anon := func(class string) bool { return class == wzAnon }
	outsiders := func(class string) bool { return class == wzNonParty || class == wzForeign || class == wzNonAdmin }
	parties := func(class string) bool { return !anon(class) && !outsiders(class) }

	// 1. Without a session: to the sign-in page, and nothing changes.
	before := fx.snapshot(false)
	fx.run("anonymous", anon, "session")
	fx.sameSnapshot("anonymous", before, fx.snapshot(false))

	// 2. Every form without the session's CSRF token, and with another
	// session's: refused before anything else is looked at.
	fx.run("without CSRF token", func(class string) bool { return !anon(class) }, "none")
	fx.run("another session's CSRF token", func(class string) bool { return !anon(class) }, "other")
	fx.sameSnapshot("CSRF", before, fx.snapshot(false))

	// 3. Outsiders with a valid token: 404 whatever the form says.
	fx.run("outsiders", outsiders, "session")
	fx.sameSnapshot("outsiders", before, fx.snapshot(false))
	fx.leaks("leaks")

	// 4. Parties: reads, and forms that are refused (wrong role, wrong
	// state, invalid form). Downloads are recorded, nothing else changes.
	before = fx.snapshot(true)
	fx.run("parties", parties, "session")
	fx.sameSnapshot("parties", before, fx.snapshot(true))

	// 5. The few writes that succeed, on purpose: the sessions, tokens and
	// admin rights the matrix used were real.
	fx.deliberateWrites()

	elapsed := time.Since(start).Round(time.Millisecond)
	knownTotal := authzmatrix.Known(t, wzKnown, fx.known, *wzStrict, "wzKnown")
	t.Logf("pages authz matrix: %d routes, %d callers, %d cases; %d requests (%d skipped as they could succeed; answers %s), %d mismatches, %d known deviations, %s",
		len(fx.routes), len(fx.callers), len(fx.cases), fx.requests, fx.skipped, authzmatrix.Answers(fx.statuses), len(fx.mismatches), knownTotal, elapsed)
	if fx.requests < 1000 {
		t.Errorf("only %d requests; the matrix should send at least 1,000", fx.requests)
	}
	if len(fx.mismatches) > 0 {
		t.Errorf("%d authorization mismatches:\n%s", len(fx.mismatches), fx.table())
	}
}

// wzEngine is the opener and the engine of newPagesSite as one, for the
// API's list service.
type wzEngine struct {
	*fakeOpener
	*namedEngine
}

// wzBuild serves the pages with every feature over newPagesSite's store,
// with more parties:
//
//	01AB-20270715  VO,  school, dist,  lika1+lika2, kn: T1 (lika1, overdue), T2 (lika2)
//	03EF-20270901  MBO, mbo,    dist,  lika1,       kn: T1 (lika1, awaiting the list)
//	01AB-20260701  VO,  school, dist,  lika1,       kn: completed
//	09ZZ-20270715  VO,  far,    dist2, lika1,       kn: a VO list, T1 (lika1)
//	02CD-20270801  VO,  school2,dist2, lika2,       kn2: a VO list, T1 (lika2)
//
// The school's user and dist2's are their organisations' admins; the
// school has a second person who is not. The colleague, dist2 and lika1
// have an API token each.
func wzBuild(t *testing.T) *wzFixture {
	p := newPagesSite(t)
	ctx := context.Background()
	store := p.store
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(store.UpsertOrganisation(ctx, cmr.Organisation{ID: "kn2", Name: "Kennisnet Twee", Role: cmr.RoleKennisnet}))
	for name, u := range map[string]cmr.User{
		"kn2":              {OrganisationID: "kn2", Email: "kn2@example.org", Name: "Mens van Kennisnet Twee"},
		"school-colleague": {OrganisationID: "school", Email: "collega@example.org", Name: "Collega van Het Lyceum"},
	} {
		u, err := store.UpsertUser(ctx, u)
		must(err)
		p.users[name] = u
	}
	must(store.SetAdmin(ctx, p.users["school"].ID, true))
	must(store.SetAdmin(ctx, p.users["dist2"].ID, true))
	fx := &wzFixture{t: t, s: p, tokens: map[string]string{}, known: map[string]int{}, statuses: map[int]int{}, refs: map[string]string{}}
	for _, name := range []string{"school-colleague", "dist2", "lika1"} {
		_, err := store.CreateNamedToken(ctx, p.users[name].ID, "Systeem van "+name)
		must(err)
	}
	for _, name := range []string{"school-colleague", "dist2", "lika1"} {
		tokens, err := store.Tokens(ctx, p.users[name].OrganisationID)
		must(err)
		for _, tk := range tokens {
			if tk.UserID == p.users[name].ID {
				fx.tokens[tk.ID] = name
			}
		}
	}

	parties := cmr.Parties{SchoolID: "school2", DistributorID: "dist2", LiKaIDs: []string{"lika2"}, KennisnetIDs: []string{"kn2"}}
	plan := cmr.Procedure(cmr.PlanInput{Sector: cmr.SectorVO, Funding: cmr.FundingELF, Options: cmr.CaseOptions{KeepHistory: true}, WasWordt: cmr.WasWordtSuppliers})
	st := cmr.NewCaseState(caseOther, cmr.SectorVO, parties, plan, cmr.Actor{UserID: "x", OrganisationID: "dist2", Role: cmr.RoleDistributor}, p.now)
	h := cmr.CaseHeader{ID: caseOther, SchoolID: "school2", DistributorID: "dist2", Sector: cmr.SectorVO, Scenario: cmr.Scenario{Sector: cmr.SectorVO},
		SwitchOn: time.Date(2027, 8, 1, 0, 0, 0, 0, time.UTC), Deadline: time.Date(2027, 9, 1, 0, 0, 0, 0, time.UTC), WasWordt: cmr.WasWordtSuppliers}
	must(store.SaveCase(ctx, h, *st, 1, "", []cmr.Event{{Key: caseOther + "-open", CaseID: caseOther, Type: cmr.EventCaseOpened, At: p.now}}))

	keys, err := aesgcm.NewKeyring(bytes.Repeat([]byte{7}, aesgcm.KeySize))
	must(err)
	lists := &api.Server{Store: store, Engine: wzEngine{p.opener, p.names}, Calendar: cmr.DefaultCalendarConfig(), SLADays: 3,
		Now: func() time.Time { return p.now }, Lists: store, Keyring: keys}
	// The schools upload their lists before the tickets exist.
	for caseID, school := range map[string]string{caseOther: "school2", caseForeign: "far"} {
		u := p.users[school]
		_, err := lists.UploadCaseList(ctx, cmr.Actor{UserID: u.ID, OrganisationID: school, Role: cmr.RoleSchool}, caseID, wzVOList(3), false)
		must(err)
	}
	past, future := p.now.Add(-time.Hour), p.now.Add(72*time.Hour)
	for i, tk := range []cmr.Ticket{
		{ID: caseOther + "-T1", CaseID: caseOther, LiKaID: "lika2", State: cmr.TicketOpen, WarnAt: &future, DueAt: &future, Version: 1},
		{ID: caseForeign + "-T1", CaseID: caseForeign, LiKaID: "lika1", State: cmr.TicketOpen, WarnAt: &past, DueAt: &past, Version: 1},
		{ID: caseMBO + "-T1", CaseID: caseMBO, LiKaID: "lika1", State: cmr.TicketAwaitingList, Version: 1},
	} {
		must(store.SaveTicket(ctx, tk, []cmr.Event{{Key: tk.ID, CaseID: tk.CaseID, TicketID: tk.ID, Type: cmr.EventTicketCreated, At: p.now.Add(time.Duration(10+i) * time.Second)}}))
	}

	// Notifications: the school has a webhook; deliveries of the school
	// (webhook and e-mail), dist2 and lika1.
	must(store.SetWebhook(ctx, "school", "https://hooks.lyceum.example/cmr", "geheim-van-het-lyceum"))
	for _, d := range []cmr.Delivery{
		{EventKey: caseVO + "#2.1", CaseID: caseVO, TicketID: ticketOverdue, Kind: cmr.NoticeSLABreach, Channel: cmr.ChannelWebhook, OrganisationID: "school"},
		{EventKey: caseVO + "#2.1", CaseID: caseVO, TicketID: ticketOverdue, Kind: cmr.NoticeSLABreach, Channel: cmr.ChannelEmail, OrganisationID: "school", UserID: p.users["school"].ID},
		{EventKey: caseOther + "-open", CaseID: caseOther, Kind: cmr.NoticeCaseOpened, Channel: cmr.ChannelWebhook, OrganisationID: "dist2"},
		{EventKey: caseVO + "-open", CaseID: caseVO, Kind: cmr.NoticeCaseOpened, Channel: cmr.ChannelWebhook, OrganisationID: "lika1"},
	} {
		recipient := d.OrganisationID
		if d.UserID != "" {
			recipient = d.UserID
		}
		d.ID = cmr.DeliveryID(d.EventKey, d.Kind, d.Channel, recipient)
		_, err := store.BeginDelivery(ctx, d)
		must(err)
		must(store.FinishDelivery(ctx, d.ID, cmr.DeliveryFailed, 503, "<b>unavailable</b>"))
		fx.deliveries = append(fx.deliveries, d)
	}

	p.site.store, p.site.dev = store, true
	p.e = p.restartWith(func(srv *web.Server) {
		srv.Engine, srv.Submissions, srv.Opener, srv.SLADays = p.names, p.subs, p.opener, 3
		srv.Lists, srv.Guard = lists, lists.StepPrecheck
		srv.Admin, srv.SignIn = store, store
		srv.Reports = store
		srv.Notices = store
		srv.Redeliver = func(_ context.Context, d cmr.Delivery) error {
			fx.redelivered = append(fx.redelivered, d.ID)
			return nil
		}
	})

	fx.callers = []wzCaller{{name: "anonymous"}, {name: "forged session", cookie: &http.Cookie{Name: "__Host-cmr", Value: "forged-session-id"}}}
	for _, name := range []string{"school", "school-colleague", "school2", "mbo", "far", "dist", "dist2", "lika1", "lika2", "kn", "kn2"} {
		u, err := store.User(ctx, p.users[name].ID)
		must(err)
		cookie := p.signIn(name)
		fx.callers = append(fx.callers, wzCaller{name: name, org: u.OrganisationID, role: u.Role, admin: u.Admin, userID: u.ID, cookie: cookie, csrf: p.token(cookie)})
	}
	var pairs []string
	for name, u := range p.users {
		pairs = append(pairs, "{user:"+name+"}", u.ID)
	}
	fx.repl = strings.NewReplacer(pairs...)
	if fx.orgs, err = store.Organisations(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{caseVO, caseMBO, caseDone, caseForeign, caseOther} {
		fx.cases = append(fx.cases, &wzCase{id: id})
	}
	fx.load()
	return fx
}

// load reads the cases' parties, steps, tickets and lists as their
// schools see them.
func (fx *wzFixture) load() {
	ctx := context.Background()
	for _, c := range fx.cases {
		var school string
		switch c.id {
		case caseVO, caseDone:
			school = "school"
		case caseMBO:
			school = "mbo"
		case caseForeign:
			school = "far"
		case caseOther:
			school = "school2"
		}
		v := gormdb.Viewer{OrganisationID: school, Role: cmr.RoleSchool}
		cs, err := fx.s.store.Case(ctx, v, c.id)
		if err != nil {
			fx.t.Fatalf("load %s: %v", c.id, err)
		}
		c.c = cs
		c.parties = map[string]bool{cs.Parties.SchoolID: true, cs.Parties.DistributorID: true}
		for _, id := range append(slices.Clone(cs.Parties.LiKaIDs), cs.Parties.KennisnetIDs...) {
			c.parties[id] = true
		}
		if c.lists, err = fx.s.store.Lists(ctx, v, c.id); err != nil {
			fx.t.Fatalf("lists of %s: %v", c.id, err)
		}
	}
	if len(fx.cases[0].c.Tickets) != 2 || len(fx.cases[3].lists) != 1 || len(fx.cases[4].lists) != 1 || len(fx.cases[4].c.Tickets) != 1 {
		fx.t.Fatalf("fixture: %s has %d tickets, %s %d lists, %s %d lists", caseVO, len(fx.cases[0].c.Tickets), caseForeign, len(fx.cases[3].lists), caseOther, len(fx.cases[4].lists))
	}
}

func (fx *wzFixture) caseByID(id string) *wzCase {
	for _, c := range fx.cases {
		if c.id == id {
			return c
		}
	}
	return nil
}

// checkRoutes lists the server's routes (not the API's, not the static
// files) and matches them with the policy table, both ways.
func (fx *wzFixture) checkRoutes() {
	fx.routes = authzmatrix.Routes(fx.t, fx.s.e, func(path string) bool {
		return !strings.HasPrefix(path, "/api/v1") && !strings.HasPrefix(path, "/static/")
	}, wzPolicies, "wzPolicies")
	if len(fx.routes) < 30 {
		fx.t.Errorf("only %d routes: %v", len(fx.routes), fx.routes)
	}
}

// objects returns what fills a route's path parameters: an unknown ID
// first, then the objects of every case, also mixed across cases.
func (fx *wzFixture) objects(path string) []wzObject {
	const unknownCase = "ZZ99-20991231"
	switch {
	case strings.Contains(path, "/:list"):
		out := []wzObject{{label: "unknown case/list", params: map[string]string{"id": unknownCase, "list": "list_nope"}, caseID: unknownCase, ref: true}}
		for _, c := range fx.cases {
			for _, l := range c.lists {
				out = append(out, wzObject{label: fmt.Sprintf("%s/%s v%d", c.id, l.Kind, l.Version), params: map[string]string{"id": c.id, "list": l.ID},
					caseID: c.id, likas: fx.listLiKas(c, l)})
			}
			out = append(out, wzObject{label: c.id + "/unknown list", params: map[string]string{"id": c.id, "list": "list_nope"}, caseID: c.id, missing: true})
			for _, o := range fx.cases {
				if o != c && len(o.lists) > 0 {
					out = append(out, wzObject{label: c.id + "/list of " + o.id, params: map[string]string{"id": c.id, "list": o.lists[0].ID}, caseID: c.id, missing: true})
				}
			}
		}
		return out
	case strings.Contains(path, "/:step"):
		out := []wzObject{{label: "unknown case/plan.identity", params: map[string]string{"id": unknownCase, "step": "plan.identity"}, caseID: unknownCase, ref: true}}
		for _, c := range fx.cases {
			// One step of each kind of (owner, state, required fields).
			seen := map[string]bool{}
			for _, st := range c.c.Steps {
				required := slices.ContainsFunc(st.Records, func(f cmr.Field) bool { return f.Required })
				kind := fmt.Sprint(st.Owner, st.State, st.Kind, required)
				if seen[kind] {
					continue
				}
				seen[kind] = true
				out = append(out, wzObject{label: fmt.Sprintf("%s step %s (%s, %s)", c.id, st.Key, st.Owner, st.State), params: map[string]string{"id": c.id, "step": st.Key},
					caseID: c.id, owner: st.Owner, open: st.State == cmr.StepOpen, unsafe: !required})
			}
			out = append(out, wzObject{label: c.id + " step 99", params: map[string]string{"id": c.id, "step": "99"}, caseID: c.id, missing: true})
		}
		return out
	case strings.HasPrefix(path, "/cases/:id"):
		out := []wzObject{{label: "unknown case", params: map[string]string{"id": unknownCase}, caseID: unknownCase, ref: true}}
		for _, c := range fx.cases {
			out = append(out, wzObject{label: c.id, params: map[string]string{"id": c.id}, caseID: c.id})
		}
		return out
	case strings.HasPrefix(path, "/tickets/:id"):
		out := []wzObject{{label: "unknown ticket", params: map[string]string{"id": unknownCase + "-T1"}, caseID: unknownCase, ref: true}}
		for _, c := range fx.cases {
			for _, tk := range c.c.Tickets {
				out = append(out, wzObject{label: fmt.Sprintf("%s (%s, %s)", tk.ID, tk.LiKaID, tk.State), params: map[string]string{"id": tk.ID},
					caseID: c.id, likas: map[string]bool{tk.LiKaID: true}})
			}
		}
		return out
	case strings.Contains(path, "/:format"):
		var out []wzObject
		for _, f := range []string{"vo", "mbo-eck", "mbo-non-eck"} {
			out = append(out, wzObject{label: f, params: map[string]string{"format": f}})
		}
		return append(out, wzObject{label: "unknown format", params: map[string]string{"format": "nope"}, missing: true})
	case strings.HasPrefix(path, "/admin/people/:id"):
		out := []wzObject{{label: "unknown person", params: map[string]string{"id": "u_nope"}, org: "-", ref: true}}
		for _, name := range []string{"school", "school-colleague", "dist2", "lika1"} {
			u := fx.s.users[name]
			out = append(out, wzObject{label: name, params: map[string]string{"id": u.ID}, org: u.OrganisationID, user: u.ID})
		}
		return out
	case strings.HasPrefix(path, "/admin/tokens/:id"):
		out := []wzObject{{label: "unknown token", params: map[string]string{"id": "tok_nope"}, org: "-", ref: true}}
		for _, id := range slices.Sorted(maps.Keys(fx.tokens)) {
			u := fx.s.users[fx.tokens[id]]
			out = append(out, wzObject{label: "token of " + fx.tokens[id], params: map[string]string{"id": id}, org: u.OrganisationID})
		}
		return out
	case strings.HasPrefix(path, "/admin/deliveries/:id"):
		out := []wzObject{{label: "unknown delivery", params: map[string]string{"id": url.PathEscape(cmr.DeliveryID("nope#1.1", cmr.NoticeCaseOpened, cmr.ChannelWebhook, "school"))},
			org: "-", ref: true}}
		for _, d := range fx.deliveries {
			out = append(out, wzObject{label: d.Channel + " delivery to " + d.OrganisationID, params: map[string]string{"id": url.PathEscape(d.ID)}, org: d.OrganisationID})
		}
		return out
	case path == "/admin/tokens":
		out := []wzObject{{label: "unknown person", form: url.Values{"user": {"u_nope"}}, org: "-", ref: true}, {label: "no person (the admin)"}}
		for _, name := range []string{"school", "school-colleague", "dist2", "lika1"} {
			u := fx.s.users[name]
			out = append(out, wzObject{label: name, form: url.Values{"user": {u.ID}}, org: u.OrganisationID, user: u.ID})
		}
		return out
	case !strings.Contains(path, ":"):
		return []wzObject{{label: "-"}}
	}
	fx.t.Fatalf("route %s has path parameters the matrix cannot fill: add objects for them", path)
	return nil
}

// listLiKas says which LiKas may see a list version (visibleLists in
// api/lists.go): a VO list the LiKas with a ticket on the case, a part
// its own LiKa, the school's returned MBO list the LiKas it was returned
// to.
func (fx *wzFixture) listLiKas(c *wzCase, l cmr.ListVersion) map[string]bool {
	out := map[string]bool{}
	for _, tk := range c.c.Tickets {
		switch l.Kind {
		case cmr.ListComplete:
			out[tk.LiKaID] = true
		case cmr.ListSupplier:
			if tk.ID == l.TicketID {
				out[tk.LiKaID] = true
			}
		case cmr.ListReturned:
			if tk.ClockStartedAt != nil && l.Current {
				out[tk.LiKaID] = true
			}
		}
	}
	return out
}

func (fx *wzFixture) class(p wzPolicy, c wzCaller, o wzObject) string {
	switch {
	case c.org == "":
		return wzAnon
	case p.public:
		return string(c.role)
	case p.admin:
		switch {
		case !c.admin:
			return wzNonAdmin
		case o.org == "":
			return wzOwn
		case o.org != c.org:
			return wzForeign
		case o.user == c.userID:
			return wzSelf
		}
		return wzOwn
	case o.caseID == "":
		if o.missing {
			return wzMissing
		}
		return string(c.role)
	}
	cs := fx.caseByID(o.caseID)
	switch {
	case cs == nil || !cs.parties[c.org]:
		return wzNonParty
	case c.role == cmr.RolePublisher && o.likas != nil && !o.likas[c.org]:
		return wzNonParty
	case o.missing:
		return wzMissing
	case o.owner != "" && o.owner == c.role && o.open:
		return wzOwner
	}
	return string(c.role)
}

func (fx *wzFixture) wantFor(p wzPolicy, method, class string, c wzCaller) []int {
	switch class {
	case wzAnon:
		if p.public {
			return p.want[wzAnon]
		}
		if method == http.MethodGet {
			return []int{303}
		}
		return []int{303, 403}
	case wzNonParty, wzNonAdmin:
		return []int{404}
	case wzForeign:
		if w, ok := p.want[wzForeign]; ok {
			return w
		}
		return []int{404}
	case wzSelf:
		if w, ok := p.want[wzSelf]; ok {
			return w
		}
		return p.want[wzOwn]
	case wzMissing:
		if w, ok := p.want[string(c.role)+"-"+wzMissing]; ok {
			return w
		}
	}
	w, ok := p.want[class]
	if !ok {
		fx.t.Fatalf("no policy for class %q", class)
	}
	return w
}

type wzAnswer struct {
	status         int
	body, location string
	// changed says what the request set in motion: engine updates, cases
	// opened, submissions stored.
	changed string
}

// send serves one request as the caller; csrf is the token to send with a
// form ("" for none). Every request comes from its own address, so that
// the sign-in limit per address (ratelimit_test.go) does not answer in
// place of the rule under test.
func (fx *wzFixture) send(c wzCaller, method, target string, v wzVariant, o wzObject, csrf string) wzAnswer {
	var req *http.Request
	if method == http.MethodGet {
		req = httptest.NewRequest(method, "https://cmr.example"+target, nil)
	} else {
		form := url.Values{}
		for k, vs := range v.form {
			for _, x := range vs {
				form.Add(k, fx.repl.Replace(x))
			}
		}
		for k, vs := range o.form {
			form[k] = vs
		}
		if csrf != "" {
			form.Set("_csrf", csrf)
		}
		switch {
		case v.files == nil:
			req = postForm(target, form, nil)
		case v.files["file"] != "":
			req = upload(fx.t, target, wzFields(form), []byte(v.files["file"]))
		default:
			req = exports(fx.t, target, wzFields(form), v.files["old_file"], v.files["new_file"])
		}
	}
	for k, h := range v.header {
		req.Header.Set(k, h)
	}
	fx.addr++
	req.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:40000", fx.addr>>16&255, fx.addr>>8&255, fx.addr&255)
	var cookies []*http.Cookie
	if c.cookie != nil {
		cookies = append(cookies, c.cookie)
	}
	engine, opened, subs, redelivered := len(fx.s.names.names), len(fx.s.opener.inputs), len(fx.s.subs.subs), len(fx.redelivered)
	pg := fx.s.send(req, cookies...)
	fx.requests++
	fx.statuses[pg.status]++
	a := wzAnswer{status: pg.status, body: pg.body, location: pg.header.Get("Location")}
	if d := len(fx.s.names.names) - engine; d > 0 {
		a.changed += fmt.Sprintf(" %d engine updates (%s)", d, strings.Join(fx.s.names.names[engine:], ", "))
	}
	if d := len(fx.s.opener.inputs) - opened; d > 0 {
		a.changed += fmt.Sprintf(" %d cases opened", d)
	}
	if d := len(fx.s.subs.subs) - subs; d > 0 {
		a.changed += fmt.Sprintf(" %d submissions stored", d)
	}
	if d := len(fx.redelivered) - redelivered; d > 0 {
		a.changed += fmt.Sprintf(" %d deliveries redelivered", d)
	}
	return a
}

func wzFields(form url.Values) map[string]string {
	out := map[string]string{}
	for k := range form {
		out[k] = form.Get(k)
	}
	return out
}

// run sends the matrix for the classes keep selects. csrf is "session"
// (the caller's own token), "none" or "other" (another session's); the
// last two only send forms, which must all be refused.
func (fx *wzFixture) run(phase string, keep func(class string) bool, csrf string) {
	for _, route := range fx.routes {
		p := wzPolicies[route]
		method, path, _ := strings.Cut(route, " ")
		if csrf != "session" && method != http.MethodPost {
			continue
		}
		for _, o := range fx.objects(path) {
			target := authzmatrix.Fill(path, o.params)
			for i, c := range fx.callers {
				class := fx.class(p, c, o)
				if !keep(class) {
					continue
				}
				want := fx.wantFor(p, method, class, c)
				token := c.csrf
				switch csrf {
				case "none":
					want, token = []int{403}, ""
				case "other":
					// The next signed-in caller's (the first two are not).
					want, token = []int{403}, fx.callers[2+(i-1)%(len(fx.callers)-2)].csrf
				}
				allowed := class != wzAnon && slices.ContainsFunc(want, func(s int) bool { return s < 400 })
				for _, v := range p.variants {
					if csrf == "session" && p.mutating && allowed && (!v.safe || (class == wzOwner && o.unsafe)) {
						fx.skipped++
						continue
					}
					got := fx.send(c, method, target+v.query, v, o, token)
					fx.check(phase, route, method, target+v.query, c, o, v, class, want, got, p.public)
				}
			}
		}
	}
}

func (fx *wzFixture) check(phase, route, method, target string, c wzCaller, o wzObject, v wzVariant, class string, want []int, got wzAnswer, public bool) {
	mm := wzMismatch{phase: phase, route: route, caller: c.name, object: o.label, variant: v.name, class: class, got: fmt.Sprint(got.status), body: got.body}
	known := route + "|" + v.name
	if _, ok := wzKnown[known]; ok && !*wzStrict && (class == "school" || class == "publisher" || class == "kennisnet") && got.status == 303 {
		fx.known[known]++
		return
	}
	switch {
	case !slices.Contains(want, got.status):
		mm.want = fmt.Sprint(want)
	case got.changed != "":
		mm.got, mm.want = fmt.Sprintf("%d and%s", got.status, got.changed), "nothing set in motion"
	case got.status == 303 && class == wzAnon && !public:
		login := "/login"
		if method == http.MethodGet && target != "/" {
			login = "/login?return=" + url.QueryEscape(target)
		}
		if got.location != login {
			mm.got, mm.want = "303 to "+got.location, "303 to "+login
		}
	case got.status == 303 && (!strings.HasPrefix(got.location, "/") || strings.HasPrefix(got.location, "//") || strings.ContainsAny(got.location, "\\\t\r\n")):
		mm.got, mm.want = "303 to "+got.location, "303 to a path on this site"
	}
	if mm.want != "" {
		fx.mismatches = append(fx.mismatches, mm)
		return
	}
	// A non-party's 404 must read like the one for an ID that does not
	// exist.
	if class == wzNonParty || class == wzForeign || class == wzNonAdmin {
		values := maps.Clone(o.params)
		if values == nil {
			values = map[string]string{}
		}
		for k := range o.form {
			values["form."+k] = o.form.Get(k)
		}
		norm := fmt.Sprintf("%d %s", got.status, wzNormalize(got.body, values))
		key := phase + "|" + route + "|" + c.name + "|" + v.name
		if o.ref {
			fx.refs[key] = norm
		} else if ref, ok := fx.refs[key]; ok && ref != norm {
			i := 0
			for i < len(ref) && i < len(norm) && ref[i] == norm[i] {
				i++
			}
			from := max(0, i-40)
			mm.got = fmt.Sprintf("%d, differing from the unknown ID's at byte %d: …%s", got.status, i, authzmatrix.Cut(norm[from:], 120))
			mm.want = "as the unknown ID's: …" + authzmatrix.Cut(ref[from:], 120)
			fx.mismatches = append(fx.mismatches, mm)
		}
	}
}

func wzNormalize(body string, params map[string]string) string {
	keys := slices.Collect(maps.Keys(params))
	// Longest values first: a ticket ID contains its case's ID.
	sort.Slice(keys, func(i, j int) bool { return len(params[keys[i]]) > len(params[keys[j]]) })
	for _, k := range keys {
		// Short values (a step key such as "8") would replace parts of
		// unrelated text; they identify nothing anyway.
		if len(params[k]) >= 6 {
			body = strings.ReplaceAll(body, params[k], ":"+k)
		}
	}
	return body
}

var (
	wzQueryEcho = regexp.MustCompile(`name="q" value="[^"]*"`)
	wzLangLink  = regexp.MustCompile(`href="/lang\?[^"]*"`)
)

// leaks reads the lists of work and cases, and the pages of the caller's
// own cases and tickets, as every caller, and looks for the IDs of cases,
// tickets and list versions it may not see, and for the names of schools
// it has no case with.
func (fx *wzFixture) leaks(phase string) {
	schools := map[string]string{} // organisation ID → name
	for _, o := range fx.orgs {
		if o.Role == cmr.RoleSchool {
			schools[o.ID] = o.Name
		}
	}
	for _, c := range fx.callers {
		if c.org == "" {
			continue
		}
		var foreign, own []string
		var party []*wzCase
		knownSchools := map[string]bool{}
		for _, cs := range fx.cases {
			if !cs.parties[c.org] {
				foreign = append(foreign, cs.id)
				for _, tk := range cs.c.Tickets {
					foreign = append(foreign, tk.ID)
				}
				for _, l := range cs.lists {
					foreign = append(foreign, l.ID)
				}
				continue
			}
			party = append(party, cs)
			own = append(own, cs.id)
			knownSchools[cs.c.Parties.SchoolID] = true
			for _, tk := range cs.c.Tickets {
				if c.role == cmr.RolePublisher && tk.LiKaID != c.org {
					foreign = append(foreign, tk.ID)
				}
			}
			for _, l := range cs.lists {
				if c.role == cmr.RolePublisher && !fx.listLiKas(cs, l)[c.org] {
					foreign = append(foreign, l.ID)
				}
			}
		}
		var foreignSchools []string
		for id, name := range schools {
			if !knownSchools[id] && id != c.org {
				foreignSchools = append(foreignSchools, name)
			}
		}
		check := func(target string, extra []string) {
			got := fx.send(c, "GET", target, wzVariant{}, wzObject{}, "")
			route, _, _ := strings.Cut(target, "?")
			for _, cs := range fx.cases {
				for _, tk := range cs.c.Tickets {
					route = strings.Replace(route, "/"+tk.ID, "/:id", 1)
				}
				route = strings.Replace(route, "/"+cs.id, "/:id", 1)
			}
			mm := wzMismatch{phase: phase, route: "GET " + route, caller: c.name, object: "-", variant: target, class: "list", got: fmt.Sprint(got.status), body: got.body}
			if got.status != 200 {
				mm.want = "200"
				fx.mismatches = append(fx.mismatches, mm)
				return
			}
			body := wzLangLink.ReplaceAllString(wzQueryEcho.ReplaceAllString(got.body, ""), "")
			for _, id := range append(slices.Clone(foreign), extra...) {
				if strings.Contains(body, id) {
					mm.got, mm.want = "with "+id, "no "+id
					fx.mismatches = append(fx.mismatches, mm)
				}
			}
		}
		// The caller's own cases are listed: the search for foreign IDs
		// reads real lists.
		all := fx.send(c, "GET", "/cases?status=", wzVariant{}, wzObject{}, "")
		for _, id := range own {
			if !strings.Contains(all.body, caseLink(id)) {
				fx.mismatches = append(fx.mismatches, wzMismatch{phase: phase, route: "GET /cases", caller: c.name, object: "-", variant: "?status=", class: "list",
					got: "without " + id, want: "with " + id, body: all.body})
			}
		}
		check("/", foreignSchools)
		for _, v := range wzPolicies["GET /cases"].variants {
			check("/cases"+v.query, foreignSchools)
		}
		for _, cs := range fx.cases {
			check("/cases?q="+url.QueryEscape(cs.id), foreignSchools)
			check("/cases?status=&q="+cs.id[:4], foreignSchools)
		}
		// The reports hold no IDs or school names the caller may not see
		// (Kennisnet's see the whole chain by design, gormdb/reports.go).
		var otherLiKas []string
		for _, o := range fx.orgs {
			if o.Role == cmr.RolePublisher && o.ID != c.org {
				otherLiKas = append(otherLiKas, o.Name)
			}
		}
		switch c.role {
		case cmr.RolePublisher:
			check("/reports/sla", append(slices.Clone(foreignSchools), otherLiKas...))
			check("/reports/sla.csv", append(slices.Clone(foreignSchools), otherLiKas...))
		case cmr.RoleDistributor:
			for _, r := range []string{"/reports/sla", "/reports/sla.csv", "/reports/cases", "/reports/cases.csv"} {
				check(r, foreignSchools)
			}
		}
		for _, cs := range party {
			check("/cases/"+cs.id, nil)
			check("/cases/"+cs.id+"/events.csv", nil)
			if c.role != cmr.RoleKennisnet { // Kennisnet sees no lists (403)
				check("/cases/"+cs.id+"/lists", nil)
			}
			for _, tk := range cs.c.Tickets {
				if c.role != cmr.RolePublisher || tk.LiKaID == c.org {
					check("/tickets/"+tk.ID, nil)
				}
			}
		}
	}
}

// snapshot is what the store holds: every case with its steps and
// tickets, its list versions and its audit trail (without downloads when
// downloads are allowed), every organisation's cases, people, e-mail
// patterns and API tokens, and the users.
func (fx *wzFixture) snapshot(ignoreDownloads bool) map[string]string {
	ctx := context.Background()
	store := fx.s.store
	out := map[string]string{}
	put := func(key string, v any, err error) {
		if err != nil {
			fx.t.Fatalf("snapshot %s: %v", key, err)
		}
		b, _ := json.Marshal(v)
		out[key] = string(b)
	}
	for _, c := range fx.cases {
		v := gormdb.Viewer{OrganisationID: c.c.Parties.SchoolID, Role: cmr.RoleSchool}
		cs, err := store.Case(ctx, v, c.id)
		put(c.id+" case", cs, err)
		events, err := store.Events(ctx, v, c.id)
		var kept []cmr.Event
		for _, e := range events {
			if !(ignoreDownloads && e.Type == cmr.EventListDownloaded) {
				kept = append(kept, e)
			}
		}
		put(c.id+" events", kept, err)
		ls, err := store.Lists(ctx, v, c.id)
		put(c.id+" lists", ls, err)
	}
	for _, o := range fx.orgs {
		cases, err := store.Cases(ctx, gormdb.Viewer{OrganisationID: o.ID, Role: o.Role}, gormdb.CaseFilter{Now: fx.s.now, Limit: 500})
		var ids []string
		for _, c := range cases {
			ids = append(ids, c.ID)
		}
		put(o.ID+" cases", ids, err)
		people, err := store.People(ctx, o.ID)
		put(o.ID+" people", people, err)
		patterns, err := store.EmailPatterns(ctx, o.ID)
		put(o.ID+" patterns", patterns, err)
		tokens, err := store.Tokens(ctx, o.ID)
		put(o.ID+" tokens", tokens, err)
		hook, secret, err := store.Webhook(ctx, o.ID)
		put(o.ID+" webhook", []string{hook, secret}, err)
		for _, ch := range []string{cmr.ChannelWebhook, cmr.ChannelEmail} {
			ds, err := store.Deliveries(ctx, o.ID, ch, 500)
			put(o.ID+" "+ch+" deliveries", ds, err)
		}
	}
	users, err := store.Users(ctx)
	put("users", users, err)
	for _, u := range users {
		prefs, err := store.NoticePreferences(ctx, u.ID)
		put(u.ID+" notice preferences", prefs, err)
	}
	return out
}

func (fx *wzFixture) sameSnapshot(phase string, before, after map[string]string) {
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

// wzBody shortens a response body for the mismatch table: an HTML page
// by its message.
var wzMessage = regexp.MustCompile(`(?s)<main[^>]*>(.*?)</main>`)

func wzBody(body string) string {
	body = strings.TrimSpace(body)
	if !utf8.ValidString(body) || strings.ContainsRune(body, 0) {
		return fmt.Sprintf("<%d bytes of a file>", len(body))
	}
	if m := wzMessage.FindStringSubmatch(body); m != nil {
		body = m[1]
	}
	body = regexp.MustCompile(`<[^>]+>`).ReplaceAllString(body, " ")
	return authzmatrix.Cut(strings.Join(strings.Fields(body), " "), 140)
}

// deliberateWrites makes a few writes that succeed, by the callers whose
// job they are.
func (fx *wzFixture) deliberateWrites() {
	by := map[string]wzCaller{}
	for _, c := range fx.callers {
		by[c.name] = c
	}
	post := func(who, path string, v wzVariant, want int, what string) wzAnswer {
		got := fx.send(by[who], "POST", path, v, wzObject{}, by[who].csrf)
		if got.status != want {
			fx.t.Errorf("%s: %s got %d, want %d: %s", what, who, got.status, want, wzBody(got.body))
		}
		return got
	}
	engine := len(fx.s.names.names)
	post("dist", "/tickets/"+ticketLika2+"/waive", wzPost("reason", false, "text", "doet niet mee"), 303, "distributor waives")
	post("lika1", "/tickets/"+ticketOverdue+"/close", wzPost("note", false, "text", "verwerkt"), 303, "LiKa closes its ticket")
	if got := len(fx.s.names.names) - engine; got != 2 {
		fx.t.Errorf("the deliberate ticket writes made %d engine updates, want 2", got)
	}
	opened := len(fx.s.opener.inputs)
	post("dist", "/cases", wzOpenForm, 303, "distributor opens a case")
	if len(fx.s.opener.inputs) != opened+1 {
		fx.t.Error("the wizard opened no case")
	}
	got := post("school", "/admin/tokens", wzPost("label", false, "label", "Roosterpakket", "user", fx.s.users["school-colleague"].ID), 200, "admin makes a token")
	if !tokenShown.MatchString(got.body) {
		fx.t.Error("the admin's new token is not shown")
	}
	for id, name := range fx.tokens {
		if name == "school-colleague" {
			post("school", "/admin/tokens/"+id+"/revoke", wzPost("-", false), 200, "admin revokes a token")
		}
	}
	post("dist2", "/admin/patterns", wzPost("patterns", false, "patterns", "[firstname]@distri.nl"), 200, "admin saves e-mail patterns")

	// Notifications: anyone saves their preferences; an admin sets the
	// webhook (the secret shown once), makes a new secret, redelivers one
	// of the organisation's webhook deliveries, removes a webhook.
	ctx := context.Background()
	post("lika1", "/settings", wzPost("preferences", false, "language", "en", "email", "true", "kind", "case_opened"), 200, "a person saves their settings")
	if prefs, err := fx.s.store.NoticePreferences(ctx, fx.s.users["lika1"].ID); err != nil || prefs.Language != "en" || !prefs.Email ||
		slices.Contains(prefs.Muted, cmr.NoticeCaseOpened) || slices.Contains(prefs.Muted, cmr.NoticeSLABreach) {
		fx.t.Errorf("settings stored: %+v %v", prefs, err)
	}
	got = post("school", "/admin/webhook", wzPost("address", false, "url", "https://hooks.example.org/cmr"), 200, "admin sets the webhook")
	if !secretShown.MatchString(got.body) {
		fx.t.Error("the new webhook secret is not shown")
	}
	got = post("school", "/admin/webhook/secret", wzPost("-", false), 200, "admin makes a new webhook secret")
	if !secretShown.MatchString(got.body) {
		fx.t.Error("the new webhook secret is not shown")
	}
	redelivered := len(fx.redelivered)
	post("school", "/admin/deliveries/"+url.PathEscape(fx.deliveries[0].ID)+"/redeliver", wzPost("-", false), 303, "admin redelivers a webhook delivery")
	if len(fx.redelivered) != redelivered+1 || fx.redelivered[redelivered] != fx.deliveries[0].ID {
		fx.t.Errorf("redelivered %v, want %s", fx.redelivered[redelivered:], fx.deliveries[0].ID)
	}
	post("school", "/admin/deliveries/"+url.PathEscape(fx.deliveries[1].ID)+"/redeliver", wzPost("-", false), 409, "admin redelivers an e-mail")
	post("school", "/admin/webhook/delete", wzPost("-", false), 200, "admin removes the webhook")
	if hook, secret, err := fx.s.store.Webhook(ctx, "school"); err != nil || hook != "" || secret != "" {
		fx.t.Errorf("webhook after removal: %q %q %v", hook, secret, err)
	}
}

// table renders the mismatches: a count per route, class and answer, then
// the rows (at most 200).
func (fx *wzFixture) table() string {
	ms := make([]authzmatrix.Mismatch, len(fx.mismatches))
	for i, m := range fx.mismatches {
		ms[i] = authzmatrix.Mismatch{Phase: m.phase, Route: m.route, Caller: m.caller, Object: m.object, Variant: m.variant, Class: m.class, Got: m.got, Want: m.want, Body: m.body}
	}
	return authzmatrix.Table(ms, wzBody)
}
