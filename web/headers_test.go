package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cmr-idp/cmr/web"
)

// TestHeadersOnEveryRoute requests every route of the pages, signed in and
// not, GET and POST (with and without the CSRF token), and checks the
// security headers on every answer, whatever its status; authenticated
// answers are never cached, and no answer sets a cookie without Secure,
// HttpOnly and SameSite.
func TestHeadersOnEveryRoute(t *testing.T) {
	s := newAdminSite(t)
	s.e = s.restartWith(func(srv *web.Server) { srv.Admin = s.store })
	admin := s.signIn("school")
	token := s.token(admin)
	fill := strings.NewReplacer(":id", "01AB-20270715", ":list", "L1", ":format", "vo", ":step", "plan.identity")
	checked := 0
	for _, r := range s.e.Routes() {
		if strings.HasPrefix(r.Path, "/static") || strings.HasPrefix(r.Path, "/api/") {
			continue
		}
		path := fill.Replace(r.Path)
		if strings.Contains(r.Path, "/tickets/:id") {
			path = strings.Replace(r.Path, ":id", "01AB-20270715-T1", 1)
		}
		for _, who := range []struct {
			name    string
			cookies []*http.Cookie
			form    url.Values
		}{
			{"anonymous", nil, url.Values{}},
			{"signed in", []*http.Cookie{admin}, url.Values{"_csrf": {token}}},
			{"signed in, no token", []*http.Cookie{admin}, url.Values{}},
		} {
			var form url.Values
			if r.Method == http.MethodPost {
				form = who.form
			}
			p := s.do(r.Method, path, form, who.cookies...)
			checked++
			h := p.header
			csp := h.Get("Content-Security-Policy")
			if !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") ||
				h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Frame-Options") != "DENY" {
				t.Errorf("%s %s (%s): %d, headers %v", r.Method, path, who.name, p.status, h)
			}
			if who.cookies != nil && p.status < 300 && h.Get("Cache-Control") != "no-store" {
				t.Errorf("%s %s (%s): %d without Cache-Control: no-store", r.Method, path, who.name, p.status)
			}
			for _, c := range p.cookie {
				if !c.Secure || !c.HttpOnly || c.SameSite == http.SameSiteDefaultMode || c.SameSite == http.SameSiteNoneMode {
					t.Errorf("%s %s (%s): cookie %s without Secure, HttpOnly or SameSite", r.Method, path, who.name, c.Name)
				}
			}
		}
	}
	if checked < 60 {
		t.Fatalf("only %d requests: are the routes registered?", checked)
	}
	t.Logf("%d answers checked", checked)
}
