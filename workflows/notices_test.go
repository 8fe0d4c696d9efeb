package workflows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/activities"
)

// noticesOn is a test environment for a case's NoticesWorkflow whose plans
// give each event one webhook and one e-mail delivery, recording when each
// was planned and how often each delivery was made.
type noticesOn struct {
	env       *testsuite.TestWorkflowEnvironment
	mu        sync.Mutex
	planned   map[string]time.Time // event key + "/" + channel → when
	plans     map[string]int
	delivered map[string]int
}

func newNoticesOn(start time.Time, failPlan string) *noticesOn {
	var s testsuite.WorkflowTestSuite
	n := &noticesOn{env: s.NewTestWorkflowEnvironment(), planned: map[string]time.Time{}, plans: map[string]int{}, delivered: map[string]int{}}
	n.env.SetStartTime(start)
	n.env.RegisterActivity(&activities.Activities{})
	n.env.OnActivity(a.PlanNotices, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.PlanNoticesInput) (activities.PlanNoticesResult, error) {
		if in.EventKey == failPlan {
			return activities.PlanNoticesResult{}, temporal.NewNonRetryableApplicationError("event not found", string(cmr.KindNotFound), nil)
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		k := in.EventKey + "/" + in.Channel
		n.planned[k] = n.env.Now()
		n.plans[k]++
		return activities.PlanNoticesResult{Deliveries: []activities.DeliveryRef{{ID: k, EventKey: in.EventKey, Channel: in.Channel}}}, nil
	})
	n.env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.DeliverInput) (activities.DeliverResult, error) {
		n.mu.Lock()
		defer n.mu.Unlock()
		n.delivered[in.Delivery.ID]++
		return activities.DeliverResult{Sent: true}, nil
	})
	return n
}

func (n *noticesOn) signalAt(after time.Duration, notices ...Notice) {
	n.env.RegisterDelayedCallback(func() {
		n.env.SignalWorkflow(SignalNotices, NoticesSignal{Notices: notices})
	}, after)
}

func (n *noticesOn) run(t *testing.T) NoticesResult {
	t.Helper()
	n.env.ExecuteWorkflow(NoticesWorkflow, NoticesInput{CaseID: "c", Calendar: cmr.DefaultCalendarConfig()})
	if err := n.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res NoticesResult
	if err := n.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

// TestNoticesOfACase: one workflow announces the case's events as they
// come: webhooks at once, e-mail in the working morning unless urgent, an
// event signalled twice (a retried save) once, and it ends when the case
// is over and its notices are sent, the e-mail still waiting included.
func TestNoticesOfACase(t *testing.T) {
	ams, _ := time.LoadLocation("Europe/Amsterdam")
	saturdayNight := time.Date(2026, 11, 28, 22, 30, 0, 0, ams)
	monday := time.Date(2026, 11, 30, 8, 0, 0, 0, ams)
	n := newNoticesOn(saturdayNight, "")
	n.signalAt(0, Notice{EventKey: "c#2.1", At: saturdayNight, First: true}, Notice{EventKey: "c-T1#3.1", At: saturdayNight, Urgent: true})
	n.signalAt(time.Minute, Notice{EventKey: "c-T1#3.1", At: saturdayNight, Urgent: true})
	n.signalAt(time.Hour, Notice{EventKey: "c#9.1", At: saturdayNight.Add(time.Hour), Last: true})
	res := n.run(t)

	want := map[string]time.Time{
		"c#2.1/webhook": saturdayNight, "c#2.1/email": monday,
		"c-T1#3.1/webhook": saturdayNight, "c-T1#3.1/email": saturdayNight,
		"c#9.1/webhook": saturdayNight.Add(time.Hour), "c#9.1/email": monday,
	}
	for k, at := range want {
		if got := n.planned[k]; !got.Equal(at) {
			t.Errorf("%s planned at %s, want %s", k, got.In(ams), at.In(ams))
		}
		if n.plans[k] != 1 || n.delivered[k] != 1 {
			t.Errorf("%s planned %d and delivered %d times, want once", k, n.plans[k], n.delivered[k])
		}
	}
	if len(n.planned) != len(want) {
		t.Errorf("planned %v, want %d plans", n.planned, len(want))
	}
	if res != (NoticesResult{Events: 3, Sent: 6}) {
		t.Errorf("result %+v", res)
	}
	if end := n.env.Now(); !end.Equal(monday) {
		t.Errorf("ended at %s, want when the last e-mail went out (%s)", end.In(ams), monday.In(ams))
	}
}

// TestNoticesEndWhenIdle: a running case's notices wait for its next event
// a week, then end (the next event starts a new run); an event that cannot
// be planned is counted failed and the others still go out.
func TestNoticesEndWhenIdle(t *testing.T) {
	start := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	n := newNoticesOn(start, "c#1.1")
	n.signalAt(0, Notice{EventKey: "c#1.1", At: start, First: true}, Notice{EventKey: "c#2.1", At: start})
	n.signalAt(3*24*time.Hour, Notice{EventKey: "c#3.1", At: start.Add(3 * 24 * time.Hour)})
	res := n.run(t)
	if res != (NoticesResult{Events: 3, Sent: 4, Failed: 1}) {
		t.Errorf("result %+v", res)
	}
	if n.delivered["c#3.1/email"] != 1 || n.delivered["c#2.1/webhook"] != 1 {
		t.Errorf("delivered %v", n.delivered)
	}
	if took, want := n.env.Now().Sub(start), 3*24*time.Hour+noticesIdle; took != want {
		t.Errorf("ended after %s, want %s (the last event and a week idle)", took, want)
	}
}

// TestNoticesContinueAsNew: when Temporal suggests it, an idle run of a
// running case continues as new and carries the events it announced, so a
// retried save's signal in the next run is not announced again.
func TestNoticesContinueAsNew(t *testing.T) {
	start := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	n := newNoticesOn(start, "")
	n.env.SetContinueAsNewSuggested(true)
	n.signalAt(0, Notice{EventKey: "c#1.1", At: start, First: true})
	n.env.ExecuteWorkflow(NoticesWorkflow, NoticesInput{CaseID: "c", Calendar: cmr.DefaultCalendarConfig(), Seen: []string{"c#0.1"}})
	var cont *workflow.ContinueAsNewError
	if err := n.env.GetWorkflowError(); !errors.As(err, &cont) {
		t.Fatalf("want a continue-as-new, got %v", err)
	}
	var next NoticesInput
	if err := converter.GetDefaultDataConverter().FromPayloads(cont.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.CaseID != "c" || next.Over || !next.Lingers || strings.Join(next.Seen, " ") != "c#0.1 c#1.1" {
		t.Errorf("carried over %+v", next)
	}
	if n.delivered["c#1.1/webhook"] != 1 || n.delivered["c#1.1/email"] != 1 {
		t.Errorf("delivered %v before continuing", n.delivered)
	}
}

// TestNoticesEndAfterTheTicketsCancelled: a case cancelled with open
// tickets signals their cancellations after its own; they end the run as
// the case's own last event does, not a week later.
func TestNoticesEndAfterTheTicketsCancelled(t *testing.T) {
	start := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	n := newNoticesOn(start, "")
	n.signalAt(0, Notice{EventKey: "c#1.1", At: start, First: true})
	n.signalAt(time.Hour, Notice{EventKey: "c-T1#2.1", At: start.Add(time.Hour), Last: true})
	res := n.run(t)
	if res.Events != 2 || res.Sent != 4 {
		t.Errorf("result %+v", res)
	}
	if took := n.env.Now().Sub(start); took != time.Hour {
		t.Errorf("ended after %s, want at the ticket's cancellation", took)
	}
}

// TestNoticesByCase: a save's notifiable events go to their case's
// workflow in one signal; an overdue ticket is urgent, and the case's
// completion, cancellation and its tickets' cancellations are its last.
func TestNoticesByCase(t *testing.T) {
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	an := &Announcer{}
	order, byCase := an.noticesByCase([]cmr.Event{
		{Key: "b#1.1", CaseID: "b", Type: cmr.EventCaseOpened, At: at},
		{Key: "a-T1#4.1", CaseID: "a", Type: cmr.EventTicketOverdue, At: at},
		{Key: "b#1.2", CaseID: "b", Type: "list.uploaded", At: at},
		{Key: "a-T2#3.1", CaseID: "a", Type: cmr.EventTicketCancelled, At: at},
		{Key: "b#2.1", CaseID: "b", Type: cmr.EventCaseCancelled, At: at},
		{Key: "a#7.1", CaseID: "a", Type: cmr.EventCaseCompleted, At: at},
	})
	if strings.Join(order, " ") != "b a" {
		t.Fatalf("cases in order %v", order)
	}
	want := map[string][]Notice{
		"b": {{EventKey: "b#1.1", At: at, First: true}, {EventKey: "b#2.1", At: at, Last: true}},
		"a": {{EventKey: "a-T1#4.1", At: at, Urgent: true}, {EventKey: "a-T2#3.1", At: at, Last: true}, {EventKey: "a#7.1", At: at, Last: true}},
	}
	for id, w := range want {
		if got := byCase[id].Notices; fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("case %s: %v, want %v", id, got, w)
		}
	}
}

// TestNoticesOfALateRun: a run that did not take the case's opening (an
// event after the case's last, a retried save) ends when its notices are
// done instead of waiting a week.
func TestNoticesOfALateRun(t *testing.T) {
	start := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	n := newNoticesOn(start, "")
	n.signalAt(0, Notice{EventKey: "c#5.1", At: start})
	res := n.run(t)
	if res.Events != 1 || res.Sent != 2 {
		t.Errorf("result %+v", res)
	}
	if took := n.env.Now().Sub(start); took != 0 {
		t.Errorf("ended after %s, want at once", took)
	}
}
