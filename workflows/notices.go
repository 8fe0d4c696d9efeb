package workflows

import (
	"context"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/cmr-idp/cmr"
)

// SignalNotices brings a case's notifiable events to its NoticesWorkflow.
const SignalNotices = "notices"

// Notice is one event to announce: IDs and times only.
type Notice struct {
	EventKey string    `json:"event_key"`
	At       time.Time `json:"at"`
	Urgent   bool      `json:"urgent,omitempty"`
	// Last marks an event after which the case has nothing more to
	// announce (it completed or was cancelled).
	Last bool `json:"last,omitempty"`
	// First marks the case's opening: the run that takes it waits for the
	// case's next events (see NoticesWorkflow).
	First bool `json:"first,omitempty"`
}

// NoticesSignal carries the notifiable events of one save.
type NoticesSignal struct {
	Notices []Notice `json:"notices"`
}

// NoticesInput names the case whose events are announced.
type NoticesInput struct {
	CaseID   string             `json:"case_id"`
	Calendar cmr.CalendarConfig `json:"calendar"`
	// Over is carried over a continue-as-new: the case's last event was
	// announced.
	Over bool `json:"over,omitempty"`
	// Lingers is carried over a continue-as-new: this run took the case's
	// opening.
	Lingers bool `json:"lingers,omitempty"`
	// Seen are the events announced by the runs before a continue-as-new.
	Seen []string `json:"seen,omitempty"`
}

// NoticesResult counts what this run delivered and what failed.
type NoticesResult struct {
	Events int `json:"events"`
	Sent   int `json:"sent"`
	Failed int `json:"failed"`
}

// NoticesWorkflowID is the workflow announcing one case's events.
func NoticesWorkflowID(caseID string) string { return "notices/" + caseID }

// noticesIdle is how long a NoticesWorkflow waits for more events before it
// ends while its case is still running; a later event starts a new run.
const noticesIdle = 7 * 24 * time.Hour

// NoticesWorkflow announces a case's events, each as NotifyWorkflow
// announced one: to the parties' webhooks at once, by e-mail in working
// hours unless urgent, each delivery with retries.
//
// Why one workflow per case and not per event: a case with ten LiKas has
// about 37 notifiable events, and starting and ending a workflow for each
// (with their visibility writes) cost the embedded server about as much as
// the case and its tickets themselves. Here each save adds one signal to a
// workflow that is running already.
//
// A retried save may signal an event again: it is announced once by a
// run and the runs it continued, and a delivery marked sent is not sent
// again (its ID comes from the event, kind, channel and recipient).
func NoticesWorkflow(ctx workflow.Context, in NoticesInput) (NoticesResult, error) {
	cal, err := cmr.NewCalendar(in.Calendar)
	if err != nil {
		return NoticesResult{}, temporal.NewNonRetryableApplicationError("notices calendar: "+err.Error(), string(cmr.KindInvalid), nil)
	}
	signals := workflow.GetSignalChannel(ctx, SignalNotices)
	var (
		res     NoticesResult
		seen    = map[string]bool{}
		running int
	)
	for _, key := range in.Seen {
		seen[key] = true
	}
	take := func(s NoticesSignal) {
		for _, n := range s.Notices {
			in.Over = in.Over || n.Last
			in.Lingers = in.Lingers || n.First
			if seen[n.EventKey] {
				continue
			}
			seen[n.EventKey] = true
			in.Seen = append(in.Seen, n.EventKey)
			res.Events++
			running++
			workflow.Go(ctx, func(ctx workflow.Context) {
				defer func() { running-- }()
				sent, failed, err := announceNotice(ctx, cal, n, true)
				res.Sent += sent
				res.Failed += failed
				if err != nil {
					// Only an error no retry can mend ends here (an event
					// that is not in the database): the case's other
					// notices go on.
					res.Failed++
					workflow.GetLogger(ctx).Error("notice not planned", "event", n.EventKey, "error", err)
				}
			})
		}
	}
	receive := func() bool {
		var s NoticesSignal
		if !signals.ReceiveAsync(&s) {
			return false
		}
		take(s)
		return true
	}
	for {
		// Take every event that has come, then wait until the notices
		// taken are done or another event comes.
		for receive() {
		}
		if err := workflow.Await(ctx, func() bool { return running == 0 || signals.Len() > 0 }); err != nil {
			return res, err
		}
		if signals.Len() > 0 || running > 0 {
			continue
		}
		// Idle. A case that is over ends its notices now; a running one
		// waits for its next event, for a while, and a later event starts
		// a new run. Only the run that took the case's opening waits: a
		// later one may have come after the case ended (a retried save,
		// a ticket's event written after its case's last), and would
		// otherwise wait a week for nothing.
		if in.Over || !in.Lingers {
			return res, nil
		}
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return res, workflow.NewContinueAsNewError(ctx, NoticesWorkflow, in)
		}
		// The idle timer is cancelled when an event comes: left running, each
		// would wake the workflow a week later for nothing.
		idleCtx, cancel := workflow.WithCancel(ctx)
		ok, err := workflow.AwaitWithTimeout(idleCtx, noticesIdle, func() bool { return signals.Len() > 0 })
		cancel()
		if err != nil {
			return res, err
		}
		if !ok && signals.Len() == 0 {
			return res, nil
		}
	}
}

// announceNotice sends one event's notices: webhooks at once, as they
// serve the parties' systems; people by e-mail in working hours unless it
// is urgent, and who is e-mailed is decided then, so a step done in the
// meantime is not announced. Local plans with local activities (see
// planAndDeliver).
func announceNotice(ctx workflow.Context, cal *cmr.Calendar, n Notice, local bool) (sent, failed int, err error) {
	webhooks, err := planAndDeliver(ctx, n.EventKey, cmr.ChannelWebhook, local)
	if err != nil {
		return 0, 0, err
	}
	if wait := cal.SendAt(n.At, n.Urgent).Sub(workflow.Now(ctx)); wait > 0 {
		if err := workflow.Sleep(ctx, wait); err != nil {
			return 0, 0, err
		}
	}
	mails, err := planAndDeliver(ctx, n.EventKey, cmr.ChannelEmail, local)
	if err != nil {
		return 0, 0, err
	}
	for _, f := range append(webhooks, mails...) {
		if f.Get(ctx, nil) != nil {
			failed++
			continue
		}
		sent++
	}
	return sent, failed, nil
}

// signalNotices hands the notifiable events of one save to their cases'
// NoticesWorkflows, starting one where none runs.
func (an *Announcer) signalNotices(ctx context.Context, events []cmr.Event) error {
	order, byCase := an.noticesByCase(events)
	for _, caseID := range order {
		_, err := an.Client.SignalWithStartWorkflow(ctx, NoticesWorkflowID(caseID), SignalNotices, *byCase[caseID], client.StartWorkflowOptions{
			ID:                    NoticesWorkflowID(caseID),
			TaskQueue:             TaskQueue,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		}, NoticesWorkflow, NoticesInput{CaseID: caseID, Calendar: an.Calendar})
		if err != nil {
			return err
		}
	}
	return nil
}

// noticesByCase groups the notifiable events by case, in the order their
// cases first appear.
func (an *Announcer) noticesByCase(events []cmr.Event) ([]string, map[string]*NoticesSignal) {
	byCase := map[string]*NoticesSignal{}
	var order []string
	for _, e := range events {
		notify, urgent := cmr.Notifiable(e.Type)
		if !notify {
			continue
		}
		s := byCase[e.CaseID]
		if s == nil {
			s = &NoticesSignal{}
			byCase[e.CaseID] = s
			order = append(order, e.CaseID)
		}
		s.Notices = append(s.Notices, Notice{EventKey: e.Key, At: e.At, Urgent: urgent || an.Anytime,
			// A ticket is cancelled only with its case, after the case's
			// own event: with it the case's notices are over too.
			Last:  e.Type == cmr.EventCaseCompleted || e.Type == cmr.EventCaseCancelled || e.Type == cmr.EventTicketCancelled,
			First: e.Type == cmr.EventCaseOpened})
	}
	return order, byCase
}
