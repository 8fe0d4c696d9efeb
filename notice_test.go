package cmr

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func noticeCase() Case {
	c := Case{Status: CaseOpen, Parties: Parties{SchoolID: "school", DistributorID: "dist", LiKaIDs: []string{"lika-a", "lika-b"}, KennisnetIDs: []string{"kn"}}}
	c.ID, c.Sector = "01AB-20270715", SectorVO
	c.Steps = []Step{
		{StepDef: StepDef{Key: "1", Owner: RoleDistributor, Kind: StepHuman, DoneAtOpen: true}, State: StepDone},
		{StepDef: StepDef{Key: "2", Owner: RoleDistributor, Kind: StepHuman, WaitsFor: []string{"1"}}, State: StepDone},
		{StepDef: StepDef{Key: "3", Owner: RoleSchool, Kind: StepHuman, WaitsFor: []string{"2"}}, State: StepOpen},
		{StepDef: StepDef{Key: "4", Owner: RoleSchool, Kind: StepHuman, WaitsFor: []string{"2"}}, State: StepOpen},
		{StepDef: StepDef{Key: "5", Owner: RoleKennisnet, Kind: StepHuman, WaitsFor: []string{"3"}}, State: StepPending},
		{StepDef: StepDef{Key: "9", Owner: RoleSchool, Kind: StepTest, WaitsFor: []string{"8"}}, State: StepPending},
	}
	due := time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC)
	c.Tickets = []Ticket{{ID: "T1", LiKaID: "lika-a", State: TicketOpen, DueAt: &due}, {ID: "T2", LiKaID: "lika-b", State: TicketClosed}}
	return c
}

// withOpening makes steps 3 and 4 wait for step 1, done at opening.
func withOpening(c Case) Case {
	c.Steps = slices.Clone(c.Steps)
	c.Steps[2].WaitsFor, c.Steps[3].WaitsFor = []string{"1"}, []string{"1"}
	return c
}

func TestNoticesFor(t *testing.T) {
	c := noticeCase()
	done := c
	done.Status = CaseCompleted
	testOpen := noticeCase()
	testOpen.Steps[5].State = StepOpen
	tests := []struct {
		name string
		e    Event
		c    Case
		want []string // kind org step ticket urgent
	}{
		{"opened: owners of open steps, once per party", Event{Type: EventCaseOpened}, c, []string{"case_opened school 3 - false"}},
		{"a step done at opening: case_opened told its owners", Event{Type: EventStepCompleted, Step: "1"}, withOpening(c), nil},
		{"two steps opened by one step: one message", Event{Type: EventStepCompleted, Step: "2"}, c, []string{"step_waiting school 3, 4 - false"}},
		{"a step that was already open is not announced again", Event{Type: EventStepCompleted, Step: "7"}, c, nil},
		{"the test opens", Event{Type: EventStepCompleted, Step: "8"}, testOpen, []string{"test_requested school 9 - false"}},
		{"failed test: the reopened step", Event{Type: EventTestFailed, Step: "9", Details: map[string]any{"reopened": []any{"3"}}}, c, []string{"step_waiting school 3 - false"}},
		{"ticket created: its LiKa", Event{Type: EventTicketCreated, TicketID: "T1"}, c, []string{"ticket_created lika-a - T1 false"}},
		{"ticket already closed: nothing", Event{Type: EventTicketCreated, TicketID: "T2"}, c, nil},
		{"warning: the LiKa", Event{Type: EventTicketSLAWarning, TicketID: "T1"}, c, []string{"sla_warning lika-a - T1 false"}},
		{"breach: LiKa and distributor, urgent", Event{Type: EventTicketOverdue, TicketID: "T1"}, c, []string{"sla_breach lika-a - T1 true", "sla_breach dist - T1 true"}},
		{"VO clock start: told at creation", Event{Type: EventTicketClockStarted, TicketID: "T1"}, c, nil},
		{"completed: every party but Kennisnet", Event{Type: EventCaseCompleted}, done, []string{"case_completed school - - false", "case_completed dist - - false", "case_completed lika-a - - false", "case_completed lika-b - - false"}},
		{"steps of a case no longer open: nothing", Event{Type: EventStepCompleted, Step: "2"}, done, nil},
		{"list events notify nobody", Event{Type: EventListUploaded}, c, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, n := range NoticesFor(tt.e, tt.c) {
				step, ticket := n.Step, n.TicketID
				if step == "" {
					step = "-"
				}
				if ticket == "" {
					ticket = "-"
				}
				got = append(got, strings.Join([]string{string(n.Kind), n.OrganisationID, step, ticket, map[bool]string{true: "true", false: "false"}[n.Urgent]}, " "))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestMBOClockStartTellsTheLiKa(t *testing.T) {
	c := noticeCase()
	c.Sector = SectorMBO
	got := NoticesFor(Event{Type: EventTicketClockStarted, TicketID: "T1"}, c)
	if len(got) != 1 || got[0].Kind != NoticeStepWaiting || got[0].OrganisationID != "lika-a" {
		t.Fatalf("got %+v", got)
	}
	// The ticket's creation asks an MBO LiKa for its part of the list
	// first: no step of the procedure does.
	for lang, want := range map[string]string{"en": "First upload your part of the list", "nl": "Upload eerst uw deel van de lijst"} {
		nc := NoticeContext{Case: c, Notice: Notice{Kind: NoticeTicketCreated, TicketID: "T1"}, LiKaName: "Uitgeverij Alfa"}
		if m := Compose(lang, nc); !strings.Contains(m.Text, want) {
			t.Errorf("%s: an MBO ticket's creation does not ask for the part: %s", lang, m.Text)
		}
		nc.Case.Sector = SectorVO
		if m := Compose(lang, nc); strings.Contains(m.Text, want) {
			t.Errorf("%s: a VO ticket's creation asks for a part: %s", lang, m.Text)
		}
	}
}

func TestSendAt(t *testing.T) {
	cal := MustCalendar(DefaultCalendarConfig())
	ams := cal.Location()
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, ams) }
	tests := []struct {
		name   string
		t      time.Time
		urgent bool
		want   time.Time
	}{
		{"working hours: at once", at(2026, 11, 24, 10, 0), false, at(2026, 11, 24, 10, 0)},
		{"before 8: that morning", at(2026, 11, 24, 6, 30), false, at(2026, 11, 24, 8, 0)},
		{"evening: next morning", at(2026, 11, 24, 18, 0), false, at(2026, 11, 25, 8, 0)},
		{"Friday night: Monday", at(2026, 11, 27, 22, 0), false, at(2026, 11, 30, 8, 0)},
		{"Sunday afternoon: Monday", at(2026, 11, 22, 16, 0), false, at(2026, 11, 23, 8, 0)},
		{"Christmas Eve evening: after Boxing Day", at(2026, 12, 24, 19, 0), false, at(2026, 12, 28, 8, 0)},
		{"King's Day: the next day", at(2027, 4, 27, 11, 0), false, at(2027, 4, 28, 8, 0)},
		{"urgent at night: at once", at(2026, 11, 28, 3, 0), true, at(2026, 11, 28, 3, 0)},
	}
	for _, tt := range tests {
		if got := cal.SendAt(tt.t, tt.urgent); !got.Equal(tt.want) {
			t.Errorf("%s: SendAt(%s) = %s, want %s", tt.name, tt.t, got.In(ams), tt.want)
		}
	}
}

func TestRecipientWants(t *testing.T) {
	r := Recipient{Email: "a@b.example", EmailOn: true, Muted: []NoticeKind{NoticeCaseOpened, NoticeSLABreach}}
	if r.Wants(NoticeCaseOpened) || !r.Wants(NoticeStepWaiting) {
		t.Error("muting a kind")
	}
	if !r.Wants(NoticeSLABreach) {
		t.Error("a breach must reach everyone with an address, muted or not")
	}
	r.EmailOn = false
	if r.Wants(NoticeStepWaiting) || !r.Wants(NoticeSLABreach) {
		t.Error("e-mail off")
	}
}

func TestComposeEveryKind(t *testing.T) {
	c := noticeCase()
	for _, kind := range NoticeKinds() {
		for _, lang := range []string{"nl", "en"} {
			nc := NoticeContext{Case: c, Notice: Notice{Kind: kind, Step: "3", TicketID: "T1"}, SchoolName: "Lyceum De Linde", LiKaName: "Uitgeverij Alfa",
				StepTitle: "Koppeling", Due: "25-11-2026 17:00", Link: "https://cmr.example/tickets/T1", Organisation: "Distri Noord"}
			m := Compose(lang, nc)
			if !strings.HasPrefix(m.Subject, "[CMR] ") || !strings.Contains(m.Subject, c.ID) {
				t.Errorf("%s/%s subject %q", kind, lang, m.Subject)
			}
			if !strings.Contains(m.Text, nc.Link) || strings.Contains(m.Text, "%!") {
				t.Errorf("%s/%s text %q", kind, lang, m.Text)
			}
			if lang == "nl" && strings.Contains(m.Text, "You receive") || lang == "en" && strings.Contains(m.Text, "U ontvangt") {
				t.Errorf("%s/%s in the wrong language", kind, lang)
			}
		}
		if kind.Title("nl") == "" || kind.Title("en") == "" {
			t.Errorf("%s has no title", kind)
		}
	}
}

func TestWebhookParties(t *testing.T) {
	c := noticeCase()
	if got := WebhookParties(Event{Type: EventStepCompleted, Step: "2"}, c); !slices.Equal(got, []string{"school", "dist", "lika-a", "lika-b", "kn"}) {
		t.Errorf("a case event goes to every party: %v", got)
	}
	if got := WebhookParties(Event{Type: EventTicketClosed, TicketID: "T1"}, c); !slices.Equal(got, []string{"school", "dist", "lika-a", "kn"}) {
		t.Errorf("a ticket event goes to its own LiKa only: %v", got)
	}
	for _, typ := range []string{EventTicketClosed, EventTicketWaived, EventCaseCancelled, EventTicketCancelled} {
		if notify, _ := Notifiable(typ); !notify {
			t.Errorf("%s does not reach the webhooks", typ)
		}
	}
}

// TestStepsByNumber: the procedure's steps go by their number, the steps
// this system adds by their title alone, on the pages and in the notices.
func TestStepsByNumber(t *testing.T) {
	for key, want := range map[string]string{"11": "11", "8a": "8a", "17": "17", "plan.identity": "", "3.advice": "", "elf.rollback": "", "8ab": "", "8A": "", "": ""} {
		if got := StepNumber(key); got != want {
			t.Errorf("StepNumber(%q) = %q, want %q", key, got, want)
		}
	}
	for _, tc := range []struct{ step, lang, want string }{
		{"11", "nl", "Stap 11 wacht op u: Lijst aanleveren."},
		{"11", "en", "Step 11 waits for you: Deliver the list."},
		{"5, 6", "nl", "Stap 5, 6 wacht op u: Lijst aanleveren."}, // two steps merged in one notice
		{"plan.identity", "nl", "Er wacht een stap op u: Lijst aanleveren."},
		{"plan.identity", "en", "A step waits for you: Deliver the list."},
		{"5, plan.freeze", "nl", "Er wacht een stap op u: Lijst aanleveren."},
	} {
		for _, kind := range []NoticeKind{NoticeCaseOpened, NoticeStepWaiting} {
			nc := NoticeContext{Case: Case{CaseHeader: CaseHeader{ID: "01AB-20270715"}}, Notice: Notice{Kind: kind, Step: tc.step}, StepTitle: "Lijst aanleveren", StepTitleEN: "Deliver the list"}
			if m := Compose(tc.lang, nc); !strings.Contains(m.Text, tc.want) {
				t.Errorf("%s %s %s: %q, want %q in it", kind, tc.step, tc.lang, m.Text, tc.want)
			}
		}
	}
	// The final test of MBO has no number: the notice gives none.
	for lang, want := range map[string]string{"nl": "Voer de eindtest uit en meld of die geslaagd is.\n", "en": "Run the final test and report whether it passed.\n"} {
		nc := NoticeContext{Case: Case{CaseHeader: CaseHeader{ID: "03EF-20270901"}}, Notice: Notice{Kind: NoticeTestRequested, Step: "test"}}
		if m := Compose(lang, nc); !strings.Contains(m.Text, want) {
			t.Errorf("test requested, %s: %q", lang, m.Text)
		}
	}
}

// TestStepRef: messages name a step by its number, or by its title.
func TestStepRef(t *testing.T) {
	for _, tc := range []struct {
		d          StepDef
		lang, want string
	}{
		{StepDef{Key: "11", Title: "Lijst", TitleEN: "List"}, "nl", "stap 11"},
		{StepDef{Key: "8a", Title: "Lijst", TitleEN: "List"}, "en", "step 8a"},
		{StepDef{Key: "plan.identity", Title: "Identiteit vaststellen", TitleEN: "Establish the identity"}, "nl", `stap "Identiteit vaststellen"`},
		{StepDef{Key: "plan.identity", Title: "Identiteit vaststellen", TitleEN: "Establish the identity"}, "en", `step "Establish the identity"`},
		{StepDef{Key: "plan.identity"}, "en", "step plan.identity"}, // no title to give
	} {
		if got := tc.d.Ref(tc.lang); got != tc.want {
			t.Errorf("%s in %s: %q, want %q", tc.d.Key, tc.lang, got, tc.want)
		}
	}
}

// TestReturnedToAll: the school's MBO list is locked once every publisher
// has it back, not when none ever got it.
func TestReturnedToAll(t *testing.T) {
	started := time.Date(2027, 6, 1, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		sector  Sector
		tickets []Ticket
		want    bool
	}{
		{"no tickets yet", SectorMBO, nil, false},
		{"one waits", SectorMBO, []Ticket{{State: TicketOpen, ClockStartedAt: &started}, {State: TicketAwaitingList}}, false},
		{"every one returned", SectorMBO, []Ticket{{State: TicketOpen, ClockStartedAt: &started}, {State: TicketClosed, ClockStartedAt: &started}}, true},
		{"returned to one, the other let go", SectorMBO, []Ticket{{State: TicketClosed, ClockStartedAt: &started}, {State: TicketWaived}}, true},
		{"every one let go, none returned", SectorMBO, []Ticket{{State: TicketWaived}, {State: TicketWaived}}, false},
		{"VO", SectorVO, []Ticket{{State: TicketOpen, ClockStartedAt: &started}}, false},
	} {
		if got := (Case{CaseHeader: CaseHeader{Sector: tc.sector}, Tickets: tc.tickets}).ReturnedToAll(); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
