package gormdb

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm/clause"

	"github.com/cmr-idp/cmr"
)

type deliveryRow struct {
	ID             string
	EventKey       string
	CaseID         string
	TicketID       string
	Step           string
	Kind           string
	Channel        string
	OrganisationID string
	UserID         string
	State          string
	Attempts       int
	LastStatus     int
	LastError      string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	SentAt         *time.Time
}

func (deliveryRow) TableName() string { return "deliveries" }

func (r deliveryRow) domain() cmr.Delivery {
	return cmr.Delivery{ID: r.ID, EventKey: r.EventKey, CaseID: r.CaseID, TicketID: r.TicketID, Step: r.Step, Kind: cmr.NoticeKind(r.Kind),
		Channel: r.Channel, OrganisationID: r.OrganisationID, UserID: r.UserID, State: r.State, Attempts: r.Attempts,
		LastStatus: r.LastStatus, LastError: r.LastError, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), SentAt: utc(r.SentAt)}
}

// Event returns one audit event by its key (for the notifier, which
// carries only the key).
func (s *Store) Event(ctx context.Context, key string) (cmr.Event, error) {
	var r eventRow
	if err := s.db.WithContext(ctx).Where("key = ?", key).Take(&r).Error; err != nil {
		return cmr.Event{}, wrap("event "+key, err)
	}
	return r.domain(), nil
}

// CaseForNotice reads a case whole, as its distributor sees it: the
// notifier works for every party.
func (s *Store) CaseForNotice(ctx context.Context, caseID string) (cmr.Case, error) {
	var org string
	err := s.db.WithContext(ctx).Table("case_parties").Where("case_id = ? AND role = ?", caseID, string(cmr.RoleDistributor)).
		Limit(1).Pluck("organisation_id", &org).Error
	if err != nil {
		return cmr.Case{}, wrap("case "+caseID, err)
	}
	if org == "" {
		return cmr.Case{}, cmr.ErrNotFound
	}
	return s.Case(ctx, Viewer{OrganisationID: org, Role: cmr.RoleDistributor}, caseID)
}

// Recipients lists the enabled people of an organisation with their
// notification preferences.
func (s *Store) Recipients(ctx context.Context, orgID string) ([]cmr.Recipient, error) {
	var rows []struct {
		ID          string
		Email       string
		Language    string
		NotifyEmail bool
		NotifyMuted string
	}
	err := s.db.WithContext(ctx).Table("users").Select("id, email, language, notify_email, notify_muted").
		Where("organisation_id = ? AND NOT disabled", orgID).Order("id").Scan(&rows).Error
	if err != nil {
		return nil, wrap("recipients", err)
	}
	out := make([]cmr.Recipient, 0, len(rows))
	for _, r := range rows {
		out = append(out, cmr.Recipient{UserID: r.ID, Email: r.Email, Language: r.Language, EmailOn: r.NotifyEmail, Muted: muted(r.NotifyMuted)})
	}
	return out, nil
}

func muted(s string) []cmr.NoticeKind {
	var out []cmr.NoticeKind
	for _, k := range strings.Split(s, ",") {
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, cmr.NoticeKind(k))
		}
	}
	return out
}

// NoticePreferences returns a person's choices.
func (s *Store) NoticePreferences(ctx context.Context, userID string) (cmr.NoticePreferences, error) {
	var r struct {
		Language    string
		NotifyEmail bool
		NotifyMuted string
	}
	if err := s.db.WithContext(ctx).Table("users").Select("language, notify_email, notify_muted").Where("id = ?", userID).Take(&r).Error; err != nil {
		return cmr.NoticePreferences{}, wrap("notice preferences", err)
	}
	return cmr.NoticePreferences{Language: r.Language, Email: r.NotifyEmail, Muted: muted(r.NotifyMuted)}, nil
}

// SetNoticePreferences stores a person's choices.
func (s *Store) SetNoticePreferences(ctx context.Context, userID string, p cmr.NoticePreferences) error {
	if p.Language != "en" {
		p.Language = "nl"
	}
	names := make([]string, 0, len(p.Muted))
	for _, k := range p.Muted {
		names = append(names, string(k))
	}
	res := s.db.WithContext(ctx).Table("users").Where("id = ?", userID).
		Updates(map[string]any{"language": p.Language, "notify_email": p.Email, "notify_muted": strings.Join(names, ",")})
	if res.Error != nil {
		return wrap("set notice preferences", res.Error)
	}
	if res.RowsAffected == 0 {
		return cmr.ErrNotFound
	}
	return nil
}

// Webhook returns an organisation's webhook address and secret (empty
// when it has none).
func (s *Store) Webhook(ctx context.Context, orgID string) (url, secret string, err error) {
	var r struct {
		WebhookURL    string
		WebhookSecret string
	}
	if err := s.db.WithContext(ctx).Table("organisations").Select("webhook_url, webhook_secret").Where("id = ?", orgID).Take(&r).Error; err != nil {
		return "", "", wrap("webhook", err)
	}
	return r.WebhookURL, r.WebhookSecret, nil
}

// SetWebhook sets (or, with an empty url, removes) an organisation's
// webhook.
func (s *Store) SetWebhook(ctx context.Context, orgID, url, secret string) error {
	if url == "" {
		secret = ""
	}
	res := s.db.WithContext(ctx).Table("organisations").Where("id = ?", orgID).Updates(map[string]any{"webhook_url": url, "webhook_secret": secret})
	if res.Error != nil {
		return wrap("set webhook", res.Error)
	}
	if res.RowsAffected == 0 {
		return cmr.ErrNotFound
	}
	return nil
}

// BeginDelivery records a delivery unless it exists, and returns the row
// as it stands: a delivery already sent is not sent again.
func (s *Store) BeginDelivery(ctx context.Context, d cmr.Delivery) (cmr.Delivery, error) {
	now := time.Now().UTC()
	row := deliveryRow{ID: d.ID, EventKey: d.EventKey, CaseID: d.CaseID, TicketID: d.TicketID, Step: d.Step, Kind: string(d.Kind), Channel: d.Channel,
		OrganisationID: d.OrganisationID, UserID: d.UserID, State: cmr.DeliveryPending, CreatedAt: now, UpdatedAt: now}
	db := s.db.WithContext(ctx)
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		return cmr.Delivery{}, wrap("begin delivery", err)
	}
	if err := db.Where("id = ?", d.ID).Take(&row).Error; err != nil {
		return cmr.Delivery{}, wrap("begin delivery", err)
	}
	return row.domain(), nil
}

// DropStalePlan deletes the deliveries of an event and channel that were
// planned but never attempted and are not in keep: when planning is
// retried (a worker died) after the case moved on, a notice planned the
// first time may no longer be due, and its row must not wait forever.
func (s *Store) DropStalePlan(ctx context.Context, eventKey, channel string, keep []string) error {
	q := s.db.WithContext(ctx).Where("event_key = ? AND channel = ? AND state = ? AND attempts = 0", eventKey, channel, cmr.DeliveryPending)
	if len(keep) > 0 {
		q = q.Where("id NOT IN ?", keep)
	}
	return wrap("drop stale plan", q.Delete(&deliveryRow{}).Error)
}

// FinishDelivery records one attempt's outcome.
func (s *Store) FinishDelivery(ctx context.Context, id, state string, status int, errText string) error {
	now := time.Now().UTC()
	upd := map[string]any{"state": state, "attempts": clause.Expr{SQL: "attempts + 1"}, "last_status": status, "last_error": errText, "updated_at": now}
	if state == cmr.DeliverySent {
		upd["sent_at"] = now
		upd["last_error"] = ""
	}
	res := s.db.WithContext(ctx).Table("deliveries").Where("id = ?", id).Updates(upd)
	if res.Error != nil {
		return wrap("finish delivery", res.Error)
	}
	if res.RowsAffected == 0 {
		return cmr.ErrNotFound
	}
	return nil
}

// Deliveries is an organisation's delivery log for a channel, newest
// first.
func (s *Store) Deliveries(ctx context.Context, orgID, channel string, limit int) ([]cmr.Delivery, error) {
	var rows []deliveryRow
	err := s.db.WithContext(ctx).Where("organisation_id = ? AND channel = ?", orgID, channel).Order("created_at DESC, id").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, wrap("deliveries", err)
	}
	out := make([]cmr.Delivery, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.domain())
	}
	return out, nil
}

// Delivery returns one of an organisation's deliveries; another
// organisation's is not found.
func (s *Store) Delivery(ctx context.Context, orgID, id string) (cmr.Delivery, error) {
	var r deliveryRow
	if err := s.db.WithContext(ctx).Where("id = ? AND organisation_id = ?", id, orgID).Take(&r).Error; err != nil {
		return cmr.Delivery{}, wrap("delivery", err)
	}
	return r.domain(), nil
}
