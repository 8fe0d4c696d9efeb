package cmr

import (
	"slices"
	"time"
)

// NoticeKind is what a notification is about. People choose per kind
// whether they want it.
type NoticeKind string

const (
	NoticeCaseOpened    NoticeKind = "case_opened"    // a case with you as a party was opened
	NoticeStepWaiting   NoticeKind = "step_waiting"   // a step of yours can be done now
	NoticeTicketCreated NoticeKind = "ticket_created" // a LiKa's ticket exists (its clock may wait for the list)
	NoticeSLAWarning    NoticeKind = "sla_warning"    // one working day left on a ticket
	NoticeSLABreach     NoticeKind = "sla_breach"     // a ticket passed its due moment
	NoticeTestRequested NoticeKind = "test_requested" // the school is asked to confirm the final test
	NoticeCaseCompleted NoticeKind = "case_completed" // the case is done
	// NoticeEvent is any other event of a case, for webhooks only: a
	// party's system hears of everything on its cases, people only of what
	// they must act on.
	NoticeEvent NoticeKind = "event"
)

// NoticeKinds lists every kind, in the order preference pages show them.
func NoticeKinds() []NoticeKind {
	return []NoticeKind{NoticeCaseOpened, NoticeStepWaiting, NoticeTicketCreated, NoticeSLAWarning, NoticeSLABreach, NoticeTestRequested, NoticeCaseCompleted}
}

// Dutch and English names of the kinds, for preference pages.
func (k NoticeKind) Title(lang string) string {
	nl, en := map[NoticeKind]string{
		NoticeCaseOpened: "Zaak geopend", NoticeStepWaiting: "Stap wacht op u", NoticeTicketCreated: "Ticket aangemaakt",
		NoticeSLAWarning: "Nog één werkdag (SLA)", NoticeSLABreach: "SLA verstreken", NoticeTestRequested: "Eindtest gevraagd",
		NoticeCaseCompleted: "Zaak afgerond", NoticeEvent: "Gebeurtenis (alleen webhook)",
	}, map[NoticeKind]string{
		NoticeCaseOpened: "Case opened", NoticeStepWaiting: "A step waits for you", NoticeTicketCreated: "Ticket created",
		NoticeSLAWarning: "One working day left (SLA)", NoticeSLABreach: "SLA breached", NoticeTestRequested: "Final test requested",
		NoticeCaseCompleted: "Case completed", NoticeEvent: "Event (webhook only)",
	}
	if lang == "en" {
		return en[k]
	}
	return nl[k]
}

// Notice is one notification to one party of a case about one event.
// It holds IDs only.
type Notice struct {
	Kind           NoticeKind
	OrganisationID string
	Step           string // the step that waits (step_waiting, test_requested, case_opened)
	TicketID       string
	// Urgent notices go out at once, also at night and at weekends.
	Urgent bool
}

// NoticesFor decides who hears about event e, given the case as it stands
// when the notice is sent. The party that owns the next step hears of it;
// a step already done by then, or a ticket already resolved, is not worth
// a message any more, so nothing is sent.
func NoticesFor(e Event, c Case) []Notice {
	var out []Notice
	switch e.Type {
	case EventCaseOpened:
		// The owners of the steps open at opening hear of the case.
		told := map[string]bool{}
		for _, s := range c.Steps {
			if s.State != StepOpen || s.Kind != StepHuman || c.Status != CaseOpen {
				continue
			}
			for _, org := range c.Parties.withRole(s.Owner) {
				if !told[org] {
					told[org] = true
					out = append(out, Notice{Kind: NoticeCaseOpened, OrganisationID: org, Step: s.Key})
				}
			}
		}
	case EventStepCompleted, EventTestFailed:
		if c.Status != CaseOpen {
			return nil
		}
		if done, ok := c.Step(e.Step); ok && done.DoneAtOpen && e.Type == EventStepCompleted {
			// Opening the case completed it: the case_opened notice
			// already told the owners of the steps it opened.
			return nil
		}
		for _, s := range c.Steps {
			if s.State != StepOpen || s.Kind == StepAuto || s.Kind == StepTickets || s.Key == e.Step && e.Type != EventTestFailed {
				continue
			}
			if openedBy(s, e) {
				kind := NoticeStepWaiting
				if s.Kind == StepTest {
					kind = NoticeTestRequested
				}
				for _, org := range c.Parties.withRole(s.Owner) {
					out = append(out, Notice{Kind: kind, OrganisationID: org, Step: s.Key})
				}
			}
		}
	case EventTicketCreated, EventTicketClockStarted, EventTicketSLAWarning, EventTicketOverdue:
		t, ok := c.ticket(e.TicketID)
		if !ok || t.State == TicketClosed || t.State == TicketWaived || t.State == TicketCancelled || c.Status != CaseOpen {
			return nil
		}
		switch e.Type {
		case EventTicketCreated:
			out = append(out, Notice{Kind: NoticeTicketCreated, OrganisationID: t.LiKaID, TicketID: t.ID})
		case EventTicketClockStarted:
			// MBO: the list came back and the clock runs now; VO tickets
			// start with their clock running and are told so at creation.
			if c.Sector == SectorMBO {
				out = append(out, Notice{Kind: NoticeStepWaiting, OrganisationID: t.LiKaID, TicketID: t.ID})
			}
		case EventTicketSLAWarning:
			out = append(out, Notice{Kind: NoticeSLAWarning, OrganisationID: t.LiKaID, TicketID: t.ID})
		case EventTicketOverdue:
			out = append(out, Notice{Kind: NoticeSLABreach, OrganisationID: t.LiKaID, TicketID: t.ID, Urgent: true},
				Notice{Kind: NoticeSLABreach, OrganisationID: c.Parties.DistributorID, TicketID: t.ID, Urgent: true})
		}
	case EventCaseCompleted:
		for _, org := range c.Parties.all() {
			out = append(out, Notice{Kind: NoticeCaseCompleted, OrganisationID: org})
		}
	}
	return merged(out)
}

// merged makes one notice per kind, organisation and ticket: two steps of
// one party opened by one event are one message ("steps 7, 8").
func merged(in []Notice) []Notice {
	var out []Notice
	at := map[[3]string]int{}
	for _, n := range in {
		k := [3]string{string(n.Kind), n.OrganisationID, n.TicketID}
		if i, ok := at[k]; ok {
			if n.Step != "" {
				out[i].Step += ", " + n.Step
			}
			continue
		}
		at[k] = len(out)
		out = append(out, n)
	}
	return out
}

// openedBy reports whether completing e's step is what opened s: s waits
// for it, or (a failed test) s was sent back. Steps that were open before
// were announced then.
func openedBy(s Step, e Event) bool {
	if e.Type == EventTestFailed {
		return slices.Contains(e.Reopened(), s.Key)
	}
	return slices.Contains(s.WaitsFor, e.Step)
}

// Reopened is the steps a failed final test sent back (the event's
// details, as the workflow wrote them or as read back from JSON).
func (e Event) Reopened() []string {
	switch keys := e.Details["reopened"].(type) {
	case []string:
		return keys
	case []any:
		out := make([]string, 0, len(keys))
		for _, k := range keys {
			if s, ok := k.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// ReturnedToAll reports whether an MBO case's completed list went back to
// every publisher on it: at least one return (its clock started), and no
// ticket still awaiting one (the rest returned too, or let go). A new
// version of the school's list would reach none of them, so it is no
// longer taken.
func (c Case) ReturnedToAll() bool {
	returned := false
	for _, t := range c.Tickets {
		if t.State == TicketAwaitingList {
			return false
		}
		returned = returned || t.ClockStartedAt != nil
	}
	return c.Sector == SectorMBO && returned
}

// StepDone reports whether the case's step key is done.
func (c Case) StepDone(key string) bool {
	st, ok := c.Step(key)
	return ok && st.State == StepDone
}

// Step is the case's step key, if the case has it.
func (c Case) Step(key string) (Step, bool) {
	for _, s := range c.Steps {
		if s.Key == key {
			return s, true
		}
	}
	return Step{}, false
}

func (c Case) ticket(id string) (Ticket, bool) {
	for _, t := range c.Tickets {
		if t.ID == id {
			return t, true
		}
	}
	return Ticket{}, false
}

// WebhookParties are the organisations whose systems hear of e: every
// party to the case, except that a ticket's events go to its own LiKa
// only, as the API shows them.
func WebhookParties(e Event, c Case) []string {
	var owner string
	if t, ok := c.ticket(e.TicketID); ok {
		owner = t.LiKaID
	}
	out := []string{c.Parties.SchoolID, c.Parties.DistributorID}
	for _, l := range c.Parties.LiKaIDs {
		if e.TicketID == "" || l == owner {
			out = append(out, l)
		}
	}
	return append(out, c.Parties.KennisnetIDs...)
}

// all lists the school, distributor and LiKas (Kennisnet is told only of
// steps it owns).
func (p Parties) all() []string {
	out := []string{p.SchoolID, p.DistributorID}
	return append(out, p.LiKaIDs...)
}

func (p Parties) withRole(r Role) []string {
	switch r {
	case RoleSchool:
		return []string{p.SchoolID}
	case RoleDistributor:
		return []string{p.DistributorID}
	case RolePublisher:
		return p.LiKaIDs
	case RoleKennisnet:
		return p.KennisnetIDs
	}
	return nil
}

// Working hours for notifications: nobody is mailed at night or at the
// weekend about something that can wait for the morning.
const (
	workStarts = 8 * time.Hour
	workEnds   = 18 * time.Hour
)

// SendAt is when a notice about something that happened at t goes out:
// at once during working hours (08:00-18:00 on working days) or when
// urgent, otherwise at 08:00 on the next working day.
func (c *Calendar) SendAt(t time.Time, urgent bool) time.Time {
	if urgent {
		return t
	}
	local := t.In(c.loc)
	midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, c.loc)
	if c.IsWorkingDay(local) && !local.Before(midnight.Add(workStarts)) && local.Before(midnight.Add(workEnds)) {
		return t
	}
	day := midnight
	if !local.Before(midnight.Add(workStarts)) || !c.IsWorkingDay(local) {
		day = day.AddDate(0, 0, 1)
	}
	for !c.IsWorkingDay(day) {
		day = day.AddDate(0, 0, 1)
	}
	morning := time.Date(day.Year(), day.Month(), day.Day(), 8, 0, 0, 0, c.loc)
	return morning.In(t.Location())
}

// Channels a notice travels by.
const (
	ChannelEmail   = "email"
	ChannelWebhook = "webhook"
)

// Delivery states.
const (
	DeliveryPending = "pending" // being sent, or sending failed and is retried
	DeliverySent    = "sent"
	DeliveryFailed  = "failed" // retries exhausted; the admin may redeliver
)

// Delivery is one notice to one recipient by one channel: a person's
// e-mail, or an organisation's webhook. Its ID is derived from the event,
// kind, channel and recipient, so it is the same on every retry.
type Delivery struct {
	ID             string
	EventKey       string
	CaseID         string
	TicketID       string
	Step           string // the step the notice is about, where it is about one
	Kind           NoticeKind
	Channel        string
	OrganisationID string
	UserID         string // e-mail only
	State          string
	Attempts       int
	LastStatus     int // a webhook's last HTTP status
	LastError      string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	SentAt         *time.Time
}

// DeliveryID is the delivery's stable ID.
func DeliveryID(eventKey string, kind NoticeKind, channel, recipient string) string {
	return eventKey + "/" + string(kind) + "/" + channel + "/" + recipient
}

// Recipient is a person who may be e-mailed: their address, language and
// which notices they want.
type Recipient struct {
	UserID   string
	Email    string
	Language string // "nl" (default) or "en"
	EmailOn  bool   // e-mail on
	Muted    []NoticeKind
}

// Wants reports whether the person wants kind by e-mail. A breach is
// always sent: it is the one notice nobody may miss.
func (r Recipient) Wants(kind NoticeKind) bool {
	if kind == NoticeSLABreach {
		return r.Email != ""
	}
	return r.EmailOn && r.Email != "" && !slices.Contains(r.Muted, kind)
}

// NoticePreferences is what a person chooses on their settings page.
type NoticePreferences struct {
	Language string
	Email    bool
	Muted    []NoticeKind
}

// Notifiable reports whether events of type typ are announced (to people
// where NoticesFor says so, to webhooks always), and whether they are
// urgent: e-mailed at once, also at night.
func Notifiable(typ string) (notify, urgent bool) {
	switch typ {
	case EventTicketOverdue:
		return true, true
	case EventCaseOpened, EventStepCompleted, EventTestFailed, EventTicketCreated, EventTicketClockStarted, EventTicketSLAWarning,
		EventCaseCompleted, EventCaseCancelled, EventTicketClosed, EventTicketWaived, EventTicketCancelled:
		return true, false
	}
	return false, false
}
