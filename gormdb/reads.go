package gormdb

import (
	"context"
	"encoding/json"
	"time"

	"gorm.io/gorm"

	"github.com/cmr-idp/cmr"
)

// Viewer is who reads: every query is limited to the cases whose parties
// include the viewer's organisation.
type Viewer struct {
	OrganisationID string
	Role           cmr.Role
}

const partyClause = "EXISTS (SELECT 1 FROM case_parties p WHERE p.case_id = cases.id AND p.organisation_id = ?)"

// AtRiskWindow is how close a deadline must be for an open case to count
// as at risk.
const AtRiskWindow = 14 * 24 * time.Hour

// CaseFilter narrows ListCases.
type CaseFilter struct {
	Status   string
	SchoolID string
	AtRisk   *bool
	Now      time.Time
	Limit    int
}

func atRiskSQL(db *gorm.DB, now time.Time) *gorm.DB {
	return db.Where("cases.status = ?", cmr.CaseOpen).Where(
		db.Session(&gorm.Session{NewDB: true}).
			Where("EXISTS (SELECT 1 FROM tickets t WHERE t.case_id = cases.id AND t.state = ? AND t.warn_at <= ?)", cmr.TicketOpen, now.UTC()).
			Or("cases.deadline_on <= ?", now.Add(AtRiskWindow).Format(cmr.DateLayout)))
}

// Cases lists the cases the viewer is a party to, newest first.
func (s *Store) Cases(ctx context.Context, v Viewer, f CaseFilter) ([]cmr.Case, error) {
	q := s.db.WithContext(ctx).Model(&caseRow{}).Where(partyClause, v.OrganisationID).Order("created_at DESC, id")
	if f.Status != "" {
		q = q.Where("cases.status = ?", f.Status)
	}
	if f.SchoolID != "" {
		q = q.Where("cases.school_id = ?", f.SchoolID)
	}
	if f.AtRisk != nil {
		if *f.AtRisk {
			q = atRiskSQL(q, f.Now)
		} else {
			q = q.Not(atRiskSQL(s.db.Session(&gorm.Session{NewDB: true}).Model(&caseRow{}), f.Now))
		}
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 500
	}
	var rows []caseRow
	if err := q.Limit(f.Limit).Find(&rows).Error; err != nil {
		return nil, wrap("list cases", err)
	}
	out := make([]cmr.Case, 0, len(rows))
	for _, r := range rows {
		c, err := r.domain()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (r caseRow) domain() (cmr.Case, error) {
	c := cmr.Case{Status: cmr.CaseStatus(r.Status), CancelReason: r.CancelReason, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), ClosedAt: utc(r.ClosedAt)}
	if err := json.Unmarshal([]byte(r.Header), &c.CaseHeader); err != nil {
		return cmr.Case{}, wrap("case "+r.ID, err)
	}
	return c, nil
}

// Case returns a case with its steps, tickets and parties, or
// cmr.ErrNotFound when the viewer is not a party.
func (s *Store) Case(ctx context.Context, v Viewer, id string) (cmr.Case, error) {
	db := s.db.WithContext(ctx)
	var row caseRow
	if err := db.Where("id = ?", id).Where(partyClause, v.OrganisationID).Take(&row).Error; err != nil {
		return cmr.Case{}, wrap("case", err)
	}
	c, err := row.domain()
	if err != nil {
		return cmr.Case{}, err
	}
	var parties []partyRow
	if err := db.Where("case_id = ?", id).Order("organisation_id").Find(&parties).Error; err != nil {
		return cmr.Case{}, wrap("case parties", err)
	}
	for _, p := range parties {
		switch cmr.Role(p.Role) {
		case cmr.RoleSchool:
			c.Parties.SchoolID = p.OrganisationID
		case cmr.RoleDistributor:
			c.Parties.DistributorID = p.OrganisationID
		case cmr.RolePublisher:
			c.Parties.LiKaIDs = append(c.Parties.LiKaIDs, p.OrganisationID)
		case cmr.RoleKennisnet:
			c.Parties.KennisnetIDs = append(c.Parties.KennisnetIDs, p.OrganisationID)
		}
	}
	var steps []stepRow
	if err := db.Where("case_id = ?", id).Order("position").Find(&steps).Error; err != nil {
		return cmr.Case{}, wrap("case steps", err)
	}
	for _, r := range steps {
		st := cmr.Step{Position: r.Position, State: cmr.StepState(r.State), DoneAt: utc(r.DoneAt), Attempt: r.Attempt}
		if err := json.Unmarshal([]byte(r.Definition), &st.StepDef); err != nil {
			return cmr.Case{}, wrap("case step", err)
		}
		if r.Data != nil {
			_ = json.Unmarshal([]byte(*r.Data), &st.Data)
		}
		if r.DoneBy != nil {
			st.DoneBy = &cmr.Actor{}
			_ = json.Unmarshal([]byte(*r.DoneBy), st.DoneBy)
		}
		c.Steps = append(c.Steps, st)
	}
	tickets, err := s.tickets(ctx, db.Where("tickets.case_id = ?", id))
	if err != nil {
		return cmr.Case{}, err
	}
	c.Tickets = tickets
	return c, nil
}

// TicketFilter narrows Tickets.
type TicketFilter struct {
	Overdue bool
	State   string
	CaseID  string
	Now     time.Time
}

// Tickets lists tickets visible to the viewer: a LiKa sees its own queue,
// the other parties the tickets of their cases. Most urgent first.
func (s *Store) Tickets(ctx context.Context, v Viewer, f TicketFilter) ([]cmr.Ticket, error) {
	q := s.db.WithContext(ctx).Joins("JOIN cases ON cases.id = tickets.case_id").Where(partyClause, v.OrganisationID)
	if v.Role == cmr.RolePublisher {
		q = q.Where("tickets.lika_id = ?", v.OrganisationID)
	}
	if f.Overdue {
		q = q.Where("tickets.state = ? AND tickets.due_at < ?", cmr.TicketOpen, f.Now.UTC())
	}
	if f.State != "" {
		q = q.Where("tickets.state = ?", f.State)
	}
	if f.CaseID != "" {
		q = q.Where("tickets.case_id = ?", f.CaseID)
	}
	return s.tickets(ctx, q)
}

// Ticket returns one ticket visible to the viewer.
func (s *Store) Ticket(ctx context.Context, v Viewer, id string) (cmr.Ticket, error) {
	ts, err := s.Tickets(ctx, v, TicketFilter{})
	if err != nil {
		return cmr.Ticket{}, err
	}
	for _, t := range ts {
		if t.ID == id {
			return t, nil
		}
	}
	return cmr.Ticket{}, cmr.ErrNotFound
}

func (s *Store) tickets(ctx context.Context, q *gorm.DB) ([]cmr.Ticket, error) {
	var rows []ticketRow
	if err := q.Model(&ticketRow{}).Select("tickets.*").Order("tickets.due_at IS NULL, tickets.due_at, tickets.id").Find(&rows).Error; err != nil {
		return nil, wrap("list tickets", err)
	}
	out := make([]cmr.Ticket, 0, len(rows))
	for _, r := range rows {
		t := cmr.Ticket{ID: r.ID, CaseID: r.CaseID, LiKaID: r.LikaID, State: cmr.TicketState(r.State), ClockStartedAt: utc(r.ClockStartedAt),
			WarnAt: utc(r.WarnAt), DueAt: utc(r.DueAt), WarnedAt: utc(r.WarnedAt), BreachedAt: utc(r.BreachedAt), ResolvedAt: utc(r.ResolvedAt),
			SubmissionID: r.SubmissionID, Note: r.Note, Version: r.Version}
		if r.ResolvedBy != nil {
			t.ResolvedBy = &cmr.Actor{}
			_ = json.Unmarshal([]byte(*r.ResolvedBy), t.ResolvedBy)
		}
		if r.Unprocessed != nil {
			_ = json.Unmarshal([]byte(*r.Unprocessed), &t.Unprocessed)
		}
		out = append(out, t)
	}
	return out, nil
}

// Events returns the audit trail of a case the viewer is a party to.
func (s *Store) Events(ctx context.Context, v Viewer, caseID string) ([]cmr.Event, error) {
	if _, err := s.caseVisible(ctx, v, caseID); err != nil {
		return nil, err
	}
	var rows []eventRow
	if err := s.db.WithContext(ctx).Where("case_id = ?", caseID).Order("at, recorded_at, key").Find(&rows).Error; err != nil {
		return nil, wrap("list events", err)
	}
	out := make([]cmr.Event, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.domain())
	}
	return out, nil
}

func (r eventRow) domain() cmr.Event {
	e := cmr.Event{Key: r.Key, CaseID: r.CaseID, TicketID: r.TicketID, Type: r.Type, Step: r.Step, At: r.At.UTC(), SubmissionID: r.SubmissionID}
	if r.Actor != nil {
		e.Actor = &cmr.Actor{}
		_ = json.Unmarshal([]byte(*r.Actor), e.Actor)
	}
	if r.Details != nil {
		_ = json.Unmarshal([]byte(*r.Details), &e.Details)
	}
	return e
}

func (s *Store) caseVisible(ctx context.Context, v Viewer, caseID string) (bool, error) {
	var n int64
	if err := s.db.WithContext(ctx).Model(&caseRow{}).Where("id = ?", caseID).Where(partyClause, v.OrganisationID).Count(&n).Error; err != nil {
		return false, wrap("case", err)
	}
	if n == 0 {
		return false, cmr.ErrNotFound
	}
	return true, nil
}

// CaseIDsWithPrefix lists existing case IDs that start with prefix (all
// parties), to give a new case a unique business key.
func (s *Store) CaseIDsWithPrefix(ctx context.Context, prefix string) ([]string, error) {
	var ids []string
	err := s.db.WithContext(ctx).Model(&caseRow{}).Where("id = ? OR id LIKE ?", prefix, prefix+"-%").Pluck("id", &ids).Error
	return ids, wrap("case ids", err)
}
