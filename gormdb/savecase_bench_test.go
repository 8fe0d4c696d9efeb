package gormdb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
)

// BenchmarkSaveCaseStep writes a step of a VO case as a step request
// does: the submission, then the case's snapshot twice, once by the API
// and once by the case workflow's activity, one after the other. The
// snapshots after the opening leave the plan out, as the workflow's do.
// An op is one step; the openings are not timed.
func BenchmarkSaveCaseStep(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchSaveCaseStep(b, gormdbtest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchSaveCaseStep(b, gormdbtest.Postgres(b)) })
}

func benchSaveCaseStep(b *testing.B, s *gormdb.Store) {
	ctx := context.Background()
	seed(b, s)
	actors := map[cmr.Role]cmr.Actor{
		cmr.RoleDistributor: {UserID: "u1", OrganisationID: "dist", Role: cmr.RoleDistributor},
		cmr.RoleSchool:      {UserID: "u2", OrganisationID: "school", Role: cmr.RoleSchool},
		cmr.RoleKennisnet:   {UserID: "u3", OrganisationID: "kn", Role: cmr.RoleKennisnet},
	}
	var st *cmr.CaseState
	var h cmr.CaseHeader
	var version, cases int
	// next is the case's next step a person completes; a new case when
	// the case has none left before its tickets.
	next := func() (string, cmr.Actor) {
		for {
			if st != nil {
				open := map[string]bool{}
				for _, key := range st.OpenSteps() {
					open[key] = true
				}
				for _, d := range st.Plan {
					if a, ok := actors[d.Owner]; ok && open[d.Key] && d.Kind != cmr.StepTest && !d.CreatesTickets {
						return d.Key, a
					}
				}
			}
			b.StopTimer()
			h, st = testCase(b)
			cases++
			h.ID = fmt.Sprintf("%s-%d", h.ID, cases)
			st.CaseID = h.ID
			version = 1
			if err := s.SaveCase(ctx, h, *st, version, "", nil); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		key, a := next()
		sub, err := s.CreateSubmission(ctx, cmr.Submission{CaseID: st.CaseID, Kind: "step:" + key, Data: map[string]any{"note": "gedaan"}, Actor: a})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.Complete(a, key, sub, time.Now()); err != nil {
			b.Fatal(err)
		}
		version++
		snap := *st
		snap.Plan = nil
		ev := []cmr.Event{{Key: fmt.Sprintf("%s#%d.1", st.CaseID, version), CaseID: st.CaseID, Type: cmr.EventStepCompleted, Step: key, Actor: &a, At: time.Now(), SubmissionID: sub}}
		for range 2 {
			if err := s.SaveCase(ctx, h, snap, version, "", ev); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/float64(cases), "steps/case")
}
