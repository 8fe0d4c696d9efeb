package gormdb

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/cmr-idp/cmr"
)

// The reports' queries. What a viewer may count follows its role:
//
//   - a LiKa: its own tickets, on the cases it is a party to;
//   - a distributor: the tickets and cases of its own cases (it is their
//     distributor and a party);
//   - Kennisnet (chain support): every case and ticket, across
//     distributors. This is the one read that is not limited to the
//     viewer's cases: the reports hold counts, case IDs and deadlines, no
//     personal data, and chain support watches the whole chain;
//   - a school: nothing (cmr.ErrNotFound).

// reportScope limits q (a query joined with cases) to what v may count.
func reportScope(q *gorm.DB, v Viewer) (*gorm.DB, error) {
	switch v.Role {
	case cmr.RoleKennisnet:
		return q, nil
	case cmr.RoleDistributor:
		return q.Where("cases.distributor_id = ?", v.OrganisationID).Where(partyClause, v.OrganisationID), nil
	}
	return nil, cmr.ErrNotFound
}

// SLATickets lists the tickets whose SLA clock started in [start, end)
// that v may count in the SLA report: a LiKa its own, a distributor those
// of its own cases, Kennisnet all; a school none (cmr.ErrNotFound).
func (s *Store) SLATickets(ctx context.Context, v Viewer, start, end time.Time) ([]cmr.Ticket, error) {
	q := s.db.WithContext(ctx).Joins("JOIN cases ON cases.id = tickets.case_id").
		Where("tickets.clock_started_at >= ? AND tickets.clock_started_at < ?", start.UTC(), end.UTC())
	if v.Role == cmr.RolePublisher {
		q = q.Where("tickets.lika_id = ?", v.OrganisationID).Where(partyClause, v.OrganisationID)
	} else {
		var err error
		if q, err = reportScope(q, v); err != nil {
			return nil, err
		}
	}
	ts, err := s.tickets(ctx, q)
	for i := range ts {
		ts[i].Note, ts[i].Unprocessed = "", nil // the report counts clocks, not what people wrote
	}
	return ts, err
}

// ReportCases lists the cases of the distributors' report, oldest first,
// each open one with its tickets (what the at-risk rule reads): a
// distributor its own cases, Kennisnet every distributor's; others none
// (cmr.ErrNotFound). Parties and steps are not loaded.
func (s *Store) ReportCases(ctx context.Context, v Viewer) ([]cmr.Case, error) {
	db := s.db.WithContext(ctx)
	q, err := reportScope(db.Model(&caseRow{}), v)
	if err != nil {
		return nil, err
	}
	var rows []caseRow
	if err := q.Order("cases.created_at, cases.id").Find(&rows).Error; err != nil {
		return nil, wrap("report cases", err)
	}
	tq, _ := reportScope(db.Joins("JOIN cases ON cases.id = tickets.case_id").Where("cases.status = ?", cmr.CaseOpen), v)
	tickets, err := s.tickets(ctx, tq)
	if err != nil {
		return nil, err
	}
	byCase := map[string][]cmr.Ticket{}
	for _, t := range tickets {
		t.Note, t.Unprocessed = "", nil // the rule reads the clock, not what people wrote
		byCase[t.CaseID] = append(byCase[t.CaseID], t)
	}
	out := make([]cmr.Case, 0, len(rows))
	for _, r := range rows {
		c, err := r.domain()
		if err != nil {
			return nil, err
		}
		c.ID, c.DistributorID, c.SchoolID = r.ID, r.DistributorID, r.SchoolID
		c.Tickets = byCase[r.ID]
		out = append(out, c)
	}
	return out, nil
}
