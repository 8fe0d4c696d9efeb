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

func (s *Server) caseSummary(c cmr.Case, ticketAtRisk bool) map[string]any {
	now := s.Now()
	deadlineNear := cmr.AssessCase(c, now, gormdb.AtRiskWindow).DeadlineNear
	return map[string]any{
		"id":             c.ID,
		"school_id":      c.SchoolID,
		"distributor_id": c.DistributorID,
		"sector":         c.Sector,
		"status":         c.Status,
		"switch_on":      date(c.SwitchOn),
		"deadline":       date(c.Deadline),
		"at_risk":        c.Status == cmr.CaseOpen && (ticketAtRisk || deadlineNear),
		"warnings":       nonNil(c.Warnings),
		"created_at":     c.CreatedAt.Format(time.RFC3339),
		"updated_at":     c.UpdatedAt.Format(time.RFC3339),
	}
}

func (s *Server) caseJSON(c cmr.Case) map[string]any {
	m := s.caseSummary(c, false)
	atRisk := m["at_risk"].(bool)
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
		if st.State == cmr.StepOpen {
			mine = append(mine, st.Key)
		}
	}
	tickets := make([]map[string]any, len(c.Tickets))
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

func (s *Server) ticketJSON(t cmr.Ticket) map[string]any {
	now := s.Now()
	m := map[string]any{
		"id": t.ID, "case_id": t.CaseID, "lika_id": t.LiKaID, "state": t.State,
		"clock_started_at": moment(t.ClockStartedAt), "warn_at": moment(t.WarnAt), "due_at": moment(t.DueAt),
		"warned_at": moment(t.WarnedAt), "breached_at": moment(t.BreachedAt), "resolved_at": moment(t.ResolvedAt),
		"overdue": t.Overdue(now), "at_risk": t.AtRisk(now),
	}
	if t.DueAt != nil && t.State == cmr.TicketOpen {
		m["working_days_left"] = s.calendar().WorkingDaysLeft(now, *t.DueAt)
	}
	if t.ResolvedBy != nil {
		m["resolved_by"] = t.ResolvedBy
	}
	if t.Note != "" {
		m["note"] = t.Note
	}
	if len(t.Unprocessed) > 0 {
		m["unprocessed"] = t.Unprocessed
	}
	return m
}
