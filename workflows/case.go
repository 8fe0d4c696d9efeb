package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/activities"
)

var a *activities.Activities

// CaseInput opens a case: what was decided at opening, the parties and the
// procedure plan (fixed at opening, so a later change of the procedure
// never alters a running case).
type CaseInput struct {
	Header   cmr.CaseHeader `json:"header"`
	Parties  cmr.Parties    `json:"parties"`
	Plan     []cmr.StepDef  `json:"plan"`
	OpenedBy cmr.Actor      `json:"opened_by"`
	// SchoolBRIN is the school's institution code, a search attribute.
	SchoolBRIN string `json:"school_brin,omitempty"`
}

// CaseResult is how the case ended.
type CaseResult struct {
	Status cmr.CaseStatus `json:"status"`
}

// caseRun is one running case.
type caseRun struct {
	in       CaseInput
	state    *cmr.CaseState
	version  int
	opened   bool
	children map[string]workflow.ChildWorkflowFuture
	running  int                        // ticket workflows not yet ended
	saving   int                        // projection writes started by saveAsync, not yet done
	recorded map[string]cmr.TicketState // what each ticket last reported written, or ended with
	settled  map[string]bool            // tickets whose end the case has written (or, ticketCallerWrites, started writing)
	// resolving marks tickets a close or waive was accepted for, so a
	// second, concurrent request is refused instead of silently dropped.
	resolving map[string]bool
	// callerWrites: the case was started since callerWrites, so the
	// opening and its updates answer with their snapshot (saveAsync).
	callerWrites bool
	// opening is the opening's snapshot, for the caller that started the case.
	opening *activities.SaveCaseInput
	// answerWithWrite holds, for each ticket whose end the case saved
	// without waiting for the write (ticketCallerWrites), the snapshot
	// made then: its close or waiver answers with it (see answerFor), for
	// the caller to write.
	answerWithWrite map[string]*activities.SaveCaseInput
	// ticketWrites are the last writes of ended tickets (ticketEndByCase)
	// that no SaveCase activity has written yet: every snapshot carries
	// all of them, so the newest always holds every ticket end its case
	// state counts, whichever of two writes running at once lands first.
	ticketWrites []activities.SaveTicketInput
	// latest is the newest snapshot made.
	latest *activities.SaveCaseInput
}

// CaseWorkflow runs one IdP-migration case from opening to completion or
// cancellation. The procedure's steps advance through updates; tickets
// run as child workflows with their own SLA timers.
func CaseWorkflow(ctx workflow.Context, in CaseInput) (CaseResult, error) {
	ctx = activityOptions(ctx)
	c := &caseRun{in: in, children: map[string]workflow.ChildWorkflowFuture{}, recorded: map[string]cmr.TicketState{}, settled: map[string]bool{}, resolving: map[string]bool{},
		answerWithWrite: map[string]*activities.SaveCaseInput{}}
	c.state = cmr.NewCaseState(in.Header.ID, in.Header.Sector, in.Parties, in.Plan, in.OpenedBy, workflow.Now(ctx))
	if err := c.registerHandlers(ctx); err != nil {
		return CaseResult{}, err
	}
	workflow.Go(ctx, func(ctx workflow.Context) {
		ch := workflow.GetSignalChannel(ctx, SignalTicketRecorded)
		for {
			var r TicketRecorded
			ch.Receive(ctx, &r)
			c.recorded[r.TicketID] = r.State
		}
	})

	// Steps 1-2 (VO) or 1 (MBO): the distributor files the case.
	events := []cmr.Event{c.event(ctx, cmr.EventCaseOpened, &in.OpenedBy)}
	for _, p := range c.state.Steps {
		if p.State == cmr.StepDone {
			e := c.event(ctx, cmr.EventStepCompleted, &in.OpenedBy)
			e.Step = p.Key
			events = append(events, e)
		}
	}
	c.callerWrites = workflow.GetVersion(ctx, callerWrites, workflow.DefaultVersion, 1) == 1
	if c.callerWrites {
		c.opening = c.saveAsync(ctx, "", events...)
	} else if err := c.save(ctx, "", events...); err != nil {
		return CaseResult{}, err
	}
	c.opened = true

	// Everything else happens in the update handlers and ticket watchers;
	// the case ends when it is completed or cancelled and its tickets have
	// wound down.
	if err := workflow.Await(ctx, func() bool { return c.state.Status != cmr.CaseOpen }); err != nil {
		return CaseResult{}, err
	}
	c.searchableStatus(ctx)
	if err := workflow.Await(ctx, func() bool { return c.running == 0 && c.saving == 0 && workflow.AllHandlersFinished(ctx) }); err != nil {
		return CaseResult{}, err
	}
	return CaseResult{Status: c.state.Status}, nil
}

// searchableStatus shows the case's final status in the Temporal UI. Cases
// started before this existed replay without it (versioned), and a case
// started without search attributes (not registered on its cluster) skips
// it, since upserting an unknown attribute would fail the workflow task.
func (c *caseRun) searchableStatus(ctx workflow.Context) {
	if workflow.GetVersion(ctx, "search-status", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	if _, ok := workflow.GetTypedSearchAttributes(ctx).GetKeyword(SearchCaseID); !ok {
		return
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, SearchCaseStatus.ValueSet(string(c.state.Status))); err != nil {
		workflow.GetLogger(ctx).Warn("search attribute status", "case", c.in.Header.ID, "error", err)
	}
}

func (c *caseRun) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (cmr.CaseState, error) { return *c.state, nil }); err != nil {
		return err
	}
	handlers := []struct {
		name      string
		handler   any
		validator any
	}{
		{UpdateOpened, c.awaitOpened, nil},
		{UpdateCompleteStep, c.completeStep, func(ctx workflow.Context, r StepRequest) error {
			if d, ok := cmr.FindStep(c.state.Plan, r.Step); ok && d.Kind == cmr.StepTest {
				return refusal(cmr.Errorf(cmr.KindInvalid, "step %s is the final test: report its outcome with passed true or false", r.Step).
					NL("stap %s is de eindtest: geef aan of de test geslaagd is", r.Step))
			}
			return refusal(c.state.CanComplete(r.Actor, r.Step))
		}},
		{UpdateConfirmTest, c.confirmTest, func(ctx workflow.Context, r TestRequest) error {
			return refusal(c.state.CanConfirmTest(r.Actor, r.Passed, r.RedoStep))
		}},
		{UpdateResolveTicket, c.resolveTicket, func(ctx workflow.Context, r TicketRequest) error {
			if r.To != cmr.TicketClosed && r.To != cmr.TicketWaived {
				return refusal(cmr.FieldErrorf("to", "a ticket can be closed or waived, not %q", r.To).
					NL("een ticket kunt u alleen afmelden of laten vervallen, niet %q", r.To))
			}
			if err := c.state.CanResolveTicket(r.Actor, r.TicketID, r.To); err != nil {
				return refusal(err)
			}
			if c.resolving[r.TicketID] {
				return refusal(cmr.Errorf(cmr.KindConflict, "ticket %s is being closed or waived by another request", r.TicketID).
					NL("voor ticket %s loopt al een ander verzoek om het af te melden of te laten vervallen", r.TicketID))
			}
			return nil
		}},
		{UpdateReturnList, c.returnList, func(ctx workflow.Context, r ReturnRequest) error {
			return refusal(c.state.CanReturnList(r.Actor, r.TicketID))
		}},
		{UpdateCancel, c.cancel, func(ctx workflow.Context, r CancelRequest) error {
			return refusal(c.state.CanCancel(r.Actor))
		}},
	}
	for _, h := range handlers {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, h.name, h.handler, workflow.UpdateHandlerOptions{Validator: h.validator}); err != nil {
			return fmt.Errorf("register %s: %w", h.name, err)
		}
	}
	return nil
}

func (c *caseRun) result(reopened []string, written *activities.SaveCaseInput) UpdateResult {
	return UpdateResult{Status: c.state.Status, OpenSteps: c.state.OpenSteps(), Reopened: reopened, Version: c.version, Write: written}
}

// awaitOpened answers once the opening is written, so that the caller that
// started the case can read it right away.
func (c *caseRun) awaitOpened(ctx workflow.Context) (UpdateResult, error) {
	if err := workflow.Await(ctx, func() bool { return c.opened }); err != nil {
		return UpdateResult{}, err
	}
	if c.opening != nil && c.version == c.opening.Version {
		return c.result(nil, c.opening), nil
	}
	return c.result(nil, nil), nil
}

func (c *caseRun) completeStep(ctx workflow.Context, r StepRequest) (UpdateResult, error) {
	eff, err := c.state.Complete(r.Actor, r.Step, r.SubmissionID, workflow.Now(ctx))
	if err != nil {
		return UpdateResult{}, refusal(err)
	}
	e := c.event(ctx, cmr.EventStepCompleted, &r.Actor)
	e.Step, e.SubmissionID = r.Step, r.SubmissionID
	if r.ListID != "" && eff.StartClocks {
		// Recorded with the transition, so only the attempt that went
		// through binds the returns (see ReturnRequest).
		e.Details = map[string]any{"list_id": r.ListID}
	}
	events := []cmr.Event{e}
	if eff.Completed {
		events = append(events, c.event(ctx, cmr.EventCaseCompleted, nil))
	}
	written, err := c.saveForCaller(ctx, "", events...)
	if err != nil {
		return UpdateResult{}, err
	}
	c.applyEffects(ctx, eff)
	// Answer once the tickets are written, so the caller reads them.
	if eff.CreateTickets || eff.StartClocks {
		_, err := workflow.AwaitWithTimeout(ctx, time.Minute, func() bool {
			for _, t := range c.state.Tickets {
				if st, ok := c.recorded[t.ID]; !ok || (eff.StartClocks && st == cmr.TicketAwaitingList) {
					return false
				}
			}
			return true
		})
		if err != nil {
			return UpdateResult{}, err
		}
	}
	return c.result(nil, written), nil
}

func (c *caseRun) confirmTest(ctx workflow.Context, r TestRequest) (UpdateResult, error) {
	eff, err := c.state.ConfirmTest(r.Actor, r.Passed, r.RedoStep, r.SubmissionID, workflow.Now(ctx))
	if err != nil {
		return UpdateResult{}, refusal(err)
	}
	typ := cmr.EventStepCompleted
	if !r.Passed {
		typ = cmr.EventTestFailed
	}
	e := c.event(ctx, typ, &r.Actor)
	e.Step, e.SubmissionID = c.testKey(), r.SubmissionID
	if len(eff.Reopened) > 0 {
		e.Details = map[string]any{"reopened": eff.Reopened}
	}
	events := []cmr.Event{e}
	if eff.Completed {
		events = append(events, c.event(ctx, cmr.EventCaseCompleted, nil))
	}
	written, err := c.saveForCaller(ctx, "", events...)
	if err != nil {
		return UpdateResult{}, err
	}
	return c.result(eff.Reopened, written), nil
}

func (c *caseRun) testKey() string {
	for _, d := range c.state.Plan {
		if d.Kind == cmr.StepTest {
			return d.Key
		}
	}
	return ""
}

// resolveTicket hands the close or waiver to the ticket's workflow and
// answers once the ticket has ended: with the case's snapshot holding the
// ticket's last write (CaseWritesEnd), or, for tickets that write their
// own end, once it is written.
func (c *caseRun) resolveTicket(ctx workflow.Context, r TicketRequest) (UpdateResult, error) {
	child, ok := c.children[r.TicketID]
	if !ok {
		return UpdateResult{}, refusal(cmr.ErrNotFound)
	}
	if c.resolving[r.TicketID] {
		return UpdateResult{}, refusal(cmr.Errorf(cmr.KindConflict, "ticket %s is being closed or waived by another request", r.TicketID).
			NL("voor ticket %s loopt al een ander verzoek om het af te melden of te laten vervallen", r.TicketID))
	}
	c.resolving[r.TicketID] = true
	if err := child.SignalChildWorkflow(ctx, SignalResolve, r).Get(ctx, nil); err != nil {
		return UpdateResult{}, err
	}
	if err := workflow.Await(ctx, func() bool { return c.settled[r.TicketID] }); err != nil {
		return UpdateResult{}, err
	}
	if own, ok := c.answerWithWrite[r.TicketID]; ok {
		delete(c.answerWithWrite, r.TicketID)
		return c.result(nil, c.answerFor(own)), nil
	}
	return c.result(nil, nil), nil
}

// answerFor is the write a ticket's close or waiver answers with: the
// case's newest snapshot, which holds the ticket's end (and, since
// ticketEndByCase, its last write: every snapshot carries the ticket
// writes not yet written). Another ticket's end or a step may have come
// after it in the same workflow task; then the snapshot made when this
// ticket ended (own) is not the newest, and its events are added: the
// rest of it is older. The server has recorded both once the update
// completes, and every write is idempotent.
func (c *caseRun) answerFor(own *activities.SaveCaseInput) *activities.SaveCaseInput {
	if c.latest == nil || own.Version == c.latest.Version {
		return own
	}
	w := *c.latest
	w.Events = append(append([]cmr.Event(nil), own.Events...), c.latest.Events...)
	return &w
}

// returnList returns the completed list to one publisher and answers once
// its ticket has written that its clock runs.
func (c *caseRun) returnList(ctx workflow.Context, r ReturnRequest) (UpdateResult, error) {
	child, ok := c.children[r.TicketID]
	if !ok {
		return UpdateResult{}, refusal(cmr.ErrNotFound)
	}
	eff, err := c.state.ReturnList(r.Actor, r.TicketID, workflow.Now(ctx))
	if err != nil {
		return UpdateResult{}, refusal(err)
	}
	e := c.event(ctx, cmr.EventListReturned, &r.Actor)
	e.TicketID = r.TicketID
	if r.ListID != "" {
		// The audit trail says which version the publisher got, and
		// its downloads read it from there.
		e.Details = map[string]any{"list_id": r.ListID}
	}
	events := []cmr.Event{e}
	if eff.Completed {
		events = append(events, c.event(ctx, cmr.EventCaseCompleted, nil))
	}
	written, err := c.saveForCaller(ctx, "", events...)
	if err != nil {
		return UpdateResult{}, err
	}
	if err := child.SignalChildWorkflow(ctx, SignalStartClock, nil).Get(ctx, nil); err != nil {
		return UpdateResult{}, err
	}
	if _, err := workflow.AwaitWithTimeout(ctx, time.Minute, func() bool {
		st, ok := c.recorded[r.TicketID]
		return ok && st != cmr.TicketAwaitingList
	}); err != nil {
		return UpdateResult{}, err
	}
	return c.result(nil, written), nil
}

func (c *caseRun) cancel(ctx workflow.Context, r CancelRequest) (UpdateResult, error) {
	open := c.state.UnresolvedTickets()
	if err := c.state.Cancel(r.Actor); err != nil {
		return UpdateResult{}, refusal(err)
	}
	e := c.event(ctx, cmr.EventCaseCancelled, &r.Actor)
	e.SubmissionID = r.SubmissionID
	written, err := c.saveForCaller(ctx, r.SubmissionID, e)
	if err != nil {
		return UpdateResult{}, err
	}
	for _, t := range open {
		if child, ok := c.children[t.ID]; ok {
			child.SignalChildWorkflow(ctx, SignalCancel, nil)
		}
	}
	return c.result(nil, written), nil
}

// applyEffects starts ticket workflows (VO 14, MBO 7) and their SLA
// clocks (VO: at once; MBO: when the completed list is returned, 8c).
func (c *caseRun) applyEffects(ctx workflow.Context, eff cmr.Effects) {
	if eff.CreateTickets {
		for _, t := range c.state.Tickets {
			c.startTicket(ctx, t, eff.StartClocks)
		}
		return
	}
	if eff.StartClocks {
		for _, t := range c.state.Tickets {
			if child, ok := c.children[t.ID]; ok {
				child.SignalChildWorkflow(ctx, SignalStartClock, nil)
			}
		}
	}
}

func (c *caseRun) startTicket(ctx workflow.Context, t cmr.TicketProgress, clockRunning bool) {
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: TicketWorkflowID(t.ID)})
	child := workflow.ExecuteChildWorkflow(cctx, TicketWorkflow, TicketInput{
		TicketID: t.ID, CaseID: c.in.Header.ID, LiKaID: t.LiKaID, DistributorID: c.in.Parties.DistributorID,
		ClockRunning: clockRunning, Calendar: c.in.Header.Calendar, SLADays: c.in.Header.SLADays,
		CaseWritesEnd: c.callerWrites && workflow.GetVersion(ctx, ticketEndByCase, workflow.DefaultVersion, 1) == 1,
	})
	c.children[t.ID] = child
	c.running++
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { c.running--; c.settled[t.ID] = true }()
		var res TicketResult
		if err := child.Get(ctx, &res); err != nil {
			workflow.GetLogger(ctx).Error("ticket workflow failed", "ticket", t.ID, "error", err)
			return
		}
		// Its end: since ticketEndByCase the ticket no longer signals it
		// (before, the signal came first, with the same state), and hands
		// its last write to the case's next snapshot.
		c.recorded[t.ID] = res.State
		if res.Final != nil {
			c.ticketWrites = append(c.ticketWrites, *res.Final)
		}
		if c.state.Status != cmr.CaseOpen {
			c.state.TicketResolved(t.ID, res.State, workflow.Now(ctx))
			if res.Final != nil {
				// Cancelled with its case, or closed as the case was
				// cancelled: written with the case's next snapshot, and a
				// close waiting for it answers with that.
				w := c.saveAsync(ctx, "")
				if c.resolving[t.ID] {
					c.answerWithWrite[t.ID] = w
				}
			}
			return
		}
		eff := c.state.TicketResolved(t.ID, res.State, workflow.Now(ctx))
		var events []cmr.Event
		if eff.Completed {
			events = append(events, c.event(ctx, cmr.EventCaseCompleted, nil))
		}
		if c.callerWrites && workflow.GetVersion(ctx, ticketCallerWrites, workflow.DefaultVersion, 1) == 1 {
			c.answerWithWrite[t.ID] = c.saveAsync(ctx, "", events...)
			return
		}
		if err := c.save(ctx, "", events...); err != nil {
			workflow.GetLogger(ctx).Error("save case after ticket", "ticket", t.ID, "error", err)
		}
	})
}

func (c *caseRun) event(ctx workflow.Context, typ string, actor *cmr.Actor) cmr.Event {
	return cmr.Event{CaseID: c.in.Header.ID, Type: typ, Actor: actor, At: workflow.Now(ctx)}
}

// save writes a snapshot of the case and the transition's events. Each
// save has the next version; event keys derive from it, so retries are
// idempotent and replays produce the same keys.
func (c *caseRun) save(ctx workflow.Context, cancelSubmission string, events ...cmr.Event) error {
	in := c.snapshot(cancelSubmission, events...)
	err := c.withPlanIfLost(ctx, saveProjection(ctx, a.SaveCase, in), in, func(full activities.SaveCaseInput) error {
		return saveProjection(ctx, a.SaveCase, full)
	})
	c.ticketsWritten(in.Tickets) // written, or refused for good (see saveAsync)
	return err
}

// withPlanIfLost sends a snapshot again with the case's plan when the
// store could not write it without (activities.PlanNotStored): it holds
// no steps for the case, having lost them, say, in a restore from a
// backup. Every later snapshot would fail the same way, and the case
// could not end. err is the first write's outcome; a history in which the
// store never refused one replays as before.
func (c *caseRun) withPlanIfLost(ctx workflow.Context, err error, in activities.SaveCaseInput, write func(activities.SaveCaseInput) error) error {
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != activities.PlanNotStored {
		return err
	}
	workflow.GetLogger(ctx).Warn("save case: the store has no steps for the case; writing the snapshot with its plan", "case", c.in.Header.ID, "version", in.Version)
	in.State.Plan = c.state.Plan
	return write(in)
}

// ticketsWritten drops ticket writes a SaveCase activity has written (or
// refused for good) from those the next snapshots carry.
func (c *caseRun) ticketsWritten(written []activities.SaveTicketInput) {
	if len(written) == 0 {
		return
	}
	c.ticketWrites = slices.DeleteFunc(c.ticketWrites, func(w activities.SaveTicketInput) bool {
		return slices.ContainsFunc(written, func(x activities.SaveTicketInput) bool {
			return x.Ticket.ID == w.Ticket.ID && x.Ticket.Version == w.Ticket.Version
		})
	})
}

func (c *caseRun) snapshot(cancelSubmission string, events ...cmr.Event) activities.SaveCaseInput {
	c.version++
	for i := range events {
		events[i].Key = fmt.Sprintf("%s#%d.%d", c.in.Header.ID, c.version, i+1)
	}
	in := activities.SaveCaseInput{Header: c.in.Header, State: *c.state, Version: c.version, CancelSubmissionID: cancelSubmission, Events: events,
		Tickets: slices.Clone(c.ticketWrites)}
	if c.version > 1 {
		// The plan is fixed at opening and the first snapshot stored it
		// with the steps: the later ones leave it out (three quarters of a
		// snapshot's bytes, which the engine keeps twice per step: the
		// update's answer and the SaveCase activity's input). Replay does
		// not compare a payload's contents, so no version marker; a store
		// that lost the steps gets the plan again (withPlanIfLost).
		in.State.Plan = nil
	}
	c.latest = &in
	return in
}

// callerWrites is the change from which an update (and the opening)
// answers with the snapshot it made, for the caller (Engine) to write,
// instead of answering only once the SaveCase activity has written it: a
// step then takes one trip through the server (the workflow task) instead
// of three (workflow task, activity task, workflow task). The activity still
// writes it, for when the caller dies first; both writes are idempotent
// by version and event key. The caller writes only what the server has
// recorded as the update's outcome, so the projection never runs ahead of
// the workflow (as local activities inside updates did, see saveProjection).
const callerWrites = "caller-writes"

// ticketCallerWrites is the change from which a ticket closed or waived
// answers, as a step does since callerWrites, with the case's snapshot
// after it for the caller to write, instead of only once the SaveCase
// activity has written it: the LiKa's answer waits for one trip through
// the server fewer (activity task and the workflow task after it). The
// activity still writes it. Cases started before callerWrites keep
// waiting, like their steps.
const ticketCallerWrites = "ticket-caller-writes"

// ticketEndByCase is the change from which the case starts its tickets
// with CaseWritesEnd: a ticket hands its last write to the case in its
// result and ends at once, instead of writing it with an activity and
// signalling the case first; the case's snapshots carry it (ticketWrites)
// and a close or waiver answers with it, for the API to write as well. A
// ticket closed then takes an activity, a signal and three workflow tasks
// fewer. The case decides, not the ticket, so that a ticket started by
// older case code does not hand its end to code that would not write it.
// (An older worker taking over a case whose tickets a newer one started
// would still drop their ends: stop old workers before starting new ones.)
const ticketEndByCase = "ticket-end-by-case"

// saveForCaller saves a transition made in an update handler. In cases
// started since callerWrites it starts the write and returns the snapshot
// for the caller to write at once; before, it waits for the write.
func (c *caseRun) saveForCaller(ctx workflow.Context, cancelSubmission string, events ...cmr.Event) (*activities.SaveCaseInput, error) {
	if !c.callerWrites {
		return nil, c.save(ctx, cancelSubmission, events...)
	}
	return c.saveAsync(ctx, cancelSubmission, events...), nil
}

// saveAsync starts the SaveCase activity for a new snapshot and returns
// the snapshot; the case does not end before the write has (c.saving).
func (c *caseRun) saveAsync(ctx workflow.Context, cancelSubmission string, events ...cmr.Event) *activities.SaveCaseInput {
	in := c.snapshot(cancelSubmission, events...)
	f := workflow.ExecuteActivity(activityOptions(ctx), a.SaveCase, in)
	c.saving++
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { c.saving-- }()
		err := c.withPlanIfLost(ctx, f.Get(ctx, nil), in, func(full activities.SaveCaseInput) error {
			return workflow.ExecuteActivity(activityOptions(ctx), a.SaveCase, full).Get(ctx, nil)
		})
		// Written, or refused for good: a ticket write the store refuses
		// would otherwise ride along in every later snapshot and fail
		// each of them, the case's own writes too.
		c.ticketsWritten(in.Tickets)
		if err != nil {
			// Retried until it succeeds unless the store refused it as
			// invalid, which only a defect can cause.
			workflow.GetLogger(ctx).Error("save case", "case", c.in.Header.ID, "version", in.Version, "tickets", len(in.Tickets), "error", err)
		}
	})
	return &in
}
