package gormdb

import (
	"context"
	"database/sql"

	"github.com/pressly/goose/v3"
	"gorm.io/gorm"
)

// ExecForTest runs raw SQL, for tests of database-level guarantees.
func ExecForTest(s *Store, sql string) error { return s.db.Exec(sql).Error }

// ListPartsForTest counts the parts a list's ciphertext is stored in.
func ListPartsForTest(s *Store, listID string) (int64, error) {
	var n int64
	err := s.db.Model(&listPartRow{}).Where("list_id = ?", listID).Count(&n).Error
	return n, err
}

// MigrateToForTest migrates the schema up or down to version.
func MigrateToForTest(s *Store, version int64) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(s.dialect, sqlDB, s.schema)
	if err != nil {
		return err
	}
	ctx := context.Background()
	if cur, err := p.GetDBVersion(ctx); err != nil || cur <= version {
		_, err = p.UpTo(ctx, version)
		return err
	}
	_, err = p.DownTo(ctx, version)
	return err
}

// ListPartSizeForTest is the size of the parts s stores a list's
// ciphertext in.
func ListPartSizeForTest(s *Store) int { return s.listPart }

// ColumnStorageForTest is PostgreSQL's storage strategy of a column: p
// (plain), m (main), e (external) or x (extended).
func ColumnStorageForTest(s *Store, table, column string) (string, error) {
	var storage string
	err := s.db.Raw("SELECT attstorage FROM pg_attribute WHERE attrelid = ?::regclass AND attname = ?", table, column).Scan(&storage).Error
	return storage, err
}

// RelOptionsForTest is a PostgreSQL table's storage parameters as
// "name=value" strings (ALTER TABLE … SET (…)), in no set order.
func RelOptionsForTest(s *Store, table string) ([]string, error) {
	var opts []string
	err := s.db.Raw("SELECT unnest(reloptions) FROM pg_class WHERE oid = ?::regclass", table).Scan(&opts).Error
	return opts, err
}

// SetListPartSizeForTest changes the size of the parts s stores lists in
// (0: one part), for benchmarks that compare.
func SetListPartSizeForTest(s *Store, size int) { s.listPart = size }

// SubmissionDataForTest is the data of a stored submission.
func SubmissionDataForTest(s *Store, id string) (map[string]any, error) {
	return submissionData(s.db, id)
}

// CountStepWritesForTest counts, from now on, the statements that write
// a case's step rows; the func returns the count so far.
func CountStepWritesForTest(s *Store) func() int {
	n := 0
	_ = s.db.Callback().Create().After("gorm:create").Register("count-step-writes", func(db *gorm.DB) {
		if db.Statement.Table == "case_steps" {
			n++
		}
	})
	return func() int { return n }
}

// CaseWarningsForTest reads a case's warnings column as stored (nil: NULL).
func CaseWarningsForTest(s *Store, caseID string) (*string, error) {
	var w *string
	err := s.db.Model(&caseRow{}).Where("id = ?", caseID).Select("warnings").Scan(&w).Error
	return w, err
}

// SQLDBForTest is s's database handle, for benchmarks' hand-written
// baselines.
func SQLDBForTest(s *Store) *sql.DB {
	db, _ := s.db.DB()
	return db
}
