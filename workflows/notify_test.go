package workflows

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/activities"
)

// TestNotifyWaitsForTheWorkingMorning: a notice about something that
// happened on Saturday night is planned (who hears of it) and sent at
// 08:00 on Monday; a delivery that fails is retried; a breach goes out at
// once; webhooks never wait. Both ways: with activity tasks (notices
// started before NotifyInput.Local) and with local activities.
func TestNotifyWaitsForTheWorkingMorning(t *testing.T) {
	ams, _ := time.LoadLocation("Europe/Amsterdam")
	saturdayNight := time.Date(2026, 11, 28, 22, 30, 0, 0, ams)
	monday := time.Date(2026, 11, 30, 8, 0, 0, 0, ams)
	for _, tt := range []struct {
		name   string
		urgent bool
		want   time.Time
		local  bool
	}{{"step waiting", false, monday, false}, {"breach", true, saturdayNight, false},
		{"step waiting, local", false, monday, true}, {"breach, local", true, saturdayNight, true}} {
		t.Run(tt.name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			env.SetStartTime(saturdayNight)
			env.RegisterActivity(&activities.Activities{})
			locally := 0
			env.SetOnLocalActivityStartedListener(func(*activity.Info, context.Context, []any) { locally++ })
			var plannedAt, hooksAt time.Time
			env.OnActivity(a.PlanNotices, mock.Anything, activities.PlanNoticesInput{EventKey: "c#2.1", Channel: cmr.ChannelEmail}).Return(func(_ context.Context, _ activities.PlanNoticesInput) (activities.PlanNoticesResult, error) {
				plannedAt = env.Now()
				return activities.PlanNoticesResult{Deliveries: []activities.DeliveryRef{{ID: "c#2.1/step_waiting/email/u1", Channel: cmr.ChannelEmail}}}, nil
			})
			env.OnActivity(a.PlanNotices, mock.Anything, activities.PlanNoticesInput{EventKey: "c#2.1", Channel: cmr.ChannelWebhook}).Return(func(_ context.Context, _ activities.PlanNoticesInput) (activities.PlanNoticesResult, error) {
				hooksAt = env.Now()
				return activities.PlanNoticesResult{Deliveries: []activities.DeliveryRef{{ID: "c#2.1/step_waiting/webhook/school", Channel: cmr.ChannelWebhook}}}, nil
			})
			attempts := map[string]int{}
			env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.DeliverInput) (activities.DeliverResult, error) {
				attempts[in.Delivery.ID]++
				if in.Delivery.Channel == cmr.ChannelWebhook && attempts[in.Delivery.ID] < 3 {
					return activities.DeliverResult{}, errors.New("receiver answered 503")
				}
				return activities.DeliverResult{Sent: true}, nil
			})
			env.ExecuteWorkflow(NotifyWorkflow, NotifyInput{EventKey: "c#2.1", At: saturdayNight, Urgent: tt.urgent, Calendar: cmr.DefaultCalendarConfig(), Local: tt.local})
			if err := env.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			var res NotifyResult
			if err := env.GetWorkflowResult(&res); err != nil {
				t.Fatal(err)
			}
			if !plannedAt.Equal(tt.want) {
				t.Errorf("e-mail planned at %s, want %s", plannedAt.In(ams), tt.want)
			}
			if !hooksAt.Equal(saturdayNight) {
				t.Errorf("webhooks planned at %s, want at once (%s)", hooksAt.In(ams), saturdayNight)
			}
			// Local: the two plans; deliveries are activity tasks.
			if want := map[bool]int{true: 2}[tt.local]; locally != want {
				t.Errorf("%d local activities run, want %d", locally, want)
			}
			if res.Sent != 2 || res.Failed != 0 || attempts["c#2.1/step_waiting/webhook/school"] != 3 || attempts["c#2.1/step_waiting/email/u1"] != 1 {
				t.Errorf("result %+v, attempts %v", res, attempts)
			}
		})
	}
}

// noticeOn is a test environment for a notice of event c#1.1 at start,
// whose e-mail plan is empty: the tests mock the webhook plan and the
// deliveries.
func noticeOn(start time.Time) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.RegisterActivity(&activities.Activities{})
	env.OnActivity(a.PlanNotices, mock.Anything, activities.PlanNoticesInput{EventKey: "c#1.1", Channel: cmr.ChannelEmail}).Return(activities.PlanNoticesResult{}, nil)
	return env
}

// runNotice runs the notice, with local activities or activity tasks.
func runNotice(env *testsuite.TestWorkflowEnvironment, local bool) (NotifyResult, error) {
	env.ExecuteWorkflow(NotifyWorkflow, NotifyInput{EventKey: "c#1.1", At: env.Now(), Calendar: cmr.DefaultCalendarConfig(), Local: local})
	var res NotifyResult
	err := env.GetWorkflowResult(&res)
	return res, err
}

// TestNotifyGivesUpAfterTheLastAttempt: a receiver that never answers is
// tried DeliverAttempts times, then counted failed; the workflow ends. With
// activity tasks and with local activities alike.
func TestNotifyGivesUpAfterTheLastAttempt(t *testing.T) {
	for _, local := range []bool{false, true} {
		t.Run(fmt.Sprintf("local=%v", local), func(t *testing.T) {
			start := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
			env := noticeOn(start)
			env.OnActivity(a.PlanNotices, mock.Anything, activities.PlanNoticesInput{EventKey: "c#1.1", Channel: cmr.ChannelWebhook}).Return(activities.PlanNoticesResult{Deliveries: []activities.DeliveryRef{{ID: "x", Channel: cmr.ChannelWebhook}}}, nil)
			n := 0
			env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(func(_ context.Context, _ activities.DeliverInput) (activities.DeliverResult, error) {
				n++
				return activities.DeliverResult{}, errors.New("connection refused")
			})
			res, err := runNotice(env, local)
			if err != nil {
				t.Fatal(err)
			}
			if n != activities.DeliverAttempts || res.Failed != 1 {
				t.Errorf("attempts %d (want %d), result %+v", n, activities.DeliverAttempts, res)
			}
			// The attempts keep their backoff (10 s doubling to an hour):
			// about four hours in all, not a burst.
			if took := env.Now().Sub(start); took < 3*time.Hour {
				t.Errorf("gave up after %s, want the backoff's hours", took)
			}
		})
	}
}

// TestNotifyPlanWaitsForTheDatabase: a plan that fails for a while (the
// database down) is retried until it succeeds, with local activities too;
// the notice is not lost.
func TestNotifyPlanWaitsForTheDatabase(t *testing.T) {
	for _, local := range []bool{false, true} {
		t.Run(fmt.Sprintf("local=%v", local), func(t *testing.T) {
			start := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
			env := noticeOn(start)
			failures := 0
			env.OnActivity(a.PlanNotices, mock.Anything, activities.PlanNoticesInput{EventKey: "c#1.1", Channel: cmr.ChannelWebhook}).Return(func(_ context.Context, _ activities.PlanNoticesInput) (activities.PlanNoticesResult, error) {
				// Two minutes: the test environment stops a regular
				// activity after 10 attempts (about five minutes here).
				if env.Now().Sub(start) < 2*time.Minute {
					failures++
					return activities.PlanNoticesResult{}, errors.New("the database is not reachable")
				}
				return activities.PlanNoticesResult{Deliveries: []activities.DeliveryRef{{ID: "x", Channel: cmr.ChannelWebhook}}}, nil
			})
			env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(activities.DeliverResult{Sent: true}, nil)
			res, err := runNotice(env, local)
			if err != nil {
				t.Fatalf("after %d failed plans: %v", failures, err)
			}
			if res.Sent != 1 || failures < 3 {
				t.Errorf("result %+v after %d failed plans", res, failures)
			}
		})
	}
}
