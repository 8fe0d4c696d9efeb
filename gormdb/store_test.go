package gormdb_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
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

func seed(t testing.TB, s *gormdb.Store) {
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
		// Its use is recorded, for the admin page's token list.
		infos, err := s.Tokens(ctx, "lika1")
		if err != nil || len(infos) != 1 || infos[0].LastUsedAt == nil || time.Since(*infos[0].LastUsedAt) > time.Minute {
			t.Errorf("token's last use after authenticating: %+v %v", infos, err)
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

func testCase(t testing.TB) (cmr.CaseHeader, *cmr.CaseState) {
	parties := cmr.Parties{SchoolID: "school", DistributorID: "dist", LiKaIDs: []string{"lika1", "lika2"}, KennisnetIDs: []string{"kn"}}
	plan := cmr.Procedure(cmr.PlanInput{Sector: cmr.SectorVO, Funding: cmr.FundingELF, Options: cmr.CaseOptions{KeepHistory: true}, WasWordt: cmr.WasWordtSuppliers})
	dist := cmr.Actor{UserID: "u1", OrganisationID: "dist", Role: cmr.RoleDistributor}
	st := cmr.NewCaseState("00AA-20270715", cmr.SectorVO, parties, plan, dist, time.Now())
	h := cmr.CaseHeader{ID: st.CaseID, SchoolID: "school", DistributorID: "dist", Sector: cmr.SectorVO,
		SwitchOn: time.Date(2027, 7, 15, 0, 0, 0, 0, time.UTC), Deadline: time.Date(2027, 8, 1, 0, 0, 0, 0, time.UTC)}
	return h, st
}

// savedCase seeds the organisations and saves testCase's case (version 1).
func savedCase(t testing.TB, s *gormdb.Store) (cmr.CaseHeader, *cmr.CaseState) {
	t.Helper()
	seed(t, s)
	h, st := testCase(t)
	if err := s.SaveCase(context.Background(), h, *st, 1, "", nil); err != nil {
		t.Fatal(err)
	}
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
		// An older snapshot arriving late does not roll the projection
		// back, and its events are appended: a write of it that failed
		// everywhere before (a retried activity).
		_, old := testCase(t)
		late := cmr.Event{Key: st.CaseID + "#1.late", CaseID: st.CaseID, Type: cmr.EventStepCompleted, Step: "1.request", At: time.Now()}
		if err := s.SaveCase(ctx, h, *old, 1, "", []cmr.Event{late, opened}); err != nil {
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
		if err != nil || len(events) != 3 || events[1].Step != "plan.identity" || events[2].Key != late.Key {
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
		_, st := savedCase(t, s)
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
		// A LiKa's case is at risk by its own ticket, not another
		// publisher's: lika2's ticket is on time.
		lika2 := gormdb.Viewer{OrganisationID: "lika2", Role: cmr.RolePublisher}
		if cs, _ := s.Cases(ctx, lika2, gormdb.CaseFilter{AtRisk: &yes, Now: now}); len(cs) != 0 {
			t.Errorf("at risk for lika2 by lika1's ticket: %d cases", len(cs))
		}
		if cs, _ := s.Cases(ctx, lika2, gormdb.CaseFilter{AtRisk: &no, Now: now}); len(cs) != 1 {
			t.Errorf("not at risk for lika2: %d cases", len(cs))
		}
		if cs, _ := s.Cases(ctx, lika1, gormdb.CaseFilter{AtRisk: &yes, Now: now}); len(cs) != 1 {
			t.Errorf("at risk for lika1: %d cases", len(cs))
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

// TestSaveCaseTwiceAtOnce: the API and the workflow write the same
// snapshot at about the same time (caller-writes); both succeed, and the
// case, its steps and events are there once.
func TestSaveCaseTwiceAtOnce(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		seed(t, s)
		h, st := testCase(t)
		events := []cmr.Event{{Key: h.ID + "#1.1", CaseID: h.ID, Type: cmr.EventCaseOpened, At: time.Now()}}
		for round := range 20 {
			h.ID = fmt.Sprintf("00AA-20270715-%d", round)
			st.CaseID, events[0].Key, events[0].CaseID = h.ID, h.ID+"#1.1", h.ID
			errs := make(chan error, 2)
			for range 2 {
				go func() { errs <- s.SaveCase(ctx, h, *st, 1, "", events) }()
			}
			for range 2 {
				if err := <-errs; err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
			}
			got, err := s.Case(ctx, gormdb.Viewer{OrganisationID: "dist", Role: cmr.RoleDistributor}, h.ID)
			if err != nil || len(got.Steps) != len(st.Steps) {
				t.Fatalf("round %d: %d steps, %v", round, len(got.Steps), err)
			}
			ev, err := s.Events(ctx, gormdb.Viewer{OrganisationID: "dist", Role: cmr.RoleDistributor}, h.ID)
			if err != nil || len(ev) != 1 {
				t.Fatalf("round %d: %d events, %v", round, len(ev), err)
			}
		}
	})
}

// TestCaseSearch: the case list searches case IDs, school names and
// BRINs in the database (so a search finds old cases too), with LIKE's
// wildcards taken literally.
func TestCaseSearch(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		seed(t, s)
		h, st := testCase(t)
		for _, id := range []string{"00AA-20270715", "00AA-20270716_X"} {
			h.ID, st.CaseID = id, id
			if err := s.SaveCase(ctx, h, *st, 1, "", nil); err != nil {
				t.Fatal(err)
			}
		}
		v := gormdb.Viewer{OrganisationID: "dist", Role: cmr.RoleDistributor}
		for _, tc := range []struct {
			f    gormdb.CaseFilter
			want int
		}{
			{gormdb.CaseFilter{Query: "lyceum"}, 2},
			{gormdb.CaseFilter{Query: " 00aa "}, 2},
			{gormdb.CaseFilter{Query: "0716"}, 1},
			{gormdb.CaseFilter{Query: "_x"}, 1},
			{gormdb.CaseFilter{Query: "%"}, 0},
			{gormdb.CaseFilter{Query: "0_AA"}, 0},
			{gormdb.CaseFilter{Query: "00A"}, 2}, // in the case IDs
			{gormdb.CaseFilter{Sector: "VO"}, 2},
			{gormdb.CaseFilter{Sector: "MBO"}, 0},
		} {
			got, _, err := s.CasePage(ctx, v, tc.f)
			if err != nil || len(got) != tc.want {
				t.Errorf("%+v: %d cases, %v; want %d", tc.f, len(got), err, tc.want)
			}
		}
		if schools, err := s.CaseSchools(ctx, v); err != nil || len(schools) != 1 || schools[0].ID != "school" || schools[0].BRIN != "00AA" || schools[0].Name != "Het Lyceum" {
			t.Errorf("case schools: %+v %v", schools, err)
		}
		if ids, err := s.CaseSchools(ctx, gormdb.Viewer{OrganisationID: "dist2", Role: cmr.RoleDistributor}); err != nil || len(ids) != 0 {
			t.Errorf("another distributor's case schools: %v %v", ids, err)
		}
	})
}

// TestWaitingSteps: the steps waiting for the viewer's role over all its
// open cases, nearest deadline first, limited with a flag for more; not
// another's cases, not a closed case, not the steps of another role.
func TestWaitingSteps(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		seed(t, s)
		dist := gormdb.Viewer{OrganisationID: "dist", Role: cmr.RoleDistributor}
		// Five cases, saved in an order unlike their deadlines; the
		// fourth is cancelled.
		for i, day := range []int{20, 5, 12, 1, 9} {
			h, st := testCase(t)
			h.ID = fmt.Sprintf("00AA-202707%02d", day)
			st.CaseID = h.ID
			h.Deadline = time.Date(2027, 7, day, 0, 0, 0, 0, time.UTC)
			if i == 3 {
				st.Status = cmr.CaseCancelled
			}
			if err := s.SaveCase(ctx, h, *st, 1, "", nil); err != nil {
				t.Fatal(err)
			}
		}
		got, more, err := s.WaitingSteps(ctx, dist, 3)
		var ids []string
		for _, w := range got {
			ids = append(ids, w.CaseID+" "+w.Step.Key+" "+w.Deadline.Format(cmr.DateLayout))
			if w.Step.Owner != cmr.RoleDistributor || w.Step.State != cmr.StepOpen {
				t.Errorf("not the distributor's open step: %+v", w.Step)
			}
		}
		want := []string{"00AA-20270705 plan.identity 2027-07-05", "00AA-20270709 plan.identity 2027-07-09", "00AA-20270712 plan.identity 2027-07-12"}
		if err != nil || !more || !slices.Equal(ids, want) {
			t.Errorf("waiting steps: %v %v %v, want %v and more", ids, more, err, want)
		}
		if got, more, err := s.WaitingSteps(ctx, dist, 10); err != nil || more || len(got) != 4 {
			t.Errorf("all waiting steps: %d %v %v, want 4", len(got), more, err)
		}
		for _, v := range []gormdb.Viewer{{OrganisationID: "dist2", Role: cmr.RoleDistributor}, {OrganisationID: "school", Role: cmr.RoleSchool}, {OrganisationID: "lika1", Role: cmr.RolePublisher}} {
			if got, _, err := s.WaitingSteps(ctx, v, 10); err != nil || len(got) != 0 {
				t.Errorf("%s: %+v %v", v.OrganisationID, got, err)
			}
		}
	})
}

// TestCaseSummary: a list's summary of a case (CaseFilter.Summary) has
// what the list shows exactly as the whole case has it.
func TestCaseSummary(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		seed(t, s)
		h, st := testCase(t)
		h.Warnings = []cmr.Warning{{Code: cmr.WarnShortNotice, Message: "short", NL: "kort"}}
		st.Status = cmr.CaseCancelled
		if err := s.SaveCase(ctx, h, *st, 1, "", nil); err != nil {
			t.Fatal(err)
		}
		// This binary writes the column with the case: the list needs no
		// header.
		if got, err := gormdb.CaseWarningsForTest(s, h.ID); err != nil || got == nil || !sameJSON(t, *got, mustJSON(t, h.Warnings)) {
			t.Errorf("warnings column as saved: %v %v, want %s", deref(got), err, mustJSON(t, h.Warnings))
		}
		v := gormdb.Viewer{OrganisationID: "dist", Role: cmr.RoleDistributor}
		whole, _, err1 := s.CasePage(ctx, v, gormdb.CaseFilter{})
		sum, _, err2 := s.CasePage(ctx, v, gormdb.CaseFilter{Summary: true})
		if err1 != nil || err2 != nil || len(whole) != 1 || len(sum) != 1 {
			t.Fatalf("%d %v, %d %v", len(whole), err1, len(sum), err2)
		}
		w, g := whole[0], sum[0]
		if g.ID != w.ID || g.SchoolID != w.SchoolID || g.DistributorID != w.DistributorID || g.Sector != w.Sector || g.Status != w.Status ||
			!g.SwitchOn.Equal(w.SwitchOn) || !g.Deadline.Equal(w.Deadline) || len(g.Warnings) != 1 || g.Warnings[0] != w.Warnings[0] ||
			!g.CreatedAt.Equal(w.CreatedAt) || !g.UpdatedAt.Equal(w.UpdatedAt) || (g.ClosedAt == nil) != (w.ClosedAt == nil) {
			t.Errorf("summary %+v\nwhole %+v", g, w)
		}
		warnings := func(when string) {
			t.Helper()
			sum, _, err := s.CasePage(ctx, v, gormdb.CaseFilter{Summary: true})
			if err != nil || len(sum) != 1 || len(sum[0].Warnings) != 1 || sum[0].Warnings[0] != w.Warnings[0] {
				t.Errorf("%s: summary %+v %v", when, sum, err)
			}
		}
		// A row an older binary wrote has no warnings column: the list
		// reads them from its header.
		if err := gormdb.ExecForTest(s, "UPDATE cases SET warnings = NULL"); err != nil {
			t.Fatal(err)
		}
		warnings("without the column")
		// Migration 00011 fills the column from the headers written
		// before it, 'null' for a case without warnings, so no row is
		// left to fall back.
		h2, st2 := testCase(t)
		h2.ID, st2.CaseID = "00AA-20270716", "00AA-20270716"
		if err := s.SaveCase(ctx, h2, *st2, 1, "", nil); err != nil {
			t.Fatal(err)
		}
		if got, err := gormdb.CaseWarningsForTest(s, h2.ID); err != nil || got == nil || !sameJSON(t, *got, "null") {
			t.Errorf("warnings column of a case without warnings, as saved: %v %v, want null", deref(got), err)
		}
		if err := gormdb.MigrateToForTest(s, 10); err != nil {
			t.Fatal(err)
		}
		if err := gormdb.MigrateToForTest(s, 11); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]string{h.ID: mustJSON(t, h.Warnings), h2.ID: "null"} {
			got, err := gormdb.CaseWarningsForTest(s, id)
			if err != nil || got == nil || !sameJSON(t, *got, want) {
				t.Errorf("case %s's warnings after migrating: %v %v, want %s", id, deref(got), err, want)
			}
		}
		if err := gormdb.MigrateToForTest(s, 1<<31); err != nil {
			t.Fatal(err)
		}
		sum, _, err := s.CasePage(ctx, v, gormdb.CaseFilter{Summary: true})
		if err != nil || len(sum) != 2 {
			t.Fatalf("after migrating: %+v %v", sum, err)
		}
		for _, c := range sum {
			if (c.ID == h.ID) != (len(c.Warnings) == 1) || (c.ID == h.ID && c.Warnings[0] != w.Warnings[0]) {
				t.Errorf("after migrating, case %s's warnings: %+v", c.ID, c.Warnings)
			}
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sameJSON compares two JSON texts by value (JSONB gives them back
// reordered and respaced).
func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Fatalf("%q: %v", a, err)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatalf("%q: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// TestSaveCaseWritesChangedSteps: a transition writes the step rows it
// changed, not every step of the case again.
func TestSaveCaseWritesChangedSteps(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		h, st := savedCase(t, s)
		writes := gormdb.CountStepWritesForTest(s)
		if err := s.SaveCase(ctx, h, *st, 2, "", nil); err != nil {
			t.Fatal(err)
		}
		if n := writes(); n != 0 {
			t.Errorf("an unchanged snapshot wrote %d step rows", n)
		}
		dist := cmr.Actor{UserID: "u1", OrganisationID: "dist", Role: cmr.RoleDistributor}
		sub, err := s.CreateSubmission(ctx, cmr.Submission{CaseID: st.CaseID, Kind: "step:plan.identity", Data: map[string]any{"change": "realm"}, Actor: dist})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Complete(dist, "plan.identity", sub, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveCase(ctx, h, *st, 3, "", nil); err != nil {
			t.Fatal(err)
		}
		changed := 0
		for i := range st.Steps {
			if st.Steps[i].Key == "plan.identity" || st.Steps[i].State == cmr.StepOpen {
				changed++
			}
		}
		if n := writes(); n == 0 || n > changed || n >= len(st.Steps) {
			t.Errorf("one step done wrote %d step rows (at most %d changed, of %d)", n, changed, len(st.Steps))
		}
		c, err := s.Case(ctx, gormdb.Viewer{OrganisationID: "dist", Role: cmr.RoleDistributor}, st.CaseID)
		if err != nil {
			t.Fatal(err)
		}
		for i, step := range c.Steps {
			if step.State != st.Steps[i].State || step.Key != st.Steps[i].Key {
				t.Errorf("step %s: stored %s, snapshot %s", step.Key, step.State, st.Steps[i].State)
			}
			want := st.Steps[i].DoneAt.UTC().Truncate(time.Microsecond)
			if step.Attempt != st.Steps[i].Attempt || (step.DoneAt == nil) != st.Steps[i].DoneAt.IsZero() || step.DoneAt != nil && !step.DoneAt.Equal(want) {
				t.Errorf("step %s: stored attempt %d, done %v; snapshot %d, %v", step.Key, step.Attempt, step.DoneAt, st.Steps[i].Attempt, st.Steps[i].DoneAt)
			}
			if step.Key == "plan.identity" && (step.Data["change"] != "realm" || step.DoneBy == nil || step.DoneBy.UserID != "u1") {
				t.Errorf("step plan.identity: data %v, done by %+v", step.Data, step.DoneBy)
			}
		}
	})
}

// TestSaveCaseWithoutPlan: a case's snapshots after its first carry no
// plan (it never changes after opening); its steps keep the definitions
// the first stored, and one that arrives before the first stores nothing
// and asks to be tried again.
func TestSaveCaseWithoutPlan(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		seed(t, s)
		h, st := testCase(t)
		dist := cmr.Actor{UserID: "u1", OrganisationID: "dist", Role: cmr.RoleDistributor}
		sub, err := s.CreateSubmission(ctx, cmr.Submission{CaseID: st.CaseID, Kind: "step:plan.identity", Data: map[string]any{"change": "realm"}, Actor: dist})
		if err != nil {
			t.Fatal(err)
		}
		first := *st
		first.Steps = slices.Clone(st.Steps)
		if _, err := st.Complete(dist, "plan.identity", sub, time.Now()); err != nil {
			t.Fatal(err)
		}
		later := *st
		later.Plan = nil
		done := cmr.Event{Key: st.CaseID + "#2.1", CaseID: st.CaseID, Type: cmr.EventStepCompleted, Step: "plan.identity", Actor: &dist, At: time.Now(), SubmissionID: sub}

		err = s.SaveCase(ctx, h, later, 2, "", []cmr.Event{done})
		if cmr.KindOf(err) != cmr.KindUnavailable || !errors.Is(err, cmr.ErrPlanNotStored) {
			t.Fatalf("a snapshot without its plan before the first: got %v, want the plan not stored (unavailable)", err)
		}
		if _, err := s.Case(ctx, gormdb.Viewer{OrganisationID: "dist", Role: cmr.RoleDistributor}, st.CaseID); err != cmr.ErrNotFound {
			t.Fatalf("after the refused snapshot: got %v, want the case not stored", err)
		}
		if err := s.SaveCase(ctx, h, first, 1, "", nil); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveCase(ctx, h, later, 2, "", []cmr.Event{done}); err != nil {
			t.Fatal(err)
		}

		c, err := s.Case(ctx, gormdb.Viewer{OrganisationID: "dist", Role: cmr.RoleDistributor}, st.CaseID)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Steps) != len(st.Plan) {
			t.Fatalf("%d steps stored, want %d", len(c.Steps), len(st.Plan))
		}
		for i, step := range c.Steps {
			def := st.Plan[i]
			if step.Key != def.Key || step.Title != def.Title || step.TitleEN != def.TitleEN || step.Owner != def.Owner ||
				len(step.Records) != len(def.Records) || !slices.Equal(step.WaitsFor, def.WaitsFor) {
				t.Errorf("step %d: stored %+v, planned %+v", i, step.StepDef, def)
			}
			if step.State != st.Steps[i].State {
				t.Errorf("step %s: stored %s, snapshot %s", step.Key, step.State, st.Steps[i].State)
			}
		}
		if events, err := s.Events(ctx, gormdb.Viewer{OrganisationID: "dist", Role: cmr.RoleDistributor}, st.CaseID); err != nil || len(events) != 1 || events[0].Key != done.Key {
			t.Errorf("events: %+v %v", events, err)
		}
	})
}

// TestSaveCaseSameVersionAndClosed: a snapshot written again at the
// version stored, with events the first write did not carry (a ticket's
// close is answered with the case's latest snapshot and the close's own
// events), appends them; a closed case keeps the moment it was first
// closed through later snapshots.
func TestSaveCaseSameVersionAndClosed(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		h, st := savedCase(t, s)
		snap := *st
		snap.Plan = nil
		step := cmr.Event{Key: st.CaseID + "#2.1", CaseID: st.CaseID, Type: cmr.EventStepCompleted, Step: "1.request", At: time.Now()}
		closed := cmr.Event{Key: st.CaseID + "#2.2", CaseID: st.CaseID, Type: cmr.EventTicketClosed, At: time.Now()}
		if err := s.SaveCase(ctx, h, snap, 2, "", []cmr.Event{step}); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveCase(ctx, h, snap, 2, "", []cmr.Event{step, closed}); err != nil {
			t.Fatal(err)
		}
		dist := gormdb.Viewer{OrganisationID: "dist", Role: cmr.RoleDistributor}
		if events, err := s.Events(ctx, dist, st.CaseID); err != nil || len(events) != 2 || events[1].Key != closed.Key {
			t.Errorf("events after the same version twice: %+v %v", events, err)
		}

		snap.Status = cmr.CaseCancelled
		if err := s.SaveCase(ctx, h, snap, 3, "", nil); err != nil {
			t.Fatal(err)
		}
		first, err := s.Case(ctx, dist, st.CaseID)
		if err != nil || first.ClosedAt == nil || first.Status != cmr.CaseCancelled {
			t.Fatalf("cancelled: %+v %v", first.ClosedAt, err)
		}
		time.Sleep(5 * time.Millisecond)
		if err := s.SaveCase(ctx, h, snap, 4, "", nil); err != nil {
			t.Fatal(err)
		}
		later, err := s.Case(ctx, dist, st.CaseID)
		if err != nil || later.ClosedAt == nil || !later.ClosedAt.Equal(*first.ClosedAt) || !later.UpdatedAt.After(first.UpdatedAt) {
			t.Errorf("closed at %v, then %v (updated %v, then %v): want it kept", first.ClosedAt, later.ClosedAt, first.UpdatedAt, later.UpdatedAt)
		}
	})
}

// TestDeliveryKeepsItsStep: a delivery remembers the step its notice is
// about, so that a redelivery by hand carries it as the first did.
func TestDeliveryKeepsItsStep(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		_, st := savedCase(t, s)
		d := cmr.Delivery{ID: st.CaseID + "#2.1/step_waiting/webhook/school", EventKey: st.CaseID + "#2.1", CaseID: st.CaseID, Step: "plan.freeze",
			Kind: cmr.NoticeStepWaiting, Channel: cmr.ChannelWebhook, OrganisationID: "school"}
		if _, err := s.BeginDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
		got, err := s.Delivery(ctx, "school", d.ID)
		if err != nil || got.Step != "plan.freeze" {
			t.Errorf("delivery read back: %+v %v", got, err)
		}
	})
}

// TestTicketsWaitingForTheirPart: PartDue finds a LiKa's tickets that
// wait for its part of an MBO list, until it uploads one.
func TestTicketsWaitingForTheirPart(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		_, st := savedCase(t, s)
		now := time.Now().UTC()
		waiting := cmr.Ticket{ID: st.CaseID + "-T1", CaseID: st.CaseID, LiKaID: "lika1", State: cmr.TicketAwaitingList, Version: 1}
		if err := s.SaveTicket(ctx, waiting, []cmr.Event{{Key: waiting.ID + "#1", CaseID: st.CaseID, TicketID: waiting.ID, Type: cmr.EventTicketCreated, At: now}}); err != nil {
			t.Fatal(err)
		}
		lika1 := gormdb.Viewer{OrganisationID: "lika1", Role: cmr.RolePublisher}
		lika2 := gormdb.Viewer{OrganisationID: "lika2", Role: cmr.RolePublisher}
		if ts, err := s.Tickets(ctx, lika1, gormdb.TicketFilter{PartDue: true}); err != nil || len(ts) != 1 || ts[0].ID != waiting.ID {
			t.Fatalf("before its part: %+v %v", ts, err)
		}
		if ts, _ := s.Tickets(ctx, lika2, gormdb.TicketFilter{PartDue: true}); len(ts) != 0 {
			t.Errorf("another LiKa's ticket: %+v", ts)
		}
		v := cmr.ListVersion{ID: gormdb.NewListID(), CaseID: st.CaseID, TicketID: waiting.ID, Kind: cmr.ListSupplier, Format: "mbo-eck", Version: 1, RowCount: 1,
			UploadedBy: cmr.Actor{UserID: "u", OrganisationID: "lika1", Role: cmr.RolePublisher}}
		if _, err := s.SaveList(ctx, v, bytes.NewReader([]byte("sealed")), nil); err != nil {
			t.Fatal(err)
		}
		if ts, err := s.Tickets(ctx, lika1, gormdb.TicketFilter{PartDue: true}); err != nil || len(ts) != 0 {
			t.Errorf("after its part: %+v %v", ts, err)
		}
	})
}
