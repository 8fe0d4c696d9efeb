package api

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/gormdb"
)

// TestTicketJSONUnchanged: a ticket's JSON, built from a struct since the
// queue's allocations were measured, is byte for byte what the map it
// replaced gave (kept here as the reference), for a ticket with every
// field set and for a new one.
func TestTicketJSONUnchanged(t *testing.T) {
	now := time.Date(2027, 3, 10, 9, 0, 0, 0, time.UTC)
	s := &Server{Now: func() time.Time { return now }, Calendar: cmr.DefaultCalendarConfig()}
	at := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
	reference := func(t cmr.Ticket) map[string]any {
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
	for _, tk := range []cmr.Ticket{
		{ID: "T-1", CaseID: "01AB-20270715", LiKaID: "lika", State: cmr.TicketOpen},
		{ID: "T-2", CaseID: "01AB-20270715", LiKaID: "lika", State: cmr.TicketOpen,
			ClockStartedAt: at(-72 * time.Hour), WarnAt: at(-time.Hour), DueAt: at(24 * time.Hour), WarnedAt: at(-time.Hour)},
		{ID: "T-3", CaseID: "01AB-20270715", LiKaID: "lika", State: cmr.TicketClosed,
			ClockStartedAt: at(-96 * time.Hour), WarnAt: at(-48 * time.Hour), DueAt: at(-24 * time.Hour), WarnedAt: at(-48 * time.Hour),
			BreachedAt: at(-24 * time.Hour), ResolvedAt: at(-time.Hour), ResolvedBy: &cmr.Actor{UserID: "u", OrganisationID: "lika", Role: cmr.RolePublisher},
			Note: "verwerkt", Unprocessed: []cmr.UnprocessedRow{{Row: 2, Reason: "onbekend"}}},
	} {
		want, err := json.Marshal(reference(tk))
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(s.ticketJSON(tk))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("ticket %s:\n got %s\nwant %s", tk.ID, got, want)
		}
	}
}

// TestCaseSummaryJSONUnchanged: the case list's summary of a case, built
// from a struct, is byte for byte what the map it replaced gave (the
// reference here), and the case's detail (caseJSON) shows the same values.
func TestCaseSummaryJSONUnchanged(t *testing.T) {
	now := time.Date(2027, 6, 1, 9, 0, 0, 0, time.UTC)
	s := &Server{Now: func() time.Time { return now }, Calendar: cmr.DefaultCalendarConfig()}
	reference := func(c cmr.Case, ticketAtRisk bool) map[string]any {
		deadlineNear := cmr.AssessCase(c, now, gormdb.AtRiskWindow).DeadlineNear
		return map[string]any{
			"id": c.ID, "school_id": c.SchoolID, "distributor_id": c.DistributorID, "sector": c.Sector, "status": c.Status,
			"switch_on": date(c.SwitchOn), "deadline": date(c.Deadline),
			"at_risk":  c.Status == cmr.CaseOpen && (ticketAtRisk || deadlineNear),
			"warnings": nonNil(c.Warnings), "created_at": c.CreatedAt.Format(time.RFC3339), "updated_at": c.UpdatedAt.Format(time.RFC3339),
		}
	}
	open := cmr.Case{CaseHeader: cmr.CaseHeader{ID: "01AB-20270715", SchoolID: "school", DistributorID: "dist", Sector: cmr.SectorVO,
		SwitchOn: time.Date(2027, 7, 15, 0, 0, 0, 0, time.UTC), Deadline: time.Date(2027, 8, 1, 0, 0, 0, 0, time.UTC),
		Warnings: []cmr.Warning{{Code: cmr.WarnShortNotice, Message: "short", NL: "kort"}}},
		Status: cmr.CaseOpen, CreatedAt: now.Add(-time.Hour), UpdatedAt: now}
	done := open
	done.ID, done.Status, done.Warnings, done.Deadline = "02CD-20270801", cmr.CaseCompleted, nil, time.Time{}
	for _, tc := range []struct {
		c     cmr.Case
		risky bool
	}{{open, false}, {open, true}, {done, true}} {
		want, err := json.Marshal(reference(tc.c, tc.risky))
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(s.caseSummary(tc.c, tc.risky))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("case %s (ticket at risk %v):\n got %s\nwant %s", tc.c.ID, tc.risky, got, want)
		}
		detail, err := json.Marshal(s.caseJSON(tc.c))
		if err != nil {
			t.Fatal(err)
		}
		var d, sum map[string]any
		if err := json.Unmarshal(detail, &d); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(got, &sum); err != nil {
			t.Fatal(err)
		}
		for k, v := range sum {
			if k == "at_risk" && tc.risky {
				continue // the detail reads its tickets for that
			}
			if !reflect.DeepEqual(d[k], v) {
				t.Errorf("case %s: %s is %v in the list, %v in the detail", tc.c.ID, k, v, d[k])
			}
		}
	}
}
