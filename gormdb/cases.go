package gormdb

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/cmr-idp/cmr"
)

type caseRow struct {
	ID            string
	SchoolID      string
	DistributorID string
	Sector        string
	Header        string
	SwitchOn      string
	DeadlineOn    string
	Status        string
	CancelReason  string
	Version       int
	CreatedAt     time.Time
	UpdatedAt     time.Time
	ClosedAt      *time.Time
	// Warnings is the header's warnings as JSON, for the case list; nil
	// for a row an older binary wrote (the list falls back to Header).
	Warnings *string
}

func (caseRow) TableName() string { return "cases" }

type partyRow struct {
	CaseID         string
	OrganisationID string
	Role           string
}

func (partyRow) TableName() string { return "case_parties" }

type stepRow struct {
	CaseID       string
	Key          string
	Position     int
	Definition   string
	State        string
	Data         *string
	SubmissionID string
	DoneBy       *string
	DoneAt       *time.Time
	Attempt      int
}

func (stepRow) TableName() string { return "case_steps" }

type ticketRow struct {
	ID             string
	CaseID         string
	LikaID         string `gorm:"column:lika_id"`
	State          string
	ClockStartedAt *time.Time
	WarnAt         *time.Time
	DueAt          *time.Time
	WarnedAt       *time.Time
	BreachedAt     *time.Time
	ResolvedAt     *time.Time
	ResolvedBy     *string
	SubmissionID   string
	Note           string
	Unprocessed    *string
	Version        int
}

func (ticketRow) TableName() string { return "tickets" }

type submissionRow struct {
	ID        string
	CaseID    string
	Kind      string
	Data      string
	Actor     string
	CreatedAt time.Time
}

func (submissionRow) TableName() string { return "submissions" }

type eventRow struct {
	Key          string
	CaseID       string
	TicketID     string
	Type         string
	Step         string
	Actor        *string
	At           time.Time
	SubmissionID string
	Details      *string
	RecordedAt   time.Time
}

func (eventRow) TableName() string { return "events" }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshal %T: %v", v, err))
	}
	return string(b)
}

func jsonPtr(v any) *string {
	if v == nil {
		return nil
	}
	s := mustJSON(v)
	if s == "null" {
		return nil
	}
	return &s
}

// CreateSubmission stores data submitted for a case before the workflow
// acts on it, and returns its ID.
func (s *Store) CreateSubmission(ctx context.Context, sub cmr.Submission) (string, error) {
	if sub.ID == "" {
		sub.ID = newID("sub")
	}
	if sub.Data == nil {
		sub.Data = map[string]any{}
	}
	row := submissionRow{ID: sub.ID, CaseID: sub.CaseID, Kind: sub.Kind, Data: mustJSON(sub.Data), Actor: mustJSON(sub.Actor), CreatedAt: now()}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return "", wrap("save submission", err)
	}
	return sub.ID, nil
}

// submissionData is what submission id recorded (nil for no id).
func submissionData(tx *gorm.DB, id string) (map[string]any, error) {
	if id == "" {
		return nil, nil
	}
	var row submissionRow
	if err := tx.Where("id = ?", id).Take(&row).Error; err != nil {
		return nil, wrap("submission "+id, err)
	}
	var data map[string]any
	if err := json.Unmarshal([]byte(row.Data), &data); err != nil {
		return nil, fmt.Errorf("submission %s: %w", id, err)
	}
	return data, nil
}

// insertEvents appends events, in one statement; a key already present
// is skipped, so a retried activity never duplicates an event.
func insertEvents(tx *gorm.DB, events []cmr.Event) error {
	if len(events) == 0 {
		return nil
	}
	rows := make([]eventRow, len(events))
	for i, e := range events {
		if e.Type == cmr.EventTestFailed && e.SubmissionID != "" {
			// Why the test failed is what whoever redoes a step needs
			// to know; the workflow carries IDs only, so it is read from
			// the school's submission here.
			data, err := submissionData(tx, e.SubmissionID)
			if err != nil {
				return err
			}
			if note, _ := data["note"].(string); note != "" {
				e.Details = maps.Clone(e.Details)
				if e.Details == nil {
					e.Details = map[string]any{}
				}
				e.Details["note"] = note
			}
		}
		rows[i] = eventRow{Key: e.Key, CaseID: e.CaseID, TicketID: e.TicketID, Type: e.Type, Step: e.Step, Actor: jsonPtr(e.Actor),
			At: e.At.UTC().Truncate(time.Microsecond), SubmissionID: e.SubmissionID, Details: jsonPtr(e.Details), RecordedAt: now()}
		if len(e.Details) == 0 {
			rows[i].Details = nil
		}
	}
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
		return wrap("append events", err)
	}
	return nil
}

// SaveCase writes a snapshot of a running case: the case row (created from
// header on the first save), its parties and steps, and its new events,
// in one transaction. A snapshot older than the stored one only appends
// its events, so out-of-order retries never roll the projection back.
//
// A step is written twice, by the API and by the case workflow's
// activity, at about the same time; the usual write is an update of the
// case row, its changed steps and its events, a statement each: the case
// row is read only when that update finds nothing to update (the second
// writer), to tell a case not stored from one stored already.
func (s *Store) SaveCase(ctx context.Context, header cmr.CaseHeader, st cmr.CaseState, version int, cancelReasonSubmission string, events []cmr.Event) error {
	return wrap("save case "+st.CaseID, s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		t := now()
		if len(st.Plan) > 0 {
			// The first snapshot (or one sent again because the store
			// lost the steps). The API and the workflow write it at
			// about the same time (caller-writes): the second insert
			// waits for the first and then does nothing.
			row := caseRow{ID: st.CaseID, SchoolID: header.SchoolID, DistributorID: header.DistributorID, Sector: string(header.Sector),
				Header: mustJSON(header), Warnings: new(mustJSON(header.Warnings)), SwitchOn: header.SwitchOn.Format(cmr.DateLayout), DeadlineOn: header.Deadline.Format(cmr.DateLayout),
				Status: string(st.Status), Version: 0, CreatedAt: t, UpdatedAt: t}
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
				return err
			}
			if err := saveParties(tx, st); err != nil {
				return err
			}
		}
		// The conditional update locks the row and re-checks the version
		// under the lock, so of two concurrent saves the older never wins.
		updates := map[string]any{"status": string(st.Status), "version": version, "updated_at": t}
		if st.Status != cmr.CaseOpen {
			updates["closed_at"] = gorm.Expr("COALESCE(closed_at, ?)", t)
		}
		if cancelReasonSubmission != "" {
			data, err := submissionData(tx, cancelReasonSubmission)
			if err != nil {
				return err
			}
			if r, ok := data["reason"].(string); ok {
				updates["cancel_reason"] = r
			}
		}
		res := tx.Model(&caseRow{}).Where("id = ? AND version < ?", st.CaseID, version).Updates(updates)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 {
			if err := s.saveSteps(tx, st); err != nil {
				return err
			}
			return insertEvents(tx, events)
		}
		// Stored already at this version or a later one: the events
		// only. (The same version need not carry the same events: a
		// ticket's close is answered with the case's latest snapshot and
		// the close's own events besides.)
		var stored caseRow
		switch err := tx.Select("version").Where("id = ?", st.CaseID).Take(&stored).Error; {
		case err == gorm.ErrRecordNotFound:
			// Only a snapshot without the plan finds no case: the first
			// has not landed, or the store lost it.
			return fmt.Errorf("case %s: %w", st.CaseID, cmr.ErrPlanNotStored)
		case err != nil:
			return err
		}
		return insertEvents(tx, events)
	}))
}

func saveParties(tx *gorm.DB, st cmr.CaseState) error {
	rows := []partyRow{
		{st.CaseID, st.Parties.SchoolID, string(cmr.RoleSchool)},
		{st.CaseID, st.Parties.DistributorID, string(cmr.RoleDistributor)},
	}
	for _, id := range st.Parties.LiKaIDs {
		rows = append(rows, partyRow{st.CaseID, id, string(cmr.RolePublisher)})
	}
	for _, id := range st.Parties.KennisnetIDs {
		rows = append(rows, partyRow{st.CaseID, id, string(cmr.RoleKennisnet)})
	}
	return tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error
}

func (s *Store) saveSteps(tx *gorm.DB, st cmr.CaseState) error {
	// A case's snapshots after its first carry no plan (it never changes
	// after opening): its steps keep the definitions stored, which are
	// then neither read nor written (most of a step row's bytes).
	plan := len(st.Plan) > 0
	columns := []string{"position", "state", "data", "submission_id", "done_by", "done_at", "attempt"}
	q := tx.Where("case_id = ?", st.CaseID)
	if plan {
		columns = append(columns, "definition")
	} else {
		q = q.Select(append([]string{"case_id", "key"}, columns...))
	}
	var stored []stepRow
	if err := q.Find(&stored).Error; err != nil {
		return err
	}
	prev := map[string]stepRow{}
	for _, r := range stored {
		prev[r.Key] = r
	}
	var changed []stepRow
	for i, p := range st.Steps {
		def := "{}" // valid JSON for the insert's half of the upsert, never stored
		switch _, ok := prev[p.Key]; {
		case plan:
			def = mustJSON(st.Plan[i])
		case !ok:
			return fmt.Errorf("case %s, step %s: %w", st.CaseID, p.Key, cmr.ErrPlanNotStored)
		}
		row := stepRow{CaseID: st.CaseID, Key: p.Key, Position: i + 1, Definition: def, State: string(p.State),
			SubmissionID: p.SubmissionID, DoneAt: utc(&p.DoneAt), Attempt: p.Attempt}
		if p.DoneBy != nil {
			row.DoneBy = jsonPtr(p.DoneBy)
		}
		if old, ok := prev[p.Key]; ok && old.SubmissionID == p.SubmissionID {
			row.Data = old.Data
		} else if p.SubmissionID != "" {
			data, err := submissionData(tx, p.SubmissionID)
			if err != nil {
				return err
			}
			row.Data = jsonPtr(data)
		}
		// A transition changes one step or a few: the others are not
		// written again.
		if old, ok := prev[p.Key]; ok && sameStep(old, row) && (!plan || s.defs.same(old.Definition, row.Definition)) {
			continue
		}
		changed = append(changed, row)
	}
	if len(changed) == 0 {
		return nil
	}
	// Without the plan every changed row exists (prev): the insert's
	// placeholder definition is never stored.
	return tx.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "case_id"}, {Name: "key"}},
		DoUpdates: clause.AssignmentColumns(columns),
	}).Create(&changed).Error
}

// sameStep says whether a stored step row already holds what row would
// write, its definition aside (stepDefs.same). JSON is compared by value:
// PostgreSQL's JSONB gives it back in an order and spacing of its own.
func sameStep(stored, row stepRow) bool {
	return stored.Position == row.Position && stored.State == row.State && stored.SubmissionID == row.SubmissionID &&
		stored.Attempt == row.Attempt && sameTime(stored.DoneAt, row.DoneAt) &&
		sameJSONPtr(stored.DoneBy, row.DoneBy) && sameJSONPtr(stored.Data, row.Data)
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

func sameJSONPtr(a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return sameJSON(*a, *b)
}

func sameJSON(a, b string) bool {
	if a == b {
		return true
	}
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// SaveTicket writes a snapshot of a ticket and its new events; an older
// snapshot than the stored one only appends its events.
func (s *Store) SaveTicket(ctx context.Context, t cmr.Ticket, events []cmr.Event) error {
	return wrap("save ticket "+t.ID, s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row := ticketRow{ID: t.ID, CaseID: t.CaseID, LikaID: t.LiKaID, State: string(t.State), ClockStartedAt: utc(t.ClockStartedAt),
			WarnAt: utc(t.WarnAt), DueAt: utc(t.DueAt), WarnedAt: utc(t.WarnedAt), BreachedAt: utc(t.BreachedAt), ResolvedAt: utc(t.ResolvedAt),
			ResolvedBy: jsonPtr(t.ResolvedBy), SubmissionID: t.SubmissionID, Version: t.Version}
		if t.ResolvedBy == nil {
			row.ResolvedBy = nil
		}
		if t.SubmissionID != "" {
			data, err := submissionData(tx, t.SubmissionID)
			if err != nil {
				return err
			}
			for _, k := range []string{"note", "reason"} {
				if v, ok := data[k].(string); ok {
					row.Note = v
				}
			}
			if u, ok := data["unprocessed"]; ok {
				row.Unprocessed = jsonPtr(u)
			}
		}
		res := tx.Clauses(clause.OnConflict{
			Columns: []clause.Column{{Name: "id"}},
			DoUpdates: clause.AssignmentColumns([]string{"state", "clock_started_at", "warn_at", "due_at", "warned_at", "breached_at",
				"resolved_at", "resolved_by", "submission_id", "note", "unprocessed", "version"}),
			Where: clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: "tickets.version < ?", Vars: []any{t.Version}}}},
		}).Create(&row)
		if res.Error != nil {
			return res.Error
		}
		return insertEvents(tx, events)
	}))
}
