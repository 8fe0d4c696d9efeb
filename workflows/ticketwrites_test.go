package workflows

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

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

// TestCloseRacingCancelAnswersWithItsWrite: a close accepted just before
// the case is cancelled ends its ticket after the case is no longer open;
// it still answers with the snapshot holding the ticket's last write, so
// the API writes it before it answers.
func TestCloseRacingCancelAnswersWithItsWrite(t *testing.T) {
	in := caseInput(cmr.PlanInput{Sector: cmr.SectorVO, Funding: cmr.FundingELF, Options: cmr.CaseOptions{KeepHistory: true}, WasWordt: cmr.WasWordtSuppliers})
	h := newHarness(t, time.Date(2027, 6, 1, 9, 0, 0, 0, ams))
	voToTickets(h, in)
	tid := cmr.TicketIDFor(in.Header.ID, 1)
	var answer *UpdateResult
	h.after(time.Minute, func() {
		h.env.UpdateWorkflow(UpdateResolveTicket, "", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { t.Errorf("close rejected: %v", err) },
			OnComplete: func(res any, err error) {
				if err != nil {
					t.Errorf("close failed: %v", err)
					return
				}
				r := res.(UpdateResult)
				answer = &r
			},
		}, TicketRequest{Actor: lika("lika1"), TicketID: tid, To: cmr.TicketClosed})
	})
	h.update(0, UpdateCancel, CancelRequest{Actor: distributor, SubmissionID: "sub-reason"}, "")
	if res := h.run(in); res.Status != cmr.CaseCancelled {
		t.Fatalf("status %s", res.Status)
	}
	if answer == nil {
		t.Fatal("the close was not answered")
	}
	if answer.Write == nil {
		t.Fatal("the close answered without a write")
	}
	found := false
	for _, w := range answer.Write.Tickets {
		found = found || (w.Ticket.ID == tid && (w.Ticket.State == cmr.TicketClosed || w.Ticket.State == cmr.TicketCancelled))
	}
	if !found {
		t.Errorf("the close's write holds no end of %s: %+v", tid, answer.Write.Tickets)
	}
	if tk := h.store.tickets[tid]; tk.State != cmr.TicketClosed && tk.State != cmr.TicketCancelled {
		t.Errorf("ticket stored as %s", tk.State)
	}
}

// flakyTickets is a fakeStore whose first writes of one ticket's end
// fail as a database restarting would, so the SaveCase activities
// carrying that end are retried; it logs the ends it took, in order.
type flakyTickets struct {
	*fakeStore
	ticket   string // whose end fails
	fail     int    // writes of its end still to fail
	failures int    // writes of its end failed
	ends     []string
}

func (f *flakyTickets) SaveTicket(ctx context.Context, t cmr.Ticket, events []cmr.Event) error {
	f.mu.Lock()
	if t.State != cmr.TicketClosed {
		f.mu.Unlock()
		return f.fakeStore.SaveTicket(ctx, t, events)
	}
	if t.ID == f.ticket && f.fail > 0 {
		f.fail--
		f.failures++
		f.mu.Unlock()
		return errors.New("connection refused")
	}
	f.ends = append(f.ends, t.ID)
	f.mu.Unlock()
	return f.fakeStore.SaveTicket(ctx, t, events)
}

// TestTicketEndsSurviveFailingSaves: the first ticket's end cannot be
// written for about two minutes (its first eight attempts fail, retried
// after 1, 2, 4 … s);
// the second ticket closes a minute after the first, so its snapshot
// carries the first's end as well. Both ends are written once, with the
// same event keys, the first's by a SaveCase that also wrote the
// second's, and the case completes.
func TestTicketEndsSurviveFailingSaves(t *testing.T) {
	in := caseInput(cmr.PlanInput{Sector: cmr.SectorVO, Funding: cmr.FundingELF, Options: cmr.CaseOptions{KeepHistory: true}, WasWordt: cmr.WasWordtSuppliers})
	t1, t2 := cmr.TicketIDFor(in.Header.ID, 1), cmr.TicketIDFor(in.Header.ID, 2)
	const fail = 8
	flaky := &flakyTickets{ticket: t1, fail: fail}
	h := newHarnessWith(t, time.Date(2027, 6, 1, 9, 0, 0, 0, ams), func(f *fakeStore) activities.Store {
		flaky.fakeStore = f
		return flaky
	})
	h.driveAll(in, time.Minute)
	if res := h.run(in); res.Status != cmr.CaseCompleted {
		t.Fatalf("status %s", res.Status)
	}
	if flaky.failures != fail {
		t.Fatalf("%d writes of %s's end failed, want %d: the test did not exercise the retries", flaky.failures, t1, fail)
	}
	// A SaveCase writes its tickets' ends in order, then the case: T1's
	// end right before T2's is a snapshot made after T2 closed carrying
	// T1's end, which was not written yet.
	carried := false
	for i := 1; i < len(flaky.ends); i++ {
		carried = carried || (flaky.ends[i-1] == t1 && flaky.ends[i] == t2)
	}
	if !carried {
		t.Errorf("no write carried %s's end with %s's: ends written %q", t1, t2, flaky.ends)
	}
	for _, id := range []string{t1, t2} {
		if tk, ok := h.store.tickets[id]; !ok || tk.State != cmr.TicketClosed {
			t.Errorf("ticket %s stored as %+v, want closed", id, tk)
		}
	}
	if ev := h.store.eventsOf(cmr.EventTicketClosed); len(ev) != 2 {
		t.Errorf("%d ticket-closed events, want one per ticket: %+v", len(ev), ev)
	}
	if st := h.store.cases[in.Header.ID]; st.Status != cmr.CaseCompleted {
		t.Errorf("case stored as %s, want completed", st.Status)
	}
}
