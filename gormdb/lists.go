package gormdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pressly/goose/v3"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/cmr-idp/cmr"
)

type caseKeyRow struct {
	CaseID     string
	WrappedKey []byte
	CreatedAt  time.Time
	PurgedAt   *time.Time
}

func (caseKeyRow) TableName() string { return "case_keys" }

type listRow struct {
	ID         string
	CaseID     string
	TicketID   string
	Kind       string
	Format     string
	Version    int
	RowCount   int
	UploadedBy string
	UploadedAt time.Time
	Current    bool
}

func (listRow) TableName() string { return "lists" }

// listPartRow is a part of a list's ciphertext (migration 00009): the
// parts in order are the sealed list.
type listPartRow struct {
	ListID     string
	Part       int
	Ciphertext []byte
}

func (listPartRow) TableName() string { return "list_data_parts" }

// listPartSize is the size of the parts the embedded database stores a
// list's ciphertext in. Its driver copies every value it writes, twice,
// into memory of its own, and maps a block over 16 KB afresh for each
// copy: a 1.2 MB list written as one value cost 11.6 ms of CPU, most of it
// page faults and unmaps. Parts alone are worse (a page mapped and
// unmapped per part); parts that fit the driver's 16 KB slots, with their
// row's header, together with the slot pages the store keeps mapped
// (slots.go), cost 6 ms.
const listPartSize = 12 << 10

// pgListPartSize is the size of the parts PostgreSQL stores a list's
// ciphertext in. A part and its row (56 bytes more) fit one heap page
// (8160 bytes), and the column is stored MAIN (migration 00010): a part
// is one tuple, where a value stored out of line is a TOAST chunk and an
// index entry per 2 KB. The parts go in with one COPY. Saving the 1.2 MB
// of a 50,000-row list took medians of 10.5-11.5 ms against 12.2-13.8 ms
// as one value stored out of line (BenchmarkSaveList).
const pgListPartSize = 8000

// insertListParts writes ciphertext, as it is read, as parts of at most
// s.listPart bytes (one part where that is 0): on PostgreSQL with COPY on
// pg, the transaction's connection, on SQLite through one prepared
// statement. Each part is written as soon as it is read, so the database
// stores the first parts while the caller is still sealing the rest.
func (s *Store) insertListParts(tx *gorm.DB, pg *sql.Conn, listID string, ciphertext io.Reader) error {
	size := s.listPart
	if size <= 0 {
		b, err := io.ReadAll(ciphertext)
		if err == nil && len(b) == 0 {
			err = errNoCiphertext
		}
		if err != nil {
			return err
		}
		return tx.Create(&listPartRow{ListID: listID, Part: 0, Ciphertext: b}).Error
	}
	parts := &listParts{listID: listID, r: ciphertext, buf: make([]byte, size), part: -1}
	ctx := tx.Statement.Context
	if pg != nil {
		return pg.Raw(func(dc any) (err error) {
			// A panic out of Raw would have it close the connection,
			// which waits for the transaction open on it: for ever.
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("list parts: the copy failed: %v", p)
				}
			}()
			c, ok := dc.(interface{ Conn() *pgx.Conn })
			if !ok {
				return fmt.Errorf("list parts: the PostgreSQL driver's connection is a %T, not pgx's", dc)
			}
			_, err = c.Conn().CopyFrom(ctx, pgx.Identifier{"list_data_parts"}, []string{"list_id", "part", "ciphertext"}, parts)
			if parts.err != nil {
				return parts.err
			}
			return err
		})
	}
	st, err := tx.Statement.ConnPool.PrepareContext(ctx, "INSERT INTO list_data_parts (list_id, part, ciphertext) VALUES (?, ?, ?)")
	if err != nil {
		return err
	}
	defer st.Close()
	for parts.Next() {
		if _, err := st.ExecContext(ctx, listID, parts.part, parts.bytes()); err != nil {
			return err
		}
	}
	return parts.err
}

var errNoCiphertext = errors.New("list parts: no ciphertext")

// errPartsUnread is what the parts' COPY reports when the ciphertext could
// not be read: pgx sends its source's error to the server as text, for
// the server's log, and the reason (listParts.err) is not the server's to
// keep. The reason is returned instead.
var errPartsUnread = errors.New("list parts: the ciphertext could not be read")

// listParts cuts a ciphertext into parts as it reads it; it is also the
// source of the parts' COPY (pgx.CopyFromSource). The part read last is
// in buf until the next is read: the drivers copy it as it is written.
type listParts struct {
	listID string
	r      io.Reader
	buf    []byte
	n      int // the bytes of buf that are the part
	part   int // its number, from 0
	done   bool
	err    error // what ended the reading early
}

// Next reads the next part; false at the end of the ciphertext, which
// only io.EOF marks (a reader's io.ErrUnexpectedEOF says it was cut off),
// or at an error reading it.
func (p *listParts) Next() bool {
	if p.done || p.err != nil {
		return false
	}
	p.n = 0
	for p.n < len(p.buf) {
		k, err := p.r.Read(p.buf[p.n:])
		p.n += k
		if err == io.EOF {
			p.done = true
			break
		}
		if err != nil {
			p.err = err
			return false
		}
	}
	if p.n == 0 {
		if p.part < 0 {
			p.err = errNoCiphertext
		}
		return false
	}
	p.part++
	return true
}

func (p *listParts) bytes() []byte { return p.buf[:p.n] }

// Values is the part's row, for COPY.
func (p *listParts) Values() ([]any, error) { return []any{p.listID, p.part, p.bytes()}, nil }

// Err is, for COPY, whether the reading ended early.
func (p *listParts) Err() error {
	if p.err != nil {
		return errPartsUnread
	}
	return nil
}

// listTx runs fn in a transaction; on PostgreSQL it also gets the
// transaction's connection, for insertListParts' COPY.
func (s *Store) listTx(ctx context.Context, fn func(tx *gorm.DB, pg *sql.Conn) error) error {
	if s.dialect != goose.DialectPostgres {
		return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return fn(tx, nil) })
	}
	return s.db.WithContext(ctx).Connection(func(db *gorm.DB) error {
		conn, ok := db.Statement.ConnPool.(*sql.Conn)
		if !ok {
			return fmt.Errorf("list transaction: a connection of type %T", db.Statement.ConnPool)
		}
		return db.Transaction(func(tx *gorm.DB) error { return fn(tx, conn) })
	})
}

func (r listRow) domain() cmr.ListVersion {
	v := cmr.ListVersion{ID: r.ID, CaseID: r.CaseID, TicketID: r.TicketID, Kind: r.Kind, Format: r.Format, Version: r.Version,
		RowCount: r.RowCount, UploadedAt: r.UploadedAt.UTC(), Current: r.Current}
	_ = json.Unmarshal([]byte(r.UploadedBy), &v.UploadedBy)
	return v
}

// CaseKey returns the wrapped data key of a case, creating it with create
// on first use. A purged case has no key any more.
func (s *Store) CaseKey(ctx context.Context, caseID string, create func() ([]byte, error)) ([]byte, error) {
	var row caseKeyRow
	err := s.db.WithContext(ctx).Where("case_id = ?", caseID).Take(&row).Error
	switch {
	case err == nil && row.PurgedAt != nil:
		return nil, cmr.Errorf(cmr.KindConflict, "the lists of case %s were deleted after the retention period", caseID).
			NL("de lijsten van zaak %s zijn na de bewaartermijn verwijderd", caseID)
	case err == nil:
		return row.WrappedKey, nil
	case err != gorm.ErrRecordNotFound:
		return nil, wrap("case key", err)
	}
	wrapped, err := create()
	if err != nil {
		return nil, err
	}
	row = caseKeyRow{CaseID: caseID, WrappedKey: wrapped, CreatedAt: now()}
	if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		return nil, wrap("case key", err)
	}
	// Another request may have won the race: use the stored key.
	if err := s.db.WithContext(ctx).Where("case_id = ?", caseID).Take(&row).Error; err != nil {
		return nil, wrap("case key", err)
	}
	return row.WrappedKey, nil
}

// NewListID makes the ID of a list version before it is sealed (the
// ciphertext is bound to it).
func NewListID() string { return newID("list") }

// SaveList stores a new version of a list (the previous version stays, no
// longer current) and appends the upload to the audit trail, all in one
// transaction that commits only if ready (nil: always) returns nil: the
// caller's last checks of the list run while it is written. The
// ciphertext is read once the version's row is in, and written as it is
// read: the caller may still be sealing it (an error reading it rolls
// the version back).
func (s *Store) SaveList(ctx context.Context, v cmr.ListVersion, ciphertext io.Reader, ready func() error) (cmr.ListVersion, error) {
	var refused error // ready's, returned as it is: it is the caller's
	err := s.listTx(ctx, func(tx *gorm.DB, pg *sql.Conn) error {
		var last int
		if err := tx.Model(&listRow{}).Where("case_id = ? AND ticket_id = ? AND kind = ?", v.CaseID, v.TicketID, v.Kind).
			Select("COALESCE(MAX(version), 0)").Scan(&last).Error; err != nil {
			return err
		}
		if v.Version != last+1 {
			return cmr.Errorf(cmr.KindConflict, "another upload of this list arrived at the same time; upload again").
				NL("tegelijk kwam er een andere upload van deze lijst binnen; upload opnieuw")
		}
		if err := tx.Model(&listRow{}).Where("case_id = ? AND ticket_id = ? AND kind = ? AND current = ?", v.CaseID, v.TicketID, v.Kind, true).Update("current", false).Error; err != nil {
			return err
		}
		v.UploadedAt, v.Current = now(), true
		row := listRow{ID: v.ID, CaseID: v.CaseID, TicketID: v.TicketID, Kind: v.Kind, Format: v.Format, Version: v.Version, RowCount: v.RowCount,
			UploadedBy: mustJSON(v.UploadedBy), UploadedAt: v.UploadedAt, Current: true}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		if err := s.insertListParts(tx, pg, v.ID, ciphertext); err != nil {
			return err
		}
		actor := v.UploadedBy
		if err := insertEvents(tx, []cmr.Event{{Key: "list:" + v.ID, CaseID: v.CaseID, TicketID: v.TicketID, Type: cmr.EventListUploaded, Actor: &actor, At: v.UploadedAt,
			Details: map[string]any{"list_id": v.ID, "kind": v.Kind, "version": v.Version, "rows": v.RowCount}}}); err != nil {
			return err
		}
		if ready != nil {
			refused = ready()
		}
		return refused
	})
	if refused != nil {
		return cmr.ListVersion{}, refused
	}
	return v, wrap("save list", err)
}

// NextListVersion is the version number the next upload of a list gets.
func (s *Store) NextListVersion(ctx context.Context, caseID, ticketID, kind string) (int, error) {
	var last int
	err := s.db.WithContext(ctx).Model(&listRow{}).Where("case_id = ? AND ticket_id = ? AND kind = ?", caseID, ticketID, kind).
		Select("COALESCE(MAX(version), 0)").Scan(&last).Error
	return last + 1, wrap("list version", err)
}

// Lists returns the versions of a case's lists (no rows), newest first,
// for a viewer that is a party to the case.
func (s *Store) Lists(ctx context.Context, v Viewer, caseID string) ([]cmr.ListVersion, error) {
	if _, err := s.caseVisible(ctx, v, caseID); err != nil {
		return nil, err
	}
	var rows []listRow
	if err := s.reads(ctx).Where("case_id = ?", caseID).Order("kind, ticket_id, version DESC").Find(&rows).Error; err != nil {
		return nil, wrap("lists", err)
	}
	out := make([]cmr.ListVersion, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// ListData returns a list version with its ciphertext; nil ciphertext
// means it was purged.
func (s *Store) ListData(ctx context.Context, v Viewer, caseID, listID string) (cmr.ListVersion, []byte, error) {
	if _, err := s.caseVisible(ctx, v, caseID); err != nil {
		return cmr.ListVersion{}, nil, err
	}
	var row listRow
	if err := s.db.WithContext(ctx).Where("case_id = ? AND id = ?", caseID, listID).Take(&row).Error; err != nil {
		return cmr.ListVersion{}, nil, wrap("list", err)
	}
	ciphertext, err := s.listCiphertext(ctx, listID)
	if err != nil {
		return cmr.ListVersion{}, nil, wrap("list data", err)
	}
	return row.domain(), ciphertext, nil
}

// listCiphertext joins a list's parts in order, each read straight into
// the result.
func (s *Store) listCiphertext(ctx context.Context, listID string) ([]byte, error) {
	rows, err := s.db.WithContext(ctx).Raw("SELECT ciphertext FROM list_data_parts WHERE list_id = ? ORDER BY part", listID).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []byte
	n := 0
	for rows.Next() {
		var part sql.RawBytes // valid until the next row: appended at once
		if err := rows.Scan(&part); err != nil {
			return nil, err
		}
		out = append(out, part...)
		n++
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, gorm.ErrRecordNotFound
	}
	return out, nil
}

// AppendEvent adds an event the API records itself (a download, say).
func (s *Store) AppendEvent(ctx context.Context, e cmr.Event) error {
	if e.Key == "" {
		e.Key = newID("ev")
	}
	if e.At.IsZero() {
		e.At = now()
	}
	return wrap("append event", insertEvents(s.db.WithContext(ctx), []cmr.Event{e}))
}

// PurgeLists deletes the list data and the data key of every case that
// completed or was cancelled before closedBefore, records the purge in the
// case's audit trail, and returns the purged case IDs.
func (s *Store) PurgeLists(ctx context.Context, closedBefore time.Time) ([]string, error) {
	var ids []string
	err := s.db.WithContext(ctx).Model(&caseKeyRow{}).
		Joins("JOIN cases ON cases.id = case_keys.case_id").
		Where("case_keys.purged_at IS NULL AND cases.status <> ? AND cases.closed_at < ?", cmr.CaseOpen, closedBefore.UTC()).
		Pluck("case_keys.case_id", &ids).Error
	if err != nil {
		return nil, wrap("purge lists", err)
	}
	for _, id := range ids {
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			var n int64
			if err := tx.Model(&listRow{}).Where("case_id = ?", id).Count(&n).Error; err != nil {
				return err
			}
			if err := tx.Where("list_id IN (?)", tx.Model(&listRow{}).Select("id").Where("case_id = ?", id)).Delete(&listPartRow{}).Error; err != nil {
				return err
			}
			if err := tx.Where("case_id = ?", id).Delete(&listRow{}).Error; err != nil {
				return err
			}
			t := now()
			if err := tx.Model(&caseKeyRow{}).Where("case_id = ?", id).Updates(map[string]any{"wrapped_key": nil, "purged_at": t}).Error; err != nil {
				return err
			}
			// The LiKas' reasons for unprocessed rows may name pupils: in
			// the tickets and in the submissions they came in with.
			if err := tx.Model(&ticketRow{}).Where("case_id = ?", id).Update("unprocessed", nil).Error; err != nil {
				return err
			}
			if err := forgetUnprocessed(tx, id); err != nil {
				return err
			}
			return insertEvents(tx, []cmr.Event{{Key: "purge:" + id, CaseID: id, Type: cmr.EventListsPurged, At: t,
				Details: map[string]any{"list_versions_deleted": n, "closed_before": closedBefore.UTC().Format(time.RFC3339)}}})
		})
		if err != nil {
			return nil, wrap(fmt.Sprintf("purge lists of %s", id), err)
		}
	}
	return ids, nil
}

// forgetUnprocessed removes the unprocessed rows, with their reasons,
// from the data of a case's ticket submissions (closing a ticket).
func forgetUnprocessed(tx *gorm.DB, caseID string) error {
	var subs []submissionRow
	if err := tx.Where("case_id = ? AND kind LIKE ?", caseID, "ticket:%").Find(&subs).Error; err != nil {
		return err
	}
	for _, sub := range subs {
		var data map[string]any
		if err := json.Unmarshal([]byte(sub.Data), &data); err != nil {
			return fmt.Errorf("submission %s: %w", sub.ID, err)
		}
		if _, ok := data["unprocessed"]; !ok {
			continue
		}
		delete(data, "unprocessed")
		if err := tx.Model(&submissionRow{}).Where("id = ?", sub.ID).Update("data", mustJSON(data)).Error; err != nil {
			return err
		}
	}
	return nil
}

// RewrapCaseKeys replaces every stored wrapped data key by rewrap's result,
// in one transaction: if any key cannot be re-wrapped (another master key
// than the one given), nothing changes. It returns how many were re-wrapped.
func (s *Store) RewrapCaseKeys(ctx context.Context, rewrap func(caseID string, wrapped []byte) ([]byte, error)) (int, error) {
	n := 0
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []caseKeyRow
		if err := tx.Where("wrapped_key IS NOT NULL").Order("case_id").Find(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			w, err := rewrap(r.CaseID, r.WrappedKey)
			if err != nil {
				return fmt.Errorf("case %s: %w", r.CaseID, err)
			}
			if err := tx.Model(&caseKeyRow{}).Where("case_id = ?", r.CaseID).Update("wrapped_key", w).Error; err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, wrap("rewrap case keys", err)
	}
	return n, nil
}
