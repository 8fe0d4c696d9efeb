package cmr_test

import (
	"testing"
	"time"

	"github.com/cmr-idp/cmr"
)

var rpZone = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		panic(err)
	}
	return loc
}()

// rpAt is a moment in Amsterdam, "2006-01-02 15:04".
func rpAt(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, rpZone)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func rpPtr(t time.Time) *time.Time { return &t }

func rpDate(s string) time.Time {
	d, err := time.Parse(cmr.DateLayout, s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestWorkingDaysToClose(t *testing.T) {
	cal := cmr.MustCalendar(cmr.DefaultCalendarConfig())
	for _, tt := range []struct {
		name, start, closed string
		want                int
	}{
		{"closed the same day", "2026-11-16 10:00", "2026-11-16 15:00", 0},
		{"the next working day", "2026-11-16 10:00", "2026-11-17 09:00", 1},
		{"Friday to Monday is one working day, not three days", "2026-11-20 10:00", "2026-11-23 09:00", 1},
		{"closed on Saturday", "2026-11-20 10:00", "2026-11-21 11:00", 0},
		{"clock started on Saturday", "2026-11-21 10:00", "2026-11-23 16:00", 1},
		{"on the due day after hours: 3 days (but late)", "2026-11-16 10:00", "2026-11-19 18:00", 3},
		{"over King's Day 2026 (Monday 27 April)", "2026-04-24 10:00", "2026-04-28 10:00", 1},
		{"over Christmas 2026", "2026-12-23 10:00", "2026-12-28 10:00", 2},
		{"days are Amsterdam's, not UTC's", "2026-11-16 23:30", "2026-11-17 00:30", 1},
		{"closed before the clock started", "2026-11-17 10:00", "2026-11-16 10:00", 0},
		{"two weeks", "2026-11-16 10:00", "2026-11-30 10:00", 10},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := cmr.WorkingDaysToClose(cal, rpAt(t, tt.start), rpAt(t, tt.closed).UTC()); got != tt.want {
				t.Errorf("WorkingDaysToClose(%s, %s) = %d, want %d", tt.start, tt.closed, got, tt.want)
			}
		})
	}
}

func TestMedianAndPercentile(t *testing.T) {
	for _, tt := range []struct {
		name   string
		xs     []int
		median float64
		p90    int
		ok     bool
	}{
		{"none", nil, 0, 0, false},
		{"one", []int{3}, 3, 3, true},
		{"two: the mean of the middle", []int{4, 1}, 2.5, 4, true},
		{"odd, unsorted", []int{4, 1, 1}, 1, 4, true},
		{"one to ten", []int{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 5.5, 9, true},
		{"eleven: nearest rank 10", []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 7}, 1, 2, true},
		{"twenty: nearest rank 18", []int{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 6, 7}, 0, 5, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]int(nil), tt.xs...)
			m, ok := cmr.Median(tt.xs)
			p, pok := cmr.Percentile(tt.xs, 90)
			if ok != tt.ok || pok != tt.ok || m != tt.median || p != tt.p90 {
				t.Errorf("median %v %v, p90 %v %v; want %v, %v (%v)", m, ok, p, pok, tt.median, tt.p90, tt.ok)
			}
			for i := range in {
				if in[i] != tt.xs[i] {
					t.Fatalf("the input was reordered: %v", tt.xs)
				}
			}
		})
	}
	if _, ok := cmr.Percentile([]int{1}, 0); ok {
		t.Error("percentile 0 answered")
	}
}

func TestClassifySLA(t *testing.T) {
	start := rpAt(t, "2026-11-16 10:00")
	due := rpAt(t, "2026-11-19 17:00")
	now := rpAt(t, "2026-11-20 12:00")
	ticket := func(state cmr.TicketState, resolved *time.Time) cmr.Ticket {
		return cmr.Ticket{ID: "T", LiKaID: "lika", State: state, ClockStartedAt: rpPtr(start), DueAt: rpPtr(due), ResolvedAt: resolved}
	}
	for _, tt := range []struct {
		name string
		t    cmr.Ticket
		now  time.Time
		want cmr.SLAOutcome
	}{
		{"closed before due", ticket(cmr.TicketClosed, rpPtr(due.Add(-time.Hour))), now, cmr.SLAOnTime},
		{"closed at the due moment", ticket(cmr.TicketClosed, rpPtr(due)), now, cmr.SLAOnTime},
		{"closed a second after the due moment", ticket(cmr.TicketClosed, rpPtr(due.Add(time.Second))), now, cmr.SLALate},
		{"closed without a due moment", cmr.Ticket{State: cmr.TicketClosed, ClockStartedAt: rpPtr(start), ResolvedAt: rpPtr(now)}, now, cmr.SLAOnTime},
		{"open past due", ticket(cmr.TicketOpen, nil), now, cmr.SLAOverdue},
		{"open at the due moment", ticket(cmr.TicketOpen, nil), due, cmr.SLARunning},
		{"open within the term", ticket(cmr.TicketOpen, nil), start.Add(time.Hour), cmr.SLARunning},
		{"waived past due", ticket(cmr.TicketWaived, rpPtr(now)), now, cmr.SLAWaived},
		{"cancelled", ticket(cmr.TicketCancelled, rpPtr(now)), now, cmr.SLACancelled},
		{"awaiting the list: no clock", cmr.Ticket{State: cmr.TicketAwaitingList}, now, cmr.SLANotStarted},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := cmr.ClassifySLA(tt.t, tt.now); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseReportPeriod(t *testing.T) {
	today := time.Date(2027, 6, 10, 15, 30, 0, 0, time.UTC)
	for _, tt := range []struct {
		name, from, to string
		wantFrom       string
		wantTo         string
		days           int
		field          string
	}{
		{"default: the last 90 days", "", "", "2027-03-13", "2027-06-10", 90, ""},
		{"only an end", "", "2027-01-31", "2026-11-03", "2027-01-31", 90, ""},
		{"only a start", "2027-06-01", "", "2027-06-01", "2027-06-10", 10, ""},
		{"one day", "2027-06-10", "2027-06-10", "2027-06-10", "2027-06-10", 1, ""},
		{"over a leap day and DST", "2024-02-28", "2024-03-31", "2024-02-28", "2024-03-31", 33, ""},
		{"start after end", "2027-06-11", "2027-06-10", "", "", 0, "from"},
		{"start after today", "2027-07-01", "", "", "", 0, "from"},
		{"bad start", "10-06-2027", "", "", "", 0, "from"},
		{"bad end", "", "2027-02-30", "", "", 0, "to"},
		{"too long", "2020-01-01", "2027-06-10", "", "", 0, "from"},
		{"the longest", "2024-06-11", "2027-06-10", "2024-06-11", "2027-06-10", 1095, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := cmr.ParseReportPeriod(tt.from, tt.to, today)
			if tt.field != "" {
				e, ok := err.(*cmr.Error)
				if !ok || e.Kind != cmr.KindInvalid || e.Field != tt.field || e.MessageNL == "" || e.Message == "" {
					t.Fatalf("got %+v, %v; want a refusal of %s in English and Dutch", p, err, tt.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.From.Format(cmr.DateLayout) + " " + p.To.Format(cmr.DateLayout); got != tt.wantFrom+" "+tt.wantTo || p.Days() != tt.days {
				t.Errorf("got %s (%d days), want %s %s (%d days)", got, p.Days(), tt.wantFrom, tt.wantTo, tt.days)
			}
		})
	}
}

func TestBuildSLAReport(t *testing.T) {
	cal := cmr.MustCalendar(cmr.DefaultCalendarConfig())
	period := cmr.ReportPeriod{From: rpDate("2026-11-16"), To: rpDate("2026-11-27")}
	now := rpAt(t, "2026-11-30 12:00")
	var tickets []cmr.Ticket
	add := func(lika string, state cmr.TicketState, start, resolved string) {
		s := rpAt(t, start)
		tk := cmr.Ticket{ID: lika + "-" + start, LiKaID: lika, State: state, ClockStartedAt: rpPtr(s.UTC()), DueAt: rpPtr(cal.Due(s, 3).UTC())}
		if resolved != "" {
			tk.ResolvedAt = rpPtr(rpAt(t, resolved).UTC())
		}
		tickets = append(tickets, tk)
	}
	// lika-a: Fri→Mon (1 working day, 3 calendar days), Mon→Fri (4, late),
	// Tue→Wed (1) and one closed the same day (0): [0 1 1 4], median 1
	// (the calendar days [0 1 3 4] would give 2); p90 4.
	add("lika-a", cmr.TicketClosed, "2026-11-20 10:00", "2026-11-23 09:00")
	add("lika-a", cmr.TicketClosed, "2026-11-16 10:00", "2026-11-20 09:00")
	add("lika-a", cmr.TicketClosed, "2026-11-17 10:00", "2026-11-18 16:00")
	add("lika-a", cmr.TicketOpen, "2026-11-23 10:00", "")                   // due Thu 26 17:00: overdue now
	add("lika-a", cmr.TicketOpen, "2026-11-27 10:00", "")                   // due Wed 2 Dec: running
	add("lika-a", cmr.TicketWaived, "2026-11-18 10:00", "")                 // waived
	add("lika-a", cmr.TicketClosed, "2026-11-16 00:30", "2026-11-16 09:00") // first half hour of the period: in, 0 days
	// lika-b: closed late on the due day after hours (3 working days),
	// cancelled.
	add("lika-b", cmr.TicketClosed, "2026-11-19 10:00", "2026-11-24 17:30") // due Tue 24 17:00
	add("lika-b", cmr.TicketCancelled, "2026-11-27 23:59", "2026-11-28 10:00")
	// Outside the period (days of Amsterdam): left out.
	add("lika-a", cmr.TicketClosed, "2026-11-15 23:59", "2026-11-16 10:00")
	add("lika-b", cmr.TicketOpen, "2026-11-28 00:00", "")
	// No clock: left out.
	tickets = append(tickets, cmr.Ticket{ID: "x", LiKaID: "lika-c", State: cmr.TicketAwaitingList})

	r := cmr.BuildSLAReport(tickets, cal, period, now)
	if len(r.Rows) != 2 || r.Rows[0].LiKaID != "lika-a" || r.Rows[1].LiKaID != "lika-b" {
		t.Fatalf("rows: %+v", r.Rows)
	}
	for _, tt := range []struct {
		got  cmr.SLAStats
		want cmr.SLAStats
	}{
		{r.Rows[0], cmr.SLAStats{Tickets: 7, OnTime: 3, Late: 1, Overdue: 1, Running: 1, Waived: 1, Median: 1, P90: 4, HasClosed: true}},
		{r.Rows[1], cmr.SLAStats{Tickets: 2, Late: 1, Cancelled: 1, Median: 3, P90: 3, HasClosed: true}},
		{r.Total, cmr.SLAStats{Tickets: 9, OnTime: 3, Late: 2, Overdue: 1, Running: 1, Waived: 1, Cancelled: 1, Median: 1, P90: 4, HasClosed: true}},
	} {
		g, w := tt.got, tt.want
		if g.Tickets != w.Tickets || g.OnTime != w.OnTime || g.Late != w.Late || g.Overdue != w.Overdue || g.Running != w.Running ||
			g.Waived != w.Waived || g.Cancelled != w.Cancelled || g.Median != w.Median || g.P90 != w.P90 || g.HasClosed != w.HasClosed {
			t.Errorf("%s: got %+v\nwant %+v", g.LiKaID, g, w)
		}
	}
	if got := r.Rows[0].ToClose; len(got) != 4 {
		t.Errorf("lika-a's times to close: %v", got)
	}

	empty := cmr.BuildSLAReport(nil, cal, period, now)
	if len(empty.Rows) != 0 || empty.Total.Tickets != 0 || empty.Total.HasClosed {
		t.Errorf("no tickets: %+v", empty)
	}
}

func TestCasesPerDistributor(t *testing.T) {
	now := time.Date(2027, 7, 10, 12, 0, 0, 0, time.UTC)
	window := 14 * 24 * time.Hour
	past, future := now.Add(-time.Hour), now.Add(48*time.Hour)
	c := func(id, dist string, status cmr.CaseStatus, deadline time.Time, tickets ...cmr.Ticket) cmr.Case {
		return cmr.Case{CaseHeader: cmr.CaseHeader{ID: id, DistributorID: dist, Deadline: deadline}, Status: status, Tickets: tickets}
	}
	open := func(warn, due time.Time) cmr.Ticket {
		return cmr.Ticket{State: cmr.TicketOpen, WarnAt: rpPtr(warn), DueAt: rpPtr(due)}
	}
	aug1, sep1 := rpDate("2027-08-01"), rpDate("2027-09-01")
	cases := []cmr.Case{
		c("A-far", "d1", cmr.CaseOpen, sep1),                                         // not at risk
		c("A-ticket", "d1", cmr.CaseOpen, sep1, open(past, future)),                  // a ticket past its warning
		c("A-overdue", "d1", cmr.CaseOpen, sep1, open(past, past)),                   // an overdue ticket
		c("A-edge", "d1", cmr.CaseOpen, now.Add(window)),                             // the deadline exactly at the window's end
		c("A-beyond", "d1", cmr.CaseOpen, now.Add(window+time.Second)),               // just beyond
		c("A-passed", "d1", cmr.CaseOpen, rpDate("2027-07-01")),                      // the deadline has passed
		c("A-done", "d1", cmr.CaseCompleted, rpDate("2027-07-01"), open(past, past)), // completed: never at risk
		c("A-cancelled", "d1", cmr.CaseCancelled, aug1),
		c("B-none", "d2", cmr.CaseOpen, time.Time{}),          // no deadline, no tickets
		c("B-soon", "d2", cmr.CaseOpen, rpDate("2027-07-20")), // within 14 days
		c("B-resolved", "d2", cmr.CaseOpen, sep1, cmr.Ticket{State: cmr.TicketClosed, WarnAt: rpPtr(past), DueAt: rpPtr(past)}),
	}
	got := cmr.CasesPerDistributor(cases, now, window)
	if len(got) != 2 || got[0].DistributorID != "d1" || got[1].DistributorID != "d2" {
		t.Fatalf("groups: %+v", got)
	}
	ids := func(rs []cmr.RiskyCase) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Case.ID)
		}
		return out
	}
	if g := got[0].Counts; g != (cmr.StatusCounts{Open: 6, Completed: 1, Cancelled: 1}) || g.Total() != 8 {
		t.Errorf("d1 counts: %+v", g)
	}
	// Earliest deadline first.
	if g := ids(got[0].AtRisk); len(g) != 4 || g[0] != "A-passed" || g[1] != "A-edge" || g[2] != "A-overdue" || g[3] != "A-ticket" {
		t.Errorf("d1 at risk: %v", g)
	}
	if r := got[0].AtRisk[0].Risk; !r.DeadlineNear || !r.DeadlinePassed || r.TicketsAtRisk != 0 {
		t.Errorf("A-passed: %+v", r)
	}
	if r := got[0].AtRisk[2].Risk; r.DeadlineNear || r.TicketsAtRisk != 1 || r.TicketsOverdue != 1 {
		t.Errorf("A-overdue: %+v", r)
	}
	if r := got[0].AtRisk[3].Risk; r.TicketsAtRisk != 1 || r.TicketsOverdue != 0 {
		t.Errorf("A-ticket: %+v", r)
	}
	if g := got[1].Counts; g != (cmr.StatusCounts{Open: 3}) {
		t.Errorf("d2 counts: %+v", g)
	}
	if g := ids(got[1].AtRisk); len(g) != 1 || g[0] != "B-soon" {
		t.Errorf("d2 at risk: %v", g)
	}
	if len(cmr.CasesPerDistributor(nil, now, window)) != 0 {
		t.Error("groups without cases")
	}
}
