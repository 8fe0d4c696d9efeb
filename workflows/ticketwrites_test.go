package workflows

import (
	"slices"
	"testing"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/activities"
)

// TestSnapshotsCarryUnwrittenTicketEnds: since ticketEndByCase every case
// snapshot carries the ticket ends no SaveCase has written yet, so the
// newest holds every end its state counts, whichever write lands first;
// a written end is dropped; a close overtaken in its workflow task
// answers with the newest snapshot plus its own events.
func TestSnapshotsCarryUnwrittenTicketEnds(t *testing.T) {
	c := &caseRun{in: CaseInput{Header: cmr.CaseHeader{ID: "c"}}, state: &cmr.CaseState{CaseID: "c"}}
	end := func(id string, v int) activities.SaveTicketInput {
		return activities.SaveTicketInput{Ticket: cmr.Ticket{ID: id, Version: v, State: cmr.TicketClosed},
			Events: []cmr.Event{{Key: id + "#end", Type: cmr.EventTicketClosed}}}
	}
	ids := func(in *activities.SaveCaseInput) []string {
		if in == nil {
			return nil
		}
		var out []string
		for _, w := range in.Tickets {
			out = append(out, w.Ticket.ID)
		}
		return out
	}
	// Three tickets end in one workflow task.
	c.ticketWrites = append(c.ticketWrites, end("T1", 3))
	s1 := c.snapshot("", cmr.Event{Type: "x"})
	c.ticketWrites = append(c.ticketWrites, end("T2", 3))
	s2 := c.snapshot("", cmr.Event{Type: "y"})
	c.ticketWrites = append(c.ticketWrites, end("T3", 4))
	s3 := c.snapshot("")
	if got := ids(&s3); !slices.Equal(got, []string{"T1", "T2", "T3"}) {
		t.Errorf("the newest snapshot carries %q, want every unwritten end", got)
	}
	if got := ids(&s2); !slices.Equal(got, []string{"T1", "T2"}) {
		t.Errorf("the second carries %q", got)
	}
	// T1's close answers with the newest, plus its own snapshot's events.
	w := c.answerFor(&s1)
	if w.Version != s3.Version || !slices.Equal(ids(w), []string{"T1", "T2", "T3"}) || len(w.Events) != len(s1.Events)+len(s3.Events) {
		t.Errorf("T1's answer: version %d, tickets %q, %d events", w.Version, ids(w), len(w.Events))
	}
	if w := c.answerFor(&s3); w.Version != s3.Version || len(w.Events) != len(s3.Events) {
		t.Errorf("the newest answers as it is: %+v", w)
	}
	// The second write lands first: T1 and T2 are written; T3 is still
	// carried, also by a snapshot made now.
	c.ticketsWritten(s2.Tickets)
	if got := ids(new(c.snapshot(""))); !slices.Equal(got, []string{"T3"}) {
		t.Errorf("after the second write, a snapshot carries %q, want T3", got)
	}
	// A write of an older version of a ticket does not drop a newer one.
	c.ticketsWritten([]activities.SaveTicketInput{end("T3", 3)})
	c.ticketsWritten(s1.Tickets)
	if got := ids(new(c.snapshot(""))); !slices.Equal(got, []string{"T3"}) {
		t.Errorf("carried %q, want T3", got)
	}
	c.ticketsWritten(s3.Tickets)
	if got := ids(new(c.snapshot(""))); len(got) != 0 {
		t.Errorf("carried %q after every end was written", got)
	}
}
