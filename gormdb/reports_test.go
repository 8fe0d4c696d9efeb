package gormdb_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
)

// rpFixture stores the reports' cases:
//
//	00AA-20270715  open       dist,  lika1+lika2, kn  T1 lika1 (clock at the period's start, closed), T2 lika2 (past its warning)
//	00BB-20270715  open       dist2, lika1            T1 lika1
//	00AA-20260701  completed  dist,  lika1            T1 lika1 (clock at the period's end: outside)
//	00CC-20270715  cancelled  dist,  lika1+lika2      T1 lika1 (clock just before the period), T2 lika2 (no clock)
//	00DD-20270620  open       dist,  lika2            its deadline within 14 days of now
//	00EE-20270901  open       dist,  lika2            not at risk
//
// Kennisnet (kn) is a party to the first case only.
var (
	rpStart = time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)
	rpEnd   = time.Date(2027, 7, 1, 0, 0, 0, 0, time.UTC)
	rpNow   = time.Date(2027, 6, 10, 12, 0, 0, 0, time.UTC)
)

func rpFixture(t *testing.T, s *gormdb.Store) {
	t.Helper()
	ctx := context.Background()
	for _, o := range []cmr.Organisation{
		{ID: "school", Name: "Het Lyceum", Role: cmr.RoleSchool, BRIN: "00AA", Sector: cmr.SectorVO},
		{ID: "school2", Name: "Het College", Role: cmr.RoleSchool, BRIN: "00BB", Sector: cmr.SectorVO},
		{ID: "dist", Name: "Distributeur", Role: cmr.RoleDistributor},
		{ID: "dist2", Name: "Andere distributeur", Role: cmr.RoleDistributor},
		{ID: "lika1", Name: "Uitgever 1", Role: cmr.RolePublisher},
		{ID: "lika2", Name: "Uitgever 2", Role: cmr.RolePublisher},
		{ID: "kn", Name: "Kennisnet", Role: cmr.RoleKennisnet},
	} {
		if err := s.UpsertOrganisation(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	plan := cmr.Procedure(cmr.PlanInput{Sector: cmr.SectorVO, Funding: cmr.FundingELF, Options: cmr.CaseOptions{KeepHistory: true}, WasWordt: cmr.WasWordtSuppliers})
	day := func(s string) time.Time { d, _ := time.Parse(cmr.DateLayout, s); return d }
	for _, c := range []struct {
		id, school, dist string
		status           cmr.CaseStatus
		deadline         string
		likas, kn        []string
	}{
		{"00AA-20270715", "school", "dist", cmr.CaseOpen, "2027-08-01", []string{"lika1", "lika2"}, []string{"kn"}},
		{"00BB-20270715", "school2", "dist2", cmr.CaseOpen, "2027-08-01", []string{"lika1"}, nil},
		{"00AA-20260701", "school", "dist", cmr.CaseCompleted, "2026-08-01", []string{"lika1"}, nil},
		{"00CC-20270715", "school", "dist", cmr.CaseCancelled, "2027-06-01", []string{"lika1", "lika2"}, nil},
		{"00DD-20270620", "school", "dist", cmr.CaseOpen, "2027-06-20", []string{"lika2"}, nil},
		{"00EE-20270901", "school", "dist", cmr.CaseOpen, "2027-09-01", []string{"lika2"}, nil},
	} {
		parties := cmr.Parties{SchoolID: c.school, DistributorID: c.dist, LiKaIDs: c.likas, KennisnetIDs: c.kn}
		st := cmr.NewCaseState(c.id, cmr.SectorVO, parties, plan, cmr.Actor{UserID: "u", OrganisationID: c.dist, Role: cmr.RoleDistributor}, rpNow)
		st.Status = c.status
		h := cmr.CaseHeader{ID: c.id, SchoolID: c.school, DistributorID: c.dist, Sector: cmr.SectorVO, SwitchOn: day(c.deadline).AddDate(0, 0, -14), Deadline: day(c.deadline)}
		if err := s.SaveCase(ctx, h, *st, 1, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	lika1 := cmr.Actor{UserID: "u-lika1", OrganisationID: "lika1", Role: cmr.RolePublisher}
	note, err := s.CreateSubmission(ctx, cmr.Submission{CaseID: "00AA-20270715", Kind: "ticket:close", Data: map[string]any{"note": "Jan de Vries verwerkt"}, Actor: lika1})
	if err != nil {
		t.Fatal(err)
	}
	at := func(tm time.Time) *time.Time { return &tm }
	for _, tk := range []cmr.Ticket{
		{ID: "00AA-20270715-T1", CaseID: "00AA-20270715", LiKaID: "lika1", State: cmr.TicketClosed, ClockStartedAt: at(rpStart),
			DueAt: at(rpStart.Add(72 * time.Hour)), WarnAt: at(rpStart.Add(48 * time.Hour)), ResolvedAt: at(rpStart.Add(24 * time.Hour)), ResolvedBy: &lika1, SubmissionID: note},
		{ID: "00AA-20270715-T2", CaseID: "00AA-20270715", LiKaID: "lika2", State: cmr.TicketOpen, ClockStartedAt: at(rpNow.Add(-72 * time.Hour)),
			WarnAt: at(rpNow.Add(-time.Hour)), DueAt: at(rpNow.Add(20 * time.Hour))},
		{ID: "00BB-20270715-T1", CaseID: "00BB-20270715", LiKaID: "lika1", State: cmr.TicketOpen, ClockStartedAt: at(rpNow.Add(-time.Hour)),
			WarnAt: at(rpNow.Add(48 * time.Hour)), DueAt: at(rpNow.Add(72 * time.Hour))},
		{ID: "00AA-20260701-T1", CaseID: "00AA-20260701", LiKaID: "lika1", State: cmr.TicketClosed, ClockStartedAt: at(rpEnd), ResolvedAt: at(rpEnd.Add(time.Hour))},
		{ID: "00CC-20270715-T1", CaseID: "00CC-20270715", LiKaID: "lika1", State: cmr.TicketCancelled, ClockStartedAt: at(rpStart.Add(-time.Microsecond))},
		{ID: "00CC-20270715-T2", CaseID: "00CC-20270715", LiKaID: "lika2", State: cmr.TicketCancelled},
	} {
		tk.Version = 1
		if err := s.SaveTicket(ctx, tk, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func rpIDs[T any](xs []T, id func(T) string) []string {
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		out = append(out, id(x))
	}
	slices.Sort(out)
	return out
}

func TestSLATicketsVisibility(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		rpFixture(t, s)
		ticketID := func(tk cmr.Ticket) string { return tk.ID }
		for _, tt := range []struct {
			org  string
			role cmr.Role
			want []string
		}{
			// A LiKa: its own tickets, of every distributor's cases.
			{"lika1", cmr.RolePublisher, []string{"00AA-20270715-T1", "00BB-20270715-T1"}},
			{"lika2", cmr.RolePublisher, []string{"00AA-20270715-T2"}},
			// A distributor: the tickets of its own cases, every LiKa's.
			{"dist", cmr.RoleDistributor, []string{"00AA-20270715-T1", "00AA-20270715-T2"}},
			{"dist2", cmr.RoleDistributor, []string{"00BB-20270715-T1"}},
			// Kennisnet: everything, also of cases it is no party to.
			{"kn", cmr.RoleKennisnet, []string{"00AA-20270715-T1", "00AA-20270715-T2", "00BB-20270715-T1"}},
			// A role pretending: an unknown organisation sees nothing.
			{"nobody", cmr.RolePublisher, []string{}},
			{"nobody", cmr.RoleDistributor, []string{}},
		} {
			got, err := s.SLATickets(ctx, gormdb.Viewer{OrganisationID: tt.org, Role: tt.role}, rpStart, rpEnd)
			if err != nil {
				t.Fatalf("%s: %v", tt.org, err)
			}
			if ids := rpIDs(got, ticketID); !slices.Equal(ids, tt.want) {
				t.Errorf("%s (%s) counts %v, want %v", tt.org, tt.role, ids, tt.want)
			}
			for _, tk := range got {
				if tk.Note != "" || tk.Unprocessed != nil {
					t.Errorf("%s: ticket %s carries its note into the report: %q", tt.org, tk.ID, tk.Note)
				}
				if tk.ClockStartedAt == nil || tk.ClockStartedAt.Before(rpStart) || !tk.ClockStartedAt.Before(rpEnd) {
					t.Errorf("%s: ticket %s started outside the period: %v", tt.org, tk.ID, tk.ClockStartedAt)
				}
			}
		}
		// The closed ticket comes back with the moments the report reads.
		got, _ := s.SLATickets(ctx, gormdb.Viewer{OrganisationID: "lika1", Role: cmr.RolePublisher}, rpStart, rpEnd)
		for _, tk := range got {
			if tk.ID == "00AA-20270715-T1" && (tk.State != cmr.TicketClosed || !tk.ClockStartedAt.Equal(rpStart) || !tk.ResolvedAt.Equal(rpStart.Add(24*time.Hour)) || !tk.DueAt.Equal(rpStart.Add(72*time.Hour))) {
				t.Errorf("closed ticket: %+v", tk)
			}
		}
		for _, role := range []cmr.Role{cmr.RoleSchool, "", "admin"} {
			if _, err := s.SLATickets(ctx, gormdb.Viewer{OrganisationID: "school", Role: role}, rpStart, rpEnd); err != cmr.ErrNotFound {
				t.Errorf("role %q: %v, want not found", role, err)
			}
		}
	})
}

func TestReportCases(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		rpFixture(t, s)
		caseID := func(c cmr.Case) string { return c.ID }
		dist := gormdb.Viewer{OrganisationID: "dist", Role: cmr.RoleDistributor}
		cases, err := s.ReportCases(ctx, dist)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := rpIDs(cases, caseID), []string{"00AA-20260701", "00AA-20270715", "00CC-20270715", "00DD-20270620", "00EE-20270901"}; !slices.Equal(got, want) {
			t.Errorf("dist's cases: %v, want %v", got, want)
		}
		for _, c := range cases {
			want := map[string]int{"00AA-20270715": 2}[c.ID] // only open cases carry their tickets
			if len(c.Tickets) != want || c.DistributorID != "dist" || c.SchoolID != "school" {
				t.Errorf("%s: %d tickets (want %d), distributor %q, school %q", c.ID, len(c.Tickets), want, c.DistributorID, c.SchoolID)
			}
			for _, tk := range c.Tickets {
				if tk.Note != "" {
					t.Errorf("%s: a note in the report", tk.ID)
				}
			}
		}
		if c, err := s.ReportCases(ctx, gormdb.Viewer{OrganisationID: "dist2", Role: cmr.RoleDistributor}); err != nil || len(c) != 1 || c[0].ID != "00BB-20270715" || len(c[0].Tickets) != 1 {
			t.Errorf("dist2's cases: %v %v", rpIDs(c, caseID), err)
		}
		all, err := s.ReportCases(ctx, gormdb.Viewer{OrganisationID: "kn", Role: cmr.RoleKennisnet})
		if err != nil || len(all) != 6 {
			t.Errorf("Kennisnet sees %v, %v; want all 6", rpIDs(all, caseID), err)
		}
		for _, v := range []gormdb.Viewer{{OrganisationID: "lika1", Role: cmr.RolePublisher}, {OrganisationID: "school", Role: cmr.RoleSchool}, {OrganisationID: "dist"}} {
			if _, err := s.ReportCases(ctx, v); err != cmr.ErrNotFound {
				t.Errorf("%+v: %v, want not found", v, err)
			}
		}

		// The report's at-risk rule is the case list's: the same cases.
		yes := true
		listed, err := s.Cases(ctx, dist, gormdb.CaseFilter{AtRisk: &yes, Now: rpNow})
		if err != nil {
			t.Fatal(err)
		}
		var risky []cmr.Case
		for _, d := range cmr.CasesPerDistributor(cases, rpNow, gormdb.AtRiskWindow) {
			for _, r := range d.AtRisk {
				risky = append(risky, r.Case)
			}
		}
		got, want := rpIDs(risky, caseID), rpIDs(listed, caseID)
		if !slices.Equal(got, want) || !slices.Equal(got, []string{"00AA-20270715", "00DD-20270620"}) {
			t.Errorf("at risk in the report %v, in the case list %v; want 00AA-20270715 (a ticket) and 00DD-20270620 (the deadline)", got, want)
		}
	})
}
