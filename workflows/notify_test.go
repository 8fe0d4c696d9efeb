package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/activities"
)

// TestNotifyWaitsForTheWorkingMorning: a notice about something that
// happened on Saturday night is planned (who hears of it) and sent at
// 08:00 on Monday; a delivery that fails is retried; a breach goes out at
// once; webhooks never wait.
func TestNotifyWaitsForTheWorkingMorning(t *testing.T) {
	ams, _ := time.LoadLocation("Europe/Amsterdam")
	saturdayNight := time.Date(2026, 11, 28, 22, 30, 0, 0, ams)
	monday := time.Date(2026, 11, 30, 8, 0, 0, 0, ams)
	for _, tt := range []struct {
		name   string
		urgent bool
		want   time.Time
	}{{"step waiting", false, monday}, {"breach", true, saturdayNight}} {
		t.Run(tt.name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			env.SetStartTime(saturdayNight)
			env.RegisterActivity(&activities.Activities{})
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
			env.ExecuteWorkflow(NotifyWorkflow, NotifyInput{EventKey: "c#2.1", At: saturdayNight, Urgent: tt.urgent, Calendar: cmr.DefaultCalendarConfig()})
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
			if res.Sent != 2 || res.Failed != 0 || attempts["c#2.1/step_waiting/webhook/school"] != 3 || attempts["c#2.1/step_waiting/email/u1"] != 1 {
				t.Errorf("result %+v, attempts %v", res, attempts)
			}
		})
	}
}

// TestNotifyGivesUpAfterTheLastAttempt: a receiver that never answers is
// tried DeliverAttempts times, then counted failed; the workflow ends.
func TestNotifyGivesUpAfterTheLastAttempt(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))
	env.RegisterActivity(&activities.Activities{})
	env.OnActivity(a.PlanNotices, mock.Anything, activities.PlanNoticesInput{EventKey: "c#1.1", Channel: cmr.ChannelWebhook}).Return(activities.PlanNoticesResult{Deliveries: []activities.DeliveryRef{{ID: "x", Channel: cmr.ChannelWebhook}}}, nil)
	env.OnActivity(a.PlanNotices, mock.Anything, activities.PlanNoticesInput{EventKey: "c#1.1", Channel: cmr.ChannelEmail}).Return(activities.PlanNoticesResult{}, nil)
	n := 0
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(func(_ context.Context, _ activities.DeliverInput) (activities.DeliverResult, error) {
		n++
		return activities.DeliverResult{}, errors.New("connection refused")
	})
	env.ExecuteWorkflow(NotifyWorkflow, NotifyInput{EventKey: "c#1.1", At: env.Now(), Calendar: cmr.DefaultCalendarConfig()})
	var res NotifyResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if n != activities.DeliverAttempts || res.Failed != 1 {
		t.Errorf("attempts %d (want %d), result %+v", n, activities.DeliverAttempts, res)
	}
}
