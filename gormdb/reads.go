package gormdb

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
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
	// After is the cursor CasePage returned: the page starts after it.
	After string
	// Sector keeps the cases of one sector (VO, MBO).
	Sector string
	// Query keeps the cases whose ID holds it, or whose school's name
	// holds it or BRIN is it (case-insensitive).
	Query string
	// Summary fills only what a list shows (ID, school, distributor,
	// sector, status, switch date, deadline, warnings, times) and leaves
	// the rest of the header empty: decoding every case's whole header
	// was a third of a list request's time; decoding it for the warnings
	// alone still a quarter of the handler's, in a profile (they have a
	// column of their own since migration 00011).
	Summary bool
}

// MaxCasePage is the most cases one page holds.
const MaxCasePage = 500

// caseCursor is where a page of the case list (newest first) ended: the
// last case's creation time and ID. It travels as an opaque string.
type caseCursor struct {
	CreatedAt time.Time
	ID        string
}

func (c caseCursor) String() string {
	return encodeCursor(c.CreatedAt.UTC().Format(time.RFC3339Nano), c.ID)
}

func parseCaseCursor(s string) (caseCursor, error) {
	at, id, err := decodeCursor(s)
	if err != nil {
		return caseCursor{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return caseCursor{}, errBadCursor()
	}
	return caseCursor{CreatedAt: t, ID: id}, nil
}

// A cursor is where a page ended, "<sort key>|<ID>", as one opaque string.
func encodeCursor(key, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(key + "|" + id))
}

func decodeCursor(s string) (key, id string, err error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", "", errBadCursor()
	}
	key, id, ok := strings.Cut(string(raw), "|")
	if !ok || id == "" {
		return "", "", errBadCursor()
	}
	return key, id, nil
}

func errBadCursor() error {
	return cmr.FieldErrorf("after", "is not a cursor from this list: pass the \"next\" of the page before, unchanged").
		NL("is geen cursor uit deze lijst: geef de \"next\" van de vorige pagina ongewijzigd door")
}

// atRiskSQL keeps the open cases with a ticket past its warning or a
// deadline near. A LiKa's case is at risk by its own ticket only, as in
// CasesAtRisk: another publisher's SLA is none of its business.
func atRiskSQL(db *gorm.DB, v Viewer, now time.Time) *gorm.DB {
	ticket := db.Session(&gorm.Session{NewDB: true}).
		Where("EXISTS (SELECT 1 FROM tickets t WHERE t.case_id = cases.id AND t.state = ? AND t.warn_at <= ?)", cmr.TicketOpen, now.UTC())
	if v.Role == cmr.RolePublisher {
		ticket = db.Session(&gorm.Session{NewDB: true}).
			Where("EXISTS (SELECT 1 FROM tickets t WHERE t.case_id = cases.id AND t.state = ? AND t.warn_at <= ? AND t.lika_id = ?)", cmr.TicketOpen, now.UTC(), v.OrganisationID)
	}
	return db.Where("cases.status = ?", cmr.CaseOpen).Where(
		ticket.Or("cases.deadline_on <= ?", now.Add(AtRiskWindow).Format(cmr.DateLayout)))
}

// Cases lists the cases the viewer is a party to, newest first: the first
// page (f.Limit, at most MaxCasePage).
func (s *Store) Cases(ctx context.Context, v Viewer, f CaseFilter) ([]cmr.Case, error) {
	cases, _, err := s.CasePage(ctx, v, f)
	return cases, err
}

// CasePage lists a page of the cases the viewer is a party to, newest
// first, from the cursor f.After; next is the cursor of the following
// page, empty after the last. Pages are found through the index on the
// list's order (keyset paging), so a late page costs what the first does.
func (s *Store) CasePage(ctx context.Context, v Viewer, f CaseFilter) (cases []cmr.Case, next string, err error) {
	q := s.reads(ctx).Model(&caseRow{}).Where(partyClause, v.OrganisationID).Order("created_at DESC, id")
	if f.After != "" {
		cur, err := parseCaseCursor(f.After)
		if err != nil {
			return nil, "", err
		}
		q = q.Where("cases.created_at < ? OR (cases.created_at = ? AND cases.id > ?)", cur.CreatedAt, cur.CreatedAt, cur.ID)
	}
	if f.Status != "" {
		q = q.Where("cases.status = ?", f.Status)
	}
	if f.SchoolID != "" {
		q = q.Where("cases.school_id = ?", f.SchoolID)
	}
	if f.Sector != "" {
		q = q.Where("cases.sector = ?", f.Sector)
	}
	if query := strings.ToLower(strings.TrimSpace(f.Query)); query != "" {
		like := "%" + likeEscaper.Replace(query) + "%"
		q = q.Where(`LOWER(cases.id) LIKE ? ESCAPE '\' OR cases.school_id IN (SELECT o.id FROM organisations o WHERE LOWER(o.name) LIKE ? ESCAPE '\' OR LOWER(o.brin) = ?)`,
			like, like, query)
	}
	if f.AtRisk != nil {
		if *f.AtRisk {
			q = atRiskSQL(q, v, f.Now)
		} else {
			q = q.Not(atRiskSQL(s.readDB().Session(&gorm.Session{NewDB: true}).Model(&caseRow{}), v, f.Now))
		}
	}
	if f.Limit <= 0 || f.Limit > MaxCasePage {
		f.Limit = MaxCasePage
	}
	if f.Summary {
		q = q.Select(summaryColumns + ", " + s.warningsColumn())
	}
	var rows []caseRow
	if err := q.Limit(f.Limit + 1).Find(&rows).Error; err != nil {
		return nil, "", wrap("list cases", err)
	}
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		last := rows[len(rows)-1]
		next = caseCursor{CreatedAt: last.CreatedAt, ID: last.ID}.String()
	}
	decode := caseRow.domain
	if f.Summary {
		decode = caseRow.summary
	}
	out := make([]cmr.Case, 0, len(rows))
	for _, r := range rows {
		c, err := decode(r)
		if err != nil {
			return nil, "", err
		}
		out = append(out, c)
	}
	return out, next, nil
}

// likeEscaper escapes LIKE's wildcards in what a person searches for.
var likeEscaper = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)

// CaseSchools lists the schools the viewer has cases with (all of them,
// not a page), by ID: for the case list to name them and to offer them as
// a filter. Only those: the directory holds every school of the chain.
func (s *Store) CaseSchools(ctx context.Context, v Viewer) ([]cmr.Organisation, error) {
	db := s.reads(ctx)
	var rows []organisationRow
	err := db.Where("id IN (?)", db.Model(&caseRow{}).Select("school_id").Where(partyClause, v.OrganisationID)).Order("id").Find(&rows).Error
	if err != nil {
		return nil, wrap("case schools", err)
	}
	return organisations(rows), nil
}

// CasesAtRisk tells which of the given cases have an open ticket past its
// warning point, as the viewer sees them (a LiKa: its own tickets only).
func (s *Store) CasesAtRisk(ctx context.Context, v Viewer, caseIDs []string, now time.Time) (map[string]bool, error) {
	out := map[string]bool{}
	if len(caseIDs) == 0 {
		return out, nil
	}
	q := s.reads(ctx).Model(&ticketRow{}).Distinct("case_id").
		Where("case_id IN ? AND state = ? AND warn_at <= ?", caseIDs, cmr.TicketOpen, now.UTC())
	if v.Role == cmr.RolePublisher {
		q = q.Where("lika_id = ?", v.OrganisationID)
	}
	var ids []string
	if err := q.Pluck("case_id", &ids).Error; err != nil {
		return nil, wrap("cases at risk", err)
	}
	for _, id := range ids {
		out[id] = true
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

// summaryColumns are what a list reads of a case (CaseFilter.Summary):
// not the header, whose decoding for the warnings was a quarter of the
// list handler's time in a profile.
const summaryColumns = "cases.id, cases.school_id, cases.distributor_id, cases.sector, cases.switch_on, cases.deadline_on, " +
	"cases.status, cases.cancel_reason, cases.created_at, cases.updated_at, cases.closed_at"

// warningsColumn selects a case's warnings for the list: the column, or
// the header's for a row a binary from before migration 00011 wrote after
// it ran (a rolling upgrade); nothing fills those later, so the fallback
// stays.
func (s *Store) warningsColumn() string {
	if s.dialect == goose.DialectPostgres {
		return "COALESCE(cases.warnings, cases.header -> 'warnings') AS warnings"
	}
	return "COALESCE(cases.warnings, json_extract(cases.header, '$.warnings')) AS warnings"
}

// summary is domain for lists (CaseFilter.Summary): the columns and the
// warnings, without the rest of the header.
func (r caseRow) summary() (cmr.Case, error) {
	c := cmr.Case{Status: cmr.CaseStatus(r.Status), CancelReason: r.CancelReason, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), ClosedAt: utc(r.ClosedAt)}
	if r.Warnings != nil {
		if err := json.Unmarshal([]byte(*r.Warnings), &c.Warnings); err != nil {
			return cmr.Case{}, wrap("case "+r.ID, err)
		}
	}
	c.ID, c.SchoolID, c.DistributorID, c.Sector = r.ID, r.SchoolID, r.DistributorID, cmr.Sector(r.Sector)
	c.SwitchOn, _ = time.Parse(cmr.DateLayout, r.SwitchOn)
	if d, err := time.Parse(cmr.DateLayout, r.DeadlineOn); err == nil && d.Year() > 1 {
		c.Deadline = d
	}
	return c, nil
}

// Case returns a case with its steps, tickets and parties, or
// cmr.ErrNotFound when the viewer is not a party.
func (s *Store) Case(ctx context.Context, v Viewer, id string) (cmr.Case, error) {
	db := s.reads(ctx)
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
	// Sorted here, not by the database: no index holds the steps by
	// position, and SQLite would copy every row, definitions and all,
	// into a sorter (an eighth of a case read).
	if err := db.Where("case_id = ?", id).Find(&steps).Error; err != nil {
		return cmr.Case{}, wrap("case steps", err)
	}
	slices.SortFunc(steps, func(a, b stepRow) int { return cmp.Compare(a.Position, b.Position) })
	for _, r := range steps {
		st, err := s.step(r)
		if err != nil {
			return cmr.Case{}, err
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

// step is a stored step as the domain has it, its definition decoded
// once per distinct definition (stepDefs).
func (s *Store) step(r stepRow) (cmr.Step, error) {
	def, err := s.defs.decode(r.Definition)
	if err != nil {
		return cmr.Step{}, wrap("case step", err)
	}
	st := cmr.Step{StepDef: def, Position: r.Position, State: cmr.StepState(r.State), DoneAt: utc(r.DoneAt), Attempt: r.Attempt}
	if r.Data != nil {
		_ = json.Unmarshal([]byte(*r.Data), &st.Data)
	}
	if r.DoneBy != nil {
		st.DoneBy = &cmr.Actor{}
		_ = json.Unmarshal([]byte(*r.DoneBy), st.DoneBy)
	}
	return st, nil
}

// WaitingStep is an open step of an open case that waits for the viewer.
type WaitingStep struct {
	CaseID   string
	Deadline time.Time
	Step     cmr.Step
}

// waitingRow is a step with its case's deadline.
type waitingRow struct {
	CaseID, Key, Definition, State, SubmissionID string
	Position, Attempt                            int
	Data, DoneBy                                 *string
	DoneAt                                       *time.Time
	DeadlineOn                                   string
}

// WaitingSteps lists the open steps done by hand that wait for the
// viewer's role on the open cases it is a party to, the nearest deadline
// first: at most limit, and whether there are more. One query however many
// cases the viewer has (a distributor in the summer has hundreds): the
// step's owner and kind are read from its stored definition.
func (s *Store) WaitingSteps(ctx context.Context, v Viewer, limit int) ([]WaitingStep, bool, error) {
	var rows []waitingRow
	owner, kind := "json_extract(case_steps.definition, '$.owner')", "json_extract(case_steps.definition, '$.kind')"
	if s.dialect == goose.DialectPostgres {
		owner, kind = "case_steps.definition->>'owner'", "case_steps.definition->>'kind'"
	}
	err := s.reads(ctx).Raw(`SELECT case_steps.*, cases.deadline_on FROM case_steps JOIN cases ON cases.id = case_steps.case_id
		WHERE cases.status = ? AND case_steps.state = ? AND `+owner+` = ? AND `+kind+` IN ?
		AND `+partyClause+`
		ORDER BY cases.deadline_on, cases.id, case_steps.position LIMIT ?`,
		cmr.CaseOpen, cmr.StepOpen, v.Role, []cmr.StepKind{cmr.StepHuman, cmr.StepTest}, v.OrganisationID, limit+1).
		Scan(&rows).Error
	if err != nil {
		return nil, false, wrap("waiting steps", err)
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	out := make([]WaitingStep, 0, len(rows))
	for _, r := range rows {
		st, err := s.step(stepRow{CaseID: r.CaseID, Key: r.Key, Position: r.Position, Definition: r.Definition, State: r.State,
			Data: r.Data, SubmissionID: r.SubmissionID, DoneBy: r.DoneBy, DoneAt: r.DoneAt, Attempt: r.Attempt})
		if err != nil {
			return nil, false, err
		}
		deadline, _ := time.Parse(cmr.DateLayout, r.DeadlineOn)
		out = append(out, WaitingStep{CaseID: r.CaseID, Deadline: deadline, Step: st})
	}
	return out, more, nil
}

// TicketFilter narrows Tickets.
type TicketFilter struct {
	Overdue bool
	State   string
	// PartDue: tickets waiting for their LiKa's part of the list (MBO),
	// none uploaded yet.
	PartDue bool
	CaseID  string
	ID      string // one ticket
	Now     time.Time
	// Limit and After page the list (TicketPage); Tickets ignores them.
	Limit int
	After string
}

// MaxTicketPage is the most tickets one page holds.
const MaxTicketPage = 1000

// ticketCursor is where a page of tickets (most urgent first: by due
// time, tickets without one last, then by ID) ended.
type ticketCursor struct {
	Due *time.Time
	ID  string
}

func (c ticketCursor) String() string {
	due := "-"
	if c.Due != nil {
		due = c.Due.UTC().Format(time.RFC3339Nano)
	}
	return encodeCursor(due, c.ID)
}

func parseTicketCursor(s string) (ticketCursor, error) {
	due, id, err := decodeCursor(s)
	if err != nil {
		return ticketCursor{}, err
	}
	c := ticketCursor{ID: id}
	if due != "-" {
		t, err := time.Parse(time.RFC3339Nano, due)
		if err != nil {
			return ticketCursor{}, errBadCursor()
		}
		c.Due = &t
	}
	return c, nil
}

// Tickets lists tickets visible to the viewer: a LiKa sees its own queue,
// the other parties the tickets of their cases. Most urgent first.
func (s *Store) Tickets(ctx context.Context, v Viewer, f TicketFilter) ([]cmr.Ticket, error) {
	return s.tickets(ctx, s.ticketQuery(ctx, v, f))
}

// TicketPage is a page of Tickets from the cursor f.After, f.Limit long
// (at most MaxTicketPage); next is the cursor of the following page,
// empty after the last.
func (s *Store) TicketPage(ctx context.Context, v Viewer, f TicketFilter) (tickets []cmr.Ticket, next string, err error) {
	q := s.ticketQuery(ctx, v, f)
	if f.After != "" {
		cur, err := parseTicketCursor(f.After)
		if err != nil {
			return nil, "", err
		}
		if cur.Due == nil {
			q = q.Where("tickets.due_at IS NULL AND tickets.id > ?", cur.ID)
		} else {
			q = q.Where("tickets.due_at IS NULL OR tickets.due_at > ? OR (tickets.due_at = ? AND tickets.id > ?)", *cur.Due, *cur.Due, cur.ID)
		}
	}
	if f.Limit <= 0 || f.Limit > MaxTicketPage {
		f.Limit = MaxTicketPage
	}
	out, err := s.tickets(ctx, q.Limit(f.Limit+1))
	if err != nil {
		return nil, "", err
	}
	if len(out) > f.Limit {
		out = out[:f.Limit]
		last := out[len(out)-1]
		next = ticketCursor{Due: last.DueAt, ID: last.ID}.String()
	}
	return out, next, nil
}

func (s *Store) ticketQuery(ctx context.Context, v Viewer, f TicketFilter) *gorm.DB {
	q := s.reads(ctx)
	if v.Role == cmr.RolePublisher {
		// A LiKa sees its own tickets, and a ticket's LiKa is always a
		// party to its case (tickets are made for the case's LiKas), so
		// the party check needs no join: the queue is one index range.
		q = q.Where("tickets.lika_id = ?", v.OrganisationID)
	} else {
		q = q.Joins("JOIN cases ON cases.id = tickets.case_id").Where(partyClause, v.OrganisationID)
	}
	if f.Overdue {
		q = q.Where("tickets.state = ? AND tickets.due_at < ?", cmr.TicketOpen, f.Now.UTC())
	}
	if f.State != "" {
		q = q.Where("tickets.state = ?", f.State)
	}
	if f.PartDue {
		q = q.Where("tickets.state = ? AND NOT EXISTS (SELECT 1 FROM lists WHERE lists.case_id = tickets.case_id AND lists.kind = ? AND lists.ticket_id = tickets.id)", cmr.TicketAwaitingList, cmr.ListSupplier)
	}
	if f.CaseID != "" {
		q = q.Where("tickets.case_id = ?", f.CaseID)
	}
	if f.ID != "" {
		q = q.Where("tickets.id = ?", f.ID)
	}
	return q
}

// Ticket returns one ticket visible to the viewer.
func (s *Store) Ticket(ctx context.Context, v Viewer, id string) (cmr.Ticket, error) {
	if id == "" {
		return cmr.Ticket{}, cmr.ErrNotFound
	}
	ts, err := s.Tickets(ctx, v, TicketFilter{ID: id})
	if err != nil {
		return cmr.Ticket{}, err
	}
	if len(ts) != 1 {
		return cmr.Ticket{}, cmr.ErrNotFound
	}
	return ts[0], nil
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
	if err := s.reads(ctx).Where("case_id = ?", caseID).Order("at, recorded_at, key").Find(&rows).Error; err != nil {
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

// CaseParty answers nil if the viewer's organisation is a party to the
// case and cmr.ErrNotFound if not: the check alone, for a request that
// reads the case itself later (an upload, once its file has arrived).
func (s *Store) CaseParty(ctx context.Context, v Viewer, caseID string) error {
	_, err := s.caseVisible(ctx, v, caseID)
	return err
}

func (s *Store) caseVisible(ctx context.Context, v Viewer, caseID string) (bool, error) {
	var n int64
	if err := s.reads(ctx).Model(&caseRow{}).Where("id = ?", caseID).Where(partyClause, v.OrganisationID).Count(&n).Error; err != nil {
		return false, wrap("case", err)
	}
	if n == 0 {
		return false, cmr.ErrNotFound
	}
	return true, nil
}

// OpenCasesOf lists, newest first, the open cases of a school that a
// distributor is a party to (at most 10: enough to warn about).
func (s *Store) OpenCasesOf(ctx context.Context, distributorID, schoolID string) ([]cmr.Case, error) {
	return s.Cases(ctx, Viewer{OrganisationID: distributorID, Role: cmr.RoleDistributor},
		CaseFilter{Status: string(cmr.CaseOpen), SchoolID: schoolID, Limit: 10, Summary: true})
}

// CaseIDsWithPrefix lists existing case IDs that start with prefix (all
// parties), to give a new case a unique business key.
func (s *Store) CaseIDsWithPrefix(ctx context.Context, prefix string) ([]string, error) {
	// An ID reserved for an opening whose workflow has not written the
	// case yet is taken too.
	var ids []string
	err := s.reads(ctx).Raw(`SELECT id FROM cases WHERE id = ? OR id LIKE ?
		UNION SELECT case_id FROM case_openings WHERE case_id = ? OR case_id LIKE ?`, prefix, prefix+"-%", prefix, prefix+"-%").Scan(&ids).Error
	if err != nil {
		return nil, wrap("case ids", err)
	}
	return ids, nil
}
