package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/web"
)

func newAdminSite(t *testing.T) *site {
	s := newSite(t, true)
	if err := s.store.SetAdmin(context.Background(), s.users["school"].ID, true); err != nil {
		t.Fatal(err)
	}
	s.e = s.restartWith(func(srv *web.Server) { srv.Admin = s.store })
	return s
}

var tokenShown = regexp.MustCompile(`<code id="token-value">(cmr_[A-Za-z0-9_-]+)</code>`)

func TestAdminPage(t *testing.T) {
	s := newAdminSite(t)
	ctx := context.Background()
	if p := s.do("GET", "/admin", nil, s.signIn("dist")); p.status != http.StatusNotFound {
		t.Errorf("a non-admin sees the admin page: %d", p.status)
	}
	admin := s.signIn("school")
	token := s.token(admin)
	home := s.do("GET", "/", nil, admin)
	if !strings.Contains(home.body, `<a href="/admin">Beheer</a>`) {
		t.Error("no Beheer link for an admin")
	}
	p := s.do("GET", "/admin", nil, admin)
	if p.status != 200 || !strings.Contains(p.body, "Mens van Het Lyceum") || strings.Contains(p.body, "Mens van Distri") {
		t.Fatalf("admin page: %d\n%s", p.status, p.body)
	}
	if p := s.do("POST", "/admin/patterns", url.Values{"patterns": {"[firstname]@lyceum.nl"}}, admin); p.status != http.StatusForbidden {
		t.Errorf("a form without the CSRF token: %d", p.status)
	}

	// E-mail patterns: a wrong one is refused at its field, in Dutch, and
	// the input is kept; a right one is saved.
	p = s.do("POST", "/admin/patterns", url.Values{"_csrf": {token}, "patterns": {"[firstname].[lastname]@lyceum.nl\n[voornaam]@lyceum.nl"}}, admin)
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "onbekende plaatshouder [voornaam]") || !strings.Contains(p.body, "[voornaam]@lyceum.nl</textarea>") ||
		!strings.Contains(p.body, `aria-invalid="true" aria-describedby="admin-problem"`) {
		t.Errorf("a wrong pattern: %d\n%s", p.status, p.body)
	}
	if p := s.do("POST", "/admin/patterns", url.Values{"_csrf": {token}, "patterns": {"[firstname].[lastname]@lyceum.nl\n\n[f].[lastname]@staff.lyceum.nl"}}, admin); p.status != 200 {
		t.Errorf("patterns: %d", p.status)
	}
	if got, _ := s.store.EmailPatterns(ctx, "school"); len(got) != 2 {
		t.Errorf("patterns stored: %q", got)
	}

	// The staff list: every problem by row and column, nothing stored;
	// then a good list adds and updates.
	bad := "Voornaam;Achternaam;E-mail;Beheerder\nMax;Mustermann;max@lyceum;ja\n;Jansen;jan@lyceum.nl;misschien\n"
	p = s.send(upload(t, "/admin/people/import", map[string]string{"_csrf": token}, []byte(bad)), admin)
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="staff-problems"`) || !strings.Contains(p.body, "<td>2</td><td>E-mail</td>") ||
		!strings.Contains(p.body, "<td>3</td><td>Voornaam</td>") || !strings.Contains(p.body, "<td>3</td><td>Beheerder</td>") {
		t.Errorf("a staff list with mistakes: %d\n%s", p.status, p.body)
	}
	if people, _ := s.store.People(ctx, "school"); len(people) != 1 {
		t.Errorf("a refused list stored people: %d", len(people))
	}
	good := "\ufeffVoornaam;Achternaam;E-mail;Code\nMax;Mustermann;max@lyceum.nl;MUM\nJan;van der Berg;jan@lyceum.nl;\nMens;van Het Lyceum;school@example.org;ML\n"
	p = s.send(upload(t, "/admin/people/import", map[string]string{"_csrf": token}, []byte(good)), admin)
	if p.status != 200 || !strings.Contains(p.body, "2 personen toegevoegd, 1 persoon bijgewerkt.") {
		t.Fatalf("a good staff list: %d\n%s", p.status, p.body)
	}
	people, _ := s.store.People(ctx, "school")
	var max cmr.Person
	for _, pp := range people {
		if pp.ShortCode == "MUM" {
			max = pp
		}
	}
	if len(people) != 3 || max.LastName != "Mustermann" {
		t.Fatalf("people after import: %+v", people)
	}

	// An explicit OIDC user name on one person; another organisation's
	// person is not found.
	if p := s.do("POST", "/admin/people/"+max.UserID, url.Values{"_csrf": {token}, "oidc_username": {"Max.M2@lyceum.nl"}, "short_code": {"MUM"}}, admin); p.status != 200 {
		t.Errorf("save person: %d", p.status)
	}
	if people, _ := s.store.People(ctx, "school"); !hasOIDC(people, max.UserID, "max.m2@lyceum.nl") {
		t.Errorf("OIDC user name not stored: %+v", people)
	}
	if p := s.do("POST", "/admin/people/"+s.users["dist"].ID, url.Values{"_csrf": {token}, "oidc_username": {"x"}}, admin); p.status != http.StatusNotFound {
		t.Errorf("another organisation's person: %d", p.status)
	}

	// API tokens: a label is required; the token is shown once and works;
	// revoked, it does not.
	if p := s.do("POST", "/admin/tokens", url.Values{"_csrf": {token}, "label": {" "}}, admin); p.status != http.StatusBadRequest || !strings.Contains(p.body, "is verplicht") {
		t.Errorf("a token without a label: %d", p.status)
	}
	if p := s.do("POST", "/admin/tokens", url.Values{"_csrf": {token}, "label": {"x"}, "user": {s.users["dist"].ID}}, admin); p.status != http.StatusNotFound {
		t.Errorf("a token on behalf of another organisation's person: %d", p.status)
	}
	p = s.do("POST", "/admin/tokens", url.Values{"_csrf": {token}, "label": {"Leerlingadministratie"}, "user": {max.UserID}}, admin)
	m := tokenShown.FindStringSubmatch(p.body)
	if p.status != 200 || m == nil {
		t.Fatalf("make a token: %d\n%s", p.status, p.body)
	}
	if u, err := s.store.Authenticate(ctx, m[1]); err != nil || u.ID != max.UserID {
		t.Errorf("the new token: %+v %v", u, err)
	}
	list := s.do("GET", "/admin", nil, admin)
	if strings.Contains(list.body, m[1]) || !strings.Contains(list.body, "Leerlingadministratie") {
		t.Error("the token is shown again, or its label is missing")
	}
	tokens, _ := s.store.Tokens(ctx, "school")
	if len(tokens) != 1 {
		t.Fatalf("tokens: %+v", tokens)
	}
	distAdmin := s.users["dist"]
	if err := s.store.SetAdmin(ctx, distAdmin.ID, true); err != nil {
		t.Fatal(err)
	}
	dist := s.signIn("dist")
	if p := s.do("POST", "/admin/tokens/"+tokens[0].ID+"/revoke", url.Values{"_csrf": {s.token(dist)}}, dist); p.status != http.StatusNotFound {
		t.Errorf("another organisation's admin revokes the token: %d", p.status)
	}
	if p := s.do("POST", "/admin/tokens/"+tokens[0].ID+"/revoke", url.Values{"_csrf": {token}}, admin); p.status != 200 || !strings.Contains(p.body, "ingetrokken") {
		t.Errorf("revoke: %d", p.status)
	}
	if _, err := s.store.Authenticate(ctx, m[1]); cmr.KindOf(err) != cmr.KindUnauthorized {
		t.Errorf("a revoked token still works: %v", err)
	}
}

func TestAdminDisablesPerson(t *testing.T) {
	s := newAdminSite(t)
	ctx := context.Background()
	colleague, err := s.store.UpsertUser(ctx, cmr.User{OrganisationID: "school", Email: "collega@lyceum.nl", Name: "Collega"})
	if err != nil {
		t.Fatal(err)
	}
	s.users["colleague"] = colleague
	theirs := s.signIn("colleague")
	apiToken, err := s.store.CreateToken(ctx, colleague.ID)
	if err != nil {
		t.Fatal(err)
	}
	admin := s.signIn("school")
	token := s.token(admin)
	if p := s.do("POST", "/admin/people/"+s.users["school"].ID+"/disable", url.Values{"_csrf": {token}}, admin); p.status != http.StatusConflict {
		t.Errorf("an admin disables themselves: %d", p.status)
	}
	if p := s.do("POST", "/admin/people/"+s.users["dist"].ID+"/disable", url.Values{"_csrf": {token}}, admin); p.status != http.StatusNotFound {
		t.Errorf("another organisation's person: %d", p.status)
	}
	if p := s.do("GET", "/", nil, theirs); p.status != 200 {
		t.Fatalf("colleague before: %d", p.status)
	}
	if p := s.do("POST", "/admin/people/"+colleague.ID+"/disable", url.Values{"_csrf": {token}}, admin); p.status != 200 {
		t.Errorf("disable: %d", p.status)
	}
	if p := s.do("GET", "/", nil, theirs); p.status != http.StatusSeeOther {
		t.Errorf("a disabled person's session still works: %d", p.status)
	}
	if _, err := s.store.Authenticate(ctx, apiToken); cmr.KindOf(err) != cmr.KindUnauthorized {
		t.Errorf("a disabled person's API token still works: %v", err)
	}
	// Listed as disabled, and enabled again: they sign in; the old token
	// stays revoked.
	if p := s.do("GET", "/admin", nil, admin); !strings.Contains(p.body, `action="/admin/people/`+colleague.ID+`/enable"`) {
		t.Error("the disabled person is not offered to be enabled again")
	}
	if p := s.do("POST", "/admin/people/"+colleague.ID+"/enable", url.Values{"_csrf": {token}}, admin); p.status != 200 || !strings.Contains(p.body, "weer ingeschakeld") {
		t.Errorf("enable: %d", p.status)
	}
	if p := s.do("POST", "/admin/people/"+colleague.ID+"/enable", url.Values{"_csrf": {token}}, admin); p.status != http.StatusNotFound {
		t.Errorf("enable an enabled person: %d", p.status)
	}
	if p := s.do("GET", "/", nil, s.signIn("colleague")); p.status != 200 {
		t.Errorf("the person enabled again cannot sign in: %d", p.status)
	}
	if _, err := s.store.Authenticate(ctx, apiToken); cmr.KindOf(err) != cmr.KindUnauthorized {
		t.Errorf("a token revoked at disabling works again: %v", err)
	}
}

func hasOIDC(people []cmr.Person, id, name string) bool {
	for _, p := range people {
		if p.UserID == id {
			return p.OIDCUsername == name
		}
	}
	return false
}
