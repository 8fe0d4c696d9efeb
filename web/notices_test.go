package web_test

// Tests of the settings page (notification preferences) and the webhook
// section and delivery log of the admin page, through the real Echo
// router over a real store (SQLite).

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/web"
)

// fakeRedeliver records the deliveries the admin page sends again.
type fakeRedeliver struct {
	calls []cmr.Delivery
	err   error
}

func (f *fakeRedeliver) redeliver(_ context.Context, d cmr.Delivery) error {
	f.calls = append(f.calls, d)
	return f.err
}

// newNoticeSite is newAdminSite with the notification pages: the school's
// person is an admin.
func newNoticeSite(t *testing.T, allowHTTP bool, re *fakeRedeliver) *site {
	s := newAdminSite(t)
	s.e = s.restartWith(func(srv *web.Server) {
		srv.Admin, srv.Notices, srv.AllowHTTPWebhooks = s.store, s.store, allowHTTP
		if re != nil {
			srv.Redeliver = re.redeliver
		}
	})
	return s
}

func TestSettingsPreferences(t *testing.T) {
	s := newNoticeSite(t, false, nil)
	ctx := context.Background()
	dist := s.signIn("dist") // not an admin: settings are everyone's
	user := s.users["dist"].ID
	token := s.token(dist)
	before, err := s.store.NoticePreferences(ctx, user)
	if err != nil {
		t.Fatal(err)
	}

	p := s.do("GET", "/settings", nil, dist)
	if p.status != 200 || !strings.Contains(p.body, `<a href="/settings">Instellingen</a>`) {
		t.Fatalf("settings page: %d\n%s", p.status, p.body)
	}
	for _, k := range cmr.NoticeKinds() {
		if !strings.Contains(p.body, `name="kind" value="`+string(k)+`"`) {
			t.Errorf("no checkbox for %s", k)
		}
	}
	if !strings.Contains(p.body, `value="sla_breach" checked disabled>`) || !strings.Contains(p.body, "altijd gemaild") {
		t.Errorf("the SLA breach is not shown as always on:\n%s", p.body)
	}

	// Without the CSRF token: refused, nothing stored.
	if p := s.do("POST", "/settings", url.Values{"language": {"en"}, "email": {"true"}}, dist); p.status != http.StatusForbidden {
		t.Errorf("settings without the CSRF token: %d", p.status)
	}
	// Unknown kind or language: 400 with a message, nothing stored.
	for _, c := range []struct {
		form    url.Values
		english bool
		want    string
	}{
		{url.Values{"language": {"en"}, "email": {"true"}, "kind": {"case_opened", "bogus"}}, false, "onbekende soort melding"},
		{url.Values{"language": {"en"}, "email": {"true"}, "kind": {"case_opened", "bogus"}}, true, "an unknown kind of notice"},
		{url.Values{"language": {"de"}, "email": {"true"}, "kind": {"case_opened"}}, false, "Taal van berichten: kies Nederlands (nl) of Engels (en)"},
		{url.Values{"language": {"de"}, "kind": {"case_opened"}}, true, "Language of messages: choose Dutch (nl) or English (en)"},
		{url.Values{"email": {"true"}}, false, "kies Nederlands (nl) of Engels (en)"},
		{url.Values{"language": {"nl"}, "email": {"misschien"}}, false, "E-mail: staat aan"},
	} {
		c.form.Set("_csrf", token)
		cookies := []*http.Cookie{dist}
		if c.english {
			cookies = append(cookies, english)
		}
		p := s.do("POST", "/settings", c.form, cookies...)
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, c.want) || !strings.Contains(p.body, `id="settings-problem"`) {
			t.Errorf("%v: %d, want 400 with %q\n%s", c.form, p.status, c.want, p.body)
		}
		if got, _ := s.store.NoticePreferences(ctx, user); !samePrefs(got, before) {
			t.Errorf("%v: a refused form stored %+v", c.form, got)
		}
	}

	// A good form: stored, and shown as stored.
	p = s.do("POST", "/settings", url.Values{"_csrf": {token}, "language": {"en"}, "email": {"true"}, "kind": {"case_opened", "sla_warning"}}, dist)
	if p.status != 200 || !strings.Contains(p.body, "Uw instellingen zijn opgeslagen.") {
		t.Fatalf("save settings: %d\n%s", p.status, p.body)
	}
	got, err := s.store.NoticePreferences(ctx, user)
	wantMuted := []cmr.NoticeKind{cmr.NoticeStepWaiting, cmr.NoticeTicketCreated, cmr.NoticeTestRequested, cmr.NoticeCaseCompleted}
	if err != nil || got.Language != "en" || !got.Email || !slices.Equal(got.Muted, wantMuted) {
		t.Errorf("stored %+v %v, want en, e-mail on, muted %v", got, err, wantMuted)
	}
	p = s.do("GET", "/settings", nil, dist)
	for _, want := range []string{`<option value="en" lang="en" selected>`, `name="email" value="true" checked>`,
		`value="case_opened" checked>`, `value="sla_warning" checked>`, `value="step_waiting">`, `value="sla_breach" checked disabled>`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("settings read back lack %q", want)
		}
	}

	// Everything unchecked, e-mail off: the breach is still not muted,
	// also when the form names it.
	for _, form := range []url.Values{
		{"_csrf": {token}, "language": {"nl"}},
		{"_csrf": {token}, "language": {"nl"}, "kind": {"sla_breach"}},
	} {
		if p := s.do("POST", "/settings", form, dist); p.status != 200 {
			t.Fatalf("save settings %v: %d", form, p.status)
		}
		got, _ := s.store.NoticePreferences(ctx, user)
		if got.Email || got.Language != "nl" || slices.Contains(got.Muted, cmr.NoticeSLABreach) || len(got.Muted) != len(cmr.NoticeKinds())-1 {
			t.Errorf("%v stored %+v", form, got)
		}
		if !(cmr.Recipient{Email: "x@example.org", EmailOn: got.Email, Muted: got.Muted}).Wants(cmr.NoticeSLABreach) {
			t.Error("the breach would not be e-mailed")
		}
	}
}

func samePrefs(a, b cmr.NoticePreferences) bool {
	return a.Language == b.Language && a.Email == b.Email && slices.Equal(a.Muted, b.Muted)
}

var secretShown = regexp.MustCompile(`<code id="secret-value">([A-Za-z0-9_-]+)</code>`)

func TestWebhookSettings(t *testing.T) {
	s := newNoticeSite(t, false, &fakeRedeliver{})
	ctx := context.Background()
	admin := s.signIn("school")
	token := s.token(admin)
	stored := func() (string, string) {
		t.Helper()
		u, secret, err := s.store.Webhook(ctx, "school")
		if err != nil {
			t.Fatal(err)
		}
		return u, secret
	}

	// Not an admin: the webhook routes do not exist.
	dist := s.signIn("dist")
	distToken := s.token(dist)
	for _, path := range []string{"/admin/webhook", "/admin/webhook/secret", "/admin/webhook/delete", "/admin/deliveries/x/redeliver"} {
		if p := s.do("POST", path, url.Values{"_csrf": {distToken}, "url": {"https://hooks.example.org/cmr"}}, dist); p.status != http.StatusNotFound {
			t.Errorf("a non-admin posts %s: %d", path, p.status)
		}
	}
	if u, _, _ := s.store.Webhook(ctx, "dist"); u != "" {
		t.Errorf("a non-admin set a webhook: %q", u)
	}

	p := s.do("GET", "/admin", nil, admin)
	if p.status != 200 || !strings.Contains(p.body, `id="webhook-none"`) || !strings.Contains(p.body, "CMR-Signature") ||
		!strings.Contains(p.body, "HMAC-SHA256") || !strings.Contains(p.body, "5 minuten") || !strings.Contains(p.body, "CMR-Delivery") {
		t.Fatalf("admin page without a webhook: %d\n%s", p.status, p.body)
	}
	if p := s.do("POST", "/admin/webhook", url.Values{"url": {"https://hooks.example.org/cmr"}}, admin); p.status != http.StatusForbidden {
		t.Errorf("webhook without the CSRF token: %d", p.status)
	}

	// Refused addresses: 400 at the field, the input kept, nothing stored.
	for addr, want := range map[string]string{
		"http://localhost:8080/hook":       "moet met https:// beginnen",
		"http://hooks.example.org/cmr":     "moet met https:// beginnen",
		"ftp://hooks.example.org/cmr":      "moet met https:// beginnen",
		"geen adres":                       "is geen webadres",
		"https://":                         "is geen webadres",
		"":                                 "is verplicht",
		"https://u:pw@hooks.example.org/x": "mag geen gebruikersnaam of wachtwoord bevatten",
		"https://127.0.0.1/hook":           "moet een adres op internet zijn, niet deze machine of een privénetwerk",
		"https://10.1.2.3/hook":            "moet een adres op internet zijn, niet deze machine of een privénetwerk",
		"https://localhost./hook":          "moet een adres op internet zijn, niet deze machine of een privénetwerk",
		"https://100.64.0.1/hook":          "moet een adres op internet zijn, niet deze machine of een privénetwerk",
		"https://169.254.169.254/latest":   "moet een adres op internet zijn, niet deze machine of een privénetwerk",
		"https://" + strings.Repeat("a", 2000) + ".example.org/": "is te lang",
	} {
		p := s.do("POST", "/admin/webhook", url.Values{"_csrf": {token}, "url": {addr}}, admin)
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, "Webhook-adres: "+want) || !strings.Contains(p.body, `aria-invalid="true" aria-describedby="admin-problem"`) {
			t.Errorf("%q: %d, want 400 with %q", addr, p.status, want)
		}
		if u, _ := stored(); u != "" {
			t.Errorf("%q was stored", addr)
		}
	}
	if p := s.do("POST", "/admin/webhook", url.Values{"_csrf": {token}, "url": {"ftp://x"}}, admin, english); !strings.Contains(p.body, "Webhook address: must start with https://") {
		t.Errorf("the English refusal: %d", p.status)
	}
	if p := s.do("POST", "/admin/webhook/secret", url.Values{"_csrf": {token}}, admin); p.status != http.StatusConflict || !strings.Contains(p.body, "stel eerst het adres in") {
		t.Errorf("a new secret without a webhook: %d", p.status)
	}

	// A good address: a new secret, shown once.
	p = s.do("POST", "/admin/webhook", url.Values{"_csrf": {token}, "url": {" https://hooks.example.org/cmr?x=1 "}}, admin)
	m := secretShown.FindStringSubmatch(p.body)
	if p.status != 200 || m == nil {
		t.Fatalf("set the webhook: %d\n%s", p.status, p.body)
	}
	first := m[1]
	if u, secret := stored(); u != "https://hooks.example.org/cmr?x=1" || secret != first || len(first) != 43 {
		t.Errorf("stored %q %q, shown %q (want 32 bytes base64url)", u, secret, first)
	}
	p = s.do("GET", "/admin", nil, admin)
	if strings.Contains(p.body, first) || !strings.Contains(p.body, `<code id="webhook-url">https://hooks.example.org/cmr?x=1</code>`) ||
		!strings.Contains(p.body, `action="/admin/webhook/secret"`) {
		t.Errorf("the secret is shown again, or the address is missing:\n%s", p.body)
	}

	// A new secret differs and replaces the old one.
	p = s.do("POST", "/admin/webhook/secret", url.Values{"_csrf": {token}}, admin)
	m = secretShown.FindStringSubmatch(p.body)
	if p.status != 200 || m == nil || m[1] == first {
		t.Fatalf("new secret: %d %v", p.status, m)
	}
	if u, secret := stored(); u != "https://hooks.example.org/cmr?x=1" || secret != m[1] {
		t.Errorf("after a new secret: %q %q", u, secret)
	}
	// Setting the address again makes yet another secret.
	p = s.do("POST", "/admin/webhook", url.Values{"_csrf": {token}, "url": {"https://hooks.example.org/v2"}}, admin)
	if m2 := secretShown.FindStringSubmatch(p.body); m2 == nil || m2[1] == m[1] || m2[1] == first {
		t.Errorf("a new address kept the secret: %v", m2)
	}

	// Removed: nothing stored, the page says so.
	if p := s.do("POST", "/admin/webhook/delete", url.Values{"_csrf": {token}}, admin); p.status != 200 || !strings.Contains(p.body, "De webhook is verwijderd.") || !strings.Contains(p.body, `id="webhook-none"`) {
		t.Errorf("remove: %d", p.status)
	}
	if u, secret := stored(); u != "" || secret != "" {
		t.Errorf("after removal: %q %q", u, secret)
	}

	// cmr dev allows http to this machine, and only there.
	s.e = s.restartWith(func(srv *web.Server) { srv.Admin, srv.Notices, srv.AllowHTTPWebhooks = s.store, s.store, true })
	if p := s.do("POST", "/admin/webhook", url.Values{"_csrf": {token}, "url": {"http://hooks.example.org/cmr"}}, admin); p.status != http.StatusBadRequest {
		t.Errorf("http to another host in dev: %d", p.status)
	}
	for _, addr := range []string{"http://localhost:8080/hook", "http://127.0.0.1:9000/hook", "https://127.0.0.1/hook"} {
		p := s.do("POST", "/admin/webhook", url.Values{"_csrf": {token}, "url": {addr}}, admin)
		if u, _ := stored(); p.status != 200 || u != addr {
			t.Errorf("%s in dev: %d, stored %q", addr, p.status, u)
		}
	}
}

// seedDelivery records a delivery and one attempt's outcome.
func seedDelivery(t *testing.T, s *site, d cmr.Delivery, state string, status int, errText string) cmr.Delivery {
	t.Helper()
	ctx := context.Background()
	if _, err := s.store.BeginDelivery(ctx, d); err != nil {
		t.Fatal(err)
	}
	if state != "" {
		if err := s.store.FinishDelivery(ctx, d.ID, state, status, errText); err != nil {
			t.Fatal(err)
		}
	}
	d, err := s.store.Delivery(ctx, d.OrganisationID, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDeliveryLogAndRedeliver(t *testing.T) {
	re := &fakeRedeliver{}
	s := newNoticeSite(t, false, re)
	const event = "01AB-20270715#3.1"
	hook := seedDelivery(t, s, cmr.Delivery{ID: cmr.DeliveryID(event, cmr.NoticeSLABreach, cmr.ChannelWebhook, "school"), EventKey: event,
		CaseID: "01AB-20270715", TicketID: "01AB-20270715-T1", Kind: cmr.NoticeSLABreach, Channel: cmr.ChannelWebhook, OrganisationID: "school"},
		cmr.DeliveryFailed, 500, `<script>alert("x")</script> server error`)
	mail := seedDelivery(t, s, cmr.Delivery{ID: cmr.DeliveryID(event, cmr.NoticeSLABreach, cmr.ChannelEmail, s.users["school"].ID), EventKey: event,
		CaseID: "01AB-20270715", Kind: cmr.NoticeSLABreach, Channel: cmr.ChannelEmail, OrganisationID: "school", UserID: s.users["school"].ID},
		cmr.DeliverySent, 0, "")
	foreign := seedDelivery(t, s, cmr.Delivery{ID: cmr.DeliveryID("02XX-FOREIGN#1.1", cmr.NoticeCaseOpened, cmr.ChannelWebhook, "dist"), EventKey: "02XX-FOREIGN#1.1",
		CaseID: "02XX-FOREIGN", Kind: cmr.NoticeCaseOpened, Channel: cmr.ChannelWebhook, OrganisationID: "dist"}, "", 0, "")
	redeliverPath := func(d cmr.Delivery) string { return "/admin/deliveries/" + url.PathEscape(d.ID) + "/redeliver" }

	admin := s.signIn("school")
	token := s.token(admin)
	p := s.do("GET", "/admin", nil, admin)
	if p.status != 200 {
		t.Fatalf("admin page: %d", p.status)
	}
	log := p.body[strings.Index(p.body, `id="deliveries"`):]
	for _, want := range []string{"01AB-20270715-T1", "SLA verstreken", "<td>webhook</td>", "<td>e-mail</td>", "<td>Mens van Het Lyceum</td>",
		"<td>mislukt</td>", "<td>verstuurd</td>", "<td>500</td>", "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; server error",
		`action="` + redeliverPath(hook) + `"`} {
		if !strings.Contains(log, want) {
			t.Errorf("the delivery log lacks %q", want)
		}
	}
	if strings.Contains(log, "<script>") || strings.Contains(log, "02XX-FOREIGN") || strings.Contains(log, redeliverPath(mail)) {
		t.Errorf("the log shows HTML from a receiver, another organisation's delivery, or redelivery of an e-mail:\n%s", log)
	}

	// Refused: without the CSRF token, another organisation's delivery,
	// an unknown one, an e-mail. The function is not called.
	if p := s.do("POST", redeliverPath(hook), url.Values{}, admin); p.status != http.StatusForbidden {
		t.Errorf("redeliver without the CSRF token: %d", p.status)
	}
	unknown := s.do("POST", "/admin/deliveries/"+url.PathEscape("nope#1/x")+"/redeliver", url.Values{"_csrf": {token}}, admin)
	other := s.do("POST", redeliverPath(foreign), url.Values{"_csrf": {token}}, admin)
	if unknown.status != http.StatusNotFound || other.status != http.StatusNotFound {
		t.Errorf("unknown delivery: %d; another organisation's: %d", unknown.status, other.status)
	}
	if p := s.do("POST", redeliverPath(mail), url.Values{"_csrf": {token}}, admin); p.status != http.StatusConflict || !strings.Contains(p.body, "alleen webhookleveringen") {
		t.Errorf("redeliver an e-mail: %d", p.status)
	}
	if len(re.calls) != 0 {
		t.Fatalf("refused requests redelivered: %+v", re.calls)
	}
	// Another organisation's admin cannot redeliver the school's either.
	if err := s.store.SetAdmin(context.Background(), s.users["dist"].ID, true); err != nil {
		t.Fatal(err)
	}
	dist := s.signIn("dist")
	if p := s.do("POST", redeliverPath(hook), url.Values{"_csrf": {s.token(dist)}}, dist); p.status != http.StatusNotFound || len(re.calls) != 0 {
		t.Errorf("another organisation's admin redelivers: %d, %d calls", p.status, len(re.calls))
	}

	// Accepted: the function gets the delivery; the flash says so once.
	p = s.do("POST", redeliverPath(hook), url.Values{"_csrf": {token}}, admin)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/admin#deliveries" {
		t.Fatalf("redeliver: %d %s", p.status, p.header.Get("Location"))
	}
	if len(re.calls) != 1 || re.calls[0].ID != hook.ID || re.calls[0].OrganisationID != "school" || re.calls[0].Channel != cmr.ChannelWebhook ||
		re.calls[0].EventKey != event || re.calls[0].TicketID != "01AB-20270715-T1" {
		t.Fatalf("redelivered %+v, want %+v", re.calls, hook)
	}
	flash := flashOf(t, p)
	back := s.do("GET", "/admin", nil, admin, flash)
	if !strings.Contains(back.body, "De levering is opnieuw verstuurd en door de ontvanger aangenomen.") {
		t.Errorf("no flash after redelivery:\n%s", back.body)
	}
	if cleared := flashOf(t, back); cleared.MaxAge >= 0 {
		t.Errorf("the flash is not cleared: %+v", cleared)
	}
	if again := s.do("GET", "/admin", nil, admin); strings.Contains(again.body, "opnieuw verstuurd") {
		t.Error("the flash shows without its cookie")
	}

	// Not accepted: the flash says so, in English too.
	re.err = errors.New("status 502")
	p = s.do("POST", redeliverPath(hook), url.Values{"_csrf": {token}}, admin)
	back = s.do("GET", "/admin", nil, admin, flashOf(t, p), english)
	if p.status != http.StatusSeeOther || len(re.calls) != 2 || !strings.Contains(back.body, "The receiver did not accept the delivery.") {
		t.Errorf("a failed redelivery: %d, %d calls\n%s", p.status, len(re.calls), back.body)
	}

	// Without a Redeliver function there is no button and no route.
	s.e = s.restartWith(func(srv *web.Server) { srv.Admin, srv.Notices = s.store, s.store })
	if p := s.do("GET", "/admin", nil, admin); p.status != 200 || strings.Contains(p.body, "/redeliver") || !strings.Contains(p.body, "01AB-20270715-T1") {
		t.Errorf("without Redeliver: %d, a button is shown or the log is missing", p.status)
	}
	if p := s.do("POST", redeliverPath(hook), url.Values{"_csrf": {token}}, admin); p.status != http.StatusNotFound || len(re.calls) != 2 {
		t.Errorf("redeliver without Redeliver: %d", p.status)
	}
}

func flashOf(t *testing.T, p page) *http.Cookie {
	t.Helper()
	for _, c := range p.cookie {
		if c.Name == "__Host-cmr-flash" {
			if !c.Secure || !c.HttpOnly || c.Path != "/" {
				t.Errorf("flash cookie flags: %+v", c)
			}
			return c
		}
	}
	t.Fatalf("no flash cookie: %d %v", p.status, p.cookie)
	return nil
}
