package workflows

import (
	"context"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/activities"
)

// NotifyInput names one event whose notices are to be sent.
type NotifyInput struct {
	EventKey string             `json:"event_key"`
	At       time.Time          `json:"at"`
	Urgent   bool               `json:"urgent,omitempty"`
	Calendar cmr.CalendarConfig `json:"calendar"`
	// Local plans with a local activity (see planAndDeliver).
	// The Announcer sets it for every notice it starts; notices started
	// before it replay with the activity tasks they had. It is carried in
	// the input rather than asked with workflow.GetVersion, whose marker
	// also writes a search attribute: one visibility write more per event.
	Local bool `json:"local,omitempty"`
}

// NotifyResult counts what was delivered and what failed.
type NotifyResult struct {
	Sent   int `json:"sent"`
	Failed int `json:"failed"`
}

// NotifyWorkflowID is the workflow of one event's notices: one per event,
// ever, so an event is never announced twice.
func NotifyWorkflowID(eventKey string) string { return "notify/" + eventKey }

// NotifyWorkflow announces one event: to the parties' webhooks at once,
// and by e-mail in working hours unless it is urgent (a breach); each
// delivery with retries. Events are now announced by their case's
// NoticesWorkflow; this one stays registered for the notices started
// before, which may still wait for a working morning.
func NotifyWorkflow(ctx workflow.Context, in NotifyInput) (NotifyResult, error) {
	cal, err := cmr.NewCalendar(in.Calendar)
	if err != nil {
		return NotifyResult{}, temporal.NewNonRetryableApplicationError("notify calendar: "+err.Error(), string(cmr.KindInvalid), nil)
	}
	sent, failed, err := announceNotice(ctx, cal, Notice{EventKey: in.EventKey, At: in.At, Urgent: in.Urgent}, in.Local)
	return NotifyResult{Sent: sent, Failed: failed}, err
}

// planAndDeliver plans one channel's deliveries and starts each, retried
// with backoff.
//
// Local (NotifyInput.Local): the plan runs in the worker running the
// workflow task instead of as an activity task, a trip through the server
// fewer per plan. It is safe to repeat (a delivery's ID comes from the
// event, kind, channel and recipient), and it sends nothing: a plan run
// again after a lost workflow task plans the same deliveries, none of
// which was started. A NotifyWorkflow takes no updates, so nothing is
// answered before its task is recorded.
func planAndDeliver(ctx workflow.Context, eventKey, channel string, local bool) ([]workflow.Future, error) {
	var plan activities.PlanNoticesResult
	in := activities.PlanNoticesInput{EventKey: eventKey, Channel: channel}
	var planned workflow.Future
	if local {
		planned = workflow.ExecuteLocalActivity(localActivityOptions(ctx), a.PlanNotices, in)
	} else {
		planned = workflow.ExecuteActivity(activityOptions(ctx), a.PlanNotices, in)
	}
	if err := planned.Get(ctx, &plan); err != nil {
		return nil, err
	}
	// Each delivery is an activity task, tried DeliverAttempts times with
	// backoff over about four hours. Not a local activity: a worker killed
	// after the mail went out and before the workflow task was recorded
	// would plan again, and a plan made when the case has moved on drops a
	// delivery it finds unrecorded, so the delivery log would miss a mail
	// that was sent (found by the fault test).
	dctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    10 * time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Hour,
			MaximumAttempts:    activities.DeliverAttempts,
		},
	})
	futures := make([]workflow.Future, len(plan.Deliveries))
	for i, d := range plan.Deliveries {
		futures[i] = workflow.ExecuteActivity(dctx, a.Deliver, activities.DeliverInput{Delivery: d})
	}
	return futures, nil
}

// Announcer hands each notifiable event to its case's NoticesWorkflow;
// the save activities call it after writing.
type Announcer struct {
	Client   client.Client
	Calendar cmr.CalendarConfig
	// Anytime sends every notice at once, also at night and at weekends
	// (demos and tests; CMR_NOTIFY_ANYTIME).
	Anytime bool
}

// Announce signals the notifiable events of one save to their case's
// NoticesWorkflow, starting it where none runs. A retried save signals
// again; see NoticesWorkflow for why that sends nothing twice.
//
// Events were announced by a NotifyWorkflow each before; those still
// running (waiting for the working morning) finish as they were.
func (an *Announcer) Announce(ctx context.Context, events []cmr.Event) error {
	return an.signalNotices(ctx, events)
}
