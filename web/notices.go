package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/webhook"
)

// NoticeStore is what the notification pages read and change: a person's
// preferences (/settings), and on the admin page the organisation's
// webhook and its delivery log.
type NoticeStore interface {
	NoticePreferences(ctx context.Context, userID string) (cmr.NoticePreferences, error)
	SetNoticePreferences(ctx context.Context, userID string, p cmr.NoticePreferences) error
	Webhook(ctx context.Context, orgID string) (url, secret string, err error)
	SetWebhook(ctx context.Context, orgID, url, secret string) error
	Deliveries(ctx context.Context, orgID, channel string, limit int) ([]cmr.Delivery, error)
	Delivery(ctx context.Context, orgID, id string) (cmr.Delivery, error)
}

// deliveryLogSize is how many deliveries per channel the admin page lists.
const deliveryLogSize = 50

// redeliverTimeout bounds a redelivery the admin waits for.
const redeliverTimeout = 30 * time.Second

func (s *Server) registerNotices(g *echo.Group) {
	g.GET("/settings", s.settingsPage, s.signedIn)
	g.POST("/settings", s.saveSettings, s.signedIn)
	if s.Admin != nil {
		g.POST("/admin/webhook", s.saveWebhook, s.signedIn, s.adminOnly)
		g.POST("/admin/webhook/secret", s.newWebhookSecret, s.signedIn, s.adminOnly)
		g.POST("/admin/webhook/delete", s.deleteWebhook, s.signedIn, s.adminOnly)
		g.POST("/admin/deliveries/:id/redeliver", s.redeliver, s.signedIn, s.adminOnly)
	}
}

// settingsPage is a person's own notification preferences.
type settingsPage struct {
	page
	Language string
	Email    bool
	Kinds    []kindChoice
	Done     string
	Problem  string
	Field    string
}

type kindChoice struct {
	Kind  cmr.NoticeKind
	Title string
	// Wanted: not muted. Fixed: cannot be muted (an SLA breach).
	Wanted, Fixed bool
}

func (s *Server) settingsView(c echo.Context, prefs cmr.NoticePreferences) settingsPage {
	ss := current(c)
	p := settingsPage{page: s.base(c, ss, s.tr(c, "Instellingen")), Language: prefs.Language, Email: prefs.Email}
	if p.Language != "en" {
		p.Language = "nl"
	}
	for _, k := range cmr.NoticeKinds() {
		fixed := k == cmr.NoticeSLABreach
		p.Kinds = append(p.Kinds, kindChoice{Kind: k, Title: k.Title(language(c)), Fixed: fixed, Wanted: fixed || !slices.Contains(prefs.Muted, k)})
	}
	return p
}

// settingsPage handles GET /settings.
func (s *Server) settingsPage(c echo.Context) error {
	ss := current(c)
	prefs, err := s.Notices.NoticePreferences(c.Request().Context(), ss.User.ID)
	if err != nil {
		return s.fail(c, ss, err)
	}
	return s.render(c, http.StatusOK, "settings", s.settingsView(c, prefs))
}

// saveSettings handles POST /settings: the language of messages, e-mail
// on or off, and a checkbox per kind (checked: wanted). An SLA breach is
// never muted. A form with anything unknown stores nothing.
func (s *Server) saveSettings(c echo.Context) error {
	ss := current(c)
	ctx := c.Request().Context()
	prefs, err := parsePreferences(c)
	if err == nil {
		err = s.Notices.SetNoticePreferences(ctx, ss.User.ID, prefs)
	}
	var refused *cmr.Error
	if err != nil && (!errors.As(err, &refused) || refused.Kind == cmr.KindUnavailable || refused.Kind == cmr.KindNotFound) {
		return s.fail(c, ss, err)
	}
	stored, rerr := s.Notices.NoticePreferences(ctx, ss.User.ID)
	if rerr != nil {
		return s.fail(c, ss, rerr)
	}
	p := s.settingsView(c, stored)
	if err != nil {
		p.Problem, p.Field = s.refusal(c, err), refused.Field
		return s.render(c, statusOf(err), "settings", p)
	}
	p.Done = s.tr(c, "Uw instellingen zijn opgeslagen.")
	return s.render(c, http.StatusOK, "settings", p)
}

func parsePreferences(c echo.Context) (cmr.NoticePreferences, error) {
	form, err := c.FormParams()
	if err != nil {
		return cmr.NoticePreferences{}, cmr.FieldErrorf("language", "the form could not be read").NL("het formulier kon niet gelezen worden")
	}
	var p cmr.NoticePreferences
	switch lang := form.Get("language"); lang {
	case "nl", "en":
		p.Language = lang
	default:
		return p, cmr.FieldErrorf("language", "choose Dutch (nl) or English (en)").NL("kies Nederlands (nl) of Engels (en)")
	}
	switch form.Get("email") {
	case "":
	case "true", "on":
		p.Email = true
	default:
		return p, cmr.FieldErrorf("email", "is on (true) or off (left out)").NL("staat aan (true) of uit (weggelaten)")
	}
	known := cmr.NoticeKinds()
	wanted := map[cmr.NoticeKind]bool{}
	for _, k := range form["kind"] {
		if !slices.Contains(known, cmr.NoticeKind(k)) {
			return p, cmr.FieldErrorf("kind", "an unknown kind of notice was chosen; reload the page and try again").
				NL("er is een onbekende soort melding gekozen; laad de pagina opnieuw en probeer het nog eens")
		}
		wanted[cmr.NoticeKind(k)] = true
	}
	for _, k := range known {
		if !wanted[k] && k != cmr.NoticeSLABreach {
			p.Muted = append(p.Muted, k)
		}
	}
	return p, nil
}

// webhookView is the webhook section of the admin page; the secret is
// never in it (NewSecret on adminPage shows a new one once).
type webhookView struct {
	URL string
	// Input is the address just refused, to correct.
	Input     string
	AllowHTTP bool
}

// deliveryView is one row of the delivery log.
type deliveryView struct {
	cmr.Delivery
	ChannelName string
	To          string
	KindName    string
	StateName   string
	// Path is the delivery's ID as a path segment (IDs hold "/" and "#").
	Path         string
	CanRedeliver bool
}

// noticesView fills the webhook section and the delivery log of the
// admin page.
func (s *Server) noticesView(c echo.Context, p *adminPage, names map[string]string) error {
	if s.Notices == nil {
		return nil
	}
	ctx := c.Request().Context()
	org := current(c).User.OrganisationID
	p.Notices = true
	p.Webhook.AllowHTTP = s.AllowHTTPWebhooks
	u, _, err := s.Notices.Webhook(ctx, org)
	if err != nil {
		return err
	}
	p.Webhook.URL = u
	var all []cmr.Delivery
	for _, ch := range []string{cmr.ChannelWebhook, cmr.ChannelEmail} {
		ds, err := s.Notices.Deliveries(ctx, org, ch, deliveryLogSize)
		if err != nil {
			return err
		}
		all = append(all, ds...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].CreatedAt.After(all[j].CreatedAt) })
	for _, d := range all {
		if d.OrganisationID != org {
			continue // the store's promise, kept here too
		}
		v := deliveryView{Delivery: d, Path: url.PathEscape(d.ID), KindName: d.Kind.Title(language(c))}
		if v.KindName == "" {
			v.KindName = string(d.Kind)
		}
		switch d.Channel {
		case cmr.ChannelWebhook:
			v.ChannelName, v.To = s.tr(c, "webhook"), "—"
			v.CanRedeliver = s.Redeliver != nil
		case cmr.ChannelEmail:
			v.ChannelName, v.To = s.tr(c, "e-mail"), names[d.UserID]
			if v.To == "" {
				v.To = "—"
			}
		default:
			v.ChannelName, v.To = d.Channel, "—"
		}
		switch d.State {
		case cmr.DeliverySent:
			v.StateName = s.tr(c, "verstuurd")
		case cmr.DeliveryFailed:
			v.StateName = s.tr(c, "mislukt")
		default:
			v.StateName = s.tr(c, "bezig of wacht op nieuwe poging")
		}
		p.Deliveries = append(p.Deliveries, v)
	}
	return nil
}

// newSecret is a webhook secret: 32 random bytes, base64url.
func newSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("web: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// checkWebhookURL accepts an https:// address; http:// only to
// localhost or 127.0.0.1, and only when AllowHTTPWebhooks is set (cmr
// dev). Without it, addresses that are this machine or a private network
// by their IP are refused too.
func (s *Server) checkWebhookURL(raw string) error {
	const field = "webhook_url"
	if raw == "" {
		return cmr.FieldErrorf(field, "is required, for example https://example.org/cmr").NL("is verplicht, bijvoorbeeld https://example.org/cmr")
	}
	if len(raw) > 2000 {
		return cmr.FieldErrorf(field, "is too long (at most 2000 characters)").NL("is te lang (hoogstens 2000 tekens)")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.Host == "" || u.Hostname() == "" || strings.ContainsAny(raw, " \t\r\n") {
		return cmr.FieldErrorf(field, "is not a web address; write it as https://example.org/cmr").NL("is geen webadres; schrijf het als https://example.org/cmr")
	}
	if u.User != nil {
		return cmr.FieldErrorf(field, "may not contain a user name or password").NL("mag geen gebruikersnaam of wachtwoord bevatten")
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	local := host == "localhost" || host == "127.0.0.1"
	switch u.Scheme {
	case "https":
	case "http":
		if !(s.AllowHTTPWebhooks && local) {
			return cmr.FieldErrorf(field, "must start with https://").NL("moet met https:// beginnen")
		}
	default:
		return cmr.FieldErrorf(field, "must start with https://").NL("moet met https:// beginnen")
	}
	// The delivery checks the address it connects to (a name may resolve
	// anywhere); this refuses at once what is plainly inside. cmr dev
	// (AllowHTTPWebhooks) also takes this machine, as its worker does.
	ip := net.ParseIP(host)
	if (!s.AllowHTTPWebhooks && (local || strings.HasSuffix(host, ".localhost"))) || ip != nil && webhook.Refused(ip, s.AllowHTTPWebhooks) {
		return cmr.FieldErrorf(field, "must be an address on the internet, not this machine or a private network").
			NL("moet een adres op internet zijn, niet deze machine of een privénetwerk")
	}
	return nil
}

// saveWebhook handles POST /admin/webhook: a new address gets a new
// secret, shown this once.
func (s *Server) saveWebhook(c echo.Context) error {
	ss := current(c)
	raw := strings.TrimSpace(c.FormValue("url"))
	if err := s.checkWebhookURL(raw); err != nil {
		return s.adminAnswer(c, "", err, func(p *adminPage) { p.Webhook.Input = raw })
	}
	secret := newSecret()
	err := s.Notices.SetWebhook(c.Request().Context(), ss.User.OrganisationID, raw, secret)
	if err == nil {
		s.securityEvent(c, slog.LevelInfo, "webhook_set")
	}
	return s.adminAnswer(c, s.tr(c, "De webhook is opgeslagen. Kopieer het geheim nu: het wordt niet nog eens getoond."), err, func(p *adminPage) {
		if err == nil {
			p.NewSecret = secret
		}
	})
}

// newWebhookSecret handles POST /admin/webhook/secret: the old secret
// stops working at once.
func (s *Server) newWebhookSecret(c echo.Context) error {
	ss := current(c)
	ctx := c.Request().Context()
	u, _, err := s.Notices.Webhook(ctx, ss.User.OrganisationID)
	if err != nil {
		return s.fail(c, ss, err)
	}
	if u == "" {
		return s.adminAnswer(c, "", cmr.Errorf(cmr.KindConflict, "there is no webhook yet: set its address first").
			NL("er is nog geen webhook: stel eerst het adres in"), nil)
	}
	secret := newSecret()
	err = s.Notices.SetWebhook(ctx, ss.User.OrganisationID, u, secret)
	if err == nil {
		s.securityEvent(c, slog.LevelInfo, "webhook_secret_renewed")
	}
	return s.adminAnswer(c, s.tr(c, "Er is een nieuw geheim; het oude werkt niet meer. Kopieer het nu: het wordt niet nog eens getoond."), err, func(p *adminPage) {
		if err == nil {
			p.NewSecret = secret
		}
	})
}

// deleteWebhook handles POST /admin/webhook/delete.
func (s *Server) deleteWebhook(c echo.Context) error {
	ss := current(c)
	err := s.Notices.SetWebhook(c.Request().Context(), ss.User.OrganisationID, "", "")
	if err == nil {
		s.securityEvent(c, slog.LevelInfo, "webhook_removed")
	}
	return s.adminAnswer(c, s.tr(c, "De webhook is verwijderd."), err, nil)
}

// flashCookie carries the outcome of a redelivery to the admin page the
// browser is sent back to.
const flashCookie = "__Host-cmr-flash"

const (
	flashRedelivered     = "redelivered"
	flashRedeliverFailed = "redeliver-failed"
)

// redeliver handles POST /admin/deliveries/:id/redeliver: one of the
// organisation's webhook deliveries is sent again; another organisation's
// does not exist.
func (s *Server) redeliver(c echo.Context) error {
	ss := current(c)
	if s.Redeliver == nil {
		return s.fail(c, ss, cmr.ErrNotFound)
	}
	id, err := url.PathUnescape(c.Param("id"))
	if err != nil {
		return s.fail(c, ss, cmr.ErrNotFound)
	}
	d, err := s.Notices.Delivery(c.Request().Context(), ss.User.OrganisationID, id)
	if err != nil {
		return s.fail(c, ss, err)
	}
	if d.OrganisationID != ss.User.OrganisationID {
		return s.fail(c, ss, cmr.ErrNotFound)
	}
	if d.Channel != cmr.ChannelWebhook {
		return s.adminAnswer(c, "", cmr.Errorf(cmr.KindConflict, "only webhook deliveries can be redelivered here").
			NL("alleen webhookleveringen kunnen hier opnieuw verstuurd worden"), nil)
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), redeliverTimeout)
	defer cancel()
	flash := flashRedelivered
	if err := s.Redeliver(ctx, d); err != nil {
		flash = flashRedeliverFailed
		s.Logger.Warn("redelivery failed", "delivery_id", d.ID, "organisation_id", d.OrganisationID, "error", err)
	}
	s.securityEvent(c, slog.LevelInfo, "webhook_redelivered", "outcome", flash)
	c.SetCookie(&http.Cookie{Name: flashCookie, Value: flash, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 60})
	return c.Redirect(http.StatusSeeOther, "/admin#deliveries")
}

// takeFlash shows, once, the outcome a redirect carried.
func (s *Server) takeFlash(c echo.Context, p *adminPage) {
	ck, err := c.Cookie(flashCookie)
	if err != nil {
		return
	}
	c.SetCookie(&http.Cookie{Name: flashCookie, Value: "", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	switch ck.Value {
	case flashRedelivered:
		p.Done = s.tr(c, "De levering is opnieuw verstuurd en door de ontvanger aangenomen.")
	case flashRedeliverFailed:
		p.Problem = s.tr(c, "De ontvanger heeft de levering niet aangenomen. De status en de fout staan in het logboek hieronder.")
	}
}
