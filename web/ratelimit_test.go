package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cmr-idp/cmr/web"
)

func TestSignInRateLimits(t *testing.T) {
	s := newSite(t, true)
	s.e = s.restartWith(func(*web.Server) {})
	s.e.IPExtractor = echo.ExtractIPDirect() // as api.NewRouter sets it
	from := func(addr string, header http.Header) int {
		req := httptest.NewRequest("GET", "https://cmr.example/login", nil)
		req.RemoteAddr = addr + ":4000"
		for k, v := range header {
			req.Header[k] = v
		}
		rec := httptest.NewRecorder()
		s.e.ServeHTTP(rec, req)
		return rec.Code
	}
	for i := 0; i < 30; i++ {
		if code := from("203.0.113.7", nil); code != 200 {
			t.Fatalf("attempt %d: %d", i+1, code)
		}
	}
	if code := from("203.0.113.7", nil); code != http.StatusTooManyRequests {
		t.Errorf("attempt 31: %d", code)
	}
	// A forged forwarding header does not make another client of it.
	if code := from("203.0.113.7", http.Header{"X-Forwarded-For": {"198.51.100.1"}, "X-Real-Ip": {"198.51.100.1"}}); code != http.StatusTooManyRequests {
		t.Errorf("with a forged X-Forwarded-For: %d", code)
	}
	if code := from("203.0.113.8", nil); code != 200 {
		t.Errorf("another address: %d", code)
	}
	s.now = s.now.Add(time.Minute)
	if code := from("203.0.113.7", nil); code != 200 {
		t.Errorf("a minute later: %d", code)
	}

	// One account: five quick sign-ins, then a pause is asked for.
	user := s.users["school"].ID
	for i := 0; i < 6; i++ {
		lp := s.do("GET", "/login", nil)
		m := csrfField.FindStringSubmatch(lp.body)
		p := s.do("POST", "/login", url.Values{"_csrf": {m[1]}, "user": {user}}, lp.cookie[0])
		want := http.StatusSeeOther
		if i == 5 {
			want = http.StatusTooManyRequests
		}
		if p.status != want {
			t.Errorf("sign-in %d of one account: %d, want %d", i+1, p.status, want)
		}
	}
}

// A form larger than 1 MB is refused before it is read; uploads have
// their own, larger limit.
func TestFormBodyLimit(t *testing.T) {
	s := newSite(t, true)
	c := s.signIn("dist")
	token := s.token(c)
	big := url.Values{"_csrf": {token}, "text": {strings.Repeat("x", 2<<20)}}
	if p := s.do("POST", "/tickets/01AB-20270715-T1/waive", big, c); p.status != http.StatusRequestEntityTooLarge {
		t.Errorf("a 2 MB form: %d", p.status)
	}
	if p := s.do("POST", "/tickets/01AB-20270715-T1/waive", url.Values{"_csrf": {token}, "text": {strings.Repeat("x", 3000)}}, c); p.status == http.StatusRequestEntityTooLarge {
		t.Errorf("a small form refused as too large")
	}
}
