package activities_test

import (
	"context"
	"slices"
	"testing"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/activities"
)

// recorder is a store and an announcer that record what they were given,
// in order.
type recorder struct {
	writes    []string
	announced []string
}

func (r *recorder) SaveCase(_ context.Context, _ cmr.CaseHeader, st cmr.CaseState, version int, _ string, events []cmr.Event) error {
	r.writes = append(r.writes, "case "+st.CaseID)
	return nil
}

func (r *recorder) SaveTicket(_ context.Context, t cmr.Ticket, events []cmr.Event) error {
	r.writes = append(r.writes, "ticket "+t.ID)
	return nil
}

func (r *recorder) Announce(_ context.Context, events []cmr.Event) error {
	for _, e := range events {
		r.announced = append(r.announced, e.Key)
	}
	return nil
}

// TestSaveCaseWritesItsTicketsEnds: a case snapshot carrying the last
// writes of its tickets (ticket-end-by-case) writes them before the case,
// whose state already counts them, and announces their events with the
// case's, each once.
func TestSaveCaseWritesItsTicketsEnds(t *testing.T) {
	r := &recorder{}
	a := &activities.Activities{Store: r, Announcer: r}
	in := activities.SaveCaseInput{
		State:   cmr.CaseState{CaseID: "c1"},
		Version: 7,
		Events:  []cmr.Event{{Key: "c1#7.1", CaseID: "c1", Type: cmr.EventCaseCompleted}},
		Tickets: []activities.SaveTicketInput{
			{Ticket: cmr.Ticket{ID: "c1-T1", Version: 3}, Events: []cmr.Event{{Key: "c1-T1#3.1", CaseID: "c1", TicketID: "c1-T1", Type: cmr.EventTicketClosed}}},
			{Ticket: cmr.Ticket{ID: "c1-T2", Version: 4}, Events: []cmr.Event{{Key: "c1-T2#4.1", CaseID: "c1", TicketID: "c1-T2", Type: cmr.EventTicketWaived}}},
		},
	}
	if _, err := a.SaveCase(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if want := []string{"ticket c1-T1", "ticket c1-T2", "case c1"}; !slices.Equal(r.writes, want) {
		t.Errorf("writes %q, want %q", r.writes, want)
	}
	if want := []string{"c1-T1#3.1", "c1-T2#4.1", "c1#7.1"}; !slices.Equal(r.announced, want) {
		t.Errorf("announced %q, want %q", r.announced, want)
	}
}
