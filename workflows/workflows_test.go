package workflows

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/activities"
)

// fakeStore keeps what the activities write, deduplicating events by key
// as the real store does.
type fakeStore struct {
	mu      sync.Mutex
	events  map[string]cmr.Event
	cases   map[string]cmr.CaseState
	tickets map[string]cmr.Ticket
	// snapshots counts the case snapshots written, and withPlan those
	// that carried the case's plan.
	snapshots, withPlan int
}

func newFakeStore() *fakeStore {
	return &fakeStore{events: map[string]cmr.Event{}, cases: map[string]cmr.CaseState{}, tickets: map[string]cmr.Ticket{}}
}

func (f *fakeStore) SaveCase(_ context.Context, _ cmr.CaseHeader, st cmr.CaseState, _ int, _ string, events []cmr.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snapshots++
	if len(st.Plan) > 0 {
		f.withPlan++
	} else {
		// As the real store: the plan stored with the first snapshot
		// stays; a later one cannot come first.
		prev, ok := f.cases[st.CaseID]
		if !ok {
			return fmt.Errorf("case %s: %w", st.CaseID, cmr.ErrPlanNotStored)
		}
		st.Plan = prev.Plan
	}
	f.cases[st.CaseID] = st
	for _, e := range events {
		f.events[e.Key] = e
	}
	return nil
}

func (f *fakeStore) SaveTicket(_ context.Context, t cmr.Ticket, events []cmr.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if old, ok := f.tickets[t.ID]; !ok || old.Version < t.Version {
		f.tickets[t.ID] = t
	}
	for _, e := range events {
		f.events[e.Key] = e
	}
	return nil
}

func (f *fakeStore) eventsOf(typ string) []cmr.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []cmr.Event
	for _, e := range f.events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

var (
	ams         = mustLoc("Europe/Amsterdam")
	school      = cmr.Actor{UserID: "u-school", OrganisationID: "school", Role: cmr.RoleSchool}
	distributor = cmr.Actor{UserID: "u-dist", OrganisationID: "dist", Role: cmr.RoleDistributor}
	kennisnet   = cmr.Actor{UserID: "u-kn", OrganisationID: "kn", Role: cmr.RoleKennisnet}
	parties     = cmr.Parties{SchoolID: "school", DistributorID: "dist", LiKaIDs: []string{"lika1", "lika2"}, KennisnetIDs: []string{"kn"}}
)

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

func actorFor(role cmr.Role) cmr.Actor {
	return map[cmr.Role]cmr.Actor{cmr.RoleSchool: school, cmr.RoleDistributor: distributor, cmr.RoleKennisnet: kennisnet}[role]
}

func lika(id string) cmr.Actor {
	return cmr.Actor{UserID: "u-" + id, OrganisationID: id, Role: cmr.RolePublisher}
}

func caseInput(in cmr.PlanInput) CaseInput {
	return CaseInput{
		Header: cmr.CaseHeader{ID: "00AA-20270715", SchoolID: "school", DistributorID: "dist", Sector: in.Sector,
			Funding: in.Funding, WasWordt: in.WasWordt, Options: in.Options, Calendar: cmr.DefaultCalendarConfig(), SLADays: 3},
		Parties: parties, Plan: cmr.Procedure(in), OpenedBy: distributor,
	}
}

// harness runs a case workflow and performs actions one (workflow) minute
// apart, recording the outcome of each update.
type harness struct {
	t     *testing.T
	env   *testsuite.TestWorkflowEnvironment
	store *fakeStore
	at    time.Duration
}

func newHarness(t *testing.T, start time.Time) *harness {
	return newHarnessWith(t, start, func(f *fakeStore) activities.Store { return f })
}

// newHarnessWith is newHarness with the activities writing through what
// wrap makes of the harness's store (a store that fails at times, say).
func newHarnessWith(t *testing.T, start time.Time, wrap func(*fakeStore) activities.Store) *harness {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	store := newFakeStore()
	env.RegisterWorkflow(CaseWorkflow)
	env.RegisterWorkflow(TicketWorkflow)
	env.RegisterActivity(&activities.Activities{Store: wrap(store)})
	return &harness{t: t, env: env, store: store}
}

// after schedules f at the next action slot, gap after the previous one.
func (h *harness) after(gap time.Duration, f func()) {
	h.at += gap
	h.env.RegisterDelayedCallback(f, h.at)
}

// update sends an update at the next slot; wantKind "" expects success,
// otherwise a rejection of that kind.
func (h *harness) update(gap time.Duration, name string, arg any, wantKind cmr.ErrorKind) {
	h.after(gap, func() {
		h.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
			OnAccept: func() {
				if wantKind != "" {
					h.t.Errorf("%s %+v accepted, want %s refusal", name, arg, wantKind)
				}
			},
			OnReject: func(err error) {
				if got := kindOf(err); got != wantKind {
					h.t.Errorf("%s %+v rejected with %v (%s), want %q", name, arg, err, got, wantKind)
				}
			},
			OnComplete: func(_ any, err error) {
				if err != nil && wantKind == "" {
					h.t.Errorf("%s %+v failed: %v", name, arg, err)
				}
			},
		}, arg)
	})
}

func kindOf(err error) cmr.ErrorKind {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return cmr.ErrorKind(app.Type())
	}
	return ""
}

// driveAll completes every step of the plan in order by its owner, closes
// the tickets when the procedure reaches them, and passes the test.
func (h *harness) driveAll(in CaseInput, gap time.Duration) {
	for _, d := range in.Plan {
		switch {
		case d.DoneAtOpen || d.Kind == cmr.StepAuto:
		case d.Kind == cmr.StepTickets:
			if d.Key == "10" { // MBO 9 and 10 end with the same tickets
				continue
			}
			for i, id := range in.Parties.LiKaIDs {
				h.update(gap, UpdateResolveTicket, TicketRequest{Actor: lika(id), TicketID: cmr.TicketIDFor(in.Header.ID, i+1), To: cmr.TicketClosed}, "")
			}
		case d.Kind == cmr.StepTest:
			h.update(gap, UpdateConfirmTest, TestRequest{Actor: school, Passed: true}, "")
		default:
			h.update(gap, UpdateCompleteStep, StepRequest{Actor: actorFor(d.Owner), Step: d.Key, SubmissionID: "sub-" + d.Key}, "")
		}
	}
}

func (h *harness) run(in CaseInput) CaseResult {
	h.t.Helper()
	h.env.ExecuteWorkflow(CaseWorkflow, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("workflow failed: %v", err)
	}
	var res CaseResult
	if err := h.env.GetWorkflowResult(&res); err != nil {
		h.t.Fatal(err)
	}
	return res
}

func TestVOCaseToCompletion(t *testing.T) {
	in := caseInput(cmr.PlanInput{Sector: cmr.SectorVO, Funding: cmr.FundingELF, Options: cmr.CaseOptions{KeepHistory: true}, WasWordt: cmr.WasWordtSuppliers})
	h := newHarness(t, time.Date(2027, 6, 1, 9, 0, 0, 0, ams))
	// Refusals first: nothing is written for them.
	h.update(time.Minute, UpdateCompleteStep, StepRequest{Actor: school, Step: "plan.identity"}, cmr.KindForbidden)
	h.update(time.Minute, UpdateCompleteStep, StepRequest{Actor: distributor, Step: "14"}, cmr.KindConflict)
	h.update(time.Minute, UpdateCompleteStep, StepRequest{Actor: cmr.Actor{UserID: "x", OrganisationID: "other", Role: cmr.RoleDistributor}, Step: "plan.identity"}, cmr.KindNotFound)
	h.update(time.Minute, UpdateCompleteStep, StepRequest{Actor: distributor, Step: "15"}, cmr.KindConflict)
	h.update(time.Minute, UpdateConfirmTest, TestRequest{Actor: school, Passed: true}, cmr.KindConflict)
	h.update(time.Minute, UpdateResolveTicket, TicketRequest{Actor: lika("lika1"), TicketID: "nope", To: cmr.TicketClosed}, cmr.KindNotFound)
	h.after(time.Minute, func() {
		v, err := h.env.QueryWorkflow(QueryState)
		if err != nil {
			t.Fatal(err)
		}
		var st cmr.CaseState
		if err := v.Get(&st); err != nil || st.CaseID != in.Header.ID || len(st.OpenSteps()) != 1 || st.OpenSteps()[0] != "plan.identity" {
			t.Errorf("query state: %v %+v", err, st.OpenSteps())
		}
	})
	h.driveAll(in, time.Minute)

	if res := h.run(in); res.Status != cmr.CaseCompleted {
		t.Fatalf("status %s", res.Status)
	}
	if n := len(h.store.eventsOf(cmr.EventCaseCompleted)); n != 1 {
		t.Errorf("%d case.completed events, want 1", n)
	}
	if n := len(h.store.eventsOf(cmr.EventTicketClosed)); n != 2 {
		t.Errorf("%d ticket.closed events, want 2", n)
	}
	if n := len(h.store.eventsOf(cmr.EventTicketSLAWarning)); n != 0 {
		t.Errorf("tickets closed in minutes got %d SLA warnings", n)
	}
	// Six refusals wrote nothing: one event per completed step and the
	// opening; none for refused ones.
	for _, e := range h.store.eventsOf(cmr.EventStepCompleted) {
		if e.Actor == nil || (e.Step == "plan.identity" && e.Actor.Role != cmr.RoleDistributor) {
			t.Errorf("unexpected step event %+v", e)
		}
	}
	st := h.store.cases[in.Header.ID]
	if st.Status != cmr.CaseCompleted {
		t.Errorf("projection status %s", st.Status)
	}
	// The plan travels with the opening's snapshot only.
	if h.store.withPlan != 1 || h.store.snapshots < 2 || len(st.Plan) != len(in.Plan) {
		t.Errorf("%d of %d snapshots carried the plan, want the first only; %d of %d steps planned",
			h.store.withPlan, h.store.snapshots, len(st.Plan), len(in.Plan))
	}
}

func TestMBOClockStartsWhenListReturned(t *testing.T) {
	in := caseInput(cmr.PlanInput{Sector: cmr.SectorMBO, Options: cmr.CaseOptions{KeepHistory: true}, WasWordt: cmr.WasWordtSuppliers})
	start := time.Date(2027, 6, 1, 9, 0, 0, 0, ams) // Tuesday
	h := newHarness(t, start)
	for _, k := range []string{"2", "3", "4", "5", "6", "7", "8a", "8b"} {
		d, _ := cmr.FindStep(in.Plan, k)
		// A version named with a step that returns nothing is not
		// recorded (only 8c binds its returns to one).
		h.update(time.Minute, UpdateCompleteStep, StepRequest{Actor: actorFor(d.Owner), Step: k, ListID: "list-" + k}, "")
	}
	// Before the list is returned the LiKa cannot close.
	h.update(time.Minute, UpdateResolveTicket, TicketRequest{Actor: lika("lika1"), TicketID: cmr.TicketIDFor(in.Header.ID, 1), To: cmr.TicketClosed}, cmr.KindConflict)
	// Two days later (Thursday) the distributor returns the completed list.
	h.update(48*time.Hour, UpdateCompleteStep, StepRequest{Actor: distributor, Step: "8c", ListID: "list-8c"}, "")
	h.after(time.Minute, func() {
		for _, e := range h.store.eventsOf(cmr.EventStepCompleted) {
			if id := e.Details["list_id"]; (e.Step == "8c") != (id == "list-8c") || (e.Step != "8c" && id != nil) {
				t.Errorf("step %s completed with list %v; only 8c records the version it returned (list-8c)", e.Step, id)
			}
		}
		tk := h.store.tickets[cmr.TicketIDFor(in.Header.ID, 1)]
		want := time.Date(2027, 6, 8, 17, 0, 0, 0, ams) // Thu 3 June + 3 working days = Tue 8 June
		if tk.State != cmr.TicketOpen || tk.DueAt == nil || !tk.DueAt.Equal(want) {
			t.Errorf("ticket after 8c: state %s due %v, want open due %s", tk.State, tk.DueAt, want)
		}
	})
	for i, id := range in.Parties.LiKaIDs {
		h.update(time.Minute, UpdateResolveTicket, TicketRequest{Actor: lika(id), TicketID: cmr.TicketIDFor(in.Header.ID, i+1), To: cmr.TicketClosed}, "")
	}
	h.update(time.Minute, UpdateCompleteStep, StepRequest{Actor: distributor, Step: "11"}, "")
	h.update(time.Minute, UpdateConfirmTest, TestRequest{Actor: school, Passed: true}, "")
	if res := h.run(in); res.Status != cmr.CaseCompleted {
		t.Fatalf("status %s", res.Status)
	}
}

// voToTickets drives a VO case up to and including step 14.
func voToTickets(h *harness, in CaseInput) {
	for _, d := range in.Plan {
		if d.Key == "15" {
			return
		}
		if !d.DoneAtOpen && d.Kind == cmr.StepHuman {
			h.update(time.Minute, UpdateCompleteStep, StepRequest{Actor: actorFor(d.Owner), Step: d.Key}, "")
		}
	}
}

func TestSLAWarningBreachAndWaive(t *testing.T) {
	in := caseInput(cmr.PlanInput{Sector: cmr.SectorVO, Funding: cmr.FundingELF, Options: cmr.CaseOptions{KeepHistory: true}, WasWordt: cmr.WasWordtSuppliers})
	// Friday 24 April 2026: King's Day (Monday 27) does not count.
	h := newHarness(t, time.Date(2026, 4, 24, 9, 0, 0, 0, ams))
	voToTickets(h, in)
	// Ten days later: both tickets are overdue.
	h.after(10*24*time.Hour, func() {
		warn, over := h.store.eventsOf(cmr.EventTicketSLAWarning), h.store.eventsOf(cmr.EventTicketOverdue)
		if len(warn) != 2 || len(over) != 2 {
			t.Fatalf("got %d warnings and %d breaches, want 2 and 2", len(warn), len(over))
		}
		if want := time.Date(2026, 4, 29, 17, 0, 0, 0, ams); !warn[0].At.Equal(want) {
			t.Errorf("warning at %s, want %s", warn[0].At.In(ams), want)
		}
		if want := time.Date(2026, 4, 30, 17, 0, 0, 0, ams); !over[0].At.Equal(want) {
			t.Errorf("breach at %s, want %s", over[0].At.In(ams), want)
		}
		if over[0].Details["escalated_to"] != "dist" {
			t.Errorf("breach not escalated to the distributor: %+v", over[0].Details)
		}
	})
	h.update(time.Minute, UpdateResolveTicket, TicketRequest{Actor: school, TicketID: cmr.TicketIDFor(in.Header.ID, 1), To: cmr.TicketWaived}, cmr.KindForbidden)
	h.update(time.Minute, UpdateResolveTicket, TicketRequest{Actor: lika("lika2"), TicketID: cmr.TicketIDFor(in.Header.ID, 1), To: cmr.TicketClosed}, cmr.KindNotFound)
	h.update(time.Minute, UpdateResolveTicket, TicketRequest{Actor: distributor, TicketID: cmr.TicketIDFor(in.Header.ID, 1), To: cmr.TicketWaived}, "")
	h.update(time.Minute, UpdateResolveTicket, TicketRequest{Actor: distributor, TicketID: cmr.TicketIDFor(in.Header.ID, 1), To: cmr.TicketWaived}, cmr.KindConflict)
	h.update(time.Minute, UpdateResolveTicket, TicketRequest{Actor: lika("lika2"), TicketID: cmr.TicketIDFor(in.Header.ID, 2), To: cmr.TicketClosed}, "")
	h.update(time.Minute, UpdateCompleteStep, StepRequest{Actor: school, Step: "elf.rollback"}, "")
	h.update(time.Minute, UpdateCompleteStep, StepRequest{Actor: school, Step: "16"}, "")
	h.update(time.Minute, UpdateConfirmTest, TestRequest{Actor: school, Passed: true}, "")
	if res := h.run(in); res.Status != cmr.CaseCompleted {
		t.Fatalf("status %s", res.Status)
	}
	if n := len(h.store.eventsOf(cmr.EventTicketWaived)); n != 1 {
		t.Errorf("%d waived events", n)
	}
	closed := h.store.eventsOf(cmr.EventTicketClosed)
	if len(closed) != 1 || closed[0].Details["late"] != true {
		t.Errorf("late close not recorded as late: %+v", closed)
	}
}

func TestCancelEndsTickets(t *testing.T) {
	in := caseInput(cmr.PlanInput{Sector: cmr.SectorVO, Funding: cmr.FundingELF, Options: cmr.CaseOptions{KeepHistory: true}, WasWordt: cmr.WasWordtSuppliers})
	h := newHarness(t, time.Date(2027, 6, 1, 9, 0, 0, 0, ams))
	voToTickets(h, in)
	h.update(time.Minute, UpdateCancel, CancelRequest{Actor: school}, cmr.KindForbidden)
	h.update(time.Minute, UpdateCancel, CancelRequest{Actor: distributor, SubmissionID: "sub-reason"}, "")
	if res := h.run(in); res.Status != cmr.CaseCancelled {
		t.Fatalf("status %s", res.Status)
	}
	if n := len(h.store.eventsOf(cmr.EventTicketCancelled)); n != 2 {
		t.Errorf("%d tickets cancelled, want 2", n)
	}
	if ev := h.store.eventsOf(cmr.EventCaseCancelled); len(ev) != 1 || ev[0].SubmissionID != "sub-reason" {
		t.Errorf("cancel event: %+v", ev)
	}
}

func TestFailedTestReopensStep(t *testing.T) {
	in := caseInput(cmr.PlanInput{Sector: cmr.SectorVO, Funding: cmr.FundingILF, Options: cmr.CaseOptions{KeepHistory: true}, WasWordt: cmr.WasWordtSuppliers})
	h := newHarness(t, time.Date(2027, 6, 1, 9, 0, 0, 0, ams))
	voToTickets(h, in)
	for i, id := range in.Parties.LiKaIDs {
		h.update(time.Minute, UpdateResolveTicket, TicketRequest{Actor: lika(id), TicketID: cmr.TicketIDFor(in.Header.ID, i+1), To: cmr.TicketClosed}, "")
	}
	h.update(time.Minute, UpdateCompleteStep, StepRequest{Actor: school, Step: "16"}, "")
	h.update(time.Minute, UpdateConfirmTest, TestRequest{Actor: school, Passed: false, RedoStep: "14"}, cmr.KindInvalid)
	h.update(time.Minute, UpdateCompleteStep, StepRequest{Actor: school, Step: "17"}, cmr.KindInvalid)
	h.update(time.Minute, UpdateConfirmTest, TestRequest{Actor: school, Passed: false, RedoStep: "12"}, "")
	h.after(time.Minute, func() {
		st := h.store.cases[in.Header.ID]
		if s, _ := st.Step("12"); s.State != cmr.StepOpen || s.Attempt != 2 {
			t.Errorf("step 12 after failed test: %+v", s)
		}
	})
	h.update(time.Minute, UpdateConfirmTest, TestRequest{Actor: school, Passed: true}, cmr.KindConflict)
	h.update(time.Minute, UpdateCompleteStep, StepRequest{Actor: school, Step: "12"}, "")
	h.update(time.Minute, UpdateConfirmTest, TestRequest{Actor: school, Passed: true}, "")
	if res := h.run(in); res.Status != cmr.CaseCompleted {
		t.Fatalf("status %s", res.Status)
	}
	if ev := h.store.eventsOf(cmr.EventTestFailed); len(ev) != 1 {
		t.Errorf("%d test.failed events", len(ev))
	}
}

func TestConcurrentCloseAndWaive(t *testing.T) {
	in := caseInput(cmr.PlanInput{Sector: cmr.SectorVO, Funding: cmr.FundingELF, Options: cmr.CaseOptions{KeepHistory: true}, WasWordt: cmr.WasWordtSuppliers})
	h := newHarness(t, time.Date(2027, 6, 1, 9, 0, 0, 0, ams))
	voToTickets(h, in)
	id := cmr.TicketIDFor(in.Header.ID, 1)
	var ok, refused int
	h.after(time.Minute, func() {
		for _, r := range []TicketRequest{{Actor: lika("lika1"), TicketID: id, To: cmr.TicketClosed}, {Actor: distributor, TicketID: id, To: cmr.TicketWaived}} {
			h.env.UpdateWorkflow(UpdateResolveTicket, "", &testsuite.TestUpdateCallback{
				OnAccept: func() {},
				OnReject: func(err error) { refused++ },
				OnComplete: func(_ any, err error) {
					if err != nil {
						refused++
					} else {
						ok++
					}
				},
			}, r)
		}
	})
	h.update(time.Minute, UpdateCancel, CancelRequest{Actor: distributor}, "")
	h.run(in)
	if ok != 1 || refused != 1 {
		t.Errorf("close and waive at once: %d succeeded, %d refused; want 1 and 1", ok, refused)
	}
	if n := len(h.store.eventsOf(cmr.EventTicketClosed)) + len(h.store.eventsOf(cmr.EventTicketWaived)); n != 1 {
		t.Errorf("%d close/waive events, want 1", n)
	}
}

func TestMBOListReturnedPerPublisher(t *testing.T) {
	in := caseInput(cmr.PlanInput{Sector: cmr.SectorMBO, Options: cmr.CaseOptions{KeepHistory: true}, WasWordt: cmr.WasWordtSuppliers})
	h := newHarness(t, time.Date(2027, 6, 1, 9, 0, 0, 0, ams)) // Tuesday
	t1, t2 := cmr.TicketIDFor(in.Header.ID, 1), cmr.TicketIDFor(in.Header.ID, 2)
	h.update(time.Minute, UpdateReturnList, ReturnRequest{Actor: distributor, TicketID: t1}, cmr.KindNotFound) // no tickets yet
	for _, k := range []string{"2", "3", "4", "5", "6", "7", "8a"} {
		d, _ := cmr.FindStep(in.Plan, k)
		h.update(time.Minute, UpdateCompleteStep, StepRequest{Actor: actorFor(d.Owner), Step: k}, "")
	}
	h.update(time.Minute, UpdateReturnList, ReturnRequest{Actor: distributor, TicketID: t1}, cmr.KindConflict) // 8b not done
	h.update(time.Minute, UpdateCompleteStep, StepRequest{Actor: school, Step: "8b"}, "")
	h.update(time.Minute, UpdateReturnList, ReturnRequest{Actor: school, TicketID: t1}, cmr.KindForbidden)
	h.update(time.Minute, UpdateReturnList, ReturnRequest{Actor: distributor, TicketID: t1, ListID: "list-1"}, "")
	h.update(time.Minute, UpdateReturnList, ReturnRequest{Actor: distributor, TicketID: t1, ListID: "list-2"}, cmr.KindConflict) // twice
	// A day later (Wednesday) the second publisher gets it.
	h.update(24*time.Hour, UpdateReturnList, ReturnRequest{Actor: distributor, TicketID: t2, ListID: "list-2"}, "")
	h.after(time.Minute, func() {
		d1, d2 := h.store.tickets[t1].DueAt, h.store.tickets[t2].DueAt
		if d1 == nil || d2 == nil || !d1.Equal(time.Date(2027, 6, 4, 17, 0, 0, 0, ams)) || !d2.Equal(time.Date(2027, 6, 7, 17, 0, 0, 0, ams)) {
			t.Errorf("due moments %v and %v, want Fri 4 and Mon 7 June 17:00", d1, d2)
		}
		cs := h.store.cases[in.Header.ID]
		if st, _ := cs.Step("8c"); st.State != cmr.StepDone {
			t.Errorf("8c after returning to every publisher: %s", st.State)
		}
	})
	for i, id := range in.Parties.LiKaIDs {
		h.update(time.Minute, UpdateResolveTicket, TicketRequest{Actor: lika(id), TicketID: cmr.TicketIDFor(in.Header.ID, i+1), To: cmr.TicketClosed}, "")
	}
	h.update(time.Minute, UpdateCompleteStep, StepRequest{Actor: distributor, Step: "11"}, "")
	h.update(time.Minute, UpdateConfirmTest, TestRequest{Actor: school, Passed: true}, "")
	if res := h.run(in); res.Status != cmr.CaseCompleted {
		t.Fatalf("status %s", res.Status)
	}
	got := map[string]any{}
	for _, e := range h.store.eventsOf(cmr.EventListReturned) {
		got[e.TicketID] = e.Details["list_id"]
	}
	if len(got) != 2 || got[t1] != "list-1" || got[t2] != "list-2" {
		t.Errorf("list.returned events name the versions %v, want %s: list-1, %s: list-2", got, t1, t2)
	}
}

// TestUpdateAnswersWithItsWrite: a step's update answers with the snapshot
// it made (for the API to write before it responds), and the workflow's
// activity writes the same snapshot too; the case does not end before
// that write has.
func TestUpdateAnswersWithItsWrite(t *testing.T) {
	in := caseInput(cmr.PlanInput{Sector: cmr.SectorVO, Funding: cmr.FundingELF, Options: cmr.CaseOptions{KeepHistory: true}, WasWordt: cmr.WasWordtSuppliers})
	h := newHarness(t, time.Date(2027, 6, 1, 9, 0, 0, 0, ams))
	var answers []UpdateResult
	send := func(name string, arg any) {
		h.after(time.Minute, func() {
			h.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
				OnAccept: func() {}, OnReject: func(err error) { t.Errorf("%s rejected: %v", name, err) },
				OnComplete: func(res any, err error) {
					if err != nil {
						t.Errorf("%s failed: %v", name, err)
						return
					}
					answers = append(answers, res.(UpdateResult))
				},
			}, arg)
		})
	}
	send(UpdateCompleteStep, StepRequest{Actor: distributor, Step: "plan.identity", SubmissionID: "sub-1"})
	send(UpdateCancel, CancelRequest{Actor: distributor, SubmissionID: "sub-reason"})
	if res := h.run(in); res.Status != cmr.CaseCancelled {
		t.Fatalf("status %s", res.Status)
	}
	if len(answers) != 2 {
		t.Fatalf("%d answers", len(answers))
	}
	step, cancel := answers[0].Write, answers[1].Write
	if step == nil || cancel == nil {
		t.Fatalf("an update answered without its write: %+v", answers)
	}
	identity, _ := step.State.Step("plan.identity")
	if step.Version != 2 || answers[0].Version != 2 || len(step.Events) != 1 || step.Events[0].Key != in.Header.ID+"#2.1" ||
		step.Events[0].SubmissionID != "sub-1" || identity.State != cmr.StepDone {
		t.Errorf("the step's write: %+v", step)
	}
	if cancel.Version != 3 || cancel.CancelSubmissionID != "sub-reason" || cancel.State.Status != cmr.CaseCancelled {
		t.Errorf("the cancellation's write: version %d, submission %q, status %s", cancel.Version, cancel.CancelSubmissionID, cancel.State.Status)
	}
	// The workflow wrote both as well.
	for _, e := range append(step.Events, cancel.Events...) {
		if got, ok := h.store.events[e.Key]; !ok || got.Type != e.Type {
			t.Errorf("event %s (%s) not written by the workflow", e.Key, e.Type)
		}
	}
	if h.store.cases[in.Header.ID].Status != cmr.CaseCancelled {
		t.Errorf("the workflow's last write: %s", h.store.cases[in.Header.ID].Status)
	}
}

// TestSnapshotWithPlanWhenTheStoreLostIt: a store that lost a case's steps
// after its opening (a restore from a backup, say) cannot write the
// snapshots that leave the plan out; the case writes the next one again
// with its plan, and goes on to completion.
func TestSnapshotWithPlanWhenTheStoreLostIt(t *testing.T) {
	in := caseInput(cmr.PlanInput{Sector: cmr.SectorVO, Funding: cmr.FundingELF, Options: cmr.CaseOptions{KeepHistory: true}, WasWordt: cmr.WasWordtSuppliers})
	h := newHarness(t, time.Date(2027, 6, 1, 9, 0, 0, 0, ams))
	lost := false
	h.after(time.Minute, func() {
		h.store.mu.Lock()
		defer h.store.mu.Unlock()
		_, lost = h.store.cases[in.Header.ID]
		delete(h.store.cases, in.Header.ID)
	})
	h.driveAll(in, time.Minute)
	if res := h.run(in); res.Status != cmr.CaseCompleted {
		t.Fatalf("status %s", res.Status)
	}
	st, ok := h.store.cases[in.Header.ID]
	if !lost || !ok || st.Status != cmr.CaseCompleted || len(st.Plan) != len(in.Plan) {
		t.Fatalf("lost after opening: %v; stored at the end: %v, status %s, %d of %d steps planned", lost, ok, st.Status, len(st.Plan), len(in.Plan))
	}
	// The opening and the one sent again carried the plan, no other.
	if h.store.withPlan != 2 {
		t.Errorf("%d snapshots carried the plan, want 2", h.store.withPlan)
	}
}

// TestTicketCloseAnswersWithItsWrite: a ticket closed answers with the
// case's snapshot after it (ticketCallerWrites), for the API to write
// before it responds; the workflow writes it too.
func TestTicketCloseAnswersWithItsWrite(t *testing.T) {
	in := caseInput(cmr.PlanInput{Sector: cmr.SectorVO, Funding: cmr.FundingELF, Options: cmr.CaseOptions{KeepHistory: true}, WasWordt: cmr.WasWordtSuppliers})
	h := newHarness(t, time.Date(2027, 6, 1, 9, 0, 0, 0, ams))
	closes := map[string]UpdateResult{}
	for _, d := range in.Plan {
		switch {
		case d.DoneAtOpen || d.Kind == cmr.StepAuto:
		case d.Kind == cmr.StepTickets:
			for i, id := range in.Parties.LiKaIDs {
				req := TicketRequest{Actor: lika(id), TicketID: cmr.TicketIDFor(in.Header.ID, i+1), To: cmr.TicketClosed}
				// All at once, as LiKas may: each answer still holds its
				// own ticket's end.
				gap := time.Minute
				if i > 0 {
					gap = 0
				}
				h.after(gap, func() {
					h.env.UpdateWorkflow(UpdateResolveTicket, "", &testsuite.TestUpdateCallback{
						OnAccept: func() {}, OnReject: func(err error) { t.Errorf("close %s rejected: %v", req.TicketID, err) },
						OnComplete: func(res any, err error) {
							if err != nil {
								t.Errorf("close %s failed: %v", req.TicketID, err)
								return
							}
							closes[req.TicketID] = res.(UpdateResult)
						},
					}, req)
				})
			}
		case d.Kind == cmr.StepTest:
			h.update(time.Minute, UpdateConfirmTest, TestRequest{Actor: school, Passed: true}, "")
		default:
			h.update(time.Minute, UpdateCompleteStep, StepRequest{Actor: actorFor(d.Owner), Step: d.Key, SubmissionID: "sub-" + d.Key}, "")
		}
	}
	if res := h.run(in); res.Status != cmr.CaseCompleted {
		t.Fatalf("status %s", res.Status)
	}
	if len(closes) != len(in.Parties.LiKaIDs) {
		t.Fatalf("%d closes answered, want %d", len(closes), len(in.Parties.LiKaIDs))
	}
	for id, res := range closes {
		w := res.Write
		if w == nil {
			t.Errorf("close %s answered without the case's write", id)
			continue
		}
		closed := false
		for _, tp := range w.State.Tickets {
			closed = closed || (tp.ID == id && tp.State == cmr.TicketClosed)
		}
		if !closed || w.Version != res.Version {
			t.Errorf("close %s: write version %d (answer %d), ticket closed in it: %v", id, w.Version, res.Version, closed)
		}
		// The ticket's own last write comes with it (ticketEndByCase).
		own := false
		for _, tw := range w.Tickets {
			own = own || (tw.Ticket.ID == id && tw.Ticket.State == cmr.TicketClosed && len(tw.Events) == 1 && tw.Events[0].Type == cmr.EventTicketClosed)
		}
		if !own {
			t.Errorf("close %s answered without the ticket's own write: %+v", id, w.Tickets)
		}
	}
	// Every ticket's end was written, by the case's activity.
	for i := range in.Parties.LiKaIDs {
		tid := cmr.TicketIDFor(in.Header.ID, i+1)
		if tk := h.store.tickets[tid]; tk.State != cmr.TicketClosed {
			t.Errorf("ticket %s stored as %s, want closed", tid, tk.State)
		}
	}
	if n := len(h.store.eventsOf(cmr.EventTicketClosed)); n != len(in.Parties.LiKaIDs) {
		t.Errorf("%d ticket.closed events stored, want %d", n, len(in.Parties.LiKaIDs))
	}
	// The workflow wrote the case after each close as well: its last
	// write has every ticket closed.
	for _, tp := range h.store.cases[in.Header.ID].Tickets {
		if tp.State != cmr.TicketClosed {
			t.Errorf("ticket %s %s in the workflow's last write", tp.ID, tp.State)
		}
	}
}
