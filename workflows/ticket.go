package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/activities"
)

// TicketInput starts a LiKa ticket (VO step 14, MBO step 7).
type TicketInput struct {
	TicketID      string             `json:"ticket_id"`
	CaseID        string             `json:"case_id"`
	LiKaID        string             `json:"lika_id"`
	DistributorID string             `json:"distributor_id"`
	ClockRunning  bool               `json:"clock_running"` // VO: the notification starts the clock
	Calendar      cmr.CalendarConfig `json:"calendar"`
	SLADays       int                `json:"sla_days"`
	// CaseWritesEnd: the ticket hands its last write to its case in its
	// result instead of writing it (see end). The case sets it since
	// ticketEndByCase, so the ticket's code follows its case's: a ticket
	// started by older case code, which would not write it, writes it
	// itself, and older ticket code ignores the field.
	CaseWritesEnd bool `json:"case_writes_end,omitempty"`
}

// TicketResult is how the ticket ended.
type TicketResult struct {
	State cmr.TicketState `json:"state"`
	// Final is the ticket's last write, for its case to make (since
	// ticketEndByCase); nil: the ticket wrote it itself.
	Final *activities.SaveTicketInput `json:"final,omitempty"`
}

type ticketRun struct {
	in      TicketInput
	cal     *cmr.Calendar
	t       cmr.Ticket
	seq     int
	start   bool
	resolve *TicketRequest
	cancel  bool
}

// TicketWorkflow is one LiKa's ticket: it waits for its clock to start
// (MBO: the returned list), warns when one working day is left, marks the
// ticket overdue and escalates to the distributor at the due moment, and
// ends when the LiKa closes it, the distributor waives it or the case is
// cancelled. The case workflow validates every request before signalling.
func TicketWorkflow(ctx workflow.Context, in TicketInput) (TicketResult, error) {
	ctx = activityOptions(ctx)
	cal, err := cmr.NewCalendar(in.Calendar)
	if err != nil {
		return TicketResult{}, temporal.NewNonRetryableApplicationError("ticket calendar: "+err.Error(), string(cmr.KindInvalid), nil)
	}
	if in.SLADays <= 0 {
		in.SLADays = 3
	}
	r := &ticketRun{in: in, cal: cal, t: cmr.Ticket{ID: in.TicketID, CaseID: in.CaseID, LiKaID: in.LiKaID, State: cmr.TicketAwaitingList}}
	r.listen(ctx)

	events := []cmr.Event{r.event(ctx, cmr.EventTicketCreated, nil)}
	if in.ClockRunning {
		events = append(events, r.startClock(ctx))
	}
	if err := r.save(ctx, events...); err != nil {
		return TicketResult{}, err
	}

	for {
		ready := func() bool {
			return r.resolve != nil || r.cancel || (r.start && r.t.State == cmr.TicketAwaitingList)
		}
		if next, typ := r.nextDeadline(); typ != "" {
			wait := next.Sub(workflow.Now(ctx))
			fired := wait <= 0
			if !fired {
				ok, err := workflow.AwaitWithTimeout(ctx, wait, ready)
				if err != nil {
					return TicketResult{}, err
				}
				fired = !ok
			}
			if fired {
				if err := r.deadlinePassed(ctx, typ); err != nil {
					return TicketResult{}, err
				}
				continue
			}
		} else if err := workflow.Await(ctx, ready); err != nil {
			return TicketResult{}, err
		}

		switch {
		case r.cancel:
			r.t.State = cmr.TicketCancelled
			now := workflow.Now(ctx)
			r.t.ResolvedAt = &now
			return r.end(ctx, r.event(ctx, cmr.EventTicketCancelled, nil))
		case r.resolve != nil:
			req := *r.resolve
			now := workflow.Now(ctx)
			r.t.State, r.t.ResolvedAt, r.t.ResolvedBy, r.t.SubmissionID = req.To, &now, &req.Actor, req.SubmissionID
			typ := cmr.EventTicketClosed
			if req.To == cmr.TicketWaived {
				typ = cmr.EventTicketWaived
			}
			e := r.event(ctx, typ, &req.Actor)
			e.SubmissionID = req.SubmissionID
			if r.t.DueAt != nil && now.After(*r.t.DueAt) {
				e.Details = map[string]any{"late": true}
			}
			return r.end(ctx, e)
		default: // the clock starts
			if err := r.save(ctx, r.startClock(ctx)); err != nil {
				return TicketResult{}, err
			}
		}
	}
}

// listen records the case workflow's signals; the main loop acts on them.
func (r *ticketRun) listen(ctx workflow.Context) {
	workflow.Go(ctx, func(ctx workflow.Context) {
		start := workflow.GetSignalChannel(ctx, SignalStartClock)
		resolve := workflow.GetSignalChannel(ctx, SignalResolve)
		cancel := workflow.GetSignalChannel(ctx, SignalCancel)
		for {
			sel := workflow.NewSelector(ctx)
			sel.AddReceive(start, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); r.start = true })
			sel.AddReceive(resolve, func(c workflow.ReceiveChannel, _ bool) {
				var req TicketRequest
				c.Receive(ctx, &req)
				if r.resolve == nil {
					r.resolve = &req
				}
			})
			sel.AddReceive(cancel, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); r.cancel = true })
			sel.Select(ctx)
		}
	})
}

// startClock starts the SLA: due at the end of the SLADays-th working day
// after today; the warning comes one working day earlier.
func (r *ticketRun) startClock(ctx workflow.Context) cmr.Event {
	now := workflow.Now(ctx)
	due := r.cal.Due(now, r.in.SLADays).UTC()
	warn := r.cal.Due(now, r.in.SLADays-1).UTC()
	if r.in.SLADays == 1 {
		warn = now
	}
	r.t.State, r.t.ClockStartedAt, r.t.DueAt, r.t.WarnAt = cmr.TicketOpen, &now, &due, &warn
	e := r.event(ctx, cmr.EventTicketClockStarted, nil)
	e.Details = map[string]any{"due_at": due.Format(time.RFC3339)}
	return e
}

func (r *ticketRun) nextDeadline() (time.Time, string) {
	if r.t.State != cmr.TicketOpen {
		return time.Time{}, ""
	}
	if r.t.WarnedAt == nil {
		return *r.t.WarnAt, cmr.EventTicketSLAWarning
	}
	if r.t.BreachedAt == nil {
		return *r.t.DueAt, cmr.EventTicketOverdue
	}
	return time.Time{}, ""
}

func (r *ticketRun) deadlinePassed(ctx workflow.Context, typ string) error {
	now := workflow.Now(ctx)
	e := r.event(ctx, typ, nil)
	if typ == cmr.EventTicketSLAWarning {
		r.t.WarnedAt = &now
		e.Details = map[string]any{"working_days_left": 1, "due_at": r.t.DueAt.Format(time.RFC3339)}
	} else {
		r.t.BreachedAt = &now
		if r.t.WarnedAt == nil {
			r.t.WarnedAt = &now
		}
		e.Details = map[string]any{"escalated_to": r.in.DistributorID, "due_at": r.t.DueAt.Format(time.RFC3339)}
	}
	return r.save(ctx, e)
}

func (r *ticketRun) event(ctx workflow.Context, typ string, actor *cmr.Actor) cmr.Event {
	return cmr.Event{CaseID: r.in.CaseID, TicketID: r.in.TicketID, Type: typ, Actor: actor, At: workflow.Now(ctx)}
}

// save writes a transition of the ticket and tells the case it is
// written, so that a step or a return waiting for the ticket can answer.
func (r *ticketRun) save(ctx workflow.Context, events ...cmr.Event) error {
	if err := saveProjection(ctx, a.SaveTicket, r.snapshot(events...)); err != nil {
		return err
	}
	r.signalRecorded(ctx)
	return nil
}

// end ends the ticket with its last transition. Started with
// CaseWritesEnd, the ticket hands that write to its case in its result,
// and the case writes it with its own snapshot, which the close or waiver
// answers with for the API to write as well. Otherwise the ticket writes
// it with an activity and signals its case, as before ticketEndByCase.
func (r *ticketRun) end(ctx workflow.Context, events ...cmr.Event) (TicketResult, error) {
	if r.in.CaseWritesEnd {
		final := r.snapshot(events...)
		return TicketResult{State: r.t.State, Final: &final}, nil
	}
	if err := r.save(ctx, events...); err != nil {
		return TicketResult{}, err
	}
	return TicketResult{State: r.t.State}, nil
}

// snapshot is the ticket's next write: the next version, and event keys
// derived from it, so retries are idempotent and replays make the same.
func (r *ticketRun) snapshot(events ...cmr.Event) activities.SaveTicketInput {
	r.seq++
	r.t.Version = r.seq
	for i := range events {
		events[i].Key = fmt.Sprintf("%s#%d.%d", r.in.TicketID, r.seq, i+1)
	}
	return activities.SaveTicketInput{Ticket: r.t, Events: events}
}

// signalRecorded tells the case the ticket's state as written.
func (r *ticketRun) signalRecorded(ctx workflow.Context) {
	if parent := workflow.GetInfo(ctx).ParentWorkflowExecution; parent != nil {
		// Best effort: a case that has ended no longer waits for it.
		_ = workflow.SignalExternalWorkflow(ctx, parent.ID, "", SignalTicketRecorded, TicketRecorded{TicketID: r.t.ID, State: r.t.State}).Get(ctx, nil)
	}
}
