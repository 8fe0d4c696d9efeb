package cmr

import (
	"math"
	"slices"
	"sort"
	"time"
)

// Reports: the SLA of the LiKas over a period, and the distributors' cases
// by status and at risk. Pure computation over tickets and cases; the
// store decides what a viewer may count, the pages how it is shown.

// DefaultReportDays is the period a report covers when none is given: the
// 90 days up to and including today.
const DefaultReportDays = 90

// MaxReportDays bounds a report's period (about three years), so that one
// request cannot ask for the whole history at once.
const MaxReportDays = 3 * 366

// ReportPeriod is a period of whole days, From and To included, as civil
// dates (00:00 UTC, as ParseDate gives them). The days are days of the
// working-day calendar's zone (Europe/Amsterdam).
type ReportPeriod struct {
	From, To time.Time
}

// ParseReportPeriod reads a report's period from its from and to inputs
// (YYYY-MM-DD, either may be empty). An empty to is today; an empty from
// is DefaultReportDays days up to and including to. today is the civil
// date of today in the calendar's zone.
func ParseReportPeriod(from, to string, today time.Time) (ReportPeriod, error) {
	today = civilDate(today)
	p := ReportPeriod{To: today}
	var err error
	if to != "" {
		if p.To, err = ParseDate("to", to); err != nil {
			return ReportPeriod{}, err
		}
	}
	p.From = p.To.AddDate(0, 0, -(DefaultReportDays - 1))
	if from != "" {
		if p.From, err = ParseDate("from", from); err != nil {
			return ReportPeriod{}, err
		}
	}
	if p.From.After(p.To) {
		return ReportPeriod{}, FieldErrorf("from", "%s lies after the end date %s: the start date must be on or before the end date",
			p.From.Format(DateLayout), p.To.Format(DateLayout)).
			NL("%s ligt na de einddatum %s: de begindatum moet op of vóór de einddatum liggen", p.From.Format("2-1-2006"), p.To.Format("2-1-2006"))
	}
	if p.Days() > MaxReportDays {
		return ReportPeriod{}, FieldErrorf("from", "the period covers %d days; a report covers at most %d days (about three years)", p.Days(), MaxReportDays).
			NL("de periode beslaat %d dagen; een rapportage beslaat hoogstens %d dagen (ongeveer drie jaar)", p.Days(), MaxReportDays)
	}
	return p, nil
}

// Days is the number of days in the period, both ends included.
func (p ReportPeriod) Days() int {
	return int(p.To.Sub(p.From).Hours()/24+0.5) + 1
}

// Bounds returns the period as moments in loc: the start of From and the
// start of the day after To (exclusive).
func (p ReportPeriod) Bounds(loc *time.Location) (start, end time.Time) {
	start = time.Date(p.From.Year(), p.From.Month(), p.From.Day(), 0, 0, 0, 0, loc)
	end = time.Date(p.To.Year(), p.To.Month(), p.To.Day()+1, 0, 0, 0, 0, loc)
	return start, end
}

func civilDate(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// SLAOutcome is where a ticket stands for the SLA report.
type SLAOutcome string

// SLA outcomes. A ticket whose clock has not started (MBO: the list was not
// returned yet) has none and is not counted.
const (
	SLANotStarted SLAOutcome = ""
	SLAOnTime     SLAOutcome = "on_time"   // closed on or before its due moment
	SLALate       SLAOutcome = "late"      // closed after its due moment
	SLAOverdue    SLAOutcome = "overdue"   // open, and its due moment has passed
	SLARunning    SLAOutcome = "running"   // open within its term
	SLAWaived     SLAOutcome = "waived"    // waived by the distributor
	SLACancelled  SLAOutcome = "cancelled" // the case was cancelled
)

// ClassifySLA says where ticket t stands at now. A closed ticket without a
// due moment (it never had a clock) counts as on time.
func ClassifySLA(t Ticket, now time.Time) SLAOutcome {
	if t.ClockStartedAt == nil {
		return SLANotStarted
	}
	switch t.State {
	case TicketClosed:
		if t.DueAt != nil && t.ResolvedAt != nil && t.ResolvedAt.After(*t.DueAt) {
			return SLALate
		}
		return SLAOnTime
	case TicketWaived:
		return SLAWaived
	case TicketCancelled:
		return SLACancelled
	}
	if t.Overdue(now) {
		return SLAOverdue
	}
	return SLARunning
}

// WorkingDaysToClose is how long a ticket took in working days, counted as
// its due moment is: the working days after the day the clock started, up
// to and including the day it was closed. A ticket closed on the day its
// clock started took 0; one started on Friday and closed on Monday took 1.
// Within the SLA of n days a ticket takes at most n (if closed before the
// end of the working day).
func WorkingDaysToClose(cal *Calendar, start, closed time.Time) int {
	loc := cal.Location()
	s, e := start.In(loc), closed.In(loc)
	d := time.Date(s.Year(), s.Month(), s.Day()+1, 12, 0, 0, 0, loc)
	last := time.Date(e.Year(), e.Month(), e.Day(), 12, 0, 0, 0, loc)
	n := 0
	for ; !d.After(last); d = time.Date(d.Year(), d.Month(), d.Day()+1, 12, 0, 0, 0, loc) {
		if cal.IsWorkingDay(d) {
			n++
		}
	}
	return n
}

// Median is the middle of xs (the mean of the two middle values for an
// even count); ok is false for no values.
func Median(xs []int) (m float64, ok bool) {
	if len(xs) == 0 {
		return 0, false
	}
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return float64(s[n/2]), true
	}
	return float64(s[n/2-1]+s[n/2]) / 2, true
}

// Percentile is the p-th percentile (0 < p <= 100) of xs by the
// nearest-rank method: the smallest value that at least p% of the values
// do not exceed. ok is false for no values.
func Percentile(xs []int, p float64) (v int, ok bool) {
	if len(xs) == 0 || p <= 0 || p > 100 {
		return 0, false
	}
	s := slices.Sorted(slices.Values(xs))
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[max(rank, 1)-1], true
}

// SLAStats are one LiKa's tickets in a report (or, with an empty LiKaID,
// all of them).
type SLAStats struct {
	LiKaID string
	// Tickets whose clock started in the period, by outcome.
	Tickets, OnTime, Late, Overdue, Running, Waived, Cancelled int
	// ToClose are the working days each closed ticket took; Median and
	// P90 summarise them when HasClosed.
	ToClose   []int
	Median    float64
	P90       int
	HasClosed bool
}

func (s *SLAStats) add(o SLAOutcome, days int, measured bool) {
	s.Tickets++
	switch o {
	case SLAOnTime:
		s.OnTime++
	case SLALate:
		s.Late++
	case SLAOverdue:
		s.Overdue++
	case SLARunning:
		s.Running++
	case SLAWaived:
		s.Waived++
	case SLACancelled:
		s.Cancelled++
	}
	if measured {
		s.ToClose = append(s.ToClose, days)
	}
}

func (s *SLAStats) summarise() {
	s.Median, s.HasClosed = Median(s.ToClose)
	s.P90, _ = Percentile(s.ToClose, 90)
}

// SLAReport is the SLA report: a row per LiKa (by ID) and the total.
type SLAReport struct {
	Period ReportPeriod
	Rows   []SLAStats
	Total  SLAStats
}

// BuildSLAReport counts the tickets whose SLA clock started within the
// period (in cal's zone) per LiKa, as they stand at now: closed on time,
// closed late, overdue now, open within the term, waived, cancelled; and
// the median and 90th percentile of the working days the closed ones
// took. Tickets outside the period or without a clock are left out.
func BuildSLAReport(tickets []Ticket, cal *Calendar, p ReportPeriod, now time.Time) SLAReport {
	start, end := p.Bounds(cal.Location())
	r := SLAReport{Period: p}
	byLiKa := map[string]*SLAStats{}
	for _, t := range tickets {
		if t.ClockStartedAt == nil || t.ClockStartedAt.Before(start) || !t.ClockStartedAt.Before(end) {
			continue
		}
		o := ClassifySLA(t, now)
		days, measured := 0, false
		if t.State == TicketClosed && t.ResolvedAt != nil {
			days, measured = WorkingDaysToClose(cal, *t.ClockStartedAt, *t.ResolvedAt), true
		}
		row := byLiKa[t.LiKaID]
		if row == nil {
			row = &SLAStats{LiKaID: t.LiKaID}
			byLiKa[t.LiKaID] = row
		}
		row.add(o, days, measured)
		r.Total.add(o, days, measured)
	}
	for _, row := range byLiKa {
		row.summarise()
		r.Rows = append(r.Rows, *row)
	}
	sort.Slice(r.Rows, func(i, j int) bool { return r.Rows[i].LiKaID < r.Rows[j].LiKaID })
	r.Total.summarise()
	return r
}

// CaseRisk is why an open case is at risk. The rule is the one the case
// list and the API use (gormdb.CaseFilter.AtRisk, api caseSummary): its
// deadline (VO: done before 1 August; MBO: the day the learning-materials
// list opens) lies within the window from now or has passed, or one of
// its tickets is past its SLA warning moment (at most one working day
// left, or overdue).
type CaseRisk struct {
	DeadlineNear   bool // the deadline lies within the window (or has passed)
	DeadlinePassed bool
	TicketsAtRisk  int // open tickets past their warning moment, overdue ones included
	TicketsOverdue int
}

// AtRisk reports whether the case is at risk at all.
func (r CaseRisk) AtRisk() bool { return r.DeadlineNear || r.TicketsAtRisk > 0 }

// AssessCase applies the at-risk rule to c at now with the deadline
// window (gormdb.AtRiskWindow, 14 days). Completed and cancelled cases are
// never at risk; a case without a deadline is at risk by its tickets only.
func AssessCase(c Case, now time.Time, window time.Duration) CaseRisk {
	var r CaseRisk
	if c.Status != CaseOpen {
		return r
	}
	if !c.Deadline.IsZero() {
		r.DeadlineNear = !c.Deadline.After(now.Add(window))
		r.DeadlinePassed = !c.Deadline.After(now)
	}
	for _, t := range c.Tickets {
		if t.AtRisk(now) {
			r.TicketsAtRisk++
		}
		if t.Overdue(now) {
			r.TicketsOverdue++
		}
	}
	return r
}

// StatusCounts counts cases by status.
type StatusCounts struct {
	Open, Completed, Cancelled int
}

// Total is the number of cases counted.
func (s StatusCounts) Total() int { return s.Open + s.Completed + s.Cancelled }

// RiskyCase is an open case at risk, with why.
type RiskyCase struct {
	Case Case
	Risk CaseRisk
}

// DistributorCases is one distributor's cases in the report.
type DistributorCases struct {
	DistributorID string
	Counts        StatusCounts
	// AtRisk are its open cases at risk, earliest deadline first.
	AtRisk []RiskyCase
}

// CasesPerDistributor groups cases per distributor (by ID): counts by
// status, and the open cases at risk at now (AssessCase; each case's
// Tickets are what the rule reads).
func CasesPerDistributor(cases []Case, now time.Time, window time.Duration) []DistributorCases {
	by := map[string]*DistributorCases{}
	for _, c := range cases {
		d := by[c.DistributorID]
		if d == nil {
			d = &DistributorCases{DistributorID: c.DistributorID}
			by[c.DistributorID] = d
		}
		switch c.Status {
		case CaseOpen:
			d.Counts.Open++
		case CaseCompleted:
			d.Counts.Completed++
		case CaseCancelled:
			d.Counts.Cancelled++
		}
		if r := AssessCase(c, now, window); r.AtRisk() {
			d.AtRisk = append(d.AtRisk, RiskyCase{Case: c, Risk: r})
		}
	}
	out := make([]DistributorCases, 0, len(by))
	for _, d := range by {
		sort.Slice(d.AtRisk, func(i, j int) bool {
			a, b := d.AtRisk[i].Case, d.AtRisk[j].Case
			if !a.Deadline.Equal(b.Deadline) {
				return a.Deadline.Before(b.Deadline)
			}
			return a.ID < b.ID
		})
		out = append(out, *d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].DistributorID < out[j].DistributorID })
	return out
}
