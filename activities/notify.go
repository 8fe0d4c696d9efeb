package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/smtpmail"
)

// Announcer hands the notifiable events of a save to the notification
// workflow of their case. A retried save announces again; that sends
// nothing twice (see workflows.NoticesWorkflow).
type Announcer interface {
	Announce(ctx context.Context, events []cmr.Event) error
}

// NoticeStore is what the notification activities read and record.
type NoticeStore interface {
	Event(ctx context.Context, key string) (cmr.Event, error)
	CaseForNotice(ctx context.Context, caseID string) (cmr.Case, error)
	Organisation(ctx context.Context, id string) (cmr.Organisation, error)
	Recipients(ctx context.Context, orgID string) ([]cmr.Recipient, error)
	Webhook(ctx context.Context, orgID string) (url, secret string, err error)
	BeginDelivery(ctx context.Context, d cmr.Delivery) (cmr.Delivery, error)
	DropStalePlan(ctx context.Context, eventKey, channel string, keep []string) error
	FinishDelivery(ctx context.Context, id, state string, status int, errText string) error
}

// Mailer sends one e-mail.
type Mailer interface {
	Send(ctx context.Context, m smtpmail.Mail) error
}

// WebhookPoster posts one signed delivery.
type WebhookPoster interface {
	Post(ctx context.Context, url, secret, deliveryID, event string, body []byte) (int, error)
}

// DeliveryCounter counts deliveries for the metrics.
type DeliveryCounter interface {
	NotificationSent(channel string)
	NotificationFailed(channel string)
}

// DeliverAttempts is how often a delivery is tried (with backoff, over
// about four hours) before it is marked failed for the admin to redeliver.
const DeliverAttempts = 12

func (a *Activities) announce(ctx context.Context, events []cmr.Event) error {
	if a.Announcer == nil {
		return nil
	}
	return a.Announcer.Announce(ctx, events)
}

// DeliveryRef is one planned delivery: IDs only.
type DeliveryRef struct {
	ID             string         `json:"id"`
	EventKey       string         `json:"event_key"`
	Kind           cmr.NoticeKind `json:"kind"`
	Channel        string         `json:"channel"`
	OrganisationID string         `json:"organisation_id"`
	UserID         string         `json:"user_id,omitempty"`
	Step           string         `json:"step,omitempty"`
	TicketID       string         `json:"ticket_id,omitempty"`
}

// PlanNoticesInput names the event to notify about, and the channel to
// plan (e-mail waits for working hours, webhooks do not).
type PlanNoticesInput struct {
	EventKey string `json:"event_key"`
	Channel  string `json:"channel"`
}

// PlanNoticesResult is who gets what, by which channel.
type PlanNoticesResult struct {
	Deliveries []DeliveryRef `json:"deliveries"`
}

// PlanNotices decides, as the case stands now, who hears of the event: by
// e-mail, the people of each party concerned who want this kind; by
// webhook, every party to the case that has one (a ticket's events its own
// LiKa only), with the notice's kind where the party has a notice and
// "event" where not. Each delivery is recorded (pending) so that the
// admin's delivery log shows it from the start.
func (a *Activities) PlanNotices(ctx context.Context, in PlanNoticesInput) (PlanNoticesResult, error) {
	op := "plan notices " + in.EventKey
	e, err := a.Notices.Event(ctx, in.EventKey)
	if err != nil {
		return PlanNoticesResult{}, classify(op, err)
	}
	c, err := a.Notices.CaseForNotice(ctx, e.CaseID)
	if err != nil {
		return PlanNoticesResult{}, classify(op, err)
	}
	notices := cmr.NoticesFor(e, c)
	var out PlanNoticesResult
	switch {
	case in.Channel == cmr.ChannelEmail && a.Mail != nil:
		for _, n := range notices {
			people, err := a.Notices.Recipients(ctx, n.OrganisationID)
			if err != nil {
				return PlanNoticesResult{}, classify(op, err)
			}
			for _, p := range people {
				if p.Wants(n.Kind) {
					out.Deliveries = append(out.Deliveries, DeliveryRef{EventKey: e.Key, Kind: n.Kind, Channel: cmr.ChannelEmail,
						OrganisationID: n.OrganisationID, UserID: p.UserID, Step: n.Step, TicketID: n.TicketID})
				}
			}
		}
	case in.Channel == cmr.ChannelWebhook && a.Webhooks != nil:
		for _, org := range cmr.WebhookParties(e, c) {
			url, _, err := a.Notices.Webhook(ctx, org)
			if err != nil {
				return PlanNoticesResult{}, classify(op, err)
			}
			if url == "" {
				continue
			}
			r := DeliveryRef{EventKey: e.Key, Kind: cmr.NoticeEvent, Channel: cmr.ChannelWebhook, OrganisationID: org, TicketID: e.TicketID}
			for _, n := range notices {
				if n.OrganisationID == org {
					r.Kind, r.Step, r.TicketID = n.Kind, n.Step, n.TicketID
					break
				}
			}
			out.Deliveries = append(out.Deliveries, r)
		}
	}
	for i, d := range out.Deliveries {
		recipient := d.OrganisationID
		if d.Channel == cmr.ChannelEmail {
			recipient = d.UserID
		}
		out.Deliveries[i].ID = cmr.DeliveryID(d.EventKey, d.Kind, d.Channel, recipient)
		if _, err := a.Notices.BeginDelivery(ctx, cmr.Delivery{ID: out.Deliveries[i].ID, EventKey: d.EventKey, CaseID: e.CaseID, TicketID: d.TicketID,
			Step: d.Step, Kind: d.Kind, Channel: d.Channel, OrganisationID: d.OrganisationID, UserID: d.UserID}); err != nil {
			return PlanNoticesResult{}, classify(op, err)
		}
	}
	keep := make([]string, 0, len(out.Deliveries))
	for _, d := range out.Deliveries {
		keep = append(keep, d.ID)
	}
	if err := a.Notices.DropStalePlan(ctx, in.EventKey, in.Channel, keep); err != nil {
		return PlanNoticesResult{}, classify(op, err)
	}
	return out, nil
}

// DeliverInput is one delivery to make.
type DeliverInput struct {
	Delivery DeliveryRef `json:"delivery"`
}

// DeliverResult says whether this attempt sent it (false: it had been sent
// before, by an attempt whose result was lost).
type DeliverResult struct {
	Sent bool `json:"sent"`
}

// Deliver sends one notice by e-mail or webhook, once: a delivery recorded
// as sent is not sent again, whatever retries or restarts happen. A failed
// attempt is recorded and retried; the last one marks it failed.
func (a *Activities) Deliver(ctx context.Context, in DeliverInput) (DeliverResult, error) {
	d := in.Delivery
	op := "deliver " + d.ID
	rec, err := a.Notices.BeginDelivery(ctx, cmr.Delivery{ID: d.ID, EventKey: d.EventKey, Kind: d.Kind, Channel: d.Channel,
		OrganisationID: d.OrganisationID, UserID: d.UserID, TicketID: d.TicketID, Step: d.Step})
	if err != nil {
		return DeliverResult{}, classify(op, err)
	}
	if rec.State == cmr.DeliverySent {
		return DeliverResult{}, nil
	}
	status, sendErr := a.send(ctx, d)
	if sendErr == nil {
		if a.Counter != nil {
			a.Counter.NotificationSent(d.Channel)
		}
		return DeliverResult{Sent: true}, classify(op, a.Notices.FinishDelivery(ctx, d.ID, cmr.DeliverySent, status, ""))
	}
	if a.Counter != nil {
		a.Counter.NotificationFailed(d.Channel)
	}
	state := cmr.DeliveryPending
	if activity.IsActivity(ctx) && activity.GetInfo(ctx).Attempt >= DeliverAttempts {
		state = cmr.DeliveryFailed
	}
	if err := a.Notices.FinishDelivery(ctx, d.ID, state, status, sendErr.Error()); err != nil {
		return DeliverResult{}, classify(op, err)
	}
	// The reason is in the delivery log; what goes back to Temporal (and
	// its logs and history) names no address. A receiver that is down is
	// an organisation's business, not the service's: its attempts are
	// benign (the SDK logs them at debug, not as errors, and retries them)
	// and only the last is logged, as a warning.
	msg := fmt.Sprintf("%s: %s delivery failed (attempt recorded in the delivery log)", op, d.Channel)
	if d.Channel != cmr.ChannelWebhook {
		// The mail server is the service's own: its failures are errors.
		return DeliverResult{}, errors.New(msg)
	}
	if state == cmr.DeliveryFailed {
		activity.GetLogger(ctx).Warn("webhook delivery failed after its last attempt; see the organisation's delivery log",
			"delivery", d.ID, "attempts", DeliverAttempts)
	}
	return DeliverResult{}, temporal.NewApplicationErrorWithOptions(msg, deliveryFailed,
		temporal.ApplicationErrorOptions{Category: temporal.ApplicationErrorCategoryBenign})
}

// deliveryFailed is the error type of a delivery attempt the receiver did
// not accept.
const deliveryFailed = "DeliveryFailed"

// Redeliver sends a delivery again by hand (the admin's delivery log),
// also one sent before, and records the attempt.
func (a *Activities) Redeliver(ctx context.Context, d cmr.Delivery) error {
	ref := DeliveryRef{ID: d.ID, EventKey: d.EventKey, Kind: d.Kind, Channel: d.Channel, OrganisationID: d.OrganisationID, UserID: d.UserID, TicketID: d.TicketID, Step: d.Step}
	status, err := a.send(ctx, ref)
	if err != nil {
		_ = a.Notices.FinishDelivery(ctx, d.ID, cmr.DeliveryFailed, status, err.Error())
		return cmr.Errorf(cmr.KindUnavailable, "the receiver did not accept the delivery (status %d); see the delivery log", status).
			NL("de ontvanger heeft de levering niet aangenomen (status %d); zie het leveringslogboek", status)
	}
	return a.Notices.FinishDelivery(ctx, d.ID, cmr.DeliverySent, status, "")
}

// send renders and sends; it returns the webhook's HTTP status.
func (a *Activities) send(ctx context.Context, d DeliveryRef) (int, error) {
	e, err := a.Notices.Event(ctx, d.EventKey)
	if err != nil {
		return 0, err
	}
	c, err := a.Notices.CaseForNotice(ctx, e.CaseID)
	if err != nil {
		return 0, err
	}
	n := cmr.Notice{Kind: d.Kind, OrganisationID: d.OrganisationID, Step: d.Step, TicketID: d.TicketID}
	switch d.Channel {
	case cmr.ChannelEmail:
		if a.Mail == nil {
			return 0, errors.New("e-mail is not configured")
		}
		people, err := a.Notices.Recipients(ctx, d.OrganisationID)
		if err != nil {
			return 0, err
		}
		for _, p := range people {
			if p.UserID != d.UserID {
				continue
			}
			nc, err := a.noticeContext(ctx, c, n)
			if err != nil {
				return 0, err
			}
			msg := cmr.Compose(p.Language, nc)
			err = a.Mail.Send(ctx, smtpmail.Mail{To: p.Email, Subject: msg.Subject, Text: msg.Text, MessageID: messageID(d.ID)})
			if err != nil {
				// Keep the address out of what is stored and logged.
				return 0, errors.New(strings.ReplaceAll(err.Error(), p.Email, "<recipient>"))
			}
			return 0, nil
		}
		return 0, errors.New("the person no longer exists or is disabled")
	case cmr.ChannelWebhook:
		if a.Webhooks == nil {
			return 0, errors.New("webhooks are not configured")
		}
		url, secret, err := a.Notices.Webhook(ctx, d.OrganisationID)
		if err != nil {
			return 0, err
		}
		if url == "" {
			return 0, errors.New("the organisation has no webhook any more")
		}
		body, err := json.Marshal(webhookBody(d, e, c, a.link(c, n)))
		if err != nil {
			return 0, err
		}
		return a.Webhooks.Post(ctx, url, secret, d.ID, string(d.Kind), body)
	}
	return 0, fmt.Errorf("unknown channel %q", d.Channel)
}

// messageID is the e-mail's Message-ID: the same for every attempt.
func messageID(deliveryID string) string {
	r := strings.NewReplacer("/", ".", "#", "-", " ", "")
	return r.Replace(deliveryID) + "@cmr.invalid"
}

func (a *Activities) link(c cmr.Case, n cmr.Notice) string {
	base := strings.TrimRight(a.PublicURL, "/")
	if base == "" {
		return ""
	}
	if n.TicketID != "" {
		return base + "/tickets/" + n.TicketID
	}
	return base + "/cases/" + c.ID
}

func (a *Activities) noticeContext(ctx context.Context, c cmr.Case, n cmr.Notice) (cmr.NoticeContext, error) {
	nc := cmr.NoticeContext{Case: c, Notice: n, Link: a.link(c, n)}
	name := func(id string) (string, error) {
		if id == "" {
			return "", nil
		}
		o, err := a.Notices.Organisation(ctx, id)
		return o.Name, err
	}
	var err error
	if nc.SchoolName, err = name(c.Parties.SchoolID); err != nil {
		return nc, err
	}
	if nc.Organisation, err = name(n.OrganisationID); err != nil {
		return nc, err
	}
	var titles, titlesEN []string
	for _, key := range strings.Split(n.Step, ", ") {
		for _, s := range c.Steps {
			if s.Key == key {
				titles = append(titles, s.Title)
				titlesEN = append(titlesEN, s.TitleIn("en"))
			}
		}
	}
	nc.StepTitle, nc.StepTitleEN = strings.Join(titles, "; "), strings.Join(titlesEN, "; ")
	for _, t := range c.Tickets {
		if t.ID != n.TicketID {
			continue
		}
		if nc.LiKaName, err = name(t.LiKaID); err != nil {
			return nc, err
		}
		if t.DueAt != nil {
			cal, err := cmr.NewCalendar(a.calendar())
			if err != nil {
				return nc, err
			}
			nc.Due = t.DueAt.In(cal.Location()).Format("02-01-2006 15:04")
		}
	}
	return nc, nil
}

func (a *Activities) calendar() cmr.CalendarConfig {
	if a.Calendar.Zone == "" {
		return cmr.DefaultCalendarConfig()
	}
	return a.Calendar
}

// webhook payload: IDs, types and times only.
type webhookPayload struct {
	DeliveryID string         `json:"delivery_id"`
	Kind       cmr.NoticeKind `json:"kind"`
	Event      webhookEvent   `json:"event"`
	Case       webhookCase    `json:"case"`
	Step       string         `json:"step,omitempty"`
	TicketID   string         `json:"ticket_id,omitempty"`
	Link       string         `json:"link,omitempty"`
}

type webhookEvent struct {
	Key      string    `json:"key"`
	Type     string    `json:"type"`
	At       time.Time `json:"at"`
	Step     string    `json:"step,omitempty"`
	TicketID string    `json:"ticket_id,omitempty"`
}

type webhookCase struct {
	ID            string         `json:"id"`
	Status        cmr.CaseStatus `json:"status"`
	SchoolID      string         `json:"school_id"`
	DistributorID string         `json:"distributor_id"`
	OpenSteps     []string       `json:"open_steps"`
}

func webhookBody(d DeliveryRef, e cmr.Event, c cmr.Case, link string) webhookPayload {
	wc := webhookCase{ID: c.ID, Status: c.Status, SchoolID: c.Parties.SchoolID, DistributorID: c.Parties.DistributorID, OpenSteps: []string{}}
	for _, s := range c.Steps {
		if s.State == cmr.StepOpen {
			wc.OpenSteps = append(wc.OpenSteps, s.Key)
		}
	}
	return webhookPayload{DeliveryID: d.ID, Kind: d.Kind, Event: webhookEvent{Key: e.Key, Type: e.Type, At: e.At, Step: e.Step, TicketID: e.TicketID},
		Case: wc, Step: d.Step, TicketID: d.TicketID, Link: link}
}
