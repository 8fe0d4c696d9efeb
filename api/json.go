package api

import (
	"time"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/gormdb"
)

func date(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Format(cmr.DateLayout)
}

func moment(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func endpointOut(sector cmr.Sector, e cmr.Endpoint) map[string]any {
	if sector == cmr.SectorVO {
		return map[string]any{"quadrant": e.Quadrant, "idp": e.IdP, "kind": e.Kind}
	}
	return map[string]any{"eck": e.ECK, "kind": e.Kind, "label": cmr.MBOLabel(e)}
}

// calendar is built once per server: building one loads the time zone
// from disk, which per ticket in a LiKa's queue took nearly half of the
// request (the calendar is safe for concurrent use and caches holidays).
func (s *Server) calendar() *cmr.Calendar {
	s.builtCalendar.Do(func() {
		cal, err := cmr.NewCalendar(s.Calendar)
		if err != nil {
			cal = cmr.MustCalendar(cmr.DefaultCalendarConfig())
		}
		s.cal = cal
	})
	return s.cal
}

// caseSummaryOut is a case as the case list shows it: a struct, not a
// map, for the same reason as ticketOut; its fields in the order of their
// names, as a map's keys are written, so the JSON is what the map gave.
type caseSummaryOut struct {
	AtRisk        bool           `json:"at_risk"`
	CreatedAt     string         `json:"created_at"`
	Deadline      any            `json:"deadline"`
	DistributorID string         `json:"distributor_id"`
	ID            string         `json:"id"`
	SchoolID      string         `json:"school_id"`
	Sector        cmr.Sector     `json:"sector"`
	Status        cmr.CaseStatus `json:"status"`
	SwitchOn      any            `json:"switch_on"`
	UpdatedAt     string         `json:"updated_at"`
	// Warnings are those found when the case was opened: the list reads
	// no steps (a case's own JSON adds its steps', CurrentWarnings).
	Warnings []cmr.Warning `json:"warnings"`
}

func (s *Server) caseSummary(c cmr.Case, ticketAtRisk bool) caseSummaryOut {
	now := s.Now()
	deadlineNear := cmr.AssessCase(c, now, gormdb.AtRiskWindow).DeadlineNear
	return caseSummaryOut{
		ID: c.ID, SchoolID: c.SchoolID, DistributorID: c.DistributorID, Sector: c.Sector, Status: c.Status,
		SwitchOn: date(c.SwitchOn), Deadline: date(c.Deadline),
		AtRisk:    c.Status == cmr.CaseOpen && (ticketAtRisk || deadlineNear),
		Warnings:  nonNil(c.Warnings),
		CreatedAt: c.CreatedAt.Format(time.RFC3339), UpdatedAt: c.UpdatedAt.Format(time.RFC3339),
	}
}

func (s *Server) caseJSON(c cmr.Case, extra ...cmr.Warning) map[string]any {
	sum := s.caseSummary(c, false)
	m := map[string]any{
		"id": sum.ID, "school_id": sum.SchoolID, "distributor_id": sum.DistributorID, "sector": sum.Sector, "status": sum.Status,
		"switch_on": sum.SwitchOn, "deadline": sum.Deadline, "warnings": nonNil(append(c.CurrentWarnings(), extra...)), "created_at": sum.CreatedAt, "updated_at": sum.UpdatedAt,
	}
	atRisk := sum.AtRisk
	steps := make([]map[string]any, len(c.Steps))
	var mine []string
	for i, st := range c.Steps {
		sm := map[string]any{
			"key": st.Key, "title": st.Title, "title_en": st.TitleEN, "owner": st.Owner, "kind": st.Kind,
			"state": st.State, "waits_for": nonNil(st.WaitsFor), "records": nonNil(st.Records), "attempt": st.Attempt,
			"data": st.Data, "done_at": moment(st.DoneAt),
		}
		if st.DoneBy != nil {
			sm["done_by"] = st.DoneBy
		}
		steps[i] = sm
		if st.State == cmr.StepOpen && c.Status == cmr.CaseOpen {
			// A completed or cancelled case waits for nobody; its
			// steps keep the state they had when it closed.
			mine = append(mine, st.Key)
		}
	}
	tickets := make([]ticketOut, len(c.Tickets))
	for i, t := range c.Tickets {
		tickets[i] = s.ticketJSON(t)
		if t.AtRisk(s.Now()) && c.Status == cmr.CaseOpen {
			atRisk = true
		}
	}
	deadlines := map[string]any{"done_before": date(c.Deadline), "rule": "VO: done before 1 August"}
	if c.Sector == cmr.SectorMBO {
		deadlines["rule"] = "MBO: identities converted before the learning-materials list opens"
		deadlines["list_opens_on"] = date(c.ListOpensOn)
	}
	if c.MidYear {
		deadlines["rule"] = "mid-year: identities converted before the switch, when the new IdP goes live"
	}
	m["at_risk"] = atRisk
	m["scenario"] = map[string]any{"from": endpointOut(c.Sector, c.Scenario.From), "to": endpointOut(c.Sector, c.Scenario.To), "described_scenario": c.Described}
	m["funding"] = c.Funding
	m["was_wordt"] = c.WasWordt
	m["options"] = c.Options
	m["requested_on"] = date(c.RequestedOn)
	m["list_opens_on"] = date(c.ListOpensOn)
	m["mid_year"] = c.MidYear
	m["deadlines"] = deadlines
	m["lika_ids"] = nonNil(c.Parties.LiKaIDs)
	m["steps"] = steps
	m["open_steps"] = nonNil(mine)
	m["tickets"] = tickets
	m["closed_at"] = moment(c.ClosedAt)
	if c.CancelReason != "" {
		m["cancel_reason"] = c.CancelReason
	}
	return m
}

// ticketOut is a ticket as the API shows it. A struct, not a map: a
// LiKa's queue has a hundred of them per page, and what a read allocates
// its p99 pays in garbage collection (README, performance). The fields
// are in the order a map's keys were written in, so the JSON is the same.
type ticketOut struct {
	AtRisk          bool                 `json:"at_risk"`
	BreachedAt      any                  `json:"breached_at"`
	CaseID          string               `json:"case_id"`
	ClockStartedAt  any                  `json:"clock_started_at"`
	DueAt           any                  `json:"due_at"`
	ID              string               `json:"id"`
	LiKaID          string               `json:"lika_id"`
	Note            string               `json:"note,omitempty"`
	Overdue         bool                 `json:"overdue"`
	ResolvedAt      any                  `json:"resolved_at"`
	ResolvedBy      *cmr.Actor           `json:"resolved_by,omitempty"`
	State           cmr.TicketState      `json:"state"`
	Unprocessed     []cmr.UnprocessedRow `json:"unprocessed,omitempty"`
	WarnAt          any                  `json:"warn_at"`
	WarnedAt        any                  `json:"warned_at"`
	WorkingDaysLeft *int                 `json:"working_days_left,omitempty"`
}

func (s *Server) ticketJSON(t cmr.Ticket) ticketOut {
	now := s.Now()
	out := ticketOut{ID: t.ID, CaseID: t.CaseID, LiKaID: t.LiKaID, State: t.State,
		ClockStartedAt: moment(t.ClockStartedAt), WarnAt: moment(t.WarnAt), DueAt: moment(t.DueAt),
		WarnedAt: moment(t.WarnedAt), BreachedAt: moment(t.BreachedAt), ResolvedAt: moment(t.ResolvedAt),
		Overdue: t.Overdue(now), AtRisk: t.AtRisk(now), ResolvedBy: t.ResolvedBy, Note: t.Note, Unprocessed: t.Unprocessed}
	if t.DueAt != nil && t.State == cmr.TicketOpen {
		out.WorkingDaysLeft = new(s.calendar().WorkingDaysLeft(now, *t.DueAt))
	}
	return out
}
