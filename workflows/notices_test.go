package workflows

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

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
	n.signalAt(0, Notice{EventKey: "c#2.1", At: saturdayNight}, Notice{EventKey: "c-T1#3.1", At: saturdayNight, Urgent: true})
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
	n.signalAt(0, Notice{EventKey: "c#1.1", At: start}, Notice{EventKey: "c#2.1", At: start})
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
