package cmr

import (
	"slices"
	"strings"
	"time"
)

// CaseHeader is what is decided when a case is opened. It holds no
// personal data, so it may travel in workflow payloads.
type CaseHeader struct {
	ID            string         `json:"id"`
	SchoolID      string         `json:"school_id"`
	DistributorID string         `json:"distributor_id"`
	Sector        Sector         `json:"sector"`
	Scenario      Scenario       `json:"scenario"`
	Funding       Funding        `json:"funding,omitempty"`
	WasWordt      WasWordt       `json:"was_wordt"`
	Described     int            `json:"described_scenario,omitempty"`
	Options       CaseOptions    `json:"options"`
	RequestedOn   time.Time      `json:"requested_on"`
	SwitchOn      time.Time      `json:"switch_on"`
	ListOpensOn   time.Time      `json:"list_opens_on,omitzero"`
	Deadline      time.Time      `json:"deadline"`
	MidYear       bool           `json:"mid_year"`
	Warnings      []Warning      `json:"warnings"`
	Calendar      CalendarConfig `json:"calendar"`
	SLADays       int            `json:"sla_days"`
}

// Opening reserves a case ID for a distributor's request to open a case,
// before the case workflow starts. A request sent again with the same
// idempotency key (the client lost the first answer) finds its opening,
// and so the case its first attempt opened, instead of opening another.
type Opening struct {
	CaseID         string
	OrganisationID string
	Key            string // the client's Idempotency-Key; empty when it sent none
	RequestHash    string // what was asked, so a reused key with another request is refused
}

// Case is the read model of a case: what people search and read.
type Case struct {
	CaseHeader
	Status       CaseStatus
	Parties      Parties
	Steps        []Step
	Tickets      []Ticket
	CancelReason string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	ClosedAt     *time.Time
}

// Step is a step of a case with its definition, state and recorded data.
type Step struct {
	StepDef
	Position int
	State    StepState
	Data     map[string]any
	DoneBy   *Actor
	DoneAt   *time.Time
	Attempt  int
}

// Ticket is the read model of a LiKa ticket.
type Ticket struct {
	ID             string
	CaseID         string
	LiKaID         string
	State          TicketState
	ClockStartedAt *time.Time
	WarnAt         *time.Time
	DueAt          *time.Time
	WarnedAt       *time.Time
	BreachedAt     *time.Time
	ResolvedAt     *time.Time
	ResolvedBy     *Actor
	SubmissionID   string
	Note           string // the LiKa's note or the distributor's reason
	Unprocessed    []UnprocessedRow
	Version        int
}

// TicketsByID returns the tickets in the order of their IDs (as text:
// T1, T10, T2, the order a case lists them in before any clock runs),
// whatever order they were read in.
func TicketsByID(ts []Ticket) []Ticket {
	out := slices.Clone(ts)
	slices.SortFunc(out, func(a, b Ticket) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// UnprocessedRow is a list row a LiKa could not process, with its reason.
type UnprocessedRow struct {
	Row    int    `json:"row"` // as in the file the LiKa downloaded
	Reason string `json:"reason"`
	// ListRow is the row in the case's list version the report refers to,
	// where the LiKa's file holds only its own rows of it (MBO); 0 where
	// the file is the list (VO).
	ListRow int `json:"list_row,omitempty"`
}

// Overdue reports whether the ticket's due moment has passed while open.
func (t Ticket) Overdue(now time.Time) bool {
	return t.State == TicketOpen && t.DueAt != nil && now.After(*t.DueAt)
}

// AtRisk reports whether at most one working day is left (the warning
// moment has passed) while the ticket is open.
func (t Ticket) AtRisk(now time.Time) bool {
	return t.State == TicketOpen && t.WarnAt != nil && !now.Before(*t.WarnAt)
}

// Event types of the audit trail.
const (
	EventCaseOpened         = "case.opened"
	EventStepCompleted      = "step.completed"
	EventTestFailed         = "test.failed"
	EventCaseCompleted      = "case.completed"
	EventCaseCancelled      = "case.cancelled"
	EventTicketCreated      = "ticket.created"
	EventTicketClockStarted = "ticket.clock_started"
	EventTicketSLAWarning   = "ticket.sla_warning"
	EventTicketOverdue      = "ticket.overdue"
	EventTicketClosed       = "ticket.closed"
	EventTicketWaived       = "ticket.waived"
	EventTicketCancelled    = "ticket.cancelled"
)

// Event is one entry of a case's append-only audit trail. Key makes
// writing it idempotent.
type Event struct {
	Key          string         `json:"key"`
	CaseID       string         `json:"case_id"`
	TicketID     string         `json:"ticket_id,omitempty"`
	Type         string         `json:"type"`
	Step         string         `json:"step,omitempty"`
	Actor        *Actor         `json:"actor,omitempty"` // nil: the system (a timer)
	At           time.Time      `json:"at"`
	SubmissionID string         `json:"submission_id,omitempty"`
	Details      map[string]any `json:"details,omitempty"`
}

// VisibleTo says whether me may see the event in a case's audit trail,
// given the IDs of its own tickets on the case (ownTickets; used only for
// a LiKa). A LiKa sees the case's events, but not those of another
// publisher's ticket, nor anything another publisher did on the case: an
// event written without a ticket (a download from before downloads were
// tagged with the publisher's ticket) still names who did it.
func (e Event) VisibleTo(me Actor, ownTickets map[string]bool) bool {
	if me.Role != RolePublisher {
		return true
	}
	if e.TicketID != "" {
		return ownTickets[e.TicketID]
	}
	if e.Type == EventListUploaded {
		// The school's uploads of the case's list: its drafts before the
		// list handed out are none of a LiKa's business, and what it got
		// is in its own ticket's events.
		return false
	}
	if e.Type == EventListDownloaded && (e.Actor == nil || e.Actor.OrganisationID != me.OrganisationID) {
		// Another party's downloads of the case's lists: in MBO the
		// merged list of every publisher's part, whose rows would tell
		// the others' share.
		return false
	}
	return e.Actor == nil || e.Actor.Role != RolePublisher || e.Actor.OrganisationID == me.OrganisationID
}

// Submission is data a person submitted for a step, a ticket or a
// cancellation. It is stored before the workflow is asked to act, so that
// workflow payloads carry only its ID.
type Submission struct {
	ID        string
	CaseID    string
	Kind      string // "step:<key>", "ticket:close", "ticket:waive", "case:cancel"
	Data      map[string]any
	Actor     Actor
	CreatedAt time.Time
}

// List kinds: what a stored was-wordt list is.
const (
	ListComplete = "complete" // VO: the school's complete list (step 11)
	ListSupplier = "supplier" // MBO: a publisher's "was" part, on its ticket (8a)
	ListReturned = "returned" // MBO: the list the school completed with the "wordt" columns (8b)
)

// List events of the audit trail.
const (
	EventListUploaded   = "list.uploaded"
	EventListDownloaded = "list.downloaded"
	EventListsPurged    = "lists.purged"
	EventListReturned   = "list.returned" // MBO: the completed list returned to one publisher
)

// EventTitle names an event type as the audit trail on the pages shows
// it, in Dutch ("nl") or English; an unknown type is shown as it is.
func EventTitle(typ, lang string) string {
	titles := map[string][2]string{
		EventCaseOpened:         {"Zaak geopend", "Case opened"},
		EventStepCompleted:      {"Stap afgerond", "Step completed"},
		EventTestFailed:         {"Eindtest mislukt", "Final test failed"},
		EventCaseCompleted:      {"Zaak afgerond", "Case completed"},
		EventCaseCancelled:      {"Zaak geannuleerd", "Case cancelled"},
		EventTicketCreated:      {"Ticket aangemaakt", "Ticket created"},
		EventTicketClockStarted: {"SLA-klok gestart", "SLA clock started"},
		EventTicketSLAWarning:   {"Nog één werkdag (SLA)", "One working day left (SLA)"},
		EventTicketOverdue:      {"SLA verstreken", "SLA breached"},
		EventTicketClosed:       {"Ticket afgemeld", "Ticket closed"},
		EventTicketWaived:       {"Ticket vervallen", "Ticket waived"},
		EventTicketCancelled:    {"Ticket geannuleerd", "Ticket cancelled"},
		EventListUploaded:       {"Lijst geüpload", "List uploaded"},
		EventListDownloaded:     {"Lijst gedownload", "List downloaded"},
		EventListsPurged:        {"Lijsten verwijderd (bewaartermijn)", "Lists deleted (retention period)"},
		EventListReturned:       {"Aangevulde lijst teruggegeven", "Completed list returned"},
	}
	return titled(titles, typ, lang)
}

// titled looks key up in titles (Dutch, English) for lang; an unknown key
// is its own title.
func titled(titles map[string][2]string, key, lang string) string {
	t, ok := titles[key]
	switch {
	case !ok:
		return key
	case lang == "en":
		return t[1]
	}
	return t[0]
}

// ListVersion describes a stored list version; its rows are encrypted and
// only the parties of the case may read them.
type ListVersion struct {
	ID         string
	CaseID     string
	TicketID   string // supplier parts only
	Kind       string
	Format     string
	Version    int
	RowCount   int
	UploadedBy Actor
	UploadedAt time.Time
	Current    bool
}
