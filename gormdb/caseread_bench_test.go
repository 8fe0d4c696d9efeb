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

// BenchmarkCaseRead reads a VO case with its 22 steps and 10 tickets as
// every case page, step and answer about a case does ("store": the
// domain case, checked for the viewer), against the same four queries
// hand-written on database/sql, the columns scanned into strings and
// nothing decoded ("bare"), alternately, so that the two are compared
// under the same load.
func BenchmarkCaseRead(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchCaseRead(b, gormdbtest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchCaseRead(b, gormdbtest.Postgres(b)) })
}

func benchCaseRead(b *testing.B, s *gormdb.Store) {
	ctx := context.Background()
	_, st := savedCase(b, s)
	now := time.Now().UTC()
	for i := range 10 {
		lika := fmt.Sprintf("lika-bench-%d", i)
		if err := s.UpsertOrganisation(ctx, cmr.Organisation{ID: lika, Name: "Uitgever " + lika, Role: cmr.RolePublisher}); err != nil {
			b.Fatal(err)
		}
		due := now.Add(time.Duration(i) * time.Hour)
		tk := cmr.Ticket{ID: fmt.Sprintf("%s-T%d", st.CaseID, i), CaseID: st.CaseID, LiKaID: lika, State: cmr.TicketOpen, DueAt: &due, WarnAt: &due, Version: 1}
		if err := s.SaveTicket(ctx, tk, nil); err != nil {
			b.Fatal(err)
		}
	}
	dist := gormdb.Viewer{OrganisationID: "dist", Role: cmr.RoleDistributor}
	if c, err := s.Case(ctx, dist, st.CaseID); err != nil || len(c.Steps) != len(st.Steps) || len(c.Tickets) != 10 {
		b.Fatalf("case read: %d steps, %d tickets, %v", len(c.Steps), len(c.Tickets), err)
	}
	db := gormdb.SQLDBForTest(s)
	queries := []string{
		"SELECT * FROM cases WHERE id = $1 AND EXISTS (SELECT 1 FROM case_parties p WHERE p.case_id = cases.id AND p.organisation_id = $2)",
		"SELECT * FROM case_parties WHERE case_id = $1 ORDER BY organisation_id",
		"SELECT * FROM case_steps WHERE case_id = $1",
		"SELECT * FROM tickets WHERE case_id = $1 ORDER BY due_at IS NULL, due_at, id",
	}
	bare := func() error {
		for i, q := range queries {
			args := []any{st.CaseID}
			if i == 0 {
				args = append(args, "dist")
			}
			rows, err := db.QueryContext(ctx, q, args...)
			if err != nil {
				return err
			}
			cols, _ := rows.Columns()
			vals := make([]any, len(cols))
			for j := range vals {
				vals[j] = new(any)
			}
			for rows.Next() {
				if err := rows.Scan(vals...); err != nil {
					rows.Close()
					return err
				}
			}
			if err := rows.Close(); err != nil {
				return err
			}
		}
		return nil
	}
	for _, name := range []string{"store", "bare", "store", "bare"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if name == "bare" {
					err = bare()
				} else {
					_, err = s.Case(ctx, dist, st.CaseID)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
