package gormdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
)

var orgs = []cmr.Organisation{
	{ID: "school", Name: "Het Lyceum", Role: cmr.RoleSchool, BRIN: "00AA", Sector: cmr.SectorVO},
	{ID: "dist", Name: "Distributeur", Role: cmr.RoleDistributor},
	{ID: "dist2", Name: "Andere distributeur", Role: cmr.RoleDistributor},
	{ID: "lika1", Name: "Uitgever 1", Role: cmr.RolePublisher},
	{ID: "lika2", Name: "Uitgever 2", Role: cmr.RolePublisher},
	{ID: "kn", Name: "Kennisnet", Role: cmr.RoleKennisnet},
}

func seed(t *testing.T, s *gormdb.Store) {
	t.Helper()
	for _, o := range orgs {
		if err := s.UpsertOrganisation(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTokens(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		seed(t, s)
		u, err := s.UpsertUser(ctx, cmr.User{OrganisationID: "lika1", Email: " LiKa@Example.org ", Name: "Lika"})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := s.CreateToken(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpsertUser(ctx, cmr.User{OrganisationID: "lika2", Email: "lika@example.org", Name: "Lika"}); cmr.KindOf(err) != cmr.KindConflict {
			t.Errorf("moving a user (and its tokens) to another organisation: %v", err)
		}
		got, err := s.Authenticate(ctx, tok)
		if err != nil || got.ID != u.ID || got.Role != cmr.RolePublisher || got.Email != "lika@example.org" {
			t.Fatalf("authenticate: %+v %v", got, err)
		}
		for _, bad := range []string{"", "cmr_nope", tok + "x", "Bearer " + tok} {
			if _, err := s.Authenticate(ctx, bad); cmr.KindOf(err) != cmr.KindUnauthorized {
				t.Errorf("token %q: got %v, want unauthorized", bad, err)
			}
		}
		if err := s.RevokeTokens(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, tok); cmr.KindOf(err) != cmr.KindUnauthorized {
			t.Errorf("revoked token: %v", err)
		}
	})
}

func testCase(t *testing.T) (cmr.CaseHeader, *cmr.CaseState) {
	parties := cmr.Parties{SchoolID: "school", DistributorID: "dist", LiKaIDs: []string{"lika1", "lika2"}, KennisnetIDs: []string{"kn"}}
	plan := cmr.Procedure(cmr.PlanInput{Sector: cmr.SectorVO, Funding: cmr.FundingELF, Options: cmr.CaseOptions{KeepHistory: true}, WasWordt: cmr.WasWordtSuppliers})
	dist := cmr.Actor{UserID: "u1", OrganisationID: "dist", Role: cmr.RoleDistributor}
	st := cmr.NewCaseState("00AA-20270715", cmr.SectorVO, parties, plan, dist, time.Now())
	h := cmr.CaseHeader{ID: st.CaseID, SchoolID: "school", DistributorID: "dist", Sector: cmr.SectorVO,
		SwitchOn: time.Date(2027, 7, 15, 0, 0, 0, 0, time.UTC), Deadline: time.Date(2027, 8, 1, 0, 0, 0, 0, time.UTC)}
	return h, st
}

func TestCaseProjection(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		seed(t, s)
		h, st := testCase(t)
		dist := cmr.Actor{UserID: "u1", OrganisationID: "dist", Role: cmr.RoleDistributor}
		opened := cmr.Event{Key: st.CaseID + "#1", CaseID: st.CaseID, Type: cmr.EventCaseOpened, Actor: &dist, At: time.Now()}
		if err := s.SaveCase(ctx, h, *st, 1, "", []cmr.Event{opened}); err != nil {
			t.Fatal(err)
		}
		// A retried write of the same snapshot duplicates nothing.
		if err := s.SaveCase(ctx, h, *st, 1, "", []cmr.Event{opened}); err != nil {
			t.Fatal(err)
		}
		sub, err := s.CreateSubmission(ctx, cmr.Submission{CaseID: st.CaseID, Kind: "step:plan.identity", Data: map[string]any{"change": "realm"}, Actor: dist})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Complete(dist, "plan.identity", sub, time.Now()); err != nil {
			t.Fatal(err)
		}
		done := cmr.Event{Key: st.CaseID + "#2", CaseID: st.CaseID, Type: cmr.EventStepCompleted, Step: "plan.identity", Actor: &dist, At: time.Now(), SubmissionID: sub}
		if err := s.SaveCase(ctx, h, *st, 2, "", []cmr.Event{done}); err != nil {
			t.Fatal(err)
		}
		// An older snapshot arriving late does not roll the projection back.
		_, old := testCase(t)
		if err := s.SaveCase(ctx, h, *old, 1, "", nil); err != nil {
			t.Fatal(err)
		}

		c, err := s.Case(ctx, gormdb.Viewer{OrganisationID: "lika2", Role: cmr.RolePublisher}, st.CaseID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != cmr.CaseOpen || len(c.Steps) != len(st.Plan) || c.Parties.SchoolID != "school" || len(c.Parties.LiKaIDs) != 2 {
			t.Fatalf("case: %+v", c)
		}
		var found bool
		for _, step := range c.Steps {
			if step.Key == "plan.identity" {
				found = true
				if step.State != cmr.StepDone || step.Data["change"] != "realm" || step.DoneBy == nil || step.DoneBy.UserID != "u1" {
					t.Errorf("step plan.identity: %+v", step)
				}
			}
		}
		if !found {
			t.Error("step plan.identity missing")
		}

		foreign := gormdb.Viewer{OrganisationID: "dist2", Role: cmr.RoleDistributor}
		if _, err := s.Case(ctx, foreign, st.CaseID); err != cmr.ErrNotFound {
			t.Errorf("foreign distributor: got %v, want not found", err)
		}
		if _, err := s.Events(ctx, foreign, st.CaseID); err != cmr.ErrNotFound {
			t.Errorf("foreign events: got %v", err)
		}
		if cs, _ := s.Cases(ctx, foreign, gormdb.CaseFilter{}); len(cs) != 0 {
			t.Errorf("foreign list: %d cases", len(cs))
		}
		events, err := s.Events(ctx, gormdb.Viewer{OrganisationID: "school", Role: cmr.RoleSchool}, st.CaseID)
		if err != nil || len(events) != 2 || events[1].Step != "plan.identity" {
			t.Fatalf("events: %+v %v", events, err)
		}
	})
}

func TestEventsAppendOnly(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		seed(t, s)
		h, st := testCase(t)
		ev := cmr.Event{Key: "k1", CaseID: st.CaseID, Type: cmr.EventCaseOpened, At: time.Now()}
		if err := s.SaveCase(ctx, h, *st, 1, "", []cmr.Event{ev}); err != nil {
			t.Fatal(err)
		}
		if err := gormdb.ExecForTest(s, "UPDATE events SET type = 'x'"); err == nil {
			t.Error("an event could be updated")
		}
		if err := gormdb.ExecForTest(s, "DELETE FROM events"); err == nil {
			t.Error("an event could be deleted")
		}
	})
}

func TestTicketsAndFilters(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		seed(t, s)
		h, st := testCase(t)
		if err := s.SaveCase(ctx, h, *st, 1, "", nil); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		past, warnPast, future := now.Add(-time.Hour), now.Add(-2*time.Hour), now.Add(48*time.Hour)
		overdue := cmr.Ticket{ID: st.CaseID + "-T1", CaseID: st.CaseID, LiKaID: "lika1", State: cmr.TicketOpen, WarnAt: &warnPast, DueAt: &past, Version: 1}
		onTime := cmr.Ticket{ID: st.CaseID + "-T2", CaseID: st.CaseID, LiKaID: "lika2", State: cmr.TicketOpen, WarnAt: &future, DueAt: &future, Version: 1}
		for _, tk := range []cmr.Ticket{overdue, onTime} {
			if err := s.SaveTicket(ctx, tk, []cmr.Event{{Key: tk.ID + "#1", CaseID: tk.CaseID, TicketID: tk.ID, Type: cmr.EventTicketCreated, At: now}}); err != nil {
				t.Fatal(err)
			}
		}
		lika1 := gormdb.Viewer{OrganisationID: "lika1", Role: cmr.RolePublisher}
		ts, err := s.Tickets(ctx, lika1, gormdb.TicketFilter{})
		if err != nil || len(ts) != 1 || ts[0].ID != overdue.ID {
			t.Fatalf("LiKa queue: %+v %v", ts, err)
		}
		if !ts[0].Overdue(now) || !ts[0].AtRisk(now) {
			t.Errorf("ticket should be overdue and at risk: %+v", ts[0])
		}
		if _, err := s.Ticket(ctx, lika1, onTime.ID); err != cmr.ErrNotFound {
			t.Errorf("another LiKa's ticket: %v", err)
		}
		dist := gormdb.Viewer{OrganisationID: "dist", Role: cmr.RoleDistributor}
		if ts, _ := s.Tickets(ctx, dist, gormdb.TicketFilter{Overdue: true, Now: now}); len(ts) != 1 || ts[0].ID != overdue.ID {
			t.Errorf("overdue filter: %+v", ts)
		}
		yes, no := true, false
		if cs, _ := s.Cases(ctx, dist, gormdb.CaseFilter{AtRisk: &yes, Now: now}); len(cs) != 1 {
			t.Errorf("at risk: %d cases", len(cs))
		}
		if cs, _ := s.Cases(ctx, dist, gormdb.CaseFilter{AtRisk: &no, Now: now}); len(cs) != 0 {
			t.Errorf("not at risk: %d cases", len(cs))
		}
		// Closing with a stale version is ignored; a newer one wins.
		sub, _ := s.CreateSubmission(ctx, cmr.Submission{CaseID: st.CaseID, Kind: "ticket:close", Data: map[string]any{"note": "verwerkt"}})
		closed := overdue
		closed.State, closed.Version, closed.SubmissionID = cmr.TicketClosed, 2, sub
		if err := s.SaveTicket(ctx, closed, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveTicket(ctx, overdue, nil); err != nil {
			t.Fatal(err)
		}
		got, _ := s.Ticket(ctx, lika1, overdue.ID)
		if got.State != cmr.TicketClosed || got.Note != "verwerkt" {
			t.Errorf("ticket after close: %+v", got)
		}
		if cs, _ := s.Cases(ctx, dist, gormdb.CaseFilter{Status: "completed"}); len(cs) != 0 {
			t.Errorf("status filter: %d", len(cs))
		}
	})
}
