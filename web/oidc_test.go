package web_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/web"
	"github.com/cmr-idp/cmr/web/oidctest"
)

// oidcSite is newSite with sign-in through an in-process OIDC provider for
// the school (people matched on its e-mail pattern) and another for dist.
type oidcSite struct {
	*site
	idp, other *oidctest.Provider
	logs       *bytes.Buffer
}

func newOIDCSite(t *testing.T) *oidcSite {
	s := &oidcSite{site: newSite(t, false), logs: &bytes.Buffer{}}
	s.idp = oidctest.New(t, "cmr", "geheim")
	s.other = oidctest.New(t, "cmr-dist", "ook-geheim")
	s.idp.Now = func() time.Time { return s.now }
	s.other.Now = s.idp.Now
	ctx := context.Background()
	if err := s.store.SetEmailPatterns(ctx, "school", []string{"[firstname].[lastname]@lyceum.nl"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ email, first, last, oidc string }{
		{"max@lyceum.nl", "Max", "Mustermann", ""},
		{"jan1@lyceum.nl", "Jan", "Jansen", ""},
		{"jan2@lyceum.nl", "Jan", "Jansen", ""},
	} {
		u, err := s.store.UpsertUser(ctx, cmr.User{OrganisationID: "school", Email: p.email, Name: p.first + " " + p.last})
		if err != nil {
			t.Fatal(err)
		}
		s.users[p.email] = u
		if err := s.store.SetPerson(ctx, cmr.Person{UserID: u.ID, FirstName: p.first, LastName: p.last, OIDCUsername: p.oidc}); err != nil {
			t.Fatal(err)
		}
	}
	s.e = s.restartWith(func(srv *web.Server) {
		srv.Providers = []web.Provider{
			{Name: "Lyceum", Issuer: s.idp.URL, ClientID: "cmr", ClientSecret: "geheim", Organisations: []string{"school"}},
			{Name: "Distri", Issuer: s.other.URL, ClientID: "cmr-dist", ClientSecret: "ook-geheim", Organisations: []string{"dist"}},
		}
		srv.SignIn, srv.PublicURL = s.store, "https://cmr.example"
		srv.HTTPClient = s.idp.Client()
		srv.Logger = slog.New(slog.NewJSONHandler(s.logs, nil))
	})
	return s
}

func (s *site) restartWith(configure func(*web.Server)) *echo.Echo {
	e := echo.New()
	srv := &web.Server{Store: s.store, Sessions: s.store, Calendar: cmr.DefaultCalendarConfig(), DevSignIn: s.dev, Now: func() time.Time { return s.now },
		Engine: s.engine, Submissions: s.store}
	configure(srv)
	if err := srv.Register(e); err != nil {
		s.t.Fatal(err)
	}
	return e
}

// signInVia goes the whole way a browser goes: the deep link, the
// provider's authorize endpoint, the callback. It returns the callback's
// answer.
func (s *oidcSite) signInVia(idp *oidctest.Provider, deepLink string) page {
	s.t.Helper()
	start := s.do("GET", deepLink, nil)
	if start.status != http.StatusSeeOther || !strings.HasPrefix(start.header.Get("Location"), idp.URL+"/authorize?") {
		s.t.Fatalf("%s: %d to %q", deepLink, start.status, start.header.Get("Location"))
	}
	noFollow := idp.Client()
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.Get(start.header.Get("Location"))
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || back.Host != "cmr.example" || back.Path != "/login/callback" {
		s.t.Fatalf("provider answered %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return s.do("GET", back.RequestURI(), nil)
}

func sessionOf(p page) *http.Cookie {
	for _, c := range p.cookie {
		if c.Name == "__Host-cmr" && c.Value != "" {
			return c
		}
	}
	return nil
}

func TestOIDCSignIn(t *testing.T) {
	s := newOIDCSite(t)

	// The sign-in page offers the organisations that have a provider.
	lp := s.do("GET", "/login", nil)
	if !strings.Contains(lp.body, `<option value="school">Het Lyceum</option>`) || strings.Contains(lp.body, `value="lika1"`) || strings.Contains(lp.body, "demogebruiker") {
		t.Errorf("sign-in page:\n%s", lp.body)
	}

	// A first login is matched on the school's e-mail pattern; the deep
	// link's return path is where the person lands.
	s.idp.SignIn(oidctest.User{Subject: "sub-max", Email: "Max.Mustermann@lyceum.nl"})
	p := s.signInVia(s.idp, "/login?org=school&return="+url.QueryEscape("/cases/01AB-20270715"))
	ck := sessionOf(p)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/cases/01AB-20270715" || ck == nil {
		t.Fatalf("first login: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	if q := s.idp.Authorize; q.Get("nonce") == "" || q.Get("state") == "" || q.Get("code_challenge_method") != "S256" || !strings.Contains(q.Get("scope"), "openid") {
		t.Errorf("authorize request: %v", q)
	}
	if home := s.do("GET", "/", nil, ck); home.status != 200 || !strings.Contains(home.body, "Max Mustermann") {
		t.Errorf("home after sign-in: %d", home.status)
	}

	// The account is keyed on (issuer, subject): a changed address at the
	// provider still signs in the same person.
	s.idp.SignIn(oidctest.User{Subject: "sub-max", Email: "m.mustermann@elders.example"})
	if p := s.signInVia(s.idp, "/login?org=school"); sessionOf(p) == nil || p.header.Get("Location") != "/" {
		t.Errorf("second login with another address: %d %q", p.status, p.header.Get("Location"))
	}

	for _, tc := range []struct {
		name  string
		user  oidctest.User
		spoil func(map[string]any)
		want  string // in the Dutch refusal
	}{
		{"wrong nonce", oidctest.User{Subject: "s1", Email: "max.mustermann@lyceum.nl"}, func(c map[string]any) { c["nonce"] = "another" }, "niet te vertrouwen"},
		{"wrong audience", oidctest.User{Subject: "s2", Email: "max.mustermann@lyceum.nl"}, func(c map[string]any) { c["aud"] = "someone-else" }, "niet te vertrouwen"},
		{"wrong issuer", oidctest.User{Subject: "s3", Email: "max.mustermann@lyceum.nl"}, func(c map[string]any) { c["iss"] = "https://evil.example" }, "niet te vertrouwen"},
		{"expired", oidctest.User{Subject: "s4", Email: "max.mustermann@lyceum.nl"}, func(c map[string]any) { c["exp"] = s.now.Add(-time.Hour).Unix() }, "niet te vertrouwen"},
		{"unknown person", oidctest.User{Subject: "s5", Email: "nobody.here@lyceum.nl"}, nil, "niet geregistreerd"},
		{"ambiguous person", oidctest.User{Subject: "s6", Email: "jan.jansen@lyceum.nl"}, nil, "OIDC-gebruikersnaam"},
		{"unverified address", oidctest.User{Subject: "s7", Email: "max.mustermann@lyceum.nl", EmailVerified: new(bool)}, nil, "niet geregistreerd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.t = t
			s.idp.SignIn(tc.user)
			s.idp.Spoil(tc.spoil)
			p := s.signInVia(s.idp, "/login?org=school")
			if p.status != http.StatusForbidden || sessionOf(p) != nil || !strings.Contains(p.body, tc.want) {
				t.Errorf("%d, session %v:\n%s", p.status, sessionOf(p), p.body)
			}
		})
	}
	s.t = t

	// The admin sets an explicit OIDC user name on each Jan Jansen: now
	// each signs in as themselves.
	ctx := context.Background()
	for _, j := range []string{"jan1", "jan2"} {
		u := s.users[j+"@lyceum.nl"]
		if err := s.store.SetPerson(ctx, cmr.Person{UserID: u.ID, FirstName: "Jan", LastName: "Jansen", OIDCUsername: "jan.jansen." + j + "@lyceum.nl"}); err != nil {
			t.Fatal(err)
		}
	}
	s.idp.SignIn(oidctest.User{Subject: "sub-jan2", Email: "jan.jansen.jan2@lyceum.nl"})
	p = s.signInVia(s.idp, "/login?org=school")
	if sessionOf(p) == nil {
		t.Fatalf("explicit user name: %d\n%s", p.status, p.body)
	}
	if home := s.do("GET", "/", nil, sessionOf(p)); !strings.Contains(home.body, "Jan Jansen") {
		t.Errorf("explicit user name: %d\n%s", p.status, p.body)
	}
	linked, err := s.store.UserByIdentity(ctx, s.idp.URL, "sub-jan2")
	if err != nil || linked.ID != s.users["jan2@lyceum.nl"].ID {
		t.Errorf("jan2 linked to %+v, %v", linked, err)
	}

	// Every sign-in and refusal is a security event, with IDs and no
	// names or addresses.
	logs := s.logs.String()
	for _, want := range []string{`"event":"sign_in"`, `"via":"oidc"`, `"event":"sign_in_refused"`, `"user_id":"` + linked.ID + `"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("no %s in the security log:\n%s", want, logs)
		}
	}
	for _, personal := range []string{"lyceum.nl", "mustermann", "Mustermann", "Jansen", "elders.example"} {
		if strings.Contains(logs, personal) {
			t.Errorf("the security log holds %q", personal)
		}
	}
}

func TestOIDCSignInGuards(t *testing.T) {
	s := newOIDCSite(t)
	if p := s.do("GET", "/login?org=nope", nil); p.status != http.StatusNotFound {
		t.Errorf("deep link to an unregistered organisation: %d", p.status)
	}
	if p := s.do("GET", "/login?org=lika1", nil); p.status != http.StatusNotFound {
		t.Errorf("deep link to an organisation without a provider: %d", p.status)
	}
	// The return path must be local: anything else lands on the home page.
	s.idp.SignIn(oidctest.User{Subject: "sub-max", Email: "max.mustermann@lyceum.nl"})
	for _, back := range []string{"https://evil.example/", "//evil.example", "/\t/evil.example"} {
		p := s.signInVia(s.idp, "/login?org=school&return="+url.QueryEscape(back))
		if p.header.Get("Location") != "/" {
			t.Errorf("return %q: sent to %q", back, p.header.Get("Location"))
		}
	}

	// A callback works once, and only for a state this server gave out.
	start := s.do("GET", "/login?org=school", nil)
	noFollow := s.idp.Client()
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.Get(start.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
	if p := s.do("GET", back.RequestURI(), nil); sessionOf(p) == nil {
		t.Fatalf("callback: %d", p.status)
	}
	if p := s.do("GET", back.RequestURI(), nil); p.status != http.StatusForbidden || sessionOf(p) != nil || !strings.Contains(p.body, "verlopen of al gebruikt") {
		t.Errorf("the same callback again: %d", p.status)
	}
	if p := s.do("GET", "/login/callback?state=forged&code=x", nil); p.status != http.StatusForbidden || sessionOf(p) != nil {
		t.Errorf("a forged state: %d", p.status)
	}

	// A sign-in left at the provider too long has expired.
	start = s.do("GET", "/login?org=school", nil)
	resp, err = noFollow.Get(start.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, _ = url.Parse(resp.Header.Get("Location"))
	s.now = s.now.Add(11 * time.Minute)
	if p := s.do("GET", back.RequestURI(), nil); p.status != http.StatusForbidden || sessionOf(p) != nil {
		t.Errorf("a callback after 11 minutes: %d", p.status)
	}

	// An account linked to the school cannot sign in through another
	// organisation's provider, even when the subject is the same.
	ctx := context.Background()
	if err := s.store.LinkIdentity(ctx, s.other.URL, "sub-max", s.users["max@lyceum.nl"].ID); err != nil {
		t.Fatal(err)
	}
	s.other.SignIn(oidctest.User{Subject: "sub-max", Email: "max.mustermann@lyceum.nl"})
	if p := s.signInVia(s.other, "/login?org=dist"); p.status != http.StatusForbidden || sessionOf(p) != nil {
		t.Errorf("an account of the school through the distributor's provider: %d", p.status)
	}
}

// Without providers the callback does not exist (it used to crash).
func TestCallbackWithoutProviders(t *testing.T) {
	s := newSite(t, true)
	if p := s.do("GET", "/login/callback?state=x&code=y", nil); p.status != http.StatusNotFound {
		t.Errorf("callback without providers: %d", p.status)
	}
}

// TestOIDCSlowProvider: a provider whose token endpoint answers after the
// page's deadline is shown as a service too slow (503, try again), not as
// a refused or untrusted sign-in, and no refusal is logged.
func TestOIDCSlowProvider(t *testing.T) {
	s := newOIDCSite(t)
	s.e = s.restartWith(func(srv *web.Server) {
		srv.Providers = []web.Provider{{Name: "Lyceum", Issuer: s.idp.URL, ClientID: "cmr", ClientSecret: "geheim", Organisations: []string{"school"}}}
		srv.SignIn, srv.PublicURL = s.store, "https://cmr.example"
		srv.HTTPClient = s.idp.Client()
		srv.Logger = slog.New(slog.NewJSONHandler(s.logs, nil))
		srv.RequestTimeout = 300 * time.Millisecond
	})
	s.idp.TokenDelay = 5 * time.Second
	s.idp.SignIn(oidctest.User{Subject: "sub-max", Email: "Max.Mustermann@lyceum.nl"})
	start := time.Now()
	p := s.signInVia(s.idp, "/login?org=school")
	if p.status != http.StatusServiceUnavailable || !strings.Contains(p.body, "duurde te lang") || sessionOf(p) != nil || time.Since(start) > 3*time.Second {
		t.Errorf("sign-in with a slow provider: %d after %s\n%s", p.status, time.Since(start), p.body)
	}
	if strings.Contains(s.logs.String(), "sign_in_refused") {
		t.Errorf("a slow provider logged as a refused sign-in:\n%s", s.logs)
	}
}
