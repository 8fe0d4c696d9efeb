package gormdb

// ExecForTest runs raw SQL, for tests of database-level guarantees.
func ExecForTest(s *Store, sql string) error { return s.db.Exec(sql).Error }
